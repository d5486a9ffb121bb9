"""asyncpg pool internals core relies on (written for asyncpg >=0.30.0,<0.33).

`Pool.release` runs the connection holder's release in a task of its own, shielded from
cancellation, because that release may await (a reset query, a rollback, closing the
connection). `core.db.asyncpg_client` sends the reset itself and then releases directly when
nothing is left to await: that needs the holder, the conditions under which its release would
wait, and the steps of `PoolConnectionHolder.release` that follow the reset.
"""

from __future__ import annotations

from typing import Any

import asyncpg

WRITTEN_FOR = "asyncpg >=0.30.0,<0.33"


def releases_at_once(pool: asyncpg.Pool, proxy: Any) -> bool:
    """Whether the holder's release of `proxy` (a pool connection) returns without awaiting,
    once its connection has no reset query left to send: open, healthy, outside a transaction,
    not due to be closed (query limit, expired generation) and no custom `reset` callback."""
    holder = proxy._holder
    connection = proxy._con
    return not (
        connection is None
        or pool._reset is not None
        or holder._generation != pool._generation
        or connection.is_closed()
        or connection.is_in_transaction()
        or connection._top_xact is not None
        or connection._protocol._is_cancelling()
        or connection._protocol.queries_count >= holder._max_queries
    )


async def release_at_once(proxy: Any) -> None:
    """Return `proxy`'s connection to the pool, as `Pool.release` does but without its shielding
    task and without `Connection.reset`: the caller has reset the session (or left nothing to
    reset) and checked `releases_at_once`, so there is nothing to await."""
    connection = proxy._con
    holder = proxy._holder
    connection._on_release()
    holder._timeout = None
    await connection._reset()  # forgets listeners; outside a transaction it never awaits
    holder._release()
    holder._setup_inactive_callback()
