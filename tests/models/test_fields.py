"""Every `Field.*` type round-trips through the database, TimeField on SQLite included."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from tortoise import fields as tortoise_fields

from core import Field
from tests.example_models import Everything, Post


async def test_every_field_type_round_trips(db) -> None:
    values = {
        "string": "héllo wörld",
        "text": "long " * 1000,
        "integer": -2_147_483_648,
        "big_integer": 9_007_199_254_740_993,
        "float_": 3.5,
        "decimal": Decimal("12345678.90"),
        "boolean": True,
        "datetime": dt.datetime(2024, 2, 29, 23, 59, 58, 123000, tzinfo=dt.UTC),
        "date": dt.date(1999, 12, 31),
        "time": dt.time(13, 45, 30, 250000, tzinfo=dt.UTC),
        "json": {"nested": [1, 2.5, "three", None, {"ok": True}]},
        "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "optional": None,
    }
    row = Everything(**values)
    await row.save(db)

    loaded = await Everything.objects.using(db).get(id=row.id)
    for name, expected in values.items():
        assert getattr(loaded, name) == expected, name
    assert isinstance(loaded.decimal, Decimal)
    assert isinstance(loaded.time, dt.time)
    assert loaded.datetime.utcoffset() == dt.timedelta(0)


async def test_time_filters_compare_on_sqlite_and_postgres(db) -> None:
    base = {
        "string": "s",
        "text": "t",
        "integer": 1,
        "big_integer": 1,
        "float_": 1.0,
        "decimal": Decimal("1.00"),
        "datetime": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        "date": dt.date(2024, 1, 1),
        "json": [],
        "uuid": uuid.uuid4(),
    }
    for hour in (8, 12, 18):
        await Everything.create(**base, time=dt.time(hour, 0, tzinfo=dt.UTC), using_db=db)
    afternoon = (
        await Everything.objects.using(db).filter(time__gte=dt.time(12, 0, tzinfo=dt.UTC)).count()
    )
    assert afternoon == 2


def test_field_options_map_to_tortoise() -> None:
    slug = Post._meta.fields_map["slug"]
    assert isinstance(slug, tortoise_fields.CharField)
    assert slug.max_length == 200 and slug.unique and slug.index
    updated_at = Post._meta.fields_map["updated_at"]
    assert updated_at.null is True
    assert Post._meta.fields_map["is_published"].default is False
    assert Post._meta.fields_map["id"].pk is True
    assert Post._meta.db_table == "posts"

    assert isinstance(Field.big_integer(), tortoise_fields.BigIntField)
    assert isinstance(Field.float_(), tortoise_fields.FloatField)
    decimal = Field.decimal(precision=8, scale=3)
    assert (decimal.max_digits, decimal.decimal_places) == (8, 3)
    assert isinstance(Field.pk(big=True), tortoise_fields.BigIntField)
    assert Field.uuid(primary_key=True).default is uuid.uuid4
    assert Field.integer(index=True, nullable=True, default=3).index is True


async def test_defaults_and_auto_timestamps(db) -> None:
    from tests.example_models import User

    author = await User.create(email="d@example.com", using_db=db)
    post = Post(title="t", slug="s", content="c", author_id=author.id)
    await post.save(db)
    assert post.is_published is False and post.views_count == 0
    created, updated = post.created_at, post.updated_at
    assert created.tzinfo is not None

    post.title = "changed"
    await post.save(db)
    await post.refresh(db)
    assert post.created_at == created
    assert post.updated_at >= updated
