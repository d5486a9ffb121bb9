"""HTTP throughput: the framework's ViewSets and APIView against a hand-written FastAPI + Tortoise app.

Run with `python benchmarks/http_bench.py` (or `make bench`): one command, the whole table, on
SQLite and on PostgreSQL. Both apps run under uvicorn, one worker each, the same event loop and
HTTP parser, access log off; `wrk` drives them on 127.0.0.1. The rows (`--endpoints`, `--auth`):

- list: GET /posts/?page=2 (20 rows, DRF's envelope with count, next and previous);
- retrieve: GET /posts/{id}/;
- create: POST /posts/ with a unique slug per request (`benchmarks/http_create.lua`), 201;
- list/retrieve/create +auth: the same on /auth-posts/ with `Authorization: Bearer <token>`. The
  framework's ViewSet has `IsAuthenticated` and a token from `core.auth.create_access_token`;
  the hand-written app's dependency verifies the HS256 JWT and its claims, checks the `jti`
  against the revoked-tokens table, and loads the active user (one query each);
- nested: GET /nested-posts/?page=2 (issue 14): 20 posts with their author (a nullable foreign
  key) and tags (a many-to-many) nested; the ViewSet derives its loading from the output
  schema, the hand-written route writes `select_related("author").prefetch_related("tags")`;
- health: the framework's `APIView` health check against a plain FastAPI route;
- plain: the same plain route in both apps (what the `CoreApp` itself costs, for reference).

Both ViewSets scope their rows with `get_queryset` (published posts, newest first), and the
hand-written app runs the same query; `--queryset stock` drops the override in both.

Databases (`--database`): SQLite, each app on its own file (identical seeded rows) in the system
temp dir, with synchronous=FULL (an fsync per commit) for both apps by default
(`--synchronous normal` gives the framework its own default; `--tmpfs` puts the files on
/dev/shm); PostgreSQL, both apps on the same database and tables of the throw-away server of
`scripts/with-postgres.sh` (fsync off). When DATABASE_URL does not come from that script, the
benchmark re-runs itself under it. Rows created by a create run are deleted after it.

Before any run, both apps must give the same answers to every benchmarked request, and every
authenticated route must answer 401 to no token, a token signed with another key, and a revoked
token. A wrk run that sees any non-2xx response fails the benchmark.

Runs are interleaved (framework list, hand-written list, framework retrieve, ...; the order
flips every round) and the whole set repeats; medians are reported. Besides requests/s, the
server's CPU time per request comes from /proc/<pid>/stat around each wrk run. With taskset the
servers run on CPU 1 and wrk on CPU 0. Targets (issue 11), framework / hand-written req/s: >= 1.5
on list and retrieve and >= 1.0 on create, anonymous and authenticated; authenticated retrieve
>= 0.7x the framework's anonymous retrieve; the APIView >= 0.9x the plain route; nested (issue
14) >= 1.0. Missing a
target is reported, not an error: the exit status is non-zero only when the benchmark fails.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
ROOT = _HERE.parent
CREATE_LUA = _HERE / "http_create.lua"
WITH_POSTGRES = ROOT / "scripts" / "with-postgres.sh"
SEED_ROWS = 200
REVOKED_ROWS = 500  # other tokens' revocations, so the lookup searches a real table
RETRIEVE_ID = 136  # published (even ids are), so both querysets find it
USER_ID = 1
ENDPOINTS = ("list", "retrieve", "create", "nested", "health", "plain")
DB_ENDPOINTS = ("list", "retrieve", "create")
AUTH_MODES = ("anonymous", "bearer")
DATABASES = ("sqlite", "postgres")
TARGETS = {"list": 1.5, "retrieve": 1.5, "create": 1.0, "nested": 1.0, "health": 0.9}
AUTH_RETRIEVE_TARGET = 0.7
CLK_TCK = os.sysconf("SC_CLK_TCK")
CONTENT = "Benchmark body text. " * 15
SECRET_KEY = "bench-" + uuid.uuid4().hex + uuid.uuid4().hex
TOKEN_LIFETIME = timedelta(hours=6)


class BenchmarkError(RuntimeError):
    """The benchmark could not run or measured something invalid (exit status 1)."""


@dataclass(frozen=True)
class AppSpec:
    key: str
    label: str
    module: str


FRAMEWORK = AppSpec("framework", "framework", "benchmarks.http_apps.framework:app")
NAIVE = AppSpec("naive", "hand-written", "benchmarks.http_apps.naive:app")
APPS = (FRAMEWORK, NAIVE)


@dataclass(frozen=True)
class Case:
    """One row of the table: an endpoint, anonymous or with a Bearer token."""

    endpoint: str
    auth: bool = False

    @property
    def name(self) -> str:
        return f"{self.endpoint}+auth" if self.auth else self.endpoint

    @property
    def path(self) -> str:
        prefix = "/auth-posts" if self.auth else "/posts"
        return {
            "list": f"{prefix}/?page=2",
            "retrieve": f"{prefix}/{RETRIEVE_ID}/",
            "create": f"{prefix}/",
            "nested": "/nested-posts/?page=2",
            "health": "/health/",
            "plain": "/health-plain/",
        }[self.endpoint]

    @property
    def expected_status(self) -> int:
        return 201 if self.endpoint == "create" else 200


def select_cases(args: argparse.Namespace) -> list[Case]:
    """Anonymous rows, then authenticated ones, then the health checks (always anonymous)."""
    cases = [
        Case(endpoint, auth=mode == "bearer")
        for mode in AUTH_MODES
        if mode in args.auth
        for endpoint in DB_ENDPOINTS
        if endpoint in args.endpoints
    ]
    cases += [
        Case(endpoint) for endpoint in ("nested", "health", "plain") if endpoint in args.endpoints
    ]
    return cases


@dataclass
class Server:
    spec: AppSpec
    database_url: str
    log_path: Path
    db_path: Path | None = None  # SQLite only: the app's own file
    token: str = ""
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    samples: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


# Seed data -------------------------------------------------------------------------------------


def post_rows() -> list[tuple[Any, ...]]:
    """SEED_ROWS posts: even ids published, created one minute apart (newest = highest id)."""
    base = datetime(2025, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(1, SEED_ROWS + 1):
        created = base + timedelta(minutes=i, microseconds=i)
        updated = created + timedelta(hours=1) if i % 3 else None
        published = i % 2 == 0
        rows.append(
            (
                i,
                f"Post number {i}",
                f"post-{i}",
                CONTENT,
                published,
                i * 37 % 1000,
                created,
                updated,
            )
        )
    return rows


USER_COLUMNS = (
    "id, email, password_hash, first_name, last_name, is_active, is_staff, is_superuser,"
    " date_joined, last_login, password_changed_at"
)
POST_COLUMNS = "id, title, slug, content, is_published, views_count, created_at, updated_at"


AUTHORS = 10
TAGS = 8
NESTED_COLUMNS = POST_COLUMNS + ", author_id"


def nested_rows() -> tuple[list[tuple[Any, ...]], ...]:
    """Authors, tags, posts with an author (every 11th none) and their (post, tag) links."""
    authors = [(i, f"Author {i}") for i in range(1, AUTHORS + 1)]
    tags = [(i, f"tag-{i}") for i in range(1, TAGS + 1)]
    posts = [(*row, None if row[0] % 11 == 0 else row[0] % AUTHORS + 1) for row in post_rows()]
    links = [
        (post[0], tag)
        for post in posts
        for tag in sorted({post[0] % TAGS + 1, (post[0] * 3 + 1) % TAGS + 1})
    ]
    return authors, tags, posts, links


def user_row() -> tuple[Any, ...]:
    joined = datetime(2024, 6, 1, tzinfo=UTC)
    flags = (True, False, False)  # is_active, is_staff, is_superuser
    return (USER_ID, "bench@example.com", "!unusable", "Bench", "User", *flags, joined, None, None)


def revoked_rows() -> list[tuple[Any, ...]]:
    expires = datetime.now(UTC) + timedelta(days=1)
    return [(uuid.uuid4().hex, expires, datetime.now(UTC)) for _ in range(REVOKED_ROWS)]


def _sqlite_value(value: Any) -> Any:
    """Values as Tortoise writes them to SQLite: bools as 0/1, datetimes as ISO text."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return value


def _sqlite_rows(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [tuple(_sqlite_value(v) for v in row) for row in rows]


class SqliteDatabase:
    """Each app on its own SQLite file, seeded alike."""

    name = "sqlite"

    def __init__(self, workdir: Path, synchronous: str | None) -> None:
        self.workdir = workdir
        self.synchronous = synchronous

    def describe(self) -> str:
        framework = self.synchronous or "normal (its default)"
        return (
            f"SQLite, one file per app in {self.workdir}; synchronous: framework {framework},"
            " hand-written full (Tortoise's)"
        )

    def prepare(self, spec: AppSpec, server: Server) -> None:
        server.db_path = self.workdir / f"{spec.key}.sqlite3"
        if spec is FRAMEWORK:
            server.database_url = f"sqlite+aiosqlite:///{server.db_path}"
            if self.synchronous:
                server.database_url += f"?synchronous={self.synchronous}"
        else:
            server.database_url = f"sqlite://{server.db_path}"

    def _connect(self, server: Server) -> contextlib.closing[sqlite3.Connection]:
        assert server.db_path is not None
        return contextlib.closing(sqlite3.connect(server.db_path, timeout=30))

    def seed(self, servers: list[Server]) -> None:
        for server in servers:
            with self._connect(server) as db, db:
                db.execute("DELETE FROM posts")
                db.execute("DELETE FROM auth_revoked_tokens")
                db.execute("DELETE FROM users")
                db.execute("DELETE FROM bench_posts_tags")
                db.execute("DELETE FROM bench_posts")
                db.execute("DELETE FROM bench_authors")
                db.execute("DELETE FROM bench_tags")
                authors, tags, posts, links = nested_rows()
                db.executemany("INSERT INTO bench_authors (id, name) VALUES (?, ?)", authors)
                db.executemany("INSERT INTO bench_tags (id, label) VALUES (?, ?)", tags)
                db.executemany(
                    f"INSERT INTO bench_posts ({NESTED_COLUMNS}) VALUES ({', '.join('?' * 9)})",  # noqa: S608
                    _sqlite_rows(posts),
                )
                db.executemany(
                    "INSERT INTO bench_posts_tags (post_id, tag_id) VALUES (?, ?)", links
                )
                db.executemany(
                    f"INSERT INTO posts ({POST_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
                    _sqlite_rows(post_rows()),
                )
                db.execute(
                    f"INSERT INTO users ({USER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
                    _sqlite_rows([user_row()])[0],
                )
                db.executemany(
                    "INSERT INTO auth_revoked_tokens (jti, expires_at, revoked_at)"
                    " VALUES (?, ?, ?)",
                    _sqlite_rows(revoked_rows()),
                )

    def revoke(self, servers: list[Server], jti: str) -> None:
        expires = _sqlite_value(datetime.now(UTC) + timedelta(days=1))
        for server in servers:
            with self._connect(server) as db, db:
                db.execute(
                    "INSERT INTO auth_revoked_tokens (jti, expires_at, revoked_at)"
                    " VALUES (?, ?, ?)",
                    (jti, expires, expires),
                )

    def reset(self, server: Server) -> None:
        """Back to the seeded rows, so later list runs count the same table in both apps."""
        with self._connect(server) as db, db:
            db.execute("DELETE FROM posts WHERE id > ?", (SEED_ROWS,))

    def close(self) -> None:
        pass


class PostgresDatabase:
    """Both apps on the same PostgreSQL database and tables (`scripts/with-postgres.sh`'s)."""

    name = "postgres"

    def __init__(self, url: str) -> None:
        import asyncpg  # the framework's PostgreSQL driver; needed for this database only

        self.url = url
        rest = url.split("://", 1)[1]
        self.dsn = f"postgresql://{rest}"
        self.naive_url = f"asyncpg://{rest}"
        self.loop = asyncio.new_event_loop()
        self.connection = self.loop.run_until_complete(asyncpg.connect(self.dsn))

    def describe(self) -> str:
        where = re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", self.dsn)
        return f"PostgreSQL at {where}, both apps on the same tables"

    def prepare(self, spec: AppSpec, server: Server) -> None:
        server.database_url = self.url if spec is FRAMEWORK else self.naive_url

    def _run(self, *statements: tuple[str, list[tuple[Any, ...]] | None]) -> None:
        async def run() -> None:
            for sql, rows in statements:
                if rows is None:
                    await self.connection.execute(sql)
                else:
                    await self.connection.executemany(sql, rows)

        self.loop.run_until_complete(run())

    def seed(self, servers: list[Server]) -> None:
        authors, tags, posts, links = nested_rows()
        self._run(
            ("DELETE FROM bench_posts_tags", None),
            ("DELETE FROM bench_posts", None),
            ("DELETE FROM bench_authors", None),
            ("DELETE FROM bench_tags", None),
            ("INSERT INTO bench_authors (id, name) VALUES ($1, $2)", authors),
            ("INSERT INTO bench_tags (id, label) VALUES ($1, $2)", tags),
            (
                f"INSERT INTO bench_posts ({NESTED_COLUMNS})"  # noqa: S608
                f" VALUES ({', '.join(f'${i}' for i in range(1, 10))})",
                posts,
            ),
            ("INSERT INTO bench_posts_tags (post_id, tag_id) VALUES ($1, $2)", links),
            ("VACUUM ANALYZE bench_posts", None),
            ("VACUUM ANALYZE bench_posts_tags", None),
            ("DELETE FROM posts", None),
            ("DELETE FROM auth_revoked_tokens", None),
            ("DELETE FROM users", None),
            (
                f"INSERT INTO posts ({POST_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",  # noqa: S608
                post_rows(),
            ),
            (
                f"INSERT INTO users ({USER_COLUMNS})"  # noqa: S608
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                [user_row()],
            ),
            (
                "INSERT INTO auth_revoked_tokens (jti, expires_at, revoked_at) VALUES ($1, $2, $3)",
                revoked_rows(),
            ),
            (f"SELECT setval(pg_get_serial_sequence('posts', 'id'), {SEED_ROWS})", None),
            (f"SELECT setval(pg_get_serial_sequence('users', 'id'), {USER_ID})", None),
            ("VACUUM ANALYZE posts", None),
            ("VACUUM ANALYZE users", None),
            ("VACUUM ANALYZE auth_revoked_tokens", None),
        )

    def revoke(self, servers: list[Server], jti: str) -> None:
        expires = datetime.now(UTC) + timedelta(days=1)
        self._run(
            (
                "INSERT INTO auth_revoked_tokens (jti, expires_at, revoked_at) VALUES ($1, $2, $3)",
                [(jti, expires, expires)],
            )
        )

    def reset(self, server: Server) -> None:
        """Back to the seeded rows; VACUUM so no run counts the dead rows of the one before."""
        self._run(
            (f"DELETE FROM posts WHERE id > {SEED_ROWS}", None),  # noqa: S608
            ("VACUUM ANALYZE posts", None),
        )

    def close(self) -> None:
        self.loop.run_until_complete(self.connection.close())
        self.loop.close()


Database = SqliteDatabase | PostgresDatabase


# Tokens ----------------------------------------------------------------------------------------


def framework_token() -> str:
    """An access token from the framework's own `create_access_token`, with the apps' key."""
    from core.auth import create_access_token
    from core.config import Settings, set_settings

    # The apps' settings, as a script sets them: the harness has no CoreApp of its own.
    set_settings(Settings(_env_file=None, secret_key=SECRET_KEY))
    return create_access_token({"sub": str(USER_ID)}, expires_delta=TOKEN_LIFETIME)


def naive_token(key: str = SECRET_KEY) -> str:
    """An access token as the hand-written app's login would mint it (joserfc, HS256)."""
    from joserfc import jwt
    from joserfc.jwk import OctKey

    now = int(time.time())
    claims = {
        "sub": str(USER_ID),
        "type": "access",
        "iat": now,
        "exp": now + int(TOKEN_LIFETIME.total_seconds()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(key))


def token_jti(token: str) -> str:
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["jti"])


# Processes ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pin(cpu: int, pinning: bool) -> list[str]:
    return ["taskset", "-c", str(cpu)] if pinning else []


def server_options() -> tuple[str, str]:
    """The event loop and HTTP parser both apps get: uvloop/httptools when installed."""
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return loop, http


def start_server(server: Server, args: argparse.Namespace, loop: str, http: str) -> None:
    server.port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "DEBUG", "ENVIRONMENT", "MODELS", "SECRET_KEY"))
        and not key.startswith(("PG_TEST_", "BENCH_"))
    }
    env["BENCH_DATABASE_URL"] = server.database_url
    env["BENCH_SECRET_KEY"] = SECRET_KEY
    env["BENCH_QUERYSET"] = args.queryset
    if server.spec is FRAMEWORK:
        # Where `CoreApp(settings=...)` does not yet reach token verification (before issue
        # 11), tokens are checked with the process-wide settings: give those the same key.
        env["SECRET_KEY"] = SECRET_KEY
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    command = [
        *pin(1, args.pinning),
        sys.executable,
        "-m",
        "uvicorn",
        server.spec.module,
        "--host",
        "127.0.0.1",
        "--port",
        str(server.port),
        "--loop",
        loop,
        "--http",
        http,
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    with server.log_path.open("wb") as log:
        server.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )


def wait_ready(server: Server, timeout: float = 60.0) -> None:
    """Until the app answers HTTP (any status: the lifespan, hence the schema, is done)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.process is not None
        if server.process.poll() is not None:
            raise BenchmarkError(
                f"{server.spec.label} server exited with {server.process.returncode}:\n"
                + server.log_path.read_text(errors="replace")[-3000:]
            )
        try:
            with urllib.request.urlopen(f"{server.base_url}/posts/0/", timeout=2):  # noqa: S310
                return
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise BenchmarkError(f"{server.spec.label} server not ready after {timeout:g}s")


def stop_server(server: Server) -> None:
    process = server.process
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def cpu_seconds(pid: int) -> float:
    """utime + stime of the whole server process (every thread, the SQLite one included)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


# Checks ----------------------------------------------------------------------------------------


def fetch(
    url: str, body: dict[str, Any] | None = None, token: str | None = None
) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data else {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def check_same_answers(
    servers: list[Server], cases: list[Case], database: Database, queryset: str
) -> None:
    """Both apps must answer every benchmarked request alike before any number counts."""
    body = {"title": "Check", "slug": "Check-Slug", "content": CONTENT, "is_published": True}
    for case in cases:
        answers = []
        for server in servers:
            base = server.base_url
            token = server.token if case.auth else None
            sent = body if case.endpoint == "create" else None
            status, answer = fetch(base + case.path, sent, token)
            if case.endpoint == "create":
                database.reset(server)
                if isinstance(answer, dict):  # ids differ on a shared table; times always
                    answer = {
                        k: v
                        for k, v in answer.items()
                        if k not in ("id", "created_at", "updated_at")
                    }
            answers.append((status, json.loads(json.dumps(answer).replace(base, "BASE"))))
        (status, answer), other = answers
        if answers[0] != other or status != case.expected_status:
            raise BenchmarkError(
                f"{case.name}: the apps answer differently (expected {case.expected_status})\n"
                + "\n".join(
                    f"{server.spec.label}: {str(a)[:600]}"
                    for server, a in zip(servers, answers, strict=True)
                )
            )
        if case.endpoint in ("list", "nested"):
            count = SEED_ROWS if queryset == "stock" else SEED_ROWS // 2
            if len(answer["results"]) != 20 or answer["count"] != count:
                raise BenchmarkError(f"{case.name}: unexpected page {str(answer)[:300]}")


def check_tokens_required(servers: list[Server], database: Database) -> None:
    """Every authenticated route refuses no token, a forged token and a revoked token (401)."""
    forged = naive_token(key="not-the-" + SECRET_KEY)
    revoked = {server.spec.key: framework_token() for server in servers}
    revoked["naive"] = naive_token()
    for token in revoked.values():
        database.revoke(servers, token_jti(token))
    for server in servers:
        for case in (Case(endpoint, auth=True) for endpoint in DB_ENDPOINTS):
            sent = (
                {"title": "x", "slug": "x", "content": "x"} if case.endpoint == "create" else None
            )
            for what, token in (
                ("no token", None),
                ("a token signed with another key", forged),
                ("a revoked token", revoked[server.spec.key]),
            ):
                status, answer = fetch(server.base_url + case.path, sent, token)
                if status != 401:
                    database.reset(server)
                    raise BenchmarkError(
                        f"{server.spec.label} {case.name}: {what} got {status}, not 401:"
                        f" {str(answer)[:300]}"
                    )


# wrk -----------------------------------------------------------------------------------------


@dataclass
class WrkResult:
    requests: int
    rps: float


def run_wrk(
    server: Server, case: Case, seconds: int, args: argparse.Namespace, tag: str
) -> WrkResult:
    url = server.base_url + case.path
    command = [
        *pin(0, args.pinning),
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "10s",
    ]
    if case.auth:
        command += ["-H", f"Authorization: Bearer {server.token}"]
    if case.endpoint == "create":
        command += ["-s", str(CREATE_LUA), url, "--", tag]
    else:
        command.append(url)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    except subprocess.TimeoutExpired:
        raise BenchmarkError(f"wrk did not finish on {server.spec.label} {case.name}") from None
    output = done.stdout + done.stderr
    totals = re.search(r"(\d+) requests in ", output)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if done.returncode != 0 or totals is None or rate is None:
        raise BenchmarkError(f"wrk failed on {server.spec.label} {case.name}:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    if non_2xx or int(totals.group(1)) == 0:
        log = server.log_path.read_text(errors="replace")[-2000:]
        count = non_2xx.group(1) if non_2xx else "no"
        raise BenchmarkError(
            f"{server.spec.label} {case.name}: {count} non-2xx responses\n{output}\n{log}"
        )
    if socket_errors and re.search(r"timeout [1-9]", socket_errors.group(1)):
        raise BenchmarkError(f"{server.spec.label} {case.name}: requests timed out\n{output}")
    return WrkResult(int(totals.group(1)), float(rate.group(1)))


def measure(
    server: Server,
    case: Case,
    seconds: int,
    args: argparse.Namespace,
    tag: str,
    database: Database,
) -> tuple[float, float]:
    """(requests/s, server CPU microseconds per request) of one wrk run."""
    assert server.process is not None
    before = cpu_seconds(server.process.pid)
    result = run_wrk(server, case, seconds, args, tag)
    cpu = cpu_seconds(server.process.pid) - before
    if case.endpoint == "create":
        database.reset(server)
    return result.rps, cpu / max(result.requests, 1) * 1e6


# Report --------------------------------------------------------------------------------------

# database -> case name -> app key -> (median req/s, median CPU us/req)
Results = dict[str, dict[str, dict[str, tuple[float, float]]]]


def report(
    servers: list[Server], cases: list[Case], args: argparse.Namespace, title: str
) -> dict[str, dict[str, tuple[float, float]]]:
    """Print one database's table; return its medians."""
    print()
    print(f"== {title} ==")
    print(
        f"{'row':14} {'app':13} {'req/s':>9} {'CPU us/req':>11}   per-round req/s"
        f" (median of {args.rounds})"
    )
    medians: dict[str, dict[str, tuple[float, float]]] = {}
    for case in cases:
        row = medians.setdefault(case.name, {})
        for server in servers:
            samples = server.samples[case.name]
            rps = statistics.median(s[0] for s in samples)
            cpu = statistics.median(s[1] for s in samples)
            row[server.spec.key] = (rps, cpu)
            rounds = " ".join(f"{s[0]:.0f}" for s in samples)
            label = case.name if server is servers[0] else ""
            print(f"{label:14} {server.spec.label:13} {rps:9.1f} {cpu:11.1f}   {rounds}")
        (f_rps, f_cpu), (n_rps, n_cpu) = row["framework"], row["naive"]
        print(
            f"{'':14} {'ratio':13} {f_rps / n_rps:8.2f}x {n_cpu / f_cpu:10.2f}x"
            f"   {verdict_text(case.name, f_rps / n_rps)}"
        )
    sys.stdout.flush()
    return medians


def verdict_text(name: str, ratio: float) -> str:
    target = TARGETS.get(name.removesuffix("+auth"))
    if target is None:
        return "(reference: no target)"
    return f"target >= {target:.1f}: {'met' if ratio >= target else 'MISSED'}"


def summary(results: Results, cases: list[Case]) -> None:
    """Every database side by side: the ratios and the verdicts, one line per row."""
    names = list(results)
    print()
    print("== Summary: framework / hand-written req/s (CPU per request: hand-written / framework)")
    print(f"{'row':46} " + " ".join(f"{name:>24}" for name in names))
    missed = []

    def line(label: str, values: list[str]) -> None:
        print(f"{label:46} " + " ".join(f"{value:>24}" for value in values))

    for case in cases:
        values = []
        target = TARGETS.get(case.endpoint)
        for db in names:
            (f_rps, f_cpu), (n_rps, n_cpu) = (
                results[db][case.name][k] for k in ("framework", "naive")
            )
            ratio = f_rps / n_rps
            ok = target is None or ratio >= target
            if not ok:
                missed.append(f"{case.name} on {db} ({ratio:.2f} < {target})")
            mark = "" if target is None else (" ok" if ok else " MISSED")
            values.append(f"{ratio:5.2f}x ({n_cpu / f_cpu:4.2f}x){mark}")
        suffix = f" >= {target:.1f}" if target is not None else " (reference)"
        line(f"{case.name}{suffix}", values)
    # The framework against itself.
    for label, over, under, target in (
        ("retrieve+auth / retrieve (framework)", "retrieve+auth", "retrieve", AUTH_RETRIEVE_TARGET),
        ("retrieve+auth / retrieve (hand-written)", "retrieve+auth", "retrieve", None),
        ("health (APIView) / plain (same app)", "health", "plain", TARGETS["health"]),
    ):
        app = "naive" if "hand-written" in label else "framework"
        if not all(over in results[db] and under in results[db] for db in names):
            continue
        values = []
        for db in names:
            (o_rps, o_cpu), (u_rps, u_cpu) = results[db][over][app], results[db][under][app]
            ratio = o_rps / u_rps
            ok = target is None or ratio >= target
            if not ok:
                missed.append(f"{label} on {db} ({ratio:.2f} < {target})")
            mark = "" if target is None else (" ok" if ok else " MISSED")
            values.append(f"{ratio:5.2f}x ({u_cpu / o_cpu:4.2f}x){mark}")
        suffix = f" >= {target:.1f}" if target is not None else ""
        line(f"{label}{suffix}", values)
    print()
    print("Targets missed:" + ("" if missed else " none"))
    for item in missed:
        print(f"  {item}")


# Main ----------------------------------------------------------------------------------------


def run_database(
    database: Database, cases: list[Case], args: argparse.Namespace, workdir: Path
) -> dict[str, dict[str, tuple[float, float]]]:
    loop, http = server_options()
    servers = []
    for spec in APPS:
        server = Server(
            spec,
            database_url="",
            log_path=workdir / f"{database.name}-{spec.key}.log",
            samples={case.name: [] for case in cases},
        )
        database.prepare(spec, server)
        servers.append(server)
    try:
        # One after the other: on a shared database the framework creates the tables first.
        for server in servers:
            start_server(server, args, loop, http)
            wait_ready(server)
        database.seed(servers)
        servers[0].token = framework_token()
        servers[1].token = naive_token()
        check_same_answers(servers, cases, database, args.queryset)
        if any(case.auth for case in cases):
            check_tokens_required(servers, database)

        pins = "servers on CPU 1, wrk on CPU 0" if args.pinning else "no CPU pinning"
        print()
        print(
            "HTTP benchmark: framework (CoreApp + ModelViewSet on AutoRouter, APIView) vs"
            " hand-written FastAPI + Tortoise"
        )
        print(f"database: {database.describe()}")
        print(
            f"uvicorn, 1 worker each, --loop {loop} --http {http}, access log off;"
            f" {SEED_ROWS} posts (half published); {pins}"
        )
        print(
            f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s after a"
            f" {args.warmup:g}s warm-up per app and row; {args.rounds} interleaved rounds"
        )
        scope = (
            "every post by id"
            if args.queryset == "stock"
            else "get_queryset: published posts, newest first"
        )
        print(
            f"list = GET /posts/?page=2 (20 rows + count), retrieve = GET /posts/{RETRIEVE_ID}/,"
            f" create = POST /posts/ (201); {scope}"
        )
        print(
            "+auth = the same on /auth-posts/ with a Bearer token (IsAuthenticated; hand-written:"
            " JWT + revoked jti + user); health = APIView vs plain route; plain = plain route"
        )
        print("CPU us/req: the app server process's own (the PostgreSQL server's is not counted)")
        sys.stdout.flush()

        run_no = 0
        if args.warmup > 0:
            for case in cases:
                for server in servers:
                    run_no += 1
                    run_wrk(server, case, args.warmup, args, f"{database.name}w{run_no}")
                    if case.endpoint == "create":
                        database.reset(server)
        for round_no in range(args.rounds):
            order = servers if round_no % 2 == 0 else servers[::-1]
            for case in cases:
                for server in order:
                    run_no += 1
                    tag = f"{database.name}r{run_no}"
                    sample = measure(server, case, args.duration, args, tag, database)
                    server.samples[case.name].append(sample)
        title = "SQLite" if database.name == "sqlite" else "PostgreSQL"
        return report(servers, cases, args, title)
    finally:
        for server in servers:
            stop_server(server)


def run(args: argparse.Namespace, workdir: Path) -> None:
    cases = select_cases(args)
    if not cases:
        raise BenchmarkError("nothing to measure: no endpoint and auth mode selected")
    results: Results = {}
    for name in args.databases:
        database: Database
        if name == "sqlite":
            database = SqliteDatabase(workdir, args.synchronous)
        else:
            database = PostgresDatabase(os.environ["DATABASE_URL"])
        try:
            results[name] = run_database(database, cases, args, workdir)
        finally:
            database.close()
    summary(results, cases)


def postgres_url() -> str | None:
    """DATABASE_URL when `scripts/with-postgres.sh` set it (never a database of yours)."""
    url = os.environ.get("DATABASE_URL", "")
    if os.environ.get("PG_TEST_PORT") and url.startswith(("postgres", "asyncpg")):
        return url
    return None


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument(
        "--warmup", type=int, default=1, help="seconds of warm-up per app and row (0: none)"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: 1 round of 1s runs after a 1s warm-up (overrides the three above)",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--no-pin", dest="pinning", action="store_false")
    parser.add_argument(
        "--database",
        choices=(*DATABASES, "all"),
        default="all",
        help="sqlite, postgres (a throw-away server from scripts/with-postgres.sh), or all",
    )
    parser.add_argument(
        "--db-dir", default=None, help="where the SQLite files go (default: the system temp dir)"
    )
    parser.add_argument(
        "--tmpfs",
        action="store_true",
        help="put the SQLite files on /dev/shm: no disk, so fsync costs nothing",
    )
    parser.add_argument(
        "--synchronous",
        choices=("normal", "full"),
        default="full",
        help="the framework's SQLite synchronous PRAGMA (default: full, as the hand-written"
        " app's Tortoise default; normal is the framework's own default)",
    )
    parser.add_argument(
        "--endpoints",
        nargs="+",
        choices=ENDPOINTS,
        default=list(ENDPOINTS),
        help="measure only these",
    )
    parser.add_argument(
        "--auth",
        nargs="+",
        choices=AUTH_MODES,
        default=list(AUTH_MODES),
        help="list, retrieve and create anonymous, with a Bearer token, or both",
    )
    parser.add_argument(
        "--queryset",
        choices=("filtered", "stock"),
        default="filtered",
        help="filtered: get_queryset scopes to published posts, newest first; stock: no"
        " override (every post by id)",
    )
    args = parser.parse_args()
    if args.quick:
        args.duration, args.warmup, args.rounds = 1, 1, 1
    args.databases = list(DATABASES) if args.database == "all" else [args.database]
    return args


def main() -> int:
    args = parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 1
    if "postgres" in args.databases and postgres_url() is None:
        if os.environ.get("BENCH_UNDER_WITH_POSTGRES"):
            print("scripts/with-postgres.sh gave no PostgreSQL DATABASE_URL", file=sys.stderr)
            return 1
        # Again, under a throw-away PostgreSQL server (installed when missing).
        os.environ["BENCH_UNDER_WITH_POSTGRES"] = "1"
        sys.stdout.flush()
        command = [str(WITH_POSTGRES), sys.executable, str(Path(__file__).resolve())]
        os.execv(command[0], command + sys.argv[1:])  # noqa: S606
    args.pinning = (
        args.pinning and shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2
    )
    # SIGTERM runs the `finally` blocks too, so the servers and temp files never outlive us.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tmp_root = args.db_dir
    if args.tmpfs:
        shm = Path("/dev/shm")  # noqa: S108
        if not (shm.is_dir() and os.access(shm, os.W_OK)):
            print("--tmpfs: /dev/shm is not writable", file=sys.stderr)
            return 1
        tmp_root = str(shm)
    with tempfile.TemporaryDirectory(prefix="core-http-bench-", dir=tmp_root) as tmp:
        try:
            run(args, Path(tmp))
        except BenchmarkError as exc:
            print(f"benchmark failed: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
