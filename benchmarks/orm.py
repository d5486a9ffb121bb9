"""The ORM facade's cost per call against plain Tortoise, interleaved in one process on SQLite.

Each round runs every operation N times through the facade (`Post.objects.using(db)...`) and
N times through a plain Tortoise model on an identical table, alternating which goes first;
the reported ratio is the median over rounds of facade time / Tortoise time (target <= 1.03).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.orm_models import BenchAuthor, Post, RawPost
from core.db import connect

Op = Callable[[], Awaitable[object]]


async def _time(op: Op, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        await op()
    return (time.perf_counter() - start) / calls


async def main(rounds: int, calls: int, url: str) -> int:
    async with connect(url, models=["benchmarks.orm_models"], create_schema=True) as db:
        author = await BenchAuthor.create(email="bench@example.com", using_db=db)
        for i in range(200):
            common = {"title": f"Post {i}", "slug": f"post-{i}", "content": "x" * 200}
            common["is_published"] = i % 2 == 0
            await Post.create(**common, author=author, using_db=db)
            await RawPost.create(**common, author=author, using_db=db)
        core_post = await Post.objects.using(db).get(slug="post-10")
        raw_post = await RawPost.get(slug="post-10", using_db=db)

        async def core_save() -> None:
            core_post.views_count += 1
            await core_post.save(db)

        async def raw_save() -> None:
            raw_post.views_count += 1
            await raw_post.save(using_db=db)

        ops: dict[str, tuple[Op, Op]] = {
            "filter().order_by().limit(20).all()": (
                lambda: (
                    Post.objects.using(db).filter(is_published=True).order_by("-id").limit(20).all()
                ),
                lambda: RawPost.filter(is_published=True).order_by("-id").limit(20).using_db(db),
            ),
            "get(id=...)": (
                lambda: Post.objects.using(db).get(id=core_post.id),
                lambda: RawPost.get(id=raw_post.id, using_db=db),
            ),
            "save(db)": (core_save, raw_save),
        }
        for facade, native in ops.values():  # warm up
            await _time(facade, calls)
            await _time(native, calls)

        ratios: dict[str, list[float]] = {name: [] for name in ops}
        per_call: dict[str, list[tuple[float, float]]] = {name: [] for name in ops}
        for round_no in range(rounds):
            for name, (facade, native) in ops.items():
                if round_no % 2:
                    t_native, t_facade = await _time(native, calls), await _time(facade, calls)
                else:
                    t_facade, t_native = await _time(facade, calls), await _time(native, calls)
                ratios[name].append(t_facade / t_native)
                per_call[name].append((t_facade, t_native))

    print(f"ORM facade vs plain Tortoise on SQLite ({rounds} rounds x {calls} calls, interleaved)")
    print(f"{'operation':40} {'facade us':>10} {'tortoise us':>12} {'ratio':>7}")
    worst = 0.0
    for name in ops:
        ratio = statistics.median(ratios[name])
        facade_us = statistics.median(t for t, _ in per_call[name]) * 1e6
        native_us = statistics.median(t for _, t in per_call[name]) * 1e6
        worst = max(worst, ratio)
        print(f"{name:40} {facade_us:10.1f} {native_us:12.1f} {ratio:7.3f}")
    verdict = "met" if worst <= 1.03 else "MISSED"
    print(f"target: facade costs at most 3% more per call (ratio <= 1.03): {verdict}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--url", default="sqlite+aiosqlite:///:memory:")
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main(args.rounds, args.calls, args.url)))
