"""Render the project and app templates in `cli/templates/` into a directory."""

from __future__ import annotations

import json
import re
import secrets
from importlib import metadata
from pathlib import Path

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


def core_requirement() -> str:
    """How to install the framework the running `core` came from (checkout, wheel or index)."""
    source = framework_source()
    if source is None:
        return f"core-framework=={metadata.version('core-framework')}"
    return f"core-framework @ {source}"


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


def project_context(name: str) -> dict[str, str]:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "app"
    return {
        "project_name": slug,
        "project_title": " ".join(part.capitalize() for part in slug.split("-")),
        "secret_key": new_secret_key(),
        "core_requirement": core_requirement(),
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
