"""The request's database handle: one connection, and one transaction for unsafe methods."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Request
from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from core.config import get_settings

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def runs_in_transaction(request: Request) -> bool:
    """Whether the request runs in one transaction: an unsafe method, and ATOMIC_REQUESTS on."""
    if request.method not in UNSAFE_METHODS:
        return False
    return bool(get_settings().atomic_requests)


async def request_db(request: Request) -> AsyncIterator[BaseDBAsyncClient]:
    """Yield the connection; POST/PUT/PATCH/DELETE run in a transaction.

    The transaction commits when the handler returns and rolls back on any error. Declared
    with `Depends(request_db, scope="function")`, it commits before the response is sent, so a
    failed commit is never reported to the client as a success.
    """
    if runs_in_transaction(request):
        async with in_transaction("default") as connection:
            yield connection
    else:
        yield connections.get("default")
