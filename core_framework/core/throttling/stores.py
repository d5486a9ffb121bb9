"""Where throttles count requests: in this process, in the database, or in Redis.

Every store keeps a fixed-window counter per key: the first hit opens a window of `window`
seconds, each hit adds one, and the count starts again once the window has ended. `hit` is
atomic in every store, so concurrent requests (in any number of workers, for the shared
stores) are each counted exactly once. A fixed window lets a client spend up to twice its
limit across a window boundary; in exchange a hit is one statement (or one Redis script).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

from tortoise import connections

from core.adapters.tortoise import transaction_context
from core.config import Settings, get_settings
from core.db.schema import dialect_of
from core.exceptions import ImproperlyConfigured

Clock = Callable[[], float]

#: Longest key stored as is: a MySQL utf8mb4 index holds 191 characters; longer keys are hashed.
MAX_KEY_LENGTH = 191


class ThrottleHit(NamedTuple):
    """The outcome of one hit: whether it is within the limit, the window's hits so far
    (this one included), and how many seconds until the window ends and the count restarts."""

    allowed: bool
    hits: int
    wait: float


class ThrottleStore(Protocol):
    """A counter store for throttles (DRF's cache, narrowed to what throttles need)."""

    async def hit(self, key: str, window: float, limit: int) -> ThrottleHit:
        """Count one request for `key` atomically; allowed while the window's count <= limit."""
        ...

    async def get(self, key: str) -> tuple[int, float]:
        """`(count, seconds left)` of the key's current window, `(0, 0.0)` when there is none."""
        ...

    async def reset(self, key: str) -> None:
        """Forget the key's window (a successful login clears its failures)."""
        ...


def _outcome(count: int, ends: float, now: float, limit: int) -> ThrottleHit:
    return ThrottleHit(count <= limit, count, max(ends - now, 0.0))


def storage_key(key: str) -> str:
    """`key` itself when short enough for every database's index, else a digest of it."""
    if len(key) <= MAX_KEY_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class MemoryThrottleStore:
    """Counters in this process: the default, right for one worker (each worker counts alone).

    `clock` is `time.time` unless a test gives its own. Expired windows are swept once the
    store holds `max_keys` keys, so memory stays bounded by the keys of live windows.
    """

    def __init__(self, clock: Clock = time.time, max_keys: int = 100_000) -> None:
        self.clock = clock
        self.max_keys = max_keys
        self._windows: dict[str, list[float]] = {}  # key -> [count, window end]

    async def hit(self, key: str, window: float, limit: int) -> ThrottleHit:
        now = self.clock()
        entry = self._windows.get(key)
        if entry is None or entry[1] <= now:
            if entry is None and len(self._windows) >= self.max_keys:
                self._sweep(now)
            entry = self._windows[key] = [0, now + window]
        entry[0] += 1
        return _outcome(int(entry[0]), entry[1], now, limit)

    async def get(self, key: str) -> tuple[int, float]:
        now = self.clock()
        entry = self._windows.get(key)
        if entry is None or entry[1] <= now:
            return 0, 0.0
        return int(entry[0]), entry[1] - now

    async def reset(self, key: str) -> None:
        self._windows.pop(key, None)

    def _sweep(self, now: float) -> None:
        self._windows = {k: v for k, v in self._windows.items() if v[1] > now}
        while len(self._windows) >= self.max_keys:  # all live: drop the oldest windows
            del self._windows[next(iter(self._windows))]


_UPSERT = """INSERT INTO throttle_buckets (bucket_key, hits, window_ends) VALUES ({p1}, 1, {p2})
ON CONFLICT (bucket_key) DO UPDATE SET
hits = CASE WHEN throttle_buckets.window_ends <= {p3} THEN 1 ELSE throttle_buckets.hits + 1 END,
window_ends = CASE WHEN throttle_buckets.window_ends <= {p3}
    THEN excluded.window_ends ELSE throttle_buckets.window_ends END
RETURNING hits, window_ends"""

# MySQL assigns left to right: `hits` reads the old `window_ends`, which is assigned after it.
_UPSERT_MYSQL = """INSERT INTO throttle_buckets (bucket_key, hits, window_ends) VALUES (%s, 1, %s)
ON DUPLICATE KEY UPDATE
hits = IF(window_ends <= %s, 1, hits + 1),
window_ends = IF(window_ends <= %s, VALUES(window_ends), window_ends)"""


class DatabaseThrottleStore:
    """Counters in the `throttle_buckets` table: shared by every worker and host.

    One hit is one upsert (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING` on PostgreSQL and
    SQLite; `ON DUPLICATE KEY UPDATE` then a read in one transaction on MySQL), outside the
    request's transaction, so a rolled-back request is still counted. Window ends come from
    `clock` (the app servers' clocks). Expired rows are deleted at most once a minute.
    """

    def __init__(
        self, connection: Any = "default", clock: Clock = time.time, prune_every: float = 60.0
    ) -> None:
        #: A Tortoise connection name (resolved on each use) or a connection.
        self.connection = connection
        self.clock = clock
        self.prune_every = prune_every
        self._next_prune = 0.0

    def _db(self) -> Any:
        if isinstance(self.connection, str):
            return connections.get(self.connection)
        return self.connection

    async def hit(self, key: str, window: float, limit: int) -> ThrottleHit:
        db = self._db()
        now = self.clock()
        key = storage_key(key)
        dialect = dialect_of(db)
        if dialect == "mysql":
            async with transaction_context(db) as tx:
                await tx.execute_query(_UPSERT_MYSQL, [key, now + window, now, now])
                rows = await tx.execute_query_dict(_SELECT["mysql"], [key])
        else:
            if dialect == "postgres":
                sql, values = _UPSERT.format(p1="$1", p2="$2", p3="$3"), [key, now + window, now]
            else:  # SQLite: positional marks, `now` once per use
                sql, values = _UPSERT.format(p1="?", p2="?", p3="?"), [key, now + window, now, now]
            rows = await db.execute_query_dict(sql, values)  # fetched: it has RETURNING
        if now >= self._next_prune:
            self._next_prune = now + self.prune_every
            await self._prune(db, now, dialect)
        row = rows[0]
        return _outcome(int(row["hits"]), float(row["window_ends"]), now, limit)

    async def get(self, key: str) -> tuple[int, float]:
        db = self._db()
        now = self.clock()
        sql = _SELECT[dialect_of(db)]
        rows = await db.execute_query_dict(sql, [storage_key(key)])
        if not rows or float(rows[0]["window_ends"]) <= now:
            return 0, 0.0
        return int(rows[0]["hits"]), float(rows[0]["window_ends"]) - now

    async def reset(self, key: str) -> None:
        db = self._db()
        await db.execute_query(_DELETE[dialect_of(db)], [storage_key(key)])

    async def _prune(self, db: Any, now: float, dialect: str) -> None:
        await db.execute_query(_PRUNE[dialect], [now])


_SELECT = {
    "postgres": "SELECT hits, window_ends FROM throttle_buckets WHERE bucket_key = $1",
    "mysql": "SELECT hits, window_ends FROM throttle_buckets WHERE bucket_key = %s",
    "sqlite": "SELECT hits, window_ends FROM throttle_buckets WHERE bucket_key = ?",
}
_DELETE = {
    "postgres": "DELETE FROM throttle_buckets WHERE bucket_key = $1",
    "mysql": "DELETE FROM throttle_buckets WHERE bucket_key = %s",
    "sqlite": "DELETE FROM throttle_buckets WHERE bucket_key = ?",
}
_PRUNE = {
    "postgres": "DELETE FROM throttle_buckets WHERE window_ends <= $1",
    "mysql": "DELETE FROM throttle_buckets WHERE window_ends <= %s",
    "sqlite": "DELETE FROM throttle_buckets WHERE window_ends <= ?",
}


#: INCR, and start the window's expiry on its first hit: one atomic script.
_REDIS_HIT = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
    ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""


class RedisThrottleStore:
    """Counters in Redis (`pip install core-framework[redis]`): for many hosts.

    One hit is one Lua script (INCR, then PEXPIRE on the window's first hit), so it is atomic
    and the window is timed by the Redis server's clock. Keys are `<prefix><throttle key>`.
    """

    def __init__(self, url: str, prefix: str = "core:throttle:", client: Any = None) -> None:
        if client is None:
            try:
                import redis.asyncio as redis
            except ImportError as exc:  # pragma: no cover - depends on the extra
                raise ImproperlyConfigured(
                    "THROTTLE_STORE is a Redis URL but the `redis` package is not installed: "
                    "pip install 'core-framework[redis]'"
                ) from exc
            client = redis.Redis.from_url(url)
        self.url = url
        self.prefix = prefix
        self.client = client
        self._script = client.register_script(_REDIS_HIT)

    async def hit(self, key: str, window: float, limit: int) -> ThrottleHit:
        window_ms = max(math.ceil(window * 1000), 1)
        count, ttl_ms = await self._script(keys=[self.prefix + key], args=[window_ms])
        return ThrottleHit(int(count) <= limit, int(count), int(ttl_ms) / 1000)

    async def get(self, key: str) -> tuple[int, float]:
        async with self.client.pipeline(transaction=True) as pipe:
            count, ttl_ms = await pipe.get(self.prefix + key).pttl(self.prefix + key).execute()
        if count is None or int(ttl_ms) <= 0:
            return 0, 0.0
        return int(count), int(ttl_ms) / 1000

    async def reset(self, key: str) -> None:
        await self.client.delete(self.prefix + key)

    async def aclose(self) -> None:
        await self.client.aclose()


_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
_stores: dict[str, ThrottleStore] = {}
_default_store: ThrottleStore | None = None


def store_for(name: str) -> ThrottleStore:
    """The store a `THROTTLE_STORE` value names (one per process): `memory`, `database`, or
    a Redis URL (`redis://host:6379/0`)."""
    store = _stores.get(name)
    if store is not None:
        return store
    if name == "memory":
        store = MemoryThrottleStore()
    elif name == "database":
        store = DatabaseThrottleStore()
    elif name.startswith(_REDIS_SCHEMES):
        store = RedisThrottleStore(name)
    else:
        raise ImproperlyConfigured(
            f"THROTTLE_STORE={name!r}: use 'memory', 'database' or a redis:// URL"
        )
    _stores[name] = store
    return store


def reset_throttle_stores() -> None:
    """Forget every store and its counts (`set_throttle_store`'s too): test isolation."""
    global _default_store
    _stores.clear()
    _default_store = None


def set_throttle_store(store: ThrottleStore | None) -> None:
    """Make `store` every throttle's store unless the throttle names its own (None: settings)."""
    global _default_store
    _default_store = store


def get_throttle_store(settings: Settings | None = None) -> ThrottleStore:
    """The store throttles use by default: `set_throttle_store`'s, else `THROTTLE_STORE`'s."""
    if _default_store is not None:
        return _default_store
    return store_for((settings or get_settings()).throttle_store)
