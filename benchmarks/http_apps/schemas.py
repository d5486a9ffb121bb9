"""The pydantic schemas both benchmark apps validate with: one class each, shared.

They are the guide's `PostInput`/`PostOutput` with the configuration of `core.InputSchema` and
`core.OutputSchema` spelled out, so the hand-written app does not import the framework.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, field_validator


class PostInput(BaseModel):
    """The body of POST /posts/."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)

    title: str
    slug: str
    content: str
    is_published: bool = False

    @field_validator("slug")
    @classmethod
    def validate_slug(cls, v: str) -> str:
        if " " in v:
            raise ValueError("Slug cannot contain spaces")
        return v.lower()


class PostOutput(BaseModel):
    """A post as every endpoint returns it: exactly the model's columns."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    slug: str
    content: str
    is_published: bool
    views_count: int
    created_at: datetime
    updated_at: datetime | None


class PostPage(BaseModel):
    """DRF's envelope, as a FastAPI user declares it for `response_model`."""

    count: int
    next: str | None
    previous: str | None
    results: list[PostOutput]


class AuthorOutput(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str


class TagOutput(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    label: str


class NestedPostOutput(PostOutput):
    """A post with its author (a nullable foreign key) and its tags (a many-to-many)."""

    author: AuthorOutput | None
    tags: list[TagOutput]


class NestedPostPage(BaseModel):
    count: int
    next: str | None
    previous: str | None
    results: list[NestedPostOutput]
