"""Render the project and app templates in `cli/templates/` into a directory."""

from __future__ import annotations

import json
import re
import secrets
from importlib import metadata
from pathlib import Path

from core import DISTRIBUTION, __version__

TEMPLATES = Path(__file__).parent / "templates"
#: Template files whose name is not simply the target's name plus `-tpl`.
_RENAMED = {"env-tpl": ".env", "env.example-tpl": ".env.example", "gitignore-tpl": ".gitignore"}
_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def render(template_dir: Path, target: Path, context: dict[str, str]) -> list[Path]:
    """Copy `template_dir` to `target`, filling `{{name}}` placeholders in names and contents."""
    written = []
    for source in sorted(template_dir.rglob("*-tpl")):
        relative = source.relative_to(template_dir)
        name = _RENAMED.get(relative.name, relative.name.removesuffix("-tpl"))
        destination = target / relative.parent / _fill(name, context)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(_fill(source.read_text(), context))
        written.append(destination)
    return written


def _fill(text: str, context: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: context.get(m.group(1), m.group(0)), text)


def new_secret_key() -> str:
    return secrets.token_urlsafe(50)


def core_requirement(source: str | None = None) -> str:
    """What a new project's `pyproject.toml` depends on: an installable requirement.

    The released name with a compatible range (`core-framework>=0.1.0,<0.2`), which a teammate
    or CI can install from the package index; a local checkout or wheel only when the user asks
    for it (`core init --framework-source PATH`), since its absolute path exists on this machine
    alone.
    """
    if source is not None:
        return f"{DISTRIBUTION} @ {source}"
    return f"{DISTRIBUTION}{compatible_range(__version__)}"


def compatible_range(version: str) -> str:
    """`>=X.Y.Z,<next-breaking`: the next minor before 1.0 (0.x minors may break), else the next major."""
    release = version.split("+", 1)[0]  # a local version (`+g1234`) can't be a lower bound
    match = re.match(r"(\d+)\.(\d+)", release)
    if match is None:
        return ""  # a source tree that was never installed ("0+unknown"): no version to pin to
    major, minor = int(match.group(1)), int(match.group(2))
    upper = f"0.{minor + 1}" if major == 0 else f"{major + 1}"
    return f">={release},<{upper}"


def source_url(path_or_url: str) -> str:
    """`--framework-source`: a URL as given (`git+https://...`), a local path as a `file://` URL."""
    if "://" in path_or_url:
        return path_or_url
    path = Path(path_or_url).expanduser().resolve()
    if not path.exists():
        raise FileNotFoundError(f"--framework-source {path_or_url}: {path} does not exist")
    if path.is_dir() and not (path / "pyproject.toml").is_file():
        raise FileNotFoundError(
            f"--framework-source {path_or_url}: {path} has no pyproject.toml (not a checkout)"
        )
    return path.as_uri()


def framework_source() -> str | None:
    """The `file://` URL of the checkout or wheel this framework was installed from, if any."""
    try:
        distribution = metadata.distribution("core-framework")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return Path(__file__).resolve().parents[3].as_uri()
    direct_url = distribution.read_text("direct_url.json")
    if direct_url is None:
        return None
    url = json.loads(direct_url).get("url", "")
    return url if url.startswith("file://") else None


def installed_editable() -> bool:
    """Whether the running framework is an editable install (a development checkout)."""
    try:
        direct_url = metadata.distribution("core-framework").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return True
    if not direct_url:
        return False
    return bool(json.loads(direct_url).get("dir_info", {}).get("editable"))


def project_context(name: str, framework: str | None = None) -> dict[str, str]:
    """The project template's placeholders; `framework` is `--framework-source` as a URL."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "app"
    return {
        "project_name": slug,
        "project_title": " ".join(part.capitalize() for part in slug.split("-")),
        "secret_key": new_secret_key(),
        "core_requirement": core_requirement(framework),
    }


def app_context(app_name: str) -> dict[str, str]:
    words = app_name.split("_")
    title = " ".join(word.capitalize() for word in words)
    singular = words[-1][:-1] if words[-1].endswith("s") and len(words[-1]) > 1 else words[-1]
    model = "".join(word.capitalize() for word in [*words[:-1], singular])
    return {
        "app_name": app_name,
        "ModelName": model,
        "AppTitle": title,
        "table_name": app_name,
        "url_prefix": app_name.replace("_", "-"),
    }
