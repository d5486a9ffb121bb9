"""HTTP throughput: the framework's ModelViewSet against a hand-written FastAPI + Tortoise app.

Run with `python benchmarks/http_bench.py` (or `make bench`). Both apps serve the same Post table from
their own SQLite file (identical seeded rows) under uvicorn, one worker each, the same event loop
and HTTP parser, access log off; `wrk` drives them on 127.0.0.1:

- list: GET /posts/?page=2 (20 rows, DRF's envelope with count, next and previous);
- retrieve: GET /posts/{id}/;
- create: POST /posts/ with a unique slug per request (`benchmarks/http_create.lua`), 201.

Each app keeps its own SQLite settings: the framework's (write-ahead log, synchronous=NORMAL: no
fsync per commit) and Tortoise's that the hand-written app gets (write-ahead log, synchronous=FULL:
an fsync per commit). The files live in the system temp dir, on disk as an app's would;
`--tmpfs` puts them on /dev/shm, where an fsync costs nothing, and `--synchronous full` gives the
framework an fsync per commit too, so both comparisons can be made.

Runs are interleaved (framework list, hand-written list, framework retrieve, ...; the order
flips every round) and the whole set repeats; medians are reported. Besides requests/s, the
server's CPU time per request comes from /proc/<pid>/stat around each wrk run. With taskset the
servers run on CPU 1 and wrk on CPU 0. Targets (issue 4): the framework is never slower than the
hand-written app, and at least 1.5x faster on list and retrieve. Missing a target is reported,
not an error: the exit status is non-zero only when the benchmark itself fails.
"""

from __future__ import annotations

import argparse
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
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
ROOT = _HERE.parent
CREATE_LUA = _HERE / "http_create.lua"
SEED_ROWS = 200
RETRIEVE_ID = 137
LIST_PATH = "/posts/?page=2"
ENDPOINTS = ("list", "retrieve", "create")
TARGETS = {"list": 1.5, "retrieve": 1.5, "create": 1.0}
CLK_TCK = os.sysconf("SC_CLK_TCK")
CONTENT = "Benchmark body text. " * 15


class BenchmarkError(RuntimeError):
    """The benchmark could not run or measured something invalid (exit status 1)."""


@dataclass(frozen=True)
class AppSpec:
    key: str
    label: str
    module: str
    database_url: str  # a format string for the SQLite file's path


APPS = (
    AppSpec(
        "framework",
        "framework",
        "benchmarks.http_apps.framework:app",
        "sqlite+aiosqlite:///{path}",
    ),
    AppSpec("naive", "hand-written", "benchmarks.http_apps.naive:app", "sqlite://{path}"),
)


@dataclass
class Server:
    spec: AppSpec
    db_path: Path
    log_path: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    samples: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


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


def start_server(
    server: Server, pinning: bool, loop: str, http: str, synchronous: str | None
) -> None:
    server.port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "DEBUG", "ENVIRONMENT", "MODELS"))
    }
    env["BENCH_DATABASE_URL"] = server.spec.database_url.format(path=server.db_path)
    if server.spec.key == "framework" and synchronous:
        env["BENCH_DATABASE_URL"] += f"?synchronous={synchronous}"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    command = [
        *pin(1, pinning),
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


def wait_ready(server: Server, timeout: float = 30.0) -> None:
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


# Data ----------------------------------------------------------------------------------------


def seed(db_path: Path) -> None:
    """The same SEED_ROWS posts in each app's file, written as Tortoise writes them."""
    base = datetime(2025, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(1, SEED_ROWS + 1):
        created = base + timedelta(minutes=i, microseconds=i)
        updated = created + timedelta(hours=1) if i % 3 else None
        rows.append(
            (
                i,
                f"Post number {i}",
                f"post-{i}",
                CONTENT,
                int(i % 2 == 0),
                (i * 37) % 1000,
                created.isoformat(sep=" "),
                updated.isoformat(sep=" ") if updated else None,
            )
        )
    with contextlib.closing(sqlite3.connect(db_path)) as db, db:
        db.execute("DELETE FROM posts")
        db.executemany(
            "INSERT INTO posts (id, title, slug, content, is_published, views_count,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


def drop_created_rows(db_path: Path) -> None:
    """Back to the seeded rows, so later list runs count the same table in both apps."""
    with contextlib.closing(sqlite3.connect(db_path, timeout=30)) as db, db:
        db.execute("DELETE FROM posts WHERE id > ?", (SEED_ROWS,))


def fetch(url: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310
        url, data=data, headers={"Content-Type": "application/json"} if data else {}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def check_same_answers(servers: list[Server]) -> None:
    """Both apps must answer every benchmarked request alike before any number counts."""
    answers: dict[str, list[Any]] = {}
    for server in servers:
        base = server.base_url
        got = []
        status, page = fetch(base + LIST_PATH)
        got.append((status, json.loads(json.dumps(page).replace(base, "BASE"))))
        got.append(fetch(f"{base}/posts/{RETRIEVE_ID}/"))
        body = {"title": "Check", "slug": "Check-Slug", "content": CONTENT, "is_published": True}
        status, created = fetch(f"{base}/posts/", body)
        if isinstance(created, dict):
            created = {k: v for k, v in created.items() if k not in ("created_at", "updated_at")}
        got.append((status, created))
        drop_created_rows(server.db_path)
        answers[server.spec.label] = got
    (name_a, a), (name_b, b) = answers.items()
    for endpoint, answer_a, answer_b in zip(ENDPOINTS, a, b, strict=True):
        expected = 201 if endpoint == "create" else 200
        if answer_a != answer_b or answer_a[0] != expected:
            raise BenchmarkError(
                f"{endpoint}: the apps answer differently\n"
                f"{name_a}: {str(answer_a)[:600]}\n{name_b}: {str(answer_b)[:600]}"
            )
    page = a[0][1]
    if len(page["results"]) != 20 or page["count"] != SEED_ROWS:
        raise BenchmarkError(f"list: unexpected page {str(page)[:300]}")


# wrk -----------------------------------------------------------------------------------------


@dataclass
class WrkResult:
    requests: int
    rps: float
    errors: int


def run_wrk(
    server: Server, endpoint: str, seconds: float, args: argparse.Namespace, tag: str
) -> WrkResult:
    base = server.base_url
    command = [
        *pin(0, args.pinning),
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "10s",
    ]
    if endpoint == "list":
        command.append(base + LIST_PATH)
    elif endpoint == "retrieve":
        command.append(f"{base}/posts/{RETRIEVE_ID}/")
    else:
        command += ["-s", str(CREATE_LUA), f"{base}/posts/", "--", tag]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    except subprocess.TimeoutExpired:
        raise BenchmarkError(f"wrk did not finish on {server.spec.label} {endpoint}") from None
    output = done.stdout + done.stderr
    totals = re.search(r"(\d+) requests in ", output)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if done.returncode != 0 or totals is None or rate is None:
        raise BenchmarkError(f"wrk failed on {server.spec.label} {endpoint}:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if errors:
        log = server.log_path.read_text(errors="replace")[-2000:]
        raise BenchmarkError(
            f"{server.spec.label} {endpoint}: {errors} non-2xx responses\n{output}\n{log}"
        )
    return WrkResult(int(totals.group(1)), float(rate.group(1)), errors)


def measure(
    server: Server, endpoint: str, seconds: float, args: argparse.Namespace, tag: str
) -> tuple[float, float]:
    """(requests/s, server CPU microseconds per request) of one wrk run."""
    assert server.process is not None
    before = cpu_seconds(server.process.pid)
    result = run_wrk(server, endpoint, seconds, args, tag)
    cpu = cpu_seconds(server.process.pid) - before
    if endpoint == "create":
        drop_created_rows(server.db_path)
    return result.rps, cpu / max(result.requests, 1) * 1e6


# Report --------------------------------------------------------------------------------------


def report(servers: list[Server], args: argparse.Namespace) -> None:
    framework = servers[0]
    print()
    print(
        f"{'endpoint':9} {'app':13} {'req/s':>9} {'CPU us/req':>11}   per-round req/s"
        f" (median of {args.rounds})"
    )
    verdicts = []
    for endpoint in args.endpoints:
        medians = {}
        for server in servers:
            samples = server.samples[endpoint]
            rps = statistics.median(s[0] for s in samples)
            cpu = statistics.median(s[1] for s in samples)
            medians[server.spec.key] = (rps, cpu)
            rounds = " ".join(f"{s[0]:.0f}" for s in samples)
            label = endpoint if server is framework else ""
            print(f"{label:9} {server.spec.label:13} {rps:9.1f} {cpu:11.1f}   {rounds}")
        (f_rps, f_cpu), (n_rps, n_cpu) = medians["framework"], medians["naive"]
        ratio = f_rps / n_rps
        cpu_ratio = n_cpu / f_cpu
        print(f"{'':9} {'ratio':13} {ratio:8.2f}x {cpu_ratio:10.2f}x   (> 1: framework better)")
        verdicts.append((endpoint, ratio, cpu_ratio))
    print()
    print("ratio: req/s framework / hand-written; CPU us/req hand-written / framework")
    print("Targets (issue 4): never slower (>= 1.0) on each; >= 1.5x on list and retrieve")
    for endpoint, ratio, cpu_ratio in verdicts:
        target = TARGETS[endpoint]
        verdict = "met" if ratio >= target else "MISSED"
        print(
            f"  {endpoint:9} req/s ratio {ratio:5.2f} >= {target:.1f}: {verdict:7}"
            f" (CPU per request ratio {cpu_ratio:.2f})"
        )


# Main ----------------------------------------------------------------------------------------


def run(args: argparse.Namespace, workdir: Path) -> None:
    loop, http = server_options()
    servers = []
    for spec in APPS:
        servers.append(
            Server(
                spec,
                db_path=workdir / f"{spec.key}.sqlite3",
                log_path=workdir / f"{spec.key}.log",
                samples={endpoint: [] for endpoint in ENDPOINTS},
            )
        )
    try:
        for server in servers:
            start_server(server, args.pinning, loop, http, args.synchronous)
        for server in servers:
            wait_ready(server)
            seed(server.db_path)
        check_same_answers(servers)

        pins = "servers on CPU 1, wrk on CPU 0" if args.pinning else "no CPU pinning"
        print(
            "HTTP benchmark: framework (CoreApp + ModelViewSet on AutoRouter) vs hand-written"
            " FastAPI + Tortoise"
        )
        print(
            f"uvicorn, 1 worker each, --loop {loop} --http {http}, access log off;"
            f" SQLite files in {workdir}, {SEED_ROWS} posts each; {pins}"
        )
        synchronous = args.synchronous or "normal (its default)"
        print(f"SQLite synchronous: framework {synchronous}, hand-written full (Tortoise's)")
        print(
            f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s after a"
            f" {args.warmup:g}s warm-up per app and endpoint; {args.rounds} interleaved rounds"
        )
        print(
            f"list = GET {LIST_PATH} (20 rows + count), retrieve = GET /posts/{RETRIEVE_ID}/,"
            " create = POST /posts/ (201)"
        )
        sys.stdout.flush()

        run_no = 0
        if args.warmup > 0:
            for endpoint in args.endpoints:
                for server in servers:
                    run_no += 1
                    run_wrk(server, endpoint, args.warmup, args, f"w{run_no}")
                    if endpoint == "create":
                        drop_created_rows(server.db_path)
        for round_no in range(args.rounds):
            order = servers if round_no % 2 == 0 else servers[::-1]
            for endpoint in args.endpoints:
                for server in order:
                    run_no += 1
                    sample = measure(server, endpoint, args.duration, args, f"r{run_no}")
                    server.samples[endpoint].append(sample)
        report(servers, args)
    finally:
        for server in servers:
            stop_server(server)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=6.0, help="seconds per wrk run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per run")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--no-pin", dest="pinning", action="store_false")
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
        default=None,
        help="the framework's SQLite synchronous PRAGMA (default: its own, NORMAL; the"
        " hand-written app keeps Tortoise's, FULL)",
    )
    parser.add_argument(
        "--endpoints",
        nargs="+",
        choices=ENDPOINTS,
        default=list(ENDPOINTS),
        help="measure only these",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 1
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
