"""A model with a version column, for the optimistic concurrency tests."""

from __future__ import annotations

from core import Field, Mapped, Model
from core.datetime import DateTime


class Document(Model):
    __tablename__ = "documents"

    id: Mapped[int] = Field.pk()
    title: Mapped[str] = Field.string(max_length=200)
    body: Mapped[str] = Field.text(default="")
    version: Mapped[int] = Field.integer(default=0)
    updated_at: Mapped[DateTime | None] = Field.datetime(auto_now=True, nullable=True)
