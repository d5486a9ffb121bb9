"""The same table twice: once as a core model, once as a plain Tortoise model."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model as TortoiseModel

from core import Field, Mapped, Model
from core.datetime import DateTime


class BenchAuthor(Model):
    __tablename__ = "bench_users"

    id: Mapped[int] = Field.pk()
    email: Mapped[str] = Field.string(max_length=255, unique=True)


class Post(Model):
    __tablename__ = "bench_posts"

    id: Mapped[int] = Field.pk()
    title: Mapped[str] = Field.string(max_length=200)
    slug: Mapped[str] = Field.string(max_length=200, unique=True, index=True)
    content: Mapped[str] = Field.text()
    is_published: Mapped[bool] = Field.boolean(default=False)
    views_count: Mapped[int] = Field.integer(default=0)
    author_id: Mapped[int] = Field.foreign_key("bench_users.id")
    created_at: Mapped[DateTime] = Field.datetime(auto_now_add=True)


class RawPost(TortoiseModel):
    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=200)
    slug = fields.CharField(max_length=200, unique=True, db_index=True)
    content = fields.TextField()
    is_published = fields.BooleanField(default=False)
    views_count = fields.IntField(default=0)
    author: fields.ForeignKeyRelation[BenchAuthor] = fields.ForeignKeyField(
        "models.BenchAuthor", related_name="raw_posts"
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "bench_raw_posts"
