"""The database stopped and restarted under a running app: 503 while down, then recovery."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest

from core.testing import force_authenticate
from tests.helpers import make_post

POSTS = "/api/v1/posts/"
SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def server_ctl() -> Path:
    """The control script of the throw-away server of `make test-pg` or `make test-mysql`."""
    if os.environ.get("PG_TEST_DATA_DIR"):
        return SCRIPTS / "pg-ctl.sh"
    if os.environ.get("MYSQL_TEST_DIR"):
        return SCRIPTS / "mariadb-ctl.sh"
    pytest.skip("stops and starts the server of `make test-pg` or `make test-mysql`")


def db_ctl(command: str) -> None:
    subprocess.run([str(server_ctl()), command], check=True, capture_output=True, timeout=90)


@pytest.mark.db
async def test_503_while_the_database_is_down_and_recovery_after(client, app_db, alice) -> None:
    server_ctl()
    post = await make_post(app_db, alice, is_published=True)
    force_authenticate(client, alice)
    # Warm the pool: several connections open at once, then idle in the pool.
    responses = await asyncio.gather(*(client.get(POSTS) for _ in range(6)))
    assert {response.status_code for response in responses} == {200}

    await asyncio.to_thread(db_ctl, "stop")
    try:
        for request in (
            client.get(POSTS),
            client.get(f"{POSTS}{post.id}/"),
            client.post(POSTS, json={"title": "t", "slug": "down", "content": "c"}),
            client.get("/api/v1/auth/me/"),
        ):
            response = await request
            assert response.status_code == 503, response.text
            assert response.json() == {"detail": "The database is unavailable; try again shortly."}
            assert response.headers["retry-after"] == "5"
        force_authenticate(client, None)
        health = await client.get("/health")
        assert health.status_code == 200  # an anonymous health check needs no database
        force_authenticate(client, alice)
    finally:
        await asyncio.to_thread(db_ctl, "start")

    for _ in range(50):
        response = await client.get(POSTS)
        if response.status_code == 200:
            break
        await asyncio.sleep(0.2)
    assert response.status_code == 200
    assert response.json()["count"] == 1
    created = await client.post(POSTS, json={"title": "t", "slug": "back", "content": "c"})
    assert created.status_code == 201
