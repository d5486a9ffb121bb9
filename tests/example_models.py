"""Models the tests share: the guide's Post as written, a user table, and every field type."""

from __future__ import annotations

from core import Field, Mapped, Model
from core.auth import AbstractUser, PermissionsMixin
from core.datetime import DateTime


class User(AbstractUser, PermissionsMixin):
    __tablename__ = "users"

    name: Mapped[str] = Field.string(max_length=100, default="")


class Post(Model):
    __tablename__ = "posts"

    id: Mapped[int] = Field.pk()
    title: Mapped[str] = Field.string(max_length=200)
    slug: Mapped[str] = Field.string(max_length=200, unique=True, index=True)
    content: Mapped[str] = Field.text()
    is_published: Mapped[bool] = Field.boolean(default=False)
    views_count: Mapped[int] = Field.integer(default=0)
    author_id: Mapped[int] = Field.foreign_key("users.id")
    created_at: Mapped[DateTime] = Field.datetime(auto_now_add=True)
    updated_at: Mapped[DateTime | None] = Field.datetime(auto_now=True, nullable=True)


class Comment(Model):
    """Foreign keys by class and by Tortoise's "app.Model" form, with related names."""

    __tablename__ = "comments"

    id: Mapped[int] = Field.pk()
    post = Field.foreign_key(Post, related_name="comments")
    reviewer_id: Mapped[int | None] = Field.foreign_key(
        "models.User", related_name="reviewed_comments", nullable=True, on_delete="SET NULL"
    )
    body: Mapped[str] = Field.text()


class Tag(Model):
    """Declared before its target table exists: the reference resolves when `labels` appears."""

    __tablename__ = "tags"

    id: Mapped[int] = Field.pk()
    label_id: Mapped[int] = Field.foreign_key("labels.code", related_name="tags")


class Label(Model):
    __tablename__ = "labels"

    id: Mapped[int] = Field.pk()
    code: Mapped[str] = Field.string(max_length=20, unique=True)


class Everything(Model):
    """One column of every type in the guide's field list."""

    __tablename__ = "everything"

    id: Mapped[int] = Field.pk()
    string: Mapped[str] = Field.string(max_length=50)
    text: Mapped[str] = Field.text()
    integer: Mapped[int] = Field.integer()
    big_integer: Mapped[int] = Field.big_integer()
    float_: Mapped[float] = Field.float_()
    decimal = Field.decimal(precision=10, scale=2)
    boolean: Mapped[bool] = Field.boolean(default=False)
    datetime: Mapped[DateTime] = Field.datetime()
    date = Field.date()
    time = Field.time()
    json = Field.json()
    uuid = Field.uuid()
    optional: Mapped[str | None] = Field.string(max_length=10, nullable=True)
