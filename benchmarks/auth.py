"""Auth benchmark: hasher cost at the configured work factors, token throughput, loop latency.

Run with `python benchmarks/auth.py`. The last check is the one that matters for serving: while
20 logins verify PBKDF2 passwords concurrently, a task ticking every 1 ms must keep its p99
delay under 20 ms, which holds only because hashing runs in worker threads.
"""

from __future__ import annotations

import asyncio
import statistics
import time

from core.auth import (
    Argon2Hasher,
    BCryptHasher,
    PasswordHasher,
    PBKDF2Hasher,
    ScryptHasher,
    acheck_password,
    configure_auth,
    create_access_token,
    get_password_hasher,
    make_password,
    verify_token,
)
from core.exceptions import ImproperlyConfigured

HASHERS = ("pbkdf2_sha256", "argon2", "bcrypt", "scrypt")
TOKEN_ROUNDS = 3000
CONCURRENT_LOGINS = 20
TICK_SECONDS = 0.001
P99_BUDGET_MS = 20.0


def time_hashers() -> list[tuple[str, str, str]]:
    """One hash and one verification per hasher, with its default work factors."""
    rows = []
    for name in HASHERS:
        hasher = get_password_hasher(name)
        try:
            start = time.perf_counter()
            encoded = hasher.hash("correct horse battery staple")
            hashed = time.perf_counter() - start
            start = time.perf_counter()
            assert hasher.verify("correct horse battery staple", encoded)
            verified = time.perf_counter() - start
        except ImproperlyConfigured as error:  # bcrypt is an optional dependency
            rows.append((name, "n/a", str(error)))
            continue
        rows.append((name, f"{hashed * 1000:.0f} / {verified * 1000:.0f} ms", describe(hasher)))
    return rows


def describe(hasher: PasswordHasher) -> str:
    """The work factors of a built-in hasher, for the table."""
    if isinstance(hasher, PBKDF2Hasher):
        return f"SHA-256, {hasher.iterations:,} iterations"
    if isinstance(hasher, Argon2Hasher):
        return f"argon2id m={hasher.memory_cost} KiB t={hasher.time_cost} p={hasher.parallelism}"
    if isinstance(hasher, BCryptHasher):
        return f"cost {hasher.rounds}, SHA-256 pre-hash"
    if isinstance(hasher, ScryptHasher):
        n = hasher.work_factor.bit_length() - 1
        return f"N=2**{n} r={hasher.block_size} p={hasher.parallelism}"
    return type(hasher).__name__


def time_tokens() -> tuple[float, float]:
    """Tokens created and verified per second with the default JWT backend."""
    start = time.perf_counter()
    tokens = [create_access_token({"sub": str(i)}) for i in range(TOKEN_ROUNDS)]
    created = TOKEN_ROUNDS / (time.perf_counter() - start)
    start = time.perf_counter()
    for token in tokens:
        assert verify_token(token) is not None
    verified = TOKEN_ROUNDS / (time.perf_counter() - start)
    return created, verified


async def loop_latency_under_load() -> tuple[float, float, float, float]:
    """p50/p99/max tick delay (ms) while concurrent PBKDF2 checks run, and their wall time."""
    encoded = make_password("correct horse battery staple", hasher="pbkdf2_sha256")
    delays: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            start = time.perf_counter()
            await asyncio.sleep(TICK_SECONDS)
            delays.append((time.perf_counter() - start - TICK_SECONDS) * 1000)

    tick_task = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)  # let the ticker settle before the load starts
    delays.clear()
    start = time.perf_counter()
    results = await asyncio.gather(
        *(
            acheck_password("correct horse battery staple", encoded)
            for _ in range(CONCURRENT_LOGINS)
        )
    )
    wall = time.perf_counter() - start
    done.set()
    await tick_task
    assert all(valid for valid, _ in results)
    ordered = sorted(delays)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered), p99, ordered[-1], wall


def main() -> None:
    configure_auth(
        secret_key="benchmark-secret-key-0123456789abcdef", password_hasher="pbkdf2_sha256"
    )
    print("Password hashers (configured work factors)")
    print(f"  {'hasher':<15} {'hash / verify':<18} parameters")
    for name, timing, params in time_hashers():
        print(f"  {name:<15} {timing:<18} {params}")

    created, verified = time_tokens()
    print("\nTokens (HS256, joserfc)")
    print(f"  {'create':<15} {created:>10,.0f} /s")
    print(f"  {'verify':<15} {verified:>10,.0f} /s")

    p50, p99, worst, wall = asyncio.run(loop_latency_under_load())
    verdict = "PASS" if p99 < P99_BUDGET_MS else "FAIL"
    print(f"\nEvent loop while {CONCURRENT_LOGINS} acheck_password (PBKDF2) run: {wall:.2f} s")
    print(f"  tick delay p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {worst:.2f} ms")
    print(f"  p99 < {P99_BUDGET_MS:.0f} ms: {verdict}")


if __name__ == "__main__":
    main()
