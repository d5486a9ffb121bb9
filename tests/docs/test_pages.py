"""Checks on the pages themselves, for what `make docs` would catch but `make test` must too.

Links and anchors between pages resolve; the reference pages document every public name of
the modules they render (mkdocstrings renders what core defines; names re-exported from
elsewhere need words on the page); the settings table lists every setting; the runner's
options are used correctly.
"""

from __future__ import annotations

import importlib
import inspect
import re
import unicodedata
from pathlib import Path

import pytest

from core.config import Settings
from tests.docs.runner import (
    BASH,
    CONSOLE,
    DOCS,
    PYTHON,
    SampleError,
    collect_blocks,
    console_commands,
    doc_pages,
    output_matches,
    parse_page,
)

REFERENCE = DOCS / "reference"
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\((?P<target>[^)\s]+)\)")
_HEADING = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<text>.+?)\s*#*\s*$")
_DIRECTIVE = re.compile(r"^:::\s+(?P<path>[\w.]+)\s*$", re.MULTILINE)


def _without_code(text: str) -> list[str]:
    """The page's lines, fenced code blocks blanked (links and headings there don't count)."""
    lines = text.splitlines()
    fenced = False
    for index, line in enumerate(lines):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            lines[index] = ""
        elif fenced:
            lines[index] = ""
    return lines


def slugify(text: str) -> str:
    """Python-Markdown's `toc` slugs, as mkdocs makes heading anchors."""
    text = re.sub(r"`([^`]*)`", r"\1", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    for line in _without_code(path.read_text(encoding="utf-8")):
        if match := _HEADING.match(line):
            slug = slugify(match["text"])
            candidate, n = slug, 0
            while candidate in found:
                n += 1
                candidate = f"{slug}_{n}"
            found.add(candidate)
        found.update(re.findall(r"\{[^}]*#([\w-]+)[^}]*\}", line))
    return found


@pytest.mark.parametrize("page", doc_pages(), ids=lambda p: p.relative_to(DOCS).as_posix())
def test_links_and_anchors_resolve(page: Path) -> None:
    broken = []
    for number, line in enumerate(_without_code(page.read_text(encoding="utf-8")), 1):
        for match in _LINK.finditer(line):
            target = match["target"]
            if re.match(r"^[a-z]+:", target):  # https:, mailto:
                continue
            path, _, anchor = target.partition("#")
            if path and not path.endswith(".md"):
                broken.append(f"line {number}: {target} (link to the .md page)")
                continue
            linked = (page.parent / path).resolve() if path else page
            if not linked.is_file():
                broken.append(f"line {number}: {target} (no such page)")
            elif anchor and anchor not in anchors(linked):
                broken.append(f"line {number}: {target} (no such heading)")
    assert not broken, f"{page.relative_to(DOCS)}:\n" + "\n".join(broken)


def _reference_modules() -> list[tuple[Path, str]]:
    return [
        (page, match["path"])
        for page in sorted(REFERENCE.glob("*.md"))
        for match in _DIRECTIVE.finditer(page.read_text(encoding="utf-8"))
    ]


def test_the_reference_covers_the_core_package() -> None:
    documented = {module for _, module in _reference_modules()}
    assert "core" in documented
    for module in ("core.db", "core.auth", "core.auth.oauth", "core.permissions", "core.views"):
        assert module in documented


@pytest.mark.parametrize(("page", "module"), _reference_modules(), ids=lambda v: str(v))
def test_every_public_name_is_documented(page: Path, module: str) -> None:
    """Objects defined in core are rendered from their docstrings; re-exports need prose."""
    imported = importlib.import_module(module)
    text = page.read_text(encoding="utf-8")
    names = getattr(imported, "__all__", None)
    if names is None:  # mkdocstrings shows what the module defines, and nothing it imports
        return
    missing = []
    for name in names:
        value = getattr(imported, name)
        defined_in_core = getattr(value, "__module__", "").split(".")[0] == "core"
        is_definition = inspect.isclass(value) or inspect.isroutine(value)
        described = f"`{name}`" in text or f"`{name}(" in text
        if (name == "Mapped" or (is_definition and not defined_in_core)) and not described:
            missing.append(name)
    assert not missing, f"{page.name} should say what these are: {', '.join(missing)}"


def test_the_settings_table_lists_every_setting() -> None:
    page = (DOCS / "guide" / "configuration.md").read_text(encoding="utf-8")
    table = set(re.findall(r"^\| `([A-Z_]+)` \|", page, re.MULTILINE))
    fields = {name.upper() for name in Settings.model_fields}
    assert fields - table == set(), "settings missing from the table"
    assert table - fields == set(), "the table lists settings that don't exist"


def test_every_page_has_samples_or_is_reference() -> None:
    """Guide pages teach with code that runs: each has at least one executed block."""
    executed = {b.page for b in collect_blocks() if b.skip_reason is None}
    for page in doc_pages():
        name = page.relative_to(DOCS).as_posix()
        if not name.startswith("reference/"):
            assert name in executed, f"{name} has no sample that runs"


def test_python_blocks_all_run() -> None:
    """No python block is left out by a language alias the runner doesn't execute."""
    for page in doc_pages():
        for block in parse_page(page):
            if block.lang in {"python3", "py3", "pycon", "ipython"}:
                raise AssertionError(f"{block.id}: use ```python so the block runs")
            if block.lang in PYTHON | BASH | CONSOLE:
                assert block.runnable


def test_console_parsing_and_matching() -> None:
    commands = console_commands("$ core migrate\n  Applying 0001... OK\n$ echo a \\\n b\na b\n")
    assert commands == [("core migrate", ["  Applying 0001... OK"]), ("echo a \n b", ["a b"])]
    assert output_matches(["Created ...", "...", "done"], ["Created x.py", "a", "b", "done"])
    assert output_matches(["..."], [])
    assert not output_matches(["exact"], ["exact", "more"])
    with pytest.raises(SampleError):
        console_commands("output before a command\n$ true\n")
