"""`core.db.connect`: start the ORM for scripts and tests, always close, fail in one clear line."""

from __future__ import annotations

import socket

import pytest
from tortoise.context import get_current_context

from core.db import connect, parse_database_url
from core.exceptions import DatabaseUnavailable
from core.testing import database_url_for_tests
from tests.example_models import Post, User

MODELS = ["tests.example_models"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_connect_yields_a_usable_connection_and_closes_it() -> None:
    async with connect("sqlite+aiosqlite:///:memory:", models=MODELS, create_schema=True) as db:
        user = await User.create(email="a@example.com", using_db=db)
        await Post.create(title="T", slug="t", content="c", author=user, using_db=db)
        assert await Post.objects.using(db).count() == 1
        assert get_current_context() is not None
    assert get_current_context() is None


async def test_connect_closes_when_the_body_fails() -> None:
    with pytest.raises(RuntimeError, match="boom"):
        async with connect("sqlite+aiosqlite:///:memory:", models=MODELS):
            raise RuntimeError("boom")
    assert get_current_context() is None


async def test_sqlite_file_relative_to_cwd_persists_between_connections(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = "sqlite+aiosqlite:///./data.db"
    async with connect(url, models=MODELS, create_schema=True) as db:
        await User.create(email="kept@example.com", using_db=db)
    assert (tmp_path / "data.db").exists()
    async with connect(url, models=MODELS) as db:
        assert await User.objects.using(db).filter(email="kept@example.com").exists()


async def test_settings_supply_the_default_url(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "sqlite+aiosqlite:///./from-env.db")
    from core.config import Settings

    async with connect(models=MODELS, create_schema=True, settings=Settings()) as db:
        await User.create(email="env@example.com", using_db=db)
    assert (tmp_path / "from-env.db").exists()


async def test_unreachable_postgres_is_one_clear_line_without_password() -> None:
    url = f"postgresql+asyncpg://app:s3cret-pw@127.0.0.1:{_closed_port()}/shop"
    with pytest.raises(DatabaseUnavailable) as error:
        async with connect(url, models=MODELS):
            pass
    message = str(error.value)
    assert message.startswith("cannot connect to postgres database 'shop' at 127.0.0.1:")
    assert "as user 'app'" in message
    assert "s3cret-pw" not in message
    assert "\n" not in message


async def test_unopenable_sqlite_file_is_a_clear_error(tmp_path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/missing-dir/app.db"
    with pytest.raises(DatabaseUnavailable, match=r"cannot connect to SQLite database .*app\.db"):
        async with connect(url, models=MODELS):
            pass


@pytest.mark.db
async def test_missing_database_on_a_real_server_names_it() -> None:
    parsed = parse_database_url(database_url_for_tests())
    if parsed.dialect != "postgres":
        pytest.skip("needs the PostgreSQL server of `make test-pg`")
    url = database_url_for_tests().rsplit("/", 1)[0] + "/no_such_database"
    with pytest.raises(DatabaseUnavailable) as error:
        async with connect(url, models=MODELS):
            pass
    assert "'no_such_database'" in str(error.value)
    assert "does not exist" in str(error.value)
    if parsed.credentials.get("password"):
        assert parsed.credentials["password"] not in str(error.value)


async def test_database_echo_logs_the_sql(caplog) -> None:
    from core.config import Settings

    with caplog.at_level("DEBUG", logger="tortoise.db_client"):
        settings = Settings(database_echo=True)
        url = "sqlite+aiosqlite:///:memory:"
        async with connect(url, models=MODELS, create_schema=True, settings=settings) as db:
            await User.objects.using(db).filter(email="x@example.com").exists()
    assert any("SELECT" in record.getMessage() for record in caplog.records)
