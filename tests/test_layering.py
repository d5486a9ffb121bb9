"""The layers' import directions: app → routing → views → permissions/auth → models → db → config.

Two checks. A static one reads every import in `core` (module level, inside functions and under
`TYPE_CHECKING`) and refuses any that points up a layer. A run-time one imports a low layer in
a fresh interpreter and checks that no higher layer got loaded on the side.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import core

PACKAGE = Path(core.__file__).parent

#: Each part of `core` and its layer: a module may import its own layer and lower ones.
#: `core.exceptions` (plain exception classes, imports nothing) and `core.adapters` (other
#: libraries' private names) sit at the bottom, under config.
LAYERS: dict[str, int] = {
    "core.exceptions": 0,
    "core.adapters": 0,
    "core.extras": 0,  # install hints read from package metadata
    "core.config": 1,
    "core.datetime": 2,
    "core.db": 2,
    "core.migrations": 3,
    "core.models": 3,
    "core.schemas": 4,
    "core.permissions": 4,
    "core.auth": 4,
    "core.throttling": 4,
    "core.views": 5,
    "core.routing": 6,
    "core.errors": 7,
    "core.middleware": 7,
    "core.docs": 7,
    "core.app": 7,
    "core.openapi": 7,
    "core.testing": 8,
    "core.cli": 8,
    "core": 9,  # the package's lazy public names
}

#: Only these may import the migrations (the models and views never do).
MIGRATIONS_USERS = {"core.app", "core.cli", "core.testing", "core.migrations", "core"}
#: All that `core.config` imports of core: `core.exceptions`, which imports nothing.
CONFIG_MAY_IMPORT = {"core.exceptions"}

#: The one upward arrow, on purpose: the documented `from core.auth.oauth import OAuthViewSet`
#: is a lazy alias (module `__getattr__`) to the view, which lives in the views layer.
ALLOWED = {("core.auth.oauth", "core.views"), ("core.auth.oauth", "core.views.oauth")}
#: Calls that import the module named by their first argument.
IMPORTING_CALLS = {"import_module", "find_spec", "__import__"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts).removesuffix(".__init__")


def layer_of(module: str) -> str:
    """The longest `LAYERS` key that is `module` or one of its packages."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        name = ".".join(parts[:end])
        if name in LAYERS:
            return name
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def imports_of(path: Path, module: str) -> list[tuple[str, int]]:
    """Every `core` module that `path` imports anywhere in it, with the line.

    Counts `import`, `from ... import` (relative too; a name imported from a package counts
    as its submodule when there is one) and `import_module("core...")`/`find_spec(...)` calls.
    """
    found: list[tuple[str, int]] = []
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0]
                base = f"{anchor}.{base}".rstrip(".")
            found.append((base, node.lineno))
            found += [(f"{base}.{alias.name}", node.lineno) for alias in node.names]
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if name in IMPORTING_CALLS and isinstance(first, ast.Constant):
                found.append((str(first.value), node.lineno))
    return [(name, line) for name, line in found if name == "core" or name.startswith("core.")]


def core_modules() -> set[str]:
    return {module_name(path) for path in PACKAGE.rglob("*.py")} - {"core"}


def forbidden_imports() -> list[str]:
    """Each import in `core` that points the wrong way, as `file:line: a imports b (why)`."""
    known = core_modules()
    problems: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = module_name(path)
        source = layer_of(importer)
        for imported, line in imports_of(path, importer):
            if imported not in known or (importer, imported) in ALLOWED:
                continue  # `from core.views import action` names a function, not a module
            # (`core` itself is not in `known`: every import of core loads it, and it is lazy)
            target = layer_of(imported)
            where = f"{path.relative_to(PACKAGE.parent)}:{line}: {importer} imports {imported}"
            if source == "core.config" and imported not in CONFIG_MAY_IMPORT:
                problems.append(f"{where} (config imports nothing of core)")
            elif LAYERS[target] > LAYERS[source]:
                problems.append(f"{where} (a higher layer)")
            elif target == "core.migrations" and source not in MIGRATIONS_USERS:
                problems.append(f"{where} (only the app, the CLI and tests run migrations)")
            elif source == "core.migrations" and target == "core.models":
                problems.append(f"{where} (migrations work on model state, not on models)")
    return problems


def test_no_import_points_up_a_layer() -> None:
    assert forbidden_imports() == []


#: The one cycle left, on purpose: the MySQL client imports its schema generator only when it
#: builds a client (that import needs a MySQL driver), and the generator reads its constants.
KNOWN_CYCLES = [["core.db.mysql_client", "core.db.mysql_schema"]]


def import_cycles() -> list[list[str]]:
    """Groups of `core` modules that import each other, counting every import (Tarjan)."""
    known = core_modules()
    graph = {
        module_name(path): {
            name
            for name, _ in imports_of(path, module_name(path))
            if name in known and not module_name(path).startswith(name + ".")
        }
        for path in PACKAGE.rglob("*.py")
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in sorted(graph.get(module, ())):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return cycles


def test_no_import_cycles_even_through_function_local_imports() -> None:
    """`engine.py` and `aerich.py` share `migrations/base.py` instead of importing each other."""
    assert import_cycles() == KNOWN_CYCLES


def test_config_imports_only_the_exceptions() -> None:
    path = PACKAGE / "config.py"
    imported = {name for name, _ in imports_of(path, "core.config")} & core_modules()
    assert imported <= CONFIG_MAY_IMPORT
    assert imports_of(PACKAGE / "exceptions.py", "core.exceptions") == []


def test_the_static_check_sees_every_kind_of_import(tmp_path: Path) -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from core.models import Model\n"
        "def f():\n    import core.auth.models\n    from ..views import oauth\n"
        "    importlib.util.find_spec('core.auth.backends')\n"
    )
    path = tmp_path / "example.py"
    path.write_text(source)
    names = {name for name, _ in imports_of(path, "core.db.example")}
    expected = {"core.models", "core.auth.models", "core.views.oauth", "core.auth.backends"}
    assert expected <= names
    assert all(LAYERS[layer_of(name)] > LAYERS["core.db"] for name in expected)


def loaded_after(code: str) -> list[str]:
    """The `core` modules loaded in a fresh interpreter after running `code`."""
    script = (
        f"import sys\n{code}\n"
        "import json\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'core')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def above(loaded: list[str], *layers: str) -> list[str]:
    return [m for m in loaded if any(m == p or m.startswith(p + ".") for p in layers)]


@pytest.mark.parametrize(
    "code",
    [
        "import core.db",
        "from core.db import build_tortoise_config, model_modules\n"
        "build_tortoise_config('sqlite://:memory:')\nmodel_modules()",
    ],
)
def test_the_db_layer_loads_no_models_or_auth(code: str) -> None:
    loaded = loaded_after(code)
    assert "core.db" in loaded
    assert above(loaded, "core.auth", "core.models", "core.views", "core.throttling") == []


def test_config_loads_nothing_else_of_core() -> None:
    assert loaded_after("import core.config") == ["core", "core.config", "core.exceptions"]


def test_auth_loads_no_views() -> None:
    loaded = loaded_after("import core.auth\nimport core.auth.oauth\nimport core.auth.request")
    assert "core.auth.oauth.backends" in loaded
    assert above(loaded, "core.views", "core.permissions", "core.routing", "core.app") == []


def test_the_documented_oauth_import_is_the_view() -> None:
    from core.auth.oauth import OAuthLoginError, OAuthTokens, OAuthViewSet
    from core.exceptions import StatusError
    from core.views import oauth

    assert OAuthViewSet is oauth.OAuthViewSet
    assert OAuthTokens is oauth.OAuthTokens
    assert issubclass(OAuthLoginError, StatusError)
    assert [c.__module__ for c in OAuthLoginError.__mro__] == [
        "core.auth.oauth.errors",
        "core.exceptions",
        "builtins",
        "builtins",
        "builtins",
    ]  # no HTTPException: the auth layer speaks no HTTP
