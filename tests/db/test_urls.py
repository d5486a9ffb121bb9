"""DATABASE_URL translation: the guide's SQLAlchemy-style URLs and Tortoise's own."""

from __future__ import annotations

import os
import sys

import pytest

from core.db import mask_password, parse_database_url
from core.exceptions import ImproperlyConfigured


@pytest.mark.parametrize(
    ("url", "file_path"),
    [
        ("sqlite+aiosqlite:///./app.db", "{cwd}/app.db"),
        ("sqlite+aiosqlite:///app.db", "{cwd}/app.db"),
        ("sqlite+aiosqlite:///data/sub/app.db", "{cwd}/data/sub/app.db"),
        ("sqlite+aiosqlite:////var/lib/app.db", "/var/lib/app.db"),
        ("sqlite+aiosqlite:///:memory:", ":memory:"),
        ("sqlite:///./app.db", "{cwd}/app.db"),
        ("sqlite://app.db", "{cwd}/app.db"),
        ("sqlite:///var/lib/app.db", "/var/lib/app.db"),
        ("sqlite://:memory:", ":memory:"),
    ],
)
def test_sqlite_urls_resolve_paths(url: str, file_path: str) -> None:
    parsed = parse_database_url(url)
    assert parsed.dialect == "sqlite"
    assert parsed.config["engine"] == "core.db.sqlite_client"
    assert parsed.credentials["file_path"] == file_path.format(cwd=os.getcwd())


def test_relative_sqlite_path_resolves_against_base_dir(tmp_path) -> None:
    parsed = parse_database_url("sqlite+aiosqlite:///./app.db", base_dir=str(tmp_path))
    assert parsed.credentials["file_path"] == str(tmp_path / "app.db")


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://user:pa%40ss@db.example:5433/shop",
        "postgresql://user:pa%40ss@db.example:5433/shop",
        "postgres://user:pa%40ss@db.example:5433/shop",
        "asyncpg://user:pa%40ss@db.example:5433/shop",
    ],
)
def test_postgres_urls(url: str) -> None:
    parsed = parse_database_url(url)
    assert parsed.dialect == "postgres"
    assert parsed.config["engine"] == "core.db.asyncpg_client"
    assert parsed.credentials == {
        "host": "db.example",
        "port": 5433,
        "user": "user",
        "password": "pa@ss",
        "database": "shop",
    }


def test_postgres_default_port_and_query_options() -> None:
    parsed = parse_database_url("postgresql+asyncpg://u:p@localhost/db?minsize=2&maxsize=7")
    assert parsed.credentials["port"] == 5432
    assert parsed.credentials["minsize"] == "2"
    assert parsed.credentials["maxsize"] == "7"


@pytest.mark.parametrize(
    "url",
    [
        "mysql+aiomysql://u:p@localhost:3306/shop",
        "mysql+asyncmy://u:p@localhost:3306/shop",
        "mysql://u:p@localhost:3306/shop",
    ],
)
def test_mysql_urls(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("core.db.mysql_client.driver_installed", lambda driver: True)
    parsed = parse_database_url(url)
    assert parsed.dialect == "mysql"
    driver = "asyncmy" if "asyncmy" in url else "aiomysql"  # plain mysql:// is aiomysql
    assert parsed.config["engine"] == f"core.db.mysql_{driver}"
    assert parsed.credentials["database"] == "shop"
    assert parsed.credentials["port"] == 3306


@pytest.mark.parametrize(
    ("url", "driver"),
    [("mysql://u:p@h/shop", "aiomysql"), ("mysql+asyncmy://u:secret@h/shop", "asyncmy")],
)
def test_mysql_url_without_its_driver_names_the_extra(
    url: str, driver: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("core.db.mysql_client.driver_installed", lambda name: name != driver)
    with pytest.raises(ImproperlyConfigured) as raised:
        parse_database_url(url)
    message = str(raised.value)
    assert f"needs the {driver} driver, which is not installed" in message
    assert "pip install 'core-framework[mysql]'" in message
    assert "secret" not in message


@pytest.mark.parametrize("driver", ["aiomysql", "asyncmy"])
def test_each_mysql_scheme_loads_its_own_driver(driver: str) -> None:
    pytest.importorskip("aiomysql", reason="the mysql extra is not installed")
    pytest.importorskip("asyncmy", reason="the mysql extra is not installed")
    import importlib

    engine = parse_database_url(f"mysql+{driver}://u:p@h/shop").config["engine"]
    client_class = importlib.import_module(engine).client_class
    module = sys.modules[client_class.__module__]
    assert module.mysql.__name__ == driver
    assert module.errors.__name__.split(".")[0] == (
        "pymysql" if driver == "aiomysql" else "asyncmy"
    )


@pytest.mark.parametrize("url", ["oracle+cx://x", "redis://localhost", "not a url", ""])
def test_unsupported_urls_are_clear_errors(url: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        parse_database_url(url)


def test_errors_and_descriptions_never_show_the_password() -> None:
    url = "postgresql+asyncpg://alice:s3cret@db.example:5432/shop"
    parsed = parse_database_url(url)
    assert "s3cret" not in parsed.describe()
    assert parsed.describe() == "postgres database 'shop' at db.example:5432 as user 'alice'"
    assert mask_password(url) == "postgresql+asyncpg://alice:***@db.example:5432/shop"
    with pytest.raises(ImproperlyConfigured) as error:
        parse_database_url("postgresql+asyncpg://alice:s3cret@db.example:notaport/shop")
    assert "s3cret" not in str(error.value)


def test_a_process_without_mysql_drivers_gets_the_install_hint() -> None:
    """Without the extra, Tortoise's MySQL package cannot even be imported: the error is ours."""
    import subprocess

    code = (
        "import sys\n"
        "sys.modules['aiomysql'] = sys.modules['asyncmy'] = None  # as if not installed\n"
        "from core.db.urls import parse_database_url\n"
        "parse_database_url('mysql+asyncmy://u:p@h/shop')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("core.exceptions.ImproperlyConfigured: DATABASE_URL ")
    assert "needs the asyncmy driver" in last and "core-framework[mysql]" in last
