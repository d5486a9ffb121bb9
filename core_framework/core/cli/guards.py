"""Checks a command makes before it touches anything: inside a project, a usable app name."""

from __future__ import annotations

import importlib.util
import keyword
import sys
from pathlib import Path

from core.cli.errors import fail

#: What marks a project's root: `core init` writes `src/main.py`; its apps live in `src/apps/`.
PROJECT_MARKERS = ("src/main.py", "src/apps/")


def is_project(directory: Path) -> bool:
    """Whether `directory` is a project root (it has `src/main.py` or a `src/apps/` package dir)."""
    return (directory / "src" / "main.py").is_file() or (directory / "src" / "apps").is_dir()


def require_project() -> Path:
    """The working directory if it is a project; otherwise exit saying where we looked.

    Checked before any work so a command started in the wrong place writes no
    `migrations/` and creates no `app.db` there.
    """
    root = Path.cwd().resolve()
    if is_project(root):
        return root
    parent = next((p for p in root.parents if is_project(p)), None)
    hint = (
        f"; the project seems to be {parent}: cd there"
        if parent is not None
        else "; run it in a project created by `core init NAME`"
    )
    fail(f"not a Core project: no src/main.py or src/apps/ in {root}{hint}")
    raise AssertionError("unreachable")


def app_name_problem(name: str) -> str | None:
    """Why `name` can't be an app's package name (None if it can), as Django's startapp checks."""
    invalid = f"{name!r} is not a valid app name"
    if not (name.isidentifier() and name.isascii() and name.islower()):
        return f"{invalid}: use lowercase letters, digits and underscores, starting with a letter"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return f"{invalid}: it is a Python keyword"
    if name in sys.stdlib_module_names or name in sys.builtin_module_names:
        return f"{invalid}: it shadows the standard library module {name!r}"
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    if spec is not None:
        where = f" ({spec.origin})" if spec.origin else ""
        return f"{invalid}: it shadows the installed module {name!r}{where}"
    return None
