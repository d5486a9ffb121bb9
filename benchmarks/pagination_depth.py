"""Time per page at increasing depth on PostgreSQL: page numbers, limit/offset and cursors.

Run with `python benchmarks/pagination_depth.py` (part of `make bench`); when DATABASE_URL does
not come from `scripts/with-postgres.sh`, it re-runs itself under that script (a throw-away
server, never a database of yours).

A table of 1,000,000 rows is filled with one `INSERT ... SELECT generate_series` (and
ANALYZEd). Four ViewSets over it differ only in `pagination_class`: `PageNumberPagination`,
`LimitOffsetPagination`, and `CursorPagination` twice, by `id` and by `-created_at` (then
`-id`, on an index of `(created_at, id)`). At each depth (0, 10,000, 100,000 and 900,000 rows
before the page) the same 20-row page is fetched through the framework: in-process ASGI
requests (httpx's ASGITransport: the app's whole path, routing to JSON, with no socket).
Page numbers ask for `?page=depth/20+1`, limit/offset for `?offset=depth`, and a cursor is the
one the framework puts in `next` after the row at position depth (made with its own
`encode_cursor` from that row). All four must return the same rows. Requests are interleaved
in rounds (each cell's sample is the mean of 5 requests in a row after an untimed one, against
the noise of a busy machine and of the previous cell's query); the table shows the median milliseconds per page and the ratio to depth 0, the
verdict on the cursor's flatness compares the fastest rounds.
`--quick`: 100,000 rows, depths scaled down by ten, fewer rounds (a smoke run).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("SECRET_KEY", "pagination-depth-benchmark-" + "0123456789" * 5)

from benchmarks.pagination_models import DepthRow
from core import (
    AutoRouter,
    CoreApp,
    CursorPagination,
    LimitOffsetPagination,
    OutputSchema,
    PageNumberPagination,
    ReadOnlyModelViewSet,
)
from core.datetime import DateTime
from core.permissions import AllowAny
from core.testing import app_client, app_database
from core.views.pagination import Cursor, encode_cursor, order_term

PAGE_SIZE = 20
ROOT = Path(__file__).resolve().parents[1]


class RowOutput(OutputSchema):
    id: int
    title: str
    views_count: int
    created_at: DateTime


class Rows(ReadOnlyModelViewSet):
    model = DepthRow
    output_schema = RowOutput
    permission_classes = [AllowAny]
    page_size = PAGE_SIZE
    ordering = ["id"]


class NewestFirst(CursorPagination):
    ordering = "-created_at"


VIEWS: dict[str, tuple[type[Rows], Any]] = {
    "page number": (type("PageRows", (Rows,), {"pagination_class": PageNumberPagination}), None),
    "limit/offset": (
        type("OffsetRows", (Rows,), {"pagination_class": LimitOffsetPagination}),
        None,
    ),
    "cursor (id)": (
        type("CursorRows", (Rows,), {"pagination_class": CursorPagination}),
        [("id", False)],
    ),
    "cursor (-created_at)": (
        type("NewestRows", (Rows,), {"pagination_class": NewestFirst}),
        [("created_at", True), ("id", True)],
    ),
}


def build_app(url: str) -> CoreApp:
    routers = []
    for index, (view, _) in enumerate(VIEWS.values()):
        router = AutoRouter(prefix=f"/v{index}")
        router.register("/rows", view, basename=f"rows{index}")
        routers.append(router)
    return CoreApp(
        title="pagination depth",
        routers=routers,
        database_url=url,
        models=["benchmarks.pagination_models"],
    )


async def fill(rows: int) -> None:
    """`rows` rows in one statement; created_at falls as id grows, so both orders agree."""
    db = app_database()
    await db.execute_query(
        "INSERT INTO depth_rows (id, title, views_count, created_at) "
        "SELECT g, 'row ' || g, g % 1000, TIMESTAMPTZ '2026-01-01' - g * INTERVAL '1 second' "
        "FROM generate_series(1, $1::int) AS g",
        [rows],
    )
    await db.execute_script(
        "CREATE INDEX depth_rows_created_at_id ON depth_rows (created_at, id); ANALYZE depth_rows;"
    )


async def cursor_after(position: int, columns: list[tuple[str, bool]]) -> str:
    """The `?cursor=` of the page after the row at `position` (0-based) in id order."""
    row = await DepthRow.objects.using(app_database()).filter(id=position + 1).first()
    assert row is not None
    terms = [order_term(DepthRow, name, descending) for name, descending in columns]
    values = tuple(getattr(row, term.field) for term in terms)
    return encode_cursor(Cursor(values), terms)


async def requests_for(depth: int) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"page": depth // PAGE_SIZE + 1},
        {"offset": depth, "limit": PAGE_SIZE},
    ]
    for _, columns in list(VIEWS.values())[2:]:
        params.append({"cursor": await cursor_after(depth - 1, columns)} if depth else {})
    return params


async def run(rows: int, depths: list[int], rounds: int, batch: int) -> int:
    url = os.environ["DATABASE_URL"]
    async with app_client(build_app(url)) as client:
        started = time.perf_counter()
        await fill(rows)
        print(f"{rows:,} rows filled and indexed in {time.perf_counter() - started:.1f} s")
        plans = {depth: await requests_for(depth) for depth in depths}

        async def fetch(index: int, params: dict[str, Any]) -> list[int]:
            response = await client.get(f"/v{index}/rows/", params=params)
            assert response.status_code == 200, response.text
            return [row["id"] for row in response.json()["results"]]

        for depth in depths:  # the same page from every paginator (and a warm-up)
            pages = [await fetch(index, params) for index, params in enumerate(plans[depth])]
            expected = list(range(depth + 1, depth + PAGE_SIZE + 1))
            assert all(page == expected for page in pages), (depth, pages)

        times: dict[tuple[int, int], list[float]] = {}
        for round_ in range(rounds):
            order = list(enumerate(VIEWS))
            if round_ % 2:
                order.reverse()
            for depth in depths:
                for index, _ in order:
                    await fetch(index, plans[depth][index])  # untimed: after another's query
                    start = time.perf_counter()
                    for _ in range(batch):
                        await fetch(index, plans[depth][index])
                    elapsed = (time.perf_counter() - start) / batch
                    times.setdefault((index, depth), []).append(elapsed)

    print(
        f"\nms per {PAGE_SIZE}-row page (median of {rounds} rounds of {batch} requests), "
        "PostgreSQL, in-process ASGI"
    )
    header = f"{'depth':>9} | " + " | ".join(f"{name:>20}" for name in VIEWS)
    print(header)
    print("-" * len(header))
    for depth in depths:
        cells = []
        for index in range(len(VIEWS)):
            ms = statistics.median(times[index, depth]) * 1000
            base = statistics.median(times[index, depths[0]]) * 1000
            cells.append(f"{ms:8.2f} ({ms / base:5.1f}x)")
        print(f"{depth:>9,} | " + " | ".join(f"{cell:>20}" for cell in cells))
    # The verdict compares the fastest rounds: a busy machine adds noise of a few ms, not depth.
    ratios = [min(times[index, depths[-1]]) / min(times[index, depths[0]]) for index in (2, 3)]
    flat = max(ratios) < 1.5
    shown = ", ".join(f"{ratio:.2f}x" for ratio in ratios)
    print(
        f"\ncursor, deepest / first page, fastest rounds: {shown} (target: flat, < 1.5x) ", end=""
    )
    print("met" if flat else "MISSED")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 rows, a smoke run")
    parser.add_argument("--depth-rounds", type=int, default=None, help="rounds per cell")
    args, _ = parser.parse_known_args()  # `make bench` passes the HTTP benchmark's options too
    url = os.environ.get("DATABASE_URL", "")
    if not (os.environ.get("PG_TEST_PORT") and url.startswith(("postgres", "asyncpg"))):
        script = str(ROOT / "scripts" / "with-postgres.sh")
        os.execv(script, [script, sys.executable, *sys.argv])  # noqa: S606 (a fixed script)
    scale = 10 if args.quick else 1
    rows = 1_000_000 // scale
    depths = [depth // scale for depth in (0, 10_000, 100_000, 900_000)]
    rounds = args.depth_rounds or (5 if args.quick else 10)
    return asyncio.run(run(rows, depths, rounds, 5))


if __name__ == "__main__":
    sys.exit(main())
