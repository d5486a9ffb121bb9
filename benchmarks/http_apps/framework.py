"""The framework's app: a `ModelViewSet` on an `AutoRouter` inside a `CoreApp`.

Served by `benchmarks/http.py` as `benchmarks.http_apps.framework:app`; the SQLite file comes
from the environment (`BENCH_DATABASE_URL`).
"""

from __future__ import annotations

import os

from benchmarks.http_apps.schemas import PostInput, PostOutput
from core import AutoRouter, CoreApp, Field, Mapped, Model, ModelViewSet
from core.config import Settings
from core.datetime import DateTime
from core.permissions import AllowAny


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


class PostViewSet(ModelViewSet):
    model = Post
    input_schema = PostInput
    output_schema = PostOutput
    permission_classes = [AllowAny]
    page_size = 20
    max_page_size = 100


router = AutoRouter(prefix="/posts", tags=["Posts"])
router.register("", PostViewSet, basename="post")

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "sqlite+aiosqlite:///:memory:")

app = CoreApp(
    title="bench-framework",
    routers=[router],
    settings=Settings(_env_file=None, database_url=DATABASE_URL),
    models=[__name__],
    create_schema=True,
)
