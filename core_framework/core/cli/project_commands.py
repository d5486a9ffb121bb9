"""`core init`, `run`, `createsuperuser`, `startapp` and `shell`."""

from __future__ import annotations

import ast
import asyncio
import code
import importlib
import inspect
import re
import shutil
import subprocess
import sys
import types
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import rich_click as click
from click import get_current_context
from pydantic import EmailStr, TypeAdapter, ValidationError

from core.cli.errors import fail, one_line_errors, run
from core.cli.guards import app_name_problem, require_project
from core.cli.scaffold import (
    TEMPLATES,
    app_context,
    framework_source,
    installed_editable,
    project_context,
    render,
    source_url,
)

#: What a new project's virtualenv gets besides the framework (its test dependencies).
PROJECT_DEV_PACKAGES = ("pytest", "anyio>=4.11", "httpx", "asgi-lifespan")


#: The oldest Python the framework supports (pyproject's requires-python).
MIN_PYTHON = (3, 11)


def _interpreter_version(python: str) -> tuple[int, ...] | None:
    """The X.Y.Z of the interpreter at `python` (None when it doesn't run)."""
    try:
        result = subprocess.run(  # noqa: S603 - our own argv
            [python, "-c", "import sys; print(*sys.version_info[:3], sep='.')"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return tuple(int(part) for part in result.stdout.strip().split("."))


def _python_for(version: str | None) -> str:
    """The interpreter for `--python X.Y[.Z]`: python X.Y on PATH (or this one if it matches)."""
    if version is None:
        return sys.executable
    if not re.fullmatch(r"3\.\d{1,2}(\.\d{1,2})?", version):
        fail(f"--python takes a version like 3.12 or 3.12.4, not {version!r}")
    wanted = tuple(int(part) for part in version.split("."))
    if wanted[:2] < MIN_PYTHON:
        oldest = ".".join(map(str, MIN_PYTHON))
        fail(f"--python {version}: Core Framework needs Python {oldest} or newer")
    major_minor = ".".join(map(str, wanted[:2]))
    if sys.version_info[: len(wanted)] == wanted:
        return sys.executable
    found = shutil.which(f"python{major_minor}")
    if found is None:
        fail(
            f"Python {version} was not found (no python{major_minor} on PATH); "
            "install it or omit --python"
        )
    actual = _interpreter_version(str(found))
    if actual is None or actual[: len(wanted)] != wanted:
        shown = ".".join(map(str, actual)) if actual else "an interpreter that doesn't run"
        fail(f"Python {version} was not found: python{major_minor} on PATH ({found}) is {shown}")
    return str(found)


def _remove_half_made(project: Path, created: bool) -> None:
    """Undo a failed `init`: the directory it made, or what it wrote into an empty one."""
    if created:
        shutil.rmtree(project, ignore_errors=True)
    elif project.is_dir():
        for child in project.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)


def _framework_install_args(chosen: str | None) -> list[str]:
    """pip arguments that install the framework into a new project's `.venv`.

    `--framework-source` if given (a checkout editable); else the checkout or wheel the running `core` came from (so
    `init` works offline and a development checkout stays editable); else the released version.
    """
    if chosen is not None:
        if not chosen.startswith("file://"):
            return [chosen]  # a VCS or web URL, as pip takes it
        path = chosen.removeprefix("file://")
        return ["-e", path] if Path(path).is_dir() else [path]
    source = framework_source()
    if source is None:
        from importlib import metadata

        return [f"core-framework=={metadata.version('core-framework')}"]
    if installed_editable():
        return ["-e", source.removeprefix("file://")]
    return [source.removeprefix("file://")]


def _create_venv(project: Path, python: str, framework: str | None) -> None:
    """`.venv` with the framework and the test tools."""
    venv = project / ".venv"
    click.echo(f"Creating {venv} with {python} ...")
    subprocess.run([python, "-m", "venv", str(venv)], check=True)  # noqa: S603 - our own argv
    pip = [
        str(venv / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]
    click.echo("Installing the framework and the test tools ...")
    framework_args = _framework_install_args(framework)
    subprocess.run([*pip, *framework_args, *PROJECT_DEV_PACKAGES], check=True)  # noqa: S603


@click.command()
@click.argument("name")
@click.option(
    "--python",
    "python_version",
    metavar="X.Y[.Z]",
    help="Python version for the .venv (3.11 or newer).",
)
@click.option("--no-venv", is_flag=True, help="Only write the files; create no virtualenv.")
@click.option(
    "--framework-source",
    metavar="PATH|URL",
    help=(
        "Depend on the framework from this checkout, wheel or URL (written into pyproject.toml "
        "as `core-framework @ ...`) instead of the released version range."
    ),
)
@one_line_errors
def init(
    name: str, python_version: str | None, no_venv: bool, framework_source: str | None
) -> None:
    """Create a new project NAME: apps, settings, migrations, tests and a .venv."""
    project = Path(name).resolve()
    if project.exists() and (not project.is_dir() or any(project.iterdir())):
        fail(f"{name} already exists and is not an empty directory")
    framework = None
    if framework_source is not None:
        try:
            framework = source_url(framework_source)
        except FileNotFoundError as exc:
            fail(str(exc))
    python = None if no_venv else _python_for(python_version)
    created = not project.exists()
    try:
        project.mkdir(parents=True, exist_ok=True)
        render(TEMPLATES / "project", project, project_context(project.name, framework))
        click.echo(f"Created project {project.name} in {project}")
        if python is not None:
            try:
                _create_venv(project, python, framework)
            except subprocess.CalledProcessError as exc:
                fail(
                    f"creating the virtualenv failed ({exc}); removed the half-made project so you can retry"
                )
    except BaseException:
        _remove_half_made(project, created)
        raise
    click.echo("\nNext steps:")
    click.echo(f"  cd {name}")
    if python is not None:
        click.echo("  source .venv/bin/activate")
    click.echo("  core makemigrations --name initial && core migrate")
    click.echo("  core createsuperuser")
    click.echo("  core run    # then open http://127.0.0.1:8000/docs")


@click.command(name="run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--reload", is_flag=True, help="Restart when code changes (development).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1))
@one_line_errors
def run_server(host: str, port: int, reload: bool, workers: int) -> None:
    """Serve src.main:app with uvicorn."""
    import uvicorn

    root = require_project()
    if reload and workers > 1:
        fail("--reload and --workers can't be combined")
    uvicorn.run(
        "src.main:app", host=host, port=port, reload=reload, workers=workers, app_dir=str(root)
    )


_EMAIL = TypeAdapter(EmailStr)


def _valid_email(value: str) -> str:
    try:
        return str(_EMAIL.validate_python(value.strip()))
    except ValidationError:
        raise click.BadParameter(f"{value!r} is not a valid email address") from None


def _strong_password(value: str) -> str:
    """The prompt's check: the password rules of registration, each broken one named."""
    from core.auth import password_problems

    problems = password_problems(value)
    if problems:
        raise click.BadParameter("; ".join(problems))
    return value


def _import_project_app() -> Any:
    """Import src.main and return its `app` (None if it has none): commands run as it does."""
    if not Path("src/main.py").exists():
        return None
    return getattr(importlib.import_module("src.main"), "app", None)


def _as_app(app: Any) -> AbstractContextManager[None]:
    """A block run under the app's own settings (tokens, hasher, user model, database)."""
    scope = getattr(app, "settings_scope", None)
    return scope() if callable(scope) else nullcontext()


@click.command()
@click.option("--email", help="The superuser's email (prompted for when missing).")
@click.option(
    "--password", help="The password (prompted for when missing; avoid on shared machines)."
)
@one_line_errors
def createsuperuser(email: str | None, password: str | None) -> None:
    """Create an active staff superuser, validated like registration."""
    from core.auth import get_user_model, password_problems
    from core.db import connect

    require_project()
    interactive = sys.stdin.isatty()
    if email is None:
        if not interactive:
            fail("--email is required when there is no terminal to ask")
        email = click.prompt("Email", value_proc=_valid_email)
    else:
        try:
            email = _valid_email(email)
        except click.BadParameter as exc:
            fail(exc.message)
    if password is None:
        if not interactive:
            fail("--password is required when there is no terminal to ask")
        # A weak password is refused with its reason and asked again, as a bad email is.
        password = click.prompt(
            "Password", hide_input=True, confirmation_prompt=True, value_proc=_strong_password
        )
    problems = password_problems(password)
    if problems:
        fail("; ".join(problems))
    app = _import_project_app()

    async def create() -> str:
        with _as_app(app):  # the app's database, user model and password hasher
            url, models = getattr(app, "database_url", None), getattr(app, "model_modules", None)
            async with connect(url, models) as db:
                user_model = get_user_model()
                if await user_model.get_by_email(email, db) is not None:
                    fail(f"a user with email {email} already exists")
                user = await user_model.create_superuser(email=email, password=password, db=db)
                return str(user.email)

    click.echo(f"Superuser {run(create())} created.")


@click.command()
@click.argument("name")
@one_line_errors
def startapp(name: str) -> None:
    """Create src/apps/NAME with models, schemas, views, routes and tests."""
    root = require_project()
    problem = app_name_problem(name)
    if problem is not None:
        fail(problem)
    target = root / "src" / "apps" / name
    if target.exists():
        fail(f"src/apps/{name} already exists")
    context = app_context(name)
    render(TEMPLATES / "app", target, context)
    click.echo(f"Created app {name} in src/apps/{name} (its models are discovered automatically).")
    click.echo("Route it by adding to src/main.py:")
    click.echo(f"  from src.apps.{name}.routes import {name}_router")
    click.echo(f"  api_router.include_router({name}_router)")
    click.echo("Then: core makemigrations && core migrate")


@click.command(
    name="test",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
)
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
@one_line_errors
def test_command(pytest_args: tuple[str, ...]) -> None:
    """Run the project's tests with pytest; arguments go to pytest (`core test -k posts -x`)."""
    import importlib.util

    root = require_project()
    if importlib.util.find_spec("pytest") is None:
        fail(
            f"pytest is not installed for {sys.executable}: "
            "pip install -e '.[dev]' in the project installs the test tools"
        )
    command = [sys.executable, "-m", "pytest", *pytest_args]
    code_ = subprocess.run(command, cwd=root, check=False).returncode  # noqa: S603 - our argv
    get_current_context().exit(code_)


class AsyncConsole(code.InteractiveConsole):
    """A REPL where `await` works at top level, on one event loop kept for the session."""

    def __init__(self, namespace: dict[str, Any], loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(namespace)
        self.compile.compiler.flags |= ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        self.loop = loop

    def runcode(self, code_object: types.CodeType) -> None:
        try:
            result = types.FunctionType(code_object, self.locals)()
            if inspect.iscoroutine(result):
                self.loop.run_until_complete(result)
        except SystemExit:
            raise
        except BaseException:
            self.showtraceback()


def _shell_namespace() -> dict[str, Any]:
    """Every model of the running ORM by class name, plus the default connection as `db`."""
    from tortoise import Tortoise, connections

    namespace: dict[str, Any] = {"db": connections.get("default")}
    if Tortoise.apps is not None:
        for model in Tortoise.apps.get_models_iterable():
            namespace[model.__name__] = model
    return namespace


@click.command()
@one_line_errors
def shell() -> None:
    """An async-capable Python shell with the database started and the models imported."""
    from core.db import start_database, stop_database

    require_project()
    app = _import_project_app()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    with _as_app(app):  # the shell's code runs as the app's requests do
        url, models = getattr(app, "database_url", None), getattr(app, "model_modules", None)
        loop.run_until_complete(start_database(url, models))
        try:
            namespace = _shell_namespace()
            banner = (
                "Core shell: `await` works here. Models: "
                + ", ".join(sorted(k for k in namespace if k != "db"))
                + "; the connection is `db`."
            )
            AsyncConsole(namespace, loop).interact(banner=banner, exitmsg="")
        finally:
            loop.run_until_complete(stop_database())
            loop.close()


PROJECT_COMMANDS = (init, run_server, createsuperuser, startapp, shell, test_command)
