"""The table of the pagination-depth benchmark (`benchmarks/pagination_depth.py`)."""

from __future__ import annotations

from core import Field, Mapped, Model
from core.datetime import DateTime


class DepthRow(Model):
    __tablename__ = "depth_rows"

    id: Mapped[int] = Field.pk()
    title: Mapped[str] = Field.string(max_length=200)
    views_count: Mapped[int] = Field.integer(default=0)
    created_at: Mapped[DateTime] = Field.datetime()
