"""The distribution's metadata: one version, dependency ranges and the files that pin them.

`make test` installs exactly constraints.txt; `make test-lowest` installs the lower bounds in
constraints-lowest.txt. These tests keep both files in step with pyproject.toml. The built
wheel itself is checked by scripts/wheel-smoke.sh (a CI step).
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

import core

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
RUNTIME = [Requirement(line) for line in PYPROJECT["project"]["dependencies"]]


def pins(path: Path) -> dict[str, str]:
    """`name==version` lines of a constraints file, by canonical name."""
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, pinned = line.partition("==")
            assert pinned, f"{path.name}: {line!r} is not an exact pin"
            found[canonicalize_name(name)] = pinned.strip()
    return found


def test_core_version_prints_the_installed_metadata() -> None:
    """The real `core` console script, installed next to this interpreter."""
    core_command = Path(sys.executable).with_name("core")
    result = subprocess.run(
        [str(core_command), "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout == f"core-framework {version('core-framework')}\n"
    assert core.__version__ == version("core-framework") == PYPROJECT["project"]["version"]


def test_the_version_is_written_only_in_pyproject() -> None:
    literal = re.compile(r"""version__?\s*=\s*["']\d+\.\d+""")
    for path in (ROOT / "core_framework" / "core").rglob("*.py"):
        assert not literal.search(path.read_text(encoding="utf-8")), path


def test_every_runtime_dependency_is_a_bounded_range() -> None:
    for requirement in RUNTIME:
        operators = {spec.operator for spec in requirement.specifier}
        assert operators == {">=", "<"}, f"{requirement}: want a >=lowest,<next-break range"


def test_the_lowest_constraints_are_the_lower_bounds() -> None:
    lowest = pins(ROOT / "constraints-lowest.txt")
    bounds = {
        canonicalize_name(r.name): next(s.version for s in r.specifier if s.operator == ">=")
        for r in RUNTIME
    }
    assert lowest == bounds


@pytest.mark.parametrize("requirement", RUNTIME, ids=lambda r: r.name)
def test_the_lock_is_inside_the_ranges(requirement: Requirement) -> None:
    locked = pins(ROOT / "constraints.txt")
    name = canonicalize_name(requirement.name)
    assert name in locked, f"constraints.txt does not pin {name}"
    assert requirement.specifier.contains(locked[name]), f"{name}=={locked[name]}"


def test_the_upgrading_page_lists_the_ranges() -> None:
    page = (ROOT / "docs" / "upgrading.md").read_text(encoding="utf-8")
    table = dict(re.findall(r"^\| `([\w\[\]-]+)` \| `([^`]+)` \|", page, re.MULTILINE))
    expected = {
        f"{r.name}[{','.join(sorted(r.extras))}]" if r.extras else r.name: str(r.specifier)
        for r in RUNTIME
    }
    assert {name: ",".join(sorted(spec.split(","))) for name, spec in table.items()} == {
        name: ",".join(sorted(spec.split(","))) for name, spec in expected.items()
    }


#: Libraries whose internals the framework uses, and what of them: their range spans one minor
#: release, because a minor release may change those. Widen a range only after `make
#: test-latest` passed with the new release (the adapters' own tests exercise these uses).
INTERNALS_USED = {
    "fastapi": "fastapi.routing:_effective_route_context_var",
    "tortoise-orm": "tortoise.backends.sqlite.client:SqliteTransactionWrapper",
    "aiosqlite": "aiosqlite.core:Connection._conn",
    "fastapi-standalone-docs": "fastapi_standalone_docs:static/redoc/logo-mini.svg",
}


@pytest.mark.parametrize("name", sorted(INTERNALS_USED))
def test_libraries_used_through_internals_span_one_minor(name: str) -> None:
    requirement = next(r for r in RUNTIME if canonicalize_name(r.name) == name)
    bounds = {spec.operator: Version(spec.version) for spec in requirement.specifier}
    low, high = bounds[">="], bounds["<"]
    assert (high.major, high.minor) == (low.major, low.minor + 1) and high.micro == 0, requirement
    module_name, _, attribute = INTERNALS_USED[name].partition(":")
    module = importlib.import_module(module_name)
    if "/" in attribute:  # a file the package ships
        assert (Path(module.__file__ or "").parent / attribute).is_file()
    elif "." in attribute:  # a class's member
        owner, _, member = attribute.partition(".")
        assert hasattr(getattr(module, owner), member)
    else:
        assert hasattr(module, attribute)
