"""Auth fixtures: a hasher that counts its calls, as Django's login-timing tests do."""

from __future__ import annotations

import pytest

from core.auth import (
    FastTestHasher,
    register_password_hasher,
    set_default_password_hasher,
)


class CountingHasher(FastTestHasher):
    """Counts every hash and verify, so timing-safety is checked by counting, not by clock."""

    name = "counting"

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def hash(self, password: str) -> str:
        self.calls += 1
        return super().hash(password)

    def verify(self, password: str, encoded: str) -> bool:
        self.calls += 1
        return super().verify(password, encoded)


@pytest.fixture
def counting_hasher() -> CountingHasher:
    """The default hasher for the test, counting its calls (`framework_state` resets it)."""
    hasher = CountingHasher()
    register_password_hasher(hasher)
    set_default_password_hasher("counting")
    return hasher
