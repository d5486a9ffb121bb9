"""The framework's app: `ModelViewSet`s on an `AutoRouter` inside a `CoreApp`, plus an `APIView`.

Served by `benchmarks/http_bench.py` as `benchmarks.http_apps.framework:app`; the database comes
from `BENCH_DATABASE_URL`, the token key from `BENCH_SECRET_KEY`, and `BENCH_QUERYSET=stock`
drops the `get_queryset` override (default: `filtered`).

- `/posts/`: anonymous (`AllowAny`); `get_queryset` scopes it to published posts, newest first,
  as a real app scopes its ViewSets;
- `/auth-posts/`: the same ViewSet behind `IsAuthenticated` (a Bearer token from
  `core.auth.create_access_token`, verified with this app's settings);
- `/nested-posts/`: posts of their own table with their author and tags nested
  (`author: AuthorOutput | None`, `tags: list[TagOutput]`), the same `get_queryset`; the
  ViewSet derives the loading from the schema (a join and a prefetch);
- `/health/`: the guide's `APIView` health check; `/health-plain/`: the same answer from a plain
  FastAPI route on this `CoreApp`, so the `APIView`'s own cost can be told from the app's.
"""

from __future__ import annotations

import os
from typing import Any

from tortoise import fields
from tortoise.backends.base.client import BaseDBAsyncClient

from benchmarks.http_apps.schemas import NestedPostOutput, PostInput, PostOutput
from core import APIView, AutoRouter, CoreApp, Field, Mapped, Model, ModelViewSet
from core.auth import AbstractUser, PermissionsMixin
from core.config import Settings
from core.datetime import DateTime
from core.permissions import AllowAny, IsAuthenticated

FILTERED = os.environ.get("BENCH_QUERYSET", "filtered") != "stock"


class User(AbstractUser, PermissionsMixin):
    __tablename__ = "users"


class Post(Model):
    __tablename__ = "posts"

    id: Mapped[int] = Field.pk()
    title: Mapped[str] = Field.string(max_length=200)
    slug: Mapped[str] = Field.string(max_length=200, unique=True, index=True)
    content: Mapped[str] = Field.text()
    is_published: Mapped[bool] = Field.boolean(default=False)
    views_count: Mapped[int] = Field.integer(default=0)
    created_at: Mapped[DateTime] = Field.datetime(auto_now_add=True)
    updated_at: Mapped[DateTime | None] = Field.datetime(auto_now=True, nullable=True)


class Author(Model):
    __tablename__ = "bench_authors"

    id: Mapped[int] = Field.pk()
    name: Mapped[str] = Field.string(max_length=100)


class Tag(Model):
    __tablename__ = "bench_tags"

    id: Mapped[int] = Field.pk()
    label: Mapped[str] = Field.string(max_length=50)


class NestedPost(Model):
    """A post with an author and tags (its own table: the rows above stay as they are)."""

    __tablename__ = "bench_posts"

    id: Mapped[int] = Field.pk()
    title: Mapped[str] = Field.string(max_length=200)
    slug: Mapped[str] = Field.string(max_length=200, unique=True, index=True)
    content: Mapped[str] = Field.text()
    is_published: Mapped[bool] = Field.boolean(default=False)
    views_count: Mapped[int] = Field.integer(default=0)
    created_at: Mapped[DateTime] = Field.datetime(auto_now_add=True)
    updated_at: Mapped[DateTime | None] = Field.datetime(auto_now=True, nullable=True)
    author_id: Mapped[int | None] = Field.foreign_key(
        "bench_authors.id", related_name="posts", nullable=True
    )
    tags: fields.ManyToManyRelation[Tag] = fields.ManyToManyField(
        "models.Tag",
        related_name="posts",
        through="bench_posts_tags",
        forward_key="tag_id",
        backward_key="post_id",
    )


class PostViewSet(ModelViewSet):
    model = Post
    input_schema = PostInput
    output_schema = PostOutput
    permission_classes = [AllowAny]
    unique_fields = ["slug"]  # a duplicate is a 400 naming the field, as `core init` has it
    page_size = 20
    max_page_size = 100


class PublishedPostViewSet(PostViewSet):
    """The documented way to scope a ViewSet: published posts only, newest first."""

    def get_queryset(self, db: BaseDBAsyncClient) -> Any:
        return Post.objects.using(db).filter(is_published=True).order_by("-created_at")


Posts: type[PostViewSet] = PublishedPostViewSet if FILTERED else PostViewSet


class NestedPostViewSet(ModelViewSet):
    """No `select_related`/`prefetch_related` written: the output schema says what to load."""

    model = NestedPost
    output_schema = NestedPostOutput
    permission_classes = [AllowAny]
    page_size = 20
    max_page_size = 100

    def get_queryset(self, db: BaseDBAsyncClient) -> Any:
        if FILTERED:
            return NestedPost.objects.using(db).filter(is_published=True).order_by("-created_at")
        return NestedPost.objects.using(db)


class AuthPostViewSet(Posts):
    permission_classes = [IsAuthenticated]


class HealthView(APIView):
    """GET /health/: the guide's health check."""

    permission_classes = [AllowAny]

    async def get(self, request: Any, **kwargs: Any) -> dict[str, str]:
        return {"status": "healthy"}


router = AutoRouter(prefix="/posts", tags=["Posts"])
router.register("", Posts, basename="post")
auth_router = AutoRouter(prefix="/auth-posts", tags=["Posts"])
auth_router.register("", AuthPostViewSet, basename="auth-post")
nested_router = AutoRouter(prefix="/nested-posts", tags=["Posts"])
nested_router.register("", NestedPostViewSet, basename="nested-post")

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "sqlite+aiosqlite:///:memory:")
SECRET_KEY = os.environ.get("BENCH_SECRET_KEY", "bench-secret-key-" + "x" * 32)

app = CoreApp(
    title="bench-framework",
    routers=[router, auth_router, nested_router],
    settings=Settings(_env_file=None, database_url=DATABASE_URL, secret_key=SECRET_KEY),
    models=[__name__],
    create_schema=True,
)
app.add_api_route("/health/", HealthView.as_route("/health/")[1], methods=["GET"])


@app.get("/health-plain/")
async def health_plain() -> dict[str, str]:
    """The same answer as a plain FastAPI route: what the APIView is measured against."""
    return {"status": "healthy"}
