"""How to install an optional driver or library, read from the packages' own metadata.

An error for a missing module names the command that installs it the way the framework
declares it: `pip install 'core-framework[mysql]'` for an extra of ours, the range of a
dependency of ours, an extra of Tortoise ORM (`tortoise-orm[psycopg]`), else the package.
"""

from __future__ import annotations

import re
from importlib import metadata

DISTRIBUTION = "core-framework"
#: `name[extras] specifier ; markers` of one `Requires-Dist` line.
_REQUIREMENT = re.compile(
    r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*([^;]*)(?:;(.*))?$"
)
_EXTRA = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(owner: str, package: str) -> tuple[str | None, str] | None:
    """(extra or None, specifier) of `package` in `owner`'s requirements, if it is one."""
    try:
        requirements = metadata.requires(owner) or []
    except metadata.PackageNotFoundError:
        return None
    for line in requirements:
        match = _REQUIREMENT.match(line)
        if match is None or _normalized(match.group(1)) != _normalized(package):
            continue
        extra = _EXTRA.search(match.group(3) or "")
        return (extra.group(1) if extra else None), match.group(2).strip()
    return None


def install_hint(package: str) -> str:
    """The pip command that installs `package` (a distribution name) for this framework."""
    ours = _declared(DISTRIBUTION, package)
    if ours is not None:
        extra, specifier = ours
        if extra is not None:
            return f"pip install '{DISTRIBUTION}[{extra}]'"
        return f"pip install '{package}{specifier}' (a dependency of {DISTRIBUTION})"
    tortoise = _declared("tortoise-orm", package)
    if tortoise is not None and tortoise[0] is not None:
        return f"pip install 'tortoise-orm[{tortoise[0]}]'"
    return f"pip install {package}"
