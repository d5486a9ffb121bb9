"""Test support for apps built on core: an isolated database per test and an HTTP client.

```python
async with app_client(app) as client:          # lifespan run, schema created afresh
    user = await User.create_user("a@b.c", "pw", db=app_database())
    force_authenticate(client, user)
    response = await client.get("/api/v1/auth/me/")
```
SQLite in memory unless DATABASE_URL names another database (PostgreSQL in CI).
`override_settings(**values)` changes settings for a block or a test, and
`reset_framework_state()` puts every framework-level registry back as a new process has it.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import (
    AbstractContextManager,
    AsyncExitStack,
    asynccontextmanager,
    contextmanager,
    nullcontext,
)
from types import TracebackType
from typing import Any, TypeVar

import httpx
from asgi_lifespan import LifespanManager
from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from core import config
from core.auth.backends import reset_auth_backends
from core.auth.hashers import (
    get_password_hasher,
    reset_password_hashers,
    reset_password_hashing,
    set_default_password_hasher,
)
from core.auth.models import reset_user_model_cache
from core.auth.tokens import create_access_token, reset_auth_config, reset_token_backends
from core.config import set_settings
from core.datetime import reset_datetime_config
from core.db.connection import connect
from core.db.schema import recreate_schema

#: The database tests use when DATABASE_URL is not set.
DEFAULT_TEST_DATABASE_URL = "sqlite+aiosqlite:///:memory:"
#: A password hasher with a tiny work factor, for test suites only (refused in production).
FAST_TEST_HASHER = "fast_test"


def database_url_for_tests() -> str:
    """DATABASE_URL from the environment (PostgreSQL in CI), else SQLite in memory."""
    return os.environ.get("DATABASE_URL") or DEFAULT_TEST_DATABASE_URL


@asynccontextmanager
async def isolated_database(
    models: list[str] | None = None, database_url: str | None = None
) -> AsyncIterator[BaseDBAsyncClient]:
    """A connection to a database holding exactly the models' tables, empty, for one test."""
    async with connect(database_url or database_url_for_tests(), models=models) as db:
        await recreate_schema(db)
        yield db


def app_database() -> BaseDBAsyncClient:
    """The connection of the app running under `app_client`."""
    return connections.get("default")


class AppClient(httpx.AsyncClient):
    """The client `app_client` yields: an `httpx.AsyncClient` that knows the app it talks to."""

    def __init__(self, app: Any, **options: Any) -> None:
        super().__init__(**options)
        self.app = app


@asynccontextmanager
async def app_client(
    app: Any, base_url: str = "http://testserver", fresh_schema: bool = True
) -> AsyncIterator[AppClient]:
    """An httpx client over the real ASGI app, its lifespan started (and stopped after).

    With `fresh_schema` every table is dropped and the models' tables are created, so each
    test starts from an empty database (use `fresh_schema=False` to test migrations instead).
    """
    from core.migrations.startup import schema_from_models

    async with AsyncExitStack() as stack:
        # Only while the app starts: its startup check then knows the tables come from models.
        with schema_from_models() if fresh_schema else nullcontext():
            manager = await stack.enter_async_context(LifespanManager(app))
        if fresh_schema:
            await recreate_schema(app_database())
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with AppClient(app, transport=transport, base_url=base_url) as client:
            yield client


def _as_client_app(client: httpx.AsyncClient) -> AbstractContextManager[None]:
    """A block run as the client's app runs its requests: under its own settings, if any."""
    scope = getattr(getattr(client, "app", None), "settings_scope", None)
    return scope() if callable(scope) else nullcontext()


def force_authenticate(client: httpx.AsyncClient, user: Any | None) -> None:
    """Send the next requests as `user` (a real access token), or anonymously with None.

    The token is signed as the client's app signs (its own `settings=`, when it has them).
    """
    if user is None:
        client.headers.pop("Authorization", None)
    else:
        with _as_client_app(client):
            token = create_access_token({"sub": str(user.pk)})
        client.headers["Authorization"] = f"Bearer {token}"


_F = TypeVar("_F", bound=Callable[..., Any])


class override_settings:
    """Change settings for a block, or for a test as a decorator (sync or async):

    ```python
    with override_settings(auth_access_token_expire_minutes=1):
        ...
    ```
    The values patch whichever settings are in force, the process's and every app's own
    (`CoreApp(settings=...)`), and what derives from them follows: tokens, the default password
    hasher, the time zone. Outside an app, `configure_auth` and `set_default_password_hasher`
    still win over them (`reset_framework_state()` clears those).
    """

    def __init__(self, **values: Any) -> None:
        self.values = values
        self._layers: list[dict[str, Any]] = []

    def __enter__(self) -> None:
        layer = dict(self.values)
        self._layers.append(layer)
        config._push_overrides(layer)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        config._pop_overrides(self._layers.pop())

    def __call__(self, func: _F) -> _F:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with self:
                    return await func(*args, **kwargs)

            return run_async  # type: ignore[return-value]

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return run  # type: ignore[return-value]


def reset_framework_state() -> None:
    """Put every framework-level registry and setting back as a new process has them.

    Settings (`set_settings`, `override_settings`), `configure_auth`, the default password
    hasher, the hashing pool (`configure_password_hashing`), the password hasher, token
    backend, auth backend and OAuth provider registries, `configure_datetime`, the cached user
    model and the throttle stores with their counts.
    Call it before (or after) each test.
    """
    from core.auth.oauth.providers import reset_oauth_providers
    from core.throttling.stores import reset_throttle_stores

    config._clear_overrides()
    set_settings(None)
    reset_auth_config()
    reset_password_hashers()
    reset_password_hashing()
    reset_token_backends()
    reset_auth_backends()
    reset_oauth_providers()
    reset_datetime_config()
    reset_user_model_cache()
    reset_throttle_stores()


@contextmanager
def fast_password_hasher() -> Iterator[None]:
    """Hash passwords with the test-only fast hasher inside the block, in and out of apps."""
    get_password_hasher(FAST_TEST_HASHER)
    set_default_password_hasher(FAST_TEST_HASHER)
    try:
        with override_settings(auth_password_hasher=FAST_TEST_HASHER):
            yield
    finally:
        set_default_password_hasher(None)
