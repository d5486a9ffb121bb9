"""Every code sample of `docs/` runs here: one test per block, `page.md:LINE` as its id.

Blocks of a page run in order in one namespace (runner.py); running one block alone runs the
blocks before it on its page first. Pages that touch a database are marked `db`, so CI runs
them again on PostgreSQL.
"""

from __future__ import annotations

import pytest

from tests.docs.runner import Block, DocRunner, SampleError, collect_blocks, uses_database

BLOCKS = collect_blocks()
_BY_PAGE: dict[str, list[Block]] = {}
for _block in BLOCKS:
    _BY_PAGE.setdefault(_block.page, []).append(_block)
DATABASE_PAGES = {page for page, blocks in _BY_PAGE.items() if uses_database(blocks)}


def _param(block: Block) -> object:
    marks: list[pytest.MarkDecorator] = []
    if block.skip_reason is not None:
        marks.append(pytest.mark.skip(reason=f"{block.id}: {block.skip_reason}"))
    if block.page in DATABASE_PAGES:
        marks.append(pytest.mark.db)
    return pytest.param(block, id=block.id, marks=marks)


@pytest.mark.parametrize("block", [_param(block) for block in BLOCKS])
def test_sample(block: Block, doc_runner: DocRunner) -> None:
    try:
        doc_runner.run(block)
    except SampleError as error:  # the message says it all (a command's output, ...)
        pytest.fail(str(error), pytrace=False)
