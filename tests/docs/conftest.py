"""Fixtures for the documentation samples (see runner.py for how pages run)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.docs.runner import DocRunner, collect_blocks

_runner: DocRunner | None = None


@pytest.fixture(autouse=True)
def framework_state() -> Iterator[None]:
    """Overrides the suite's reset and fast test hasher: a page's blocks share its state, and
    the samples hash passwords as apps really do. The runner resets the framework per page."""
    yield


@pytest.fixture(scope="session")
def doc_runner() -> Iterator[DocRunner]:
    global _runner
    _runner = DocRunner(collect_blocks())
    yield _runner
    _runner.close()
    _runner = None


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Close a page as soon as the next test isn't one of its blocks (selected or not).

    A page changes the working directory, the environment and the framework's registries
    while it runs; no other test may run in the middle of one.
    """
    if _runner is None or _runner.current is None:
        return
    callspec = getattr(nextitem, "callspec", None)
    block = callspec.params.get("block") if callspec is not None else None
    if getattr(block, "page", None) != _runner.current.page:
        _runner.close()
