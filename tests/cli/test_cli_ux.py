"""The first hour of a new user, through the real `core` command in temp directories.

`core init`'s dependency on the framework, errors that carry their fix (a model typo, a
foreign key to a missing table, a missing database driver), an interactive `createsuperuser`
that asks again, and `core test`.
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core import __version__
from tests.cli.test_project_commands import free_port
from tests.migrations.projects import CORE, ProjectDir

ROOT = Path(__file__).parents[2]


def run_core(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MODELS")}
    environment.update(env, PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run(
        [CORE, *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def new_project(tmp_path: Path, name: str = "blog", *args: str) -> ProjectDir:
    result = run_core(tmp_path, "init", name, "--no-venv", *args)
    assert result.returncode == 0, result.stderr
    return ProjectDir(root=tmp_path / name, db_url=None)


def dependencies(project: ProjectDir) -> str:
    text = (project.root / "pyproject.toml").read_text()
    return next(line for line in text.splitlines() if line.startswith("dependencies"))


# core init: a dependency a teammate can install ------------------------------------------------


def test_init_depends_on_the_released_framework_with_a_version_range(tmp_path: Path) -> None:
    project = new_project(tmp_path)
    line = dependencies(project)
    major, minor = (int(part) for part in __version__.split(".")[:2])
    upper = f"0.{minor + 1}" if major == 0 else str(major + 1)
    assert line == f'dependencies = ["core-framework>={__version__},<{upper}"]'
    assert "file://" not in (project.root / "pyproject.toml").read_text()
    assert "pip install -e '.[dev]'" in (project.root / "README.md").read_text()


def test_init_framework_source_writes_a_local_source_when_asked(tmp_path: Path) -> None:
    project = new_project(tmp_path, "local", "--framework-source", str(ROOT))
    assert dependencies(project) == f'dependencies = ["core-framework @ {ROOT.as_uri()}"]'

    missing = run_core(tmp_path, "init", "other", "--no-venv", "--framework-source", "nowhere")
    assert missing.returncode == 1
    assert "Error: --framework-source nowhere:" in missing.stderr
    assert "does not exist" in missing.stderr
    assert not (tmp_path / "other").exists()

    not_a_checkout = tmp_path / "empty-dir"
    not_a_checkout.mkdir()
    refused = run_core(
        tmp_path, "init", "third", "--no-venv", "--framework-source", str(not_a_checkout)
    )
    assert refused.returncode == 1 and "has no pyproject.toml" in refused.stderr


# Errors that carry the fix ---------------------------------------------------------------------

TYPOS = [
    (
        "Field.text()",
        "Feild.text()",
        "Error: NameError: name 'Feild' is not defined. Did you mean: 'Field'?",
    ),
    (
        "Field.text()",
        "Field.txt()",
        "Error: AttributeError: type object 'Field' has no attribute 'txt'. Did you mean: 'text'?",
    ),
    ("Field.text()", "Field.text(", "Error: SyntaxError: '(' was never closed"),
]


@pytest.mark.parametrize(("right", "wrong", "first_line"), TYPOS, ids=["name", "attr", "syntax"])
def test_a_typo_in_a_model_names_the_file_the_line_and_the_fix(
    tmp_path: Path, right: str, wrong: str, first_line: str
) -> None:
    project = new_project(tmp_path)
    models = project.root / "src" / "apps" / "posts" / "models.py"
    source = models.read_text()
    line_number = next(
        number for number, line in enumerate(source.splitlines(), 1) if right in line
    )
    models.write_text(source.replace(right, wrong, 1))
    commands = [["makemigrations"], ["run", "--port", str(free_port())]]
    if wrong == "Feild.text()":  # every command reports it the same way (one error handler)
        commands += [["migrate"], ["check"]]
    for command in commands:
        result = run_core(project.root, *command)
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        lines = result.stderr.splitlines()
        assert lines[0].startswith(first_line), (command, result.stderr)
        assert lines[1] == f'  File "src/apps/posts/models.py", line {line_number}', result.stderr
        assert lines[2].strip().startswith("content: Mapped[str] = " + wrong.split("(")[0])
        assert "Traceback" not in result.stderr


def test_a_foreign_key_to_a_missing_table_names_the_field_model_and_table(
    tmp_path: Path,
) -> None:
    project = new_project(tmp_path)
    models = project.root / "src" / "apps" / "posts" / "models.py"
    models.write_text(
        models.read_text().replace('foreign_key("users.id")', 'foreign_key("user.id")')
    )
    expected = (
        "Post.author_id = Field.foreign_key('user.id') in src/apps/posts/models.py: "
        "no model has __tablename__ = 'user'; did you mean 'users'?"
    )
    for command in ("makemigrations", "migrate", "check"):
        result = run_core(project.root, command)
        assert result.returncode == 1
        assert result.stderr.startswith(f"Error: {expected} (tables: "), result.stderr
        assert "posts" in result.stderr and "No model with name" not in result.stderr

    # A class reference ("models.Usr") is named the same way, with the models there are.
    models.write_text(
        models.read_text().replace('foreign_key("user.id")', 'foreign_key("models.Usr")')
    )
    result = run_core(project.root, "makemigrations")
    assert result.stderr.startswith(
        "Error: Post.author_id = Field.foreign_key('models.Usr') in src/apps/posts/models.py: "
        "there is no model 'Usr' in app 'models'; did you mean 'User'? (models: "
    ), result.stderr


def test_core_run_says_which_foreign_key_points_nowhere(tmp_path: Path) -> None:
    """The app's startup (uvicorn's lifespan) fails with the same explanation."""
    project = new_project(tmp_path)
    models = project.root / "src" / "apps" / "posts" / "models.py"
    models.write_text(
        models.read_text().replace('foreign_key("users.id")', 'foreign_key("user.id")')
    )
    result = subprocess.run(
        [CORE, "run", "--port", str(free_port())],
        cwd=project.root,
        env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode != 0
    assert (
        "core.exceptions.ImproperlyConfigured: Post.author_id = Field.foreign_key('user.id') "
        "in src/apps/posts/models.py: no model has __tablename__ = 'user'; did you mean 'users'?"
    ) in result.stderr


DRIVERS = [
    ("mysql://u:secret@localhost/shop", ["aiomysql", "asyncmy"], "core-framework[mysql]"),
    ("mysql+asyncmy://u:secret@localhost/shop", ["aiomysql", "asyncmy"], "core-framework[mysql]"),
    ("postgresql://u:secret@localhost/shop", ["asyncpg"], "'asyncpg<0.33,>=0.30.0'"),
    ("postgresql+psycopg://u:secret@localhost/shop", ["psycopg"], "'tortoise-orm[psycopg]'"),
]


@pytest.mark.parametrize(("url", "hidden", "install"), DRIVERS, ids=lambda v: str(v)[:24])
def test_a_database_url_without_its_driver_says_what_to_install(
    tmp_path: Path, url: str, hidden: list[str], install: str
) -> None:
    """`core migrate` as its console script runs it, with the driver made unimportable."""
    project = new_project(tmp_path)
    code = (
        "import sys\n"
        + "".join(f"sys.modules[{name!r}] = None\n" for name in hidden)
        + "from core.cli import main\nsys.argv = ['core', 'migrate']\nmain()\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=project.root,
        env={**env, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("Error: DATABASE_URL "), result.stderr
    assert "driver, which is not installed" in result.stderr
    assert f"pip install {install}" in result.stderr or install in result.stderr
    assert "secret" not in result.stderr and "No module named" not in result.stderr
    assert not (project.root / "migrations" / "0001_initial.py").exists()


# createsuperuser asks again; core test ---------------------------------------------------------


def converse(cwd: Path, args: list[str], answers: list[tuple[str, str]]) -> str:
    """Run `core ARGS` on a terminal (a pty), answering each prompt; the whole transcript."""
    import pty

    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MODELS")}
    process = subprocess.Popen(
        [CORE, *args], cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave
    )
    os.close(slave)
    transcript = b""
    position = 0  # answered up to here

    def read_until(text: str) -> None:
        nonlocal transcript, position
        deadline = time.monotonic() + 60
        while (found := transcript.find(text.encode(), position)) < 0:
            assert time.monotonic() < deadline, transcript.decode(errors="replace")
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    transcript += os.read(master, 4096)
                except OSError:  # the command exited
                    break
        assert found >= 0, transcript.decode(errors="replace")
        position = found + len(text)

    try:
        for prompt, answer in answers:
            read_until(prompt)
            os.write(master, answer.encode() + b"\n")
        process.wait(timeout=60)
        try:
            while chunk := os.read(master, 4096):
                transcript += chunk
        except OSError:
            pass
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
    return transcript.decode(errors="replace").replace("\r\n", "\n")


def test_interactive_createsuperuser_asks_again_after_a_weak_password(tmp_path: Path) -> None:
    project = new_project(tmp_path)
    assert run_core(project.root, "makemigrations", "--name", "initial").returncode == 0
    assert run_core(project.root, "migrate").returncode == 0
    transcript = converse(
        project.root,
        ["createsuperuser"],
        [
            ("Email: ", "not-an-email"),
            ("Email: ", "boss@example.com"),
            ("Password: ", "short"),
            ("Password: ", "password123"),
            ("Password: ", "Str0ng-Enough"),
            ("Repeat for confirmation: ", "Str0ng-Enough"),
        ],
    )
    assert "Error: 'not-an-email' is not a valid email address" in transcript
    assert "Error: Password must be at least 8 characters" in transcript
    assert "Error: This password is too common" in transcript
    assert transcript.count("Password: ") == 3
    assert "Superuser boss@example.com created." in transcript


def test_core_test_runs_the_projects_tests_and_passes_pytest_options(tmp_path: Path) -> None:
    project = new_project(tmp_path)
    # An async test without `pytestmark = pytest.mark.anyio`: the project runs it anyway.
    project.write(
        "tests/test_unmarked.py",
        "async def test_health_without_a_marker(client):\n"
        "    assert (await client.get('/health')).status_code == 200\n",
    )
    ran = run_core(project.root, "test", "-q", "-p", "no:cacheprovider", "tests/test_unmarked.py")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert re.search(r"^1 passed", ran.stdout, re.MULTILINE), ran.stdout

    selected = run_core(
        project.root, "test", "-q", "-p", "no:cacheprovider", "tests", "-k", "docs_are"
    )
    assert selected.returncode == 0, selected.stdout + selected.stderr
    assert "deselected" in selected.stdout and " passed" in selected.stdout

    project.write("tests/test_broken.py", "def test_broken():\n    assert 1 == 2\n")
    failed = run_core(project.root, "test", "-q", "-p", "no:cacheprovider", "tests/test_broken.py")
    assert failed.returncode == 1 and "1 failed" in failed.stdout

    outside = run_core(tmp_path, "test")
    assert outside.returncode == 1 and "not a Core project" in outside.stderr
