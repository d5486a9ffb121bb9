"""The database store across processes: `uvicorn --workers 2` serving one app, one limit.

SQLite (a file both workers open) by default; PostgreSQL when DATABASE_URL says so.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
from tortoise.backends.base.client import BaseDBAsyncClient

from core.db import connect
from core.testing import database_url_for_tests

REPO_ROOT = Path(__file__).resolve().parents[2]

APP = textwrap.dedent(
    """
    import os
    import time

    from core import AutoRouter, CoreApp, ViewSet, action
    from core.config import Settings
    from core.throttling import AnonRateThrottle


    class PingViewSet(ViewSet):
        throttle_classes = [AnonRateThrottle]

        @action(methods=["GET"])
        async def ping(self, request, db, **kwargs):
            time.sleep(0.1)  # blocks this worker's loop, so the other accepts the next requests
            return {"pid": os.getpid()}

        @action(methods=["GET"], throttle_classes=[])
        async def who(self, request, db, **kwargs):
            return {"pid": os.getpid()}


    router = AutoRouter(prefix="/t")
    router.register("", PingViewSet, basename="t")
    settings = Settings(
        database_url=os.environ["DATABASE_URL"],
        throttle_rates={"anon": "20/hour"},
        throttle_store="database",
    )
    app = CoreApp(title="workers", routers=[router], settings=settings, models=[])
    """
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def get(url: str) -> httpx.Response:
    """One request on its own connection, so the kernel may hand it to either worker."""
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.get(url)


async def wait_for_both_workers(base: str, deadline: float) -> None:
    pids: set[int] = set()
    while len(pids) < 2:
        assert time.monotonic() < deadline, "uvicorn did not start 2 workers"
        try:
            responses = await asyncio.gather(*(get(f"{base}/t/who/") for _ in range(8)))
            pids |= {r.json()["pid"] for r in responses if r.status_code == 200}
        except httpx.TransportError:
            await asyncio.sleep(0.3)


async def test_two_uvicorn_workers_share_one_limit_through_the_database(
    db: BaseDBAsyncClient, tmp_path: Path
) -> None:
    url = database_url_for_tests()
    if ":memory:" in url:  # SQLite: a file both workers open
        url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
        async with connect(url, models=[], create_schema=True):
            pass
    # PostgreSQL: the `db` fixture has created the tables in DATABASE_URL's database.
    (tmp_path / "workers_app.py").write_text(APP)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO_ROOT)]),
    }
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "workers_app:app", "--port", str(port)),
            *("--host", "127.0.0.1", "--workers", "2", "--log-level", "warning"),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        await wait_for_both_workers(base, time.monotonic() + 60)
        responses = await asyncio.gather(*(get(f"{base}/t/ping/") for _ in range(60)))
        codes = [r.status_code for r in responses]
        assert codes.count(200) == 20 and codes.count(429) == 40, codes
        served = {r.json()["pid"] for r in responses if r.status_code == 200}
        assert len(served) == 2  # both workers counted into the one limit
        throttled = next(r for r in responses if r.status_code == 429)
        assert 0 < int(throttled.headers["Retry-After"]) <= 3600
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    assert b"Traceback" not in stderr, stderr.decode()
