"""A request waiting on a locked row (or a slow statement) ends with a 503, not forever."""

from __future__ import annotations

import asyncpg
import pytest

from core import AutoRouter, Settings
from core.db.config import apply_request_timeouts, build_tortoise_config
from core.testing import app_client, app_database, force_authenticate
from tests.example_models import Post, User
from tests.guide_app import PostViewSet
from tests.helpers import app_with, make_post, postgres_url


def test_timeouts_reach_postgresql_connections_only() -> None:
    settings = Settings(secret_key="k" * 50, database_lock_timeout_ms=250)
    pg = apply_request_timeouts(
        build_tortoise_config("postgresql+asyncpg://u:p@h/db", [], settings), settings
    )
    assert pg["connections"]["default"]["credentials"]["server_settings"] == {
        "statement_timeout": "30000",
        "lock_timeout": "250",
    }
    sqlite = apply_request_timeouts(
        build_tortoise_config("sqlite://:memory:", [], settings), settings
    )
    assert "server_settings" not in sqlite["connections"]["default"]["credentials"]
    off = Settings(secret_key="k" * 50, database_statement_timeout_ms=0, database_lock_timeout_ms=0)
    unlimited = apply_request_timeouts(build_tortoise_config("postgres://u:p@h/db", [], off), off)
    assert "server_settings" not in unlimited["connections"]["default"]["credentials"]


@pytest.mark.db
async def test_a_request_on_a_locked_row_is_a_503_with_retry_after() -> None:
    url = postgres_url("lock_timeout is PostgreSQL's (SQLite runs one writer at a time in-process)")
    router = AutoRouter(prefix="/api/v1/posts")
    router.register("", PostViewSet, basename="post")
    app = app_with(
        router,
        database_url=url,
        settings=Settings(secret_key="k" * 50, database_lock_timeout_ms=300),
    )
    async with app_client(app) as client:
        alice = await User.create_user("alice@example.com", "Password1", db=app_database())
        post = await make_post(app_database(), alice)
        force_authenticate(client, alice)
        holder = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            locked = holder.transaction()
            await locked.start()
            await holder.execute("SELECT id FROM posts WHERE id = $1 FOR UPDATE", post.id)
            waited = await client.patch(f"/api/v1/posts/{post.id}/", json={"title": "New"})
            assert waited.status_code == 503, waited.text
            assert waited.headers["retry-after"] == "2"
            assert "too long" in waited.json()["detail"]
            await locked.rollback()
        finally:
            await holder.close()
        done = await client.patch(f"/api/v1/posts/{post.id}/", json={"title": "New"})
        assert done.status_code == 200
        assert (await Post.objects.using(app_database()).get(id=post.id)).title == "New"
