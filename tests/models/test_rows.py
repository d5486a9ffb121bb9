"""Rows read with cached SQL are exactly what Tortoise's `.values()` returns, for any values.

Each query runs three times (the SQL is built, built again to find its bound values, then
reused), with values Tortoise turns into different SQL (`IS NULL`, `IN` lists of other
lengths, booleans, negations) one after the other.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q

from core.models.rows import count_rows, lookup_row, read_rows
from core.testing import isolated_database
from tests.example_models import Post, User

COLUMNS = ("id", "title", "is_published", "views_count", "updated_at")
WHEN = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
async def db() -> AsyncIterator[BaseDBAsyncClient]:
    async with isolated_database(models=["tests.example_models"]) as db:
        author = await User.objects.using(db).create(email="a@example.com", password_hash="!")
        for n in range(8):
            await Post.objects.using(db).create(
                title=f"Post {n}",
                slug=f"p{n}",
                content="c",
                is_published=n % 2 == 0,
                views_count=n,
                author_id=author.pk,
            )
        await Post.objects.using(db).filter(views_count__gte=6).update(updated_at=WHEN)
        await Post.objects.using(db).filter(views_count__lt=6).update(updated_at=None)
        yield db


def scopes(db: BaseDBAsyncClient) -> list[Any]:
    posts = Post.objects.using(db)
    return [
        posts,
        posts.filter(is_published=True).order_by("-views_count"),
        posts.filter(is_published=False).order_by("-views_count"),
        posts.filter(updated_at=None),
        posts.filter(updated_at=WHEN),
        posts.filter(updated_at__isnull=True),
        posts.filter(updated_at__isnull=False),
        posts.filter(views_count__in=[1, 2]),
        posts.filter(views_count__in=[1, 2, 3]),
        posts.filter(views_count__in=(4,)),
        posts.exclude(views_count__in=[1, 2]),
        posts.filter(Q(is_published=True) | Q(views_count=3)).order_by("title"),
        posts.filter(~Q(is_published=True)),
        posts.filter(title__icontains="post 1"),
        posts.filter(title__icontains="post"),
        posts.filter(views_count__gt=2, views_count__lte=6).order_by("-id"),
    ]


async def test_cached_reads_match_tortoise_for_every_scope(db: BaseDBAsyncClient) -> None:
    for _ in range(3):
        for scope in scopes(db):
            ordered = scope if scope._orderings else scope.order_by("id")
            expected = await ordered.values(*COLUMNS)
            assert await read_rows(ordered, COLUMNS) == expected
            assert await count_rows(ordered) == len(expected)
            for offset, limit in ((0, 2), (1, 2), (2, 3), (5, 5)):
                page = ordered.offset(offset).limit(limit)
                assert await read_rows(page, COLUMNS) == expected[offset : offset + limit]
            ids = {row["id"] for row in expected}
            for pk in range(1, 10):
                row = await lookup_row(scope, "id", pk, COLUMNS)
                if pk in ids:
                    assert row == next(r for r in expected if r["id"] == pk)
                else:
                    assert row is None


async def test_lookups_by_a_text_field_bind_the_value(db: BaseDBAsyncClient) -> None:
    scope = Post.objects.using(db).filter(is_published=True)
    for _ in range(3):
        for slug in ("p0", "p1", "p2", "p2_", "missing"):
            expected = await scope.filter(slug=slug).values(*COLUMNS)
            row = await lookup_row(scope, "slug", slug, COLUMNS)
            assert row == (expected[0] if expected else None)
