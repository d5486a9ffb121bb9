"""`core init`, `startapp`, `createsuperuser`, `run` and `shell`, run for real in temp dirs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.migrations.projects import CORE, ProjectDir, lines, server_url

GUIDE_LAYOUT = [
    "src/__init__.py",
    "src/main.py",
    "src/apps/__init__.py",
    "src/apps/users/__init__.py",
    "src/apps/users/models.py",
    "src/apps/users/schemas.py",
    "src/apps/users/views.py",
    "src/apps/users/services.py",
    "src/apps/users/routes.py",
    "src/apps/users/tests/__init__.py",
    "src/apps/users/tests/test_users.py",
    "src/apps/posts/__init__.py",
    "src/apps/posts/models.py",
    "src/apps/posts/schemas.py",
    "src/apps/posts/views.py",
    "src/apps/posts/services.py",
    "src/apps/posts/routes.py",
    "src/apps/posts/tests/__init__.py",
    "src/api/__init__.py",
    "src/api/config.py",
    "migrations/__init__.py",
    "tests/__init__.py",
    ".env",
    ".env.example",
    "pyproject.toml",
    "README.md",
]


def init(parent: Path, name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CORE, "init", name, *args],
        cwd=parent,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )


def scaffolded(tmp_path: Path, name: str = "shop") -> ProjectDir:
    result = init(tmp_path, name, "--no-venv")
    assert result.returncode == 0, result.stderr
    project = ProjectDir(root=tmp_path / name, db_url=server_url())
    project.reset_database()
    return project


def wait_until_serving(base: str, what: str) -> None:
    """Poll /health until the server answers (30 s at most)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{what} did not start"
        time.sleep(0.2)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_init_writes_the_guides_project_structure(tmp_path: Path) -> None:
    result = init(tmp_path, "my-project", "--no-venv")
    assert result.returncode == 0, result.stderr
    root = tmp_path / "my-project"
    for relative in GUIDE_LAYOUT:
        assert (root / relative).is_file(), relative
    env = (root / ".env").read_text()
    secret = next(line for line in env.splitlines() if line.startswith("SECRET_KEY="))
    assert len(secret.split("=", 1)[1]) >= 50
    example = (root / ".env.example").read_text()
    assert "change-me" in example
    assert "DEBUG=false" in example.splitlines() and "DEBUG=false" in env.splitlines()
    assert "ENVIRONMENT=production" in example.splitlines()
    assert "Development differs" in example
    assert "SECRET_KEY=" + secret.split("=", 1)[1] not in (root / ".env.example").read_text()
    assert 'name = "my-project"' in (root / "pyproject.toml").read_text()
    assert "core-framework" in (root / "pyproject.toml").read_text()
    assert "Next steps" in result.stdout

    again = init(tmp_path, "other", "--no-venv")
    other_env = (tmp_path / "other" / ".env").read_text()
    assert again.returncode == 0 and secret not in other_env  # a fresh secret each time


def test_init_refuses_a_non_empty_directory_and_a_missing_python(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file.txt").write_text("mine")
    refused = init(tmp_path, "taken", "--no-venv")
    assert refused.returncode != 0
    assert "already exists" in refused.stderr
    assert (tmp_path / "taken" / "file.txt").read_text() == "mine"
    assert sorted(p.name for p in (tmp_path / "taken").iterdir()) == ["file.txt"]

    missing = init(tmp_path, "fresh", "--python", "3.99")
    assert missing.returncode != 0
    assert "Python 3.99 was not found" in missing.stderr
    assert not (tmp_path / "fresh").exists()

    (tmp_path / "empty").mkdir()
    assert init(tmp_path, "empty", "--no-venv").returncode == 0


@pytest.mark.db
def test_the_generated_projects_own_tests_pass(tmp_path: Path) -> None:
    project = scaffolded(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project.root,
        env=project.env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "failed" not in result.stdout


@pytest.mark.db
def test_migrate_createsuperuser_then_login_over_http(tmp_path: Path) -> None:
    project = scaffolded(tmp_path)
    project.core("makemigrations", "--name", "initial")
    project.core("migrate")
    assert project.core("check").returncode == 0

    weak = project.core(
        "createsuperuser", "--email", "root@example.com", "--password", "weak", ok=False
    )
    assert weak.returncode != 0 and "at least 8 characters" in weak.stderr
    bad_email = project.core(
        "createsuperuser", "--email", "nope", "--password", "Passw0rdOK", ok=False
    )
    assert bad_email.returncode != 0 and "not a valid email" in bad_email.stderr
    no_tty = project.core("createsuperuser", ok=False)
    assert no_tty.returncode != 0 and "--email is required" in no_tty.stderr

    created = project.core(
        "createsuperuser", "--email", "Root@Example.com", "--password", "Passw0rdOK"
    )
    assert "Superuser root@example.com created." in created.stdout
    duplicate = project.core(
        "createsuperuser", "--email", "root@example.com", "--password", "Passw0rdOK", ok=False
    )
    assert duplicate.returncode != 0 and "already exists" in duplicate.stderr
    assert project.count("users") == 1

    port = free_port()
    server = project.spawn("run", "--port", str(port))
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(base, "core run")
        login = httpx.post(
            f"{base}/api/v1/auth/login/",
            json={"email": "root@example.com", "password": "Passw0rdOK"},
            timeout=10,
        )
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        me = httpx.get(
            f"{base}/api/v1/auth/me/", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert me.json()["email"] == "root@example.com" and me.json()["is_staff"] is True
        users = httpx.get(
            f"{base}/api/v1/users/", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert users.json()["count"] == 1
        assert httpx.get(f"{base}/docs", timeout=10).status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_createsuperuser_hashes_with_the_settings_of_the_projects_app(tmp_path: Path) -> None:
    """The app's own settings object decides, not the environment the command runs in."""
    project = scaffolded(tmp_path)
    config = project.root / "src" / "api" / "config.py"
    source = config.read_text(encoding="utf-8")
    config.write_text(
        source.replace(
            "settings = AppSettings()", 'settings = AppSettings(auth_password_hasher="scrypt")'
        ),
        encoding="utf-8",
    )
    project.core("makemigrations", "--name", "initial")
    project.core("migrate")
    project.core("createsuperuser", "--email", "root@example.com", "--password", "Passw0rdOK")
    rows = project.sql("SELECT password_hash FROM users")
    assert [row["password_hash"].split("$", 1)[0] for row in rows] == ["scrypt"]


@pytest.mark.db
def test_uvicorn_with_several_workers_serves_the_project(tmp_path: Path) -> None:
    project = scaffolded(tmp_path)
    project.core("makemigrations", "--name", "initial")
    project.core("migrate")
    port = free_port()
    uvicorn = str(Path(sys.executable).with_name("uvicorn"))
    server = subprocess.Popen(
        [uvicorn, "src.main:app", "--port", str(port), "--workers", "2"],
        cwd=project.root,
        env=project.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(base, "uvicorn")
        registered = httpx.post(
            f"{base}/api/v1/auth/register/",
            json={"email": "w@example.com", "password": "Passw0rdOK"},
            timeout=10,
        )
        assert registered.status_code == 202, registered.text
        logins = [
            httpx.post(
                f"{base}/api/v1/auth/login/",
                json={"email": "w@example.com", "password": "Passw0rdOK"},
                timeout=10,
            ).status_code
            for _ in range(6)
        ]
        assert logins == [200] * 6
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.db
def test_startapp_is_picked_up_by_makemigrations(tmp_path: Path) -> None:
    project = scaffolded(tmp_path)
    project.core("makemigrations", "--name", "initial")
    created = project.core("startapp", "blog_posts")
    assert "api_router.include_router(blog_posts_router)" in created.stdout
    for name in ("models.py", "schemas.py", "views.py", "routes.py", "tests/test_blog_posts.py"):
        assert (project.root / "src/apps/blog_posts" / name).is_file(), name

    made = project.core("makemigrations", "--name", "blog")
    assert "0002_blog" in made.stdout
    assert "blog_posts" in (project.root / "migrations/0002_blog.py").read_text()
    project.core("migrate")
    assert "blog_posts" in project.tables()

    assert project.core("startapp", "blog_posts", ok=False).returncode != 0
    for bad in ("Blog", "1blog", "class", "my-app"):
        result = project.core("startapp", bad, ok=False)
        assert result.returncode != 0 and "not a valid app name" in result.stderr, bad


@pytest.mark.db
def test_shell_runs_awaited_queries_with_the_models_imported(tmp_path: Path) -> None:
    project = scaffolded(tmp_path)
    project.core("makemigrations", "--name", "initial")
    project.core("migrate")
    script = (
        "await User.create_user('s@example.com', 'Passw0rdOK', db=db)\n"
        "print('users:', await User.objects.using(db).count())\n"
        "print('models:', sorted(n for n in ('Post', 'User', 'Group') if n in globals()))\n"
    )
    result = project.core("shell", input=script)
    assert "users: 1" in result.stdout
    assert "models: ['Group', 'Post', 'User']" in result.stdout
    assert project.count("users") == 1


def test_commands_outside_a_project_fail_clearly(tmp_path: Path) -> None:
    for args in (["run"], ["startapp", "x"], ["shell"], ["createsuperuser"]):
        result = subprocess.run(
            [CORE, *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert result.returncode != 0, args
        assert "core init" in result.stderr, args
        assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_init_with_a_virtualenv_installs_the_framework_and_its_tests_pass(tmp_path: Path) -> None:
    """The slow path: a real .venv with the framework from this checkout (no network needed
    beyond the package registries)."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    result = init(tmp_path, "venvproject", "--python", version)
    assert result.returncode == 0, result.stdout + result.stderr
    root = tmp_path / "venvproject"
    python = root / ".venv" / "bin" / "python"
    assert (root / ".venv" / "bin" / "core").exists()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "VIRTUAL_ENV")}
    check = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    version_out = subprocess.run(
        [str(root / ".venv" / "bin" / "core"), "--version"], capture_output=True, text=True
    )
    assert "0.1.0" in version_out.stdout


class Served:
    """`core run` of a project on a free port, stopped when the block ends."""

    def __init__(self, project: ProjectDir) -> None:
        self.project = project
        self.base = ""

    def __enter__(self) -> httpx.Client:
        port = free_port()
        self.server = self.project.spawn("run", "--port", str(port))
        self.base = f"http://127.0.0.1:{port}"
        wait_until_serving(self.base, "core run")
        self.client = httpx.Client(base_url=self.base, timeout=10)
        return self.client

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        self.server.terminate()
        self.server.wait(timeout=30)


@pytest.mark.db
def test_the_example_project_end_to_end_crud_a_new_column_and_a_superuser(tmp_path: Path) -> None:
    """`core init`'s project on this database (SQLite, PostgreSQL or MariaDB in CI)."""
    project = scaffolded(tmp_path)
    project.core("makemigrations", "--name", "initial")
    project.core("migrate")

    with Served(project) as http:
        user = {"email": "ann@example.com", "password": "Passw0rdOK"}
        assert http.post("/api/v1/auth/register/", json=user).status_code == 202
        tokens = http.post("/api/v1/auth/login/", json=user).json()
        http.headers["Authorization"] = f"Bearer {tokens['access_token']}"
        post = {"title": "Hello 🎉 wörld", "slug": "hello", "content": "First 🙂"}
        created = http.post("/api/v1/posts/", json=post)
        assert created.status_code == 201, created.text
        post_id = created.json()["id"]
        assert http.get(f"/api/v1/posts/{post_id}/").json()["title"] == "Hello 🎉 wörld"
        patched = http.patch(f"/api/v1/posts/{post_id}/", json={"content": "Edited 🎊"})
        assert patched.status_code == 200 and patched.json()["content"] == "Edited 🎊"
        duplicate = http.post("/api/v1/posts/", json={**post, "title": "again"})
        assert duplicate.status_code == 422
        assert duplicate.json()["detail"][0]["loc"] == ["body", "slug"]
        other = http.post("/api/v1/posts/", json={**post, "slug": "🎉"})
        assert other.status_code == 201, other.text
        assert http.get("/api/v1/posts/").json()["count"] == 2
        other_url = f"/api/v1/posts/{other.json()['id']}/"
        assert http.delete(other_url).status_code == 403  # needs the posts.delete permission
        project.sql("UPDATE users SET is_superuser = TRUE WHERE email = 'ann@example.com'")
        assert http.delete(other_url).status_code == 204
        assert http.get("/api/v1/posts/").json()["count"] == 1

    # The migration cycle: a new column in the model and its schemas.
    models = project.root / "src/apps/posts/models.py"
    models.write_text(
        models.read_text().replace(
            "    content: Mapped[str] = Field.text()\n",
            "    content: Mapped[str] = Field.text()\n"
            "    summary: Mapped[str | None] = Field.string(max_length=300, nullable=True)\n",
        )
    )
    schemas = project.root / "src/apps/posts/schemas.py"
    schemas.write_text(
        schemas.read_text()
        .replace(
            "    is_published: bool = False\n",
            "    is_published: bool = False\n    summary: str | None = None\n",
        )
        .replace("    views_count: int\n", "    views_count: int\n    summary: str | None\n")
    )
    assert project.core("check", ok=False).returncode == 1
    project.core("makemigrations", "--name", "add_summary")
    assert "Applying 0002_add_summary... OK" in project.core("migrate").stdout
    assert "summary" in project.columns("posts")
    with Served(project) as http:
        tokens = http.post("/api/v1/auth/login/", json=user).json()
        http.headers["Authorization"] = f"Bearer {tokens['access_token']}"
        assert http.get(f"/api/v1/posts/{post_id}/").json()["summary"] is None
        changed = http.patch(f"/api/v1/posts/{post_id}/", json={"summary": "Short ✨"})
        assert changed.status_code == 200 and changed.json()["summary"] == "Short ✨"

    rolled_back = project.core("migrate", "--rollback")
    assert "Rolling back 0002_add_summary... OK" in rolled_back.stdout
    assert "summary" not in project.columns("posts")
    assert project.count("posts") == 1
    assert lines(project.core("showmigrations").stdout) == [
        " [X] 0001_initial",
        " [ ] 0002_add_summary",
    ]
    project.core("migrate")
    assert "No issues" in project.core("check").stdout

    project.core("createsuperuser", "--email", "root@example.com", "--password", "Passw0rdOK")
    with Served(project) as http:
        root = {"email": "root@example.com", "password": "Passw0rdOK"}
        tokens = http.post("/api/v1/auth/login/", json=root).json()
        http.headers["Authorization"] = f"Bearer {tokens['access_token']}"
        assert http.get("/api/v1/users/").json()["count"] == 2
        assert http.get(f"/api/v1/posts/{post_id}/").status_code == 404  # ann's draft
        tokens = http.post("/api/v1/auth/login/", json=user).json()
        http.headers["Authorization"] = f"Bearer {tokens['access_token']}"
        assert http.get(f"/api/v1/posts/{post_id}/").json()["summary"] is None


PROJECT_COMMANDS = (
    ["makemigrations"],
    ["migrate"],
    ["check"],
    ["showmigrations"],
    ["sqlmigrate", "0001"],
    ["reset_db", "--yes"],
    ["createsuperuser", "--email", "a@example.com", "--password", "Passw0rdOK"],
    ["shell"],
    ["run"],
    ["startapp", "blog"],
)


def run_core(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CORE, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env=env,
    )


def test_every_project_command_refuses_to_run_outside_a_project(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DATABASE_URL=sqlite+aiosqlite:///./app.db\n")
    for args in PROJECT_COMMANDS:
        result = run_core(tmp_path, *args)
        assert result.returncode == 1, args
        assert result.stderr.strip() == (
            f"Error: not a Core project: no src/main.py or src/apps/ in {tmp_path.resolve()}; "
            "run it in a project created by `core init NAME`"
        ), args
    # Nothing was left behind: no migrations package, no SQLite file.
    assert sorted(p.name for p in tmp_path.iterdir()) == [".env"]


def test_a_project_command_in_a_subdirectory_names_the_project(tmp_path: Path) -> None:
    project = scaffolded(tmp_path)
    inner = project.root / "src" / "apps" / "posts"
    result = run_core(inner, "makemigrations")
    assert result.returncode == 1
    assert f"the project seems to be {project.root.resolve()}: cd there" in result.stderr
    assert not (inner / "migrations").exists()


def test_run_refuses_a_port_out_of_range(tmp_path: Path) -> None:
    project = scaffolded(tmp_path)
    for port in ("83691", "0", "-1"):
        result = run_core(project.root, "run", "--port", port)
        assert result.returncode == 2, port
        assert "Invalid value for '--port'" in result.stderr, port
        assert f"{port} is not in the range 1<=x<=65535" in result.stderr, port


def test_startapp_refuses_names_that_shadow_modules_or_are_keywords(tmp_path: Path) -> None:
    project = scaffolded(tmp_path)
    reasons = {
        "os": "it shadows the standard library module 'os'",
        "json": "it shadows the standard library module 'json'",
        "httpx": "it shadows the installed module 'httpx'",
        "tests": "it shadows the installed module 'tests'",
        "match": "it is a Python keyword",
        "class": "it is a Python keyword",
        "blog-posts": "use lowercase letters, digits and underscores",
    }
    for name, reason in reasons.items():
        result = project.core("startapp", name, ok=False)
        assert result.returncode == 1, name
        assert result.stderr.strip().startswith(f"Error: {name!r} is not a valid app name: "), name
        assert reason in result.stderr, (name, result.stderr)
        assert not (project.root / "src" / "apps" / name).exists(), name


def test_init_checks_the_python_version(tmp_path: Path) -> None:
    old = init(tmp_path, "old", "--python", "3.10")
    assert old.returncode == 1
    assert old.stderr.strip() == "Error: --python 3.10: Core Framework needs Python 3.11 or newer"
    bad = init(tmp_path, "bad", "--python", "three")
    assert "--python takes a version like 3.12 or 3.12.4, not 'three'" in bad.stderr
    patch = f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro + 50}"
    missing = init(tmp_path, "patch", "--python", patch)
    assert missing.returncode == 1
    assert f"Python {patch} was not found" in missing.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_failed_init_removes_the_half_made_project_so_a_retry_works(tmp_path: Path) -> None:
    # A python3.X on PATH that reports its version but can't create a virtualenv.
    other = (3, 13) if sys.version_info[:2] != (3, 13) else (3, 12)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / f"python{other[0]}.{other[1]}"
    fake.write_text(
        f'#!/bin/sh\nif [ "$1" = "-c" ]; then echo {other[0]}.{other[1]}.0; exit 0; fi\n'
        'echo "venv: broken" >&2; exit 1\n'
    )
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    work = tmp_path / "work"
    work.mkdir()
    failed = run_core(work, "init", "shop", "--python", f"{other[0]}.{other[1]}", env=env)
    assert failed.returncode == 1
    assert "creating the virtualenv failed" in failed.stderr
    assert "removed the half-made project so you can retry" in failed.stderr
    assert not (work / "shop").exists()

    retried = init(work, "shop", "--no-venv")
    assert retried.returncode == 0, retried.stderr
    assert (work / "shop" / "src" / "main.py").is_file()


def test_make_demo_reports_the_real_createsuperuser_failure(tmp_path: Path) -> None:
    """scripts/demo.sh run for real in a copy of the repository layout it expects."""
    (tmp_path / "scripts").mkdir()
    demo = tmp_path / "scripts" / "demo.sh"
    demo.write_text((Path(__file__).parents[2] / "scripts" / "demo.sh").read_text())
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "core").symlink_to(CORE)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MODELS")}

    def make_demo(**settings: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(demo)],
            env={**env, **settings},
            capture_output=True,
            text=True,
            timeout=300,
            stdin=subprocess.DEVNULL,
        )

    weak = make_demo(DEMO_PASSWORD="short")
    assert weak.returncode == 1
    assert "make demo: could not create the demo user demo@example.com:" in weak.stderr
    assert "Error: " in weak.stderr and "password" in weak.stderr.lower()
    assert "already exists" not in weak.stdout + weak.stderr
    assert "Demo API" not in weak.stdout  # no login advertised that would answer 401

    # With the user created, a second run says so and goes on to the server (here refused: bad port).
    created = make_demo(PORT="83691")
    assert "Superuser demo@example.com created." in created.stdout
    again = make_demo(PORT="83691")
    assert "Demo user demo@example.com already exists." in again.stdout
    assert "Demo API" in again.stdout
    assert again.returncode == 2 and "not in the range 1<=x<=65535" in again.stderr


def serve_once(
    project: ProjectDir, path: str, token: str | None = None, **env: str
) -> tuple[httpx.Response, str]:
    """`core run` the project, GET `path`, stop it: the response and the server's stderr."""
    port = free_port()
    server = subprocess.Popen(
        [CORE, "run", "--port", str(port)],
        cwd=project.root,
        env=project.env(**env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(base, "core run")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = httpx.get(base + path, headers=headers, timeout=10)
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    return response, stderr


MISSING_TABLE = {
    "sqlite": "no such table: posts",
    "postgres": 'relation "posts" does not exist',
    "mysql": "(1146, \"Table '",
}
MISSING_COLUMN = {
    "sqlite": "no such column: summary",
    "postgres": 'column "summary" does not exist',
    "mysql": "(1054, \"Unknown column '",
}
HINT = (
    "the database schema is behind the models: run `core migrate` "
    "(and first `core makemigrations` if you changed a model)"
)


@pytest.mark.db
def test_a_forgotten_migration_is_named_at_startup_and_in_errors_never_read_as_data(
    tmp_path: Path,
) -> None:
    project = scaffolded(tmp_path)
    project.core("makemigrations", "--name", "initial")

    # Migration written, not applied: `core run` says so; requests fail with the fix in the log.
    response, stderr = serve_once(project, "/api/v1/posts/")
    assert (
        "You have 1 unapplied migration: 0001_initial. The API may fail until it is applied: "
        "run `core migrate`." in stderr
    )
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal Server Error"}  # nothing internal shown
    assert f"unhandled error on GET /api/v1/posts/: {MISSING_TABLE[project.dialect]}" in stderr
    assert HINT in stderr

    # All in order: not a word about migrations.
    project.core("migrate")
    with Served(project) as http:
        user = {"email": "ann@example.com", "password": "Passw0rdOK"}
        assert http.post("/api/v1/auth/register/", json=user).status_code == 202
        token = http.post("/api/v1/auth/login/", json=user).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        post = {"title": "Hello", "slug": "hello", "content": "First", "is_published": True}
        post_id = http.post("/api/v1/posts/", json=post).json()["id"]
    response, stderr = serve_once(project, f"/api/v1/posts/{post_id}/", token)
    assert response.status_code == 200 and response.json()["title"] == "Hello"
    assert "migrat" not in stderr.lower() and "WARNING" not in stderr

    # A field added to the model and its schema, without a migration.
    models = project.root / "src/apps/posts/models.py"
    models.write_text(
        models.read_text().replace(
            "    content: Mapped[str] = Field.text()\n",
            "    content: Mapped[str] = Field.text()\n"
            "    summary: Mapped[str | None] = Field.text(nullable=True)\n",
        )
    )
    schemas = project.root / "src/apps/posts/schemas.py"
    schemas.write_text(
        schemas.read_text().replace(
            "    views_count: int\n", "    views_count: int\n    summary: str | None\n"
        )
    )
    response, stderr = serve_once(project, f"/api/v1/posts/{post_id}/", token, DEBUG="true")
    assert (
        "Your models have changes that are not in migrations/ yet: Add field summary to Post. "
        "Run `core makemigrations`, then `core migrate`." in stderr
    )
    assert response.status_code == 500  # never 200 with "summary": "summary"
    body = response.json()
    assert body["detail"] == "Internal Server Error"
    assert body["hint"].startswith(MISSING_COLUMN[project.dialect])
    assert body["hint"].endswith(HINT)

    response, stderr = serve_once(project, f"/api/v1/posts/{post_id}/", token, DEBUG="false")
    assert response.json() == {"detail": "Internal Server Error"}  # production: generic
    assert MISSING_COLUMN[project.dialect] in stderr and HINT in stderr

    project.core("makemigrations", "--name", "add_summary")
    project.core("migrate")
    response, stderr = serve_once(project, f"/api/v1/posts/{post_id}/", token)
    assert response.status_code == 200 and response.json()["summary"] is None
    assert "migrat" not in stderr.lower()
