"""Password rules follow OWASP ASVS 5: length, no composition rules, a common-passwords list."""

from __future__ import annotations

import pytest

from core.auth import password_problems, validate_password
from core.auth.validation import MAX_LENGTH, common_passwords


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",  # a long lower-case passphrase: composition rules refused it
        "abcdefgh-lowercase",
        "ÉTÉ À PARIS 2026",
        "x" * 64,
        "x" * MAX_LENGTH,
    ],
)
def test_long_passwords_without_composition_are_accepted(password: str) -> None:
    assert password_problems(password) == []
    assert validate_password(password) == password


@pytest.mark.parametrize("password", ["Password1", "password123", "QWERTY123", " iloveyou "])
def test_common_passwords_are_refused_whatever_their_case(password: str) -> None:
    """`Password1` passed the old rules (upper, lower, digit)."""
    assert password_problems(password) == [
        "This password is too common: it is on a list of leaked passwords"
    ]


def test_length_limits() -> None:
    assert password_problems("Zq9!xw") == ["Password must be at least 8 characters"]
    assert password_problems("Zq9!xw#k") == []
    assert password_problems("x" * (MAX_LENGTH + 1)) == [
        f"Password must be at most {MAX_LENGTH} characters"
    ]
    assert MAX_LENGTH >= 64


def test_the_shipped_list_is_djangos_twenty_thousand() -> None:
    passwords = common_passwords()
    assert len(passwords) > 19_000
    assert {"123456", "password", "qwerty", "iloveyou"} <= passwords
