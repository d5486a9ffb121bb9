"""The database stopped and restarted under a running app: 503 while down, then recovery."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest

from tests.views.conftest import login, make_post

POSTS = "/api/v1/posts/"
PG_CTL = Path(__file__).resolve().parents[2] / "scripts" / "pg-ctl.sh"


def pg_ctl(command: str) -> None:
    subprocess.run([str(PG_CTL), command], check=True, capture_output=True, timeout=60)


@pytest.mark.db
async def test_503_while_postgres_is_down_and_recovery_after(client, app_db, alice) -> None:
    if not os.environ.get("PG_TEST_DATA_DIR"):
        pytest.skip("stops and starts the PostgreSQL server of `make test-pg`")
    post = await make_post(app_db, alice, is_published=True)
    login(client, alice)
    assert (await client.get(POSTS)).status_code == 200

    await asyncio.to_thread(pg_ctl, "stop")
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
        login(client, None)
        health = await client.get("/health")
        assert health.status_code == 200  # an anonymous health check needs no database
        login(client, alice)
    finally:
        await asyncio.to_thread(pg_ctl, "start")

    for _ in range(50):
        response = await client.get(POSTS)
        if response.status_code == 200:
            break
        await asyncio.sleep(0.2)
    assert response.status_code == 200
    assert response.json()["count"] == 1
    created = await client.post(POSTS, json={"title": "t", "slug": "back", "content": "c"})
    assert created.status_code == 201
