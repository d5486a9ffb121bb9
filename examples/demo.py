"""`make demo`: a small posts API on SQLite, served at http://127.0.0.1:8000 (docs at /docs).

A stand-in until the `core` CLI scaffolds the full example project.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI, HTTPException

from core import InputSchema, OutputSchema
from core.datetime import DateTime
from core.db import IntegrityError, create_schema, start_database, stop_database
from examples.demo_models import Author, Post

DATABASE_URL = os.environ.get("DEMO_DATABASE_URL", "sqlite+aiosqlite:///./.demo/demo.db")


class PostInput(InputSchema):
    title: str
    slug: str
    content: str
    is_published: bool = False


class PostOutput(OutputSchema):
    id: int
    title: str
    slug: str
    content: str
    is_published: bool
    views_count: int
    created_at: DateTime
    updated_at: DateTime | None


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    os.makedirs(".demo", exist_ok=True)
    context = await start_database(DATABASE_URL, models=["examples.demo_models"])
    await create_schema(context.db())
    await Author.get_or_create(email="demo@example.com")
    yield
    await stop_database()


app = FastAPI(title="Core Framework demo", lifespan=lifespan)


@app.get("/posts/", response_model=list[PostOutput])
async def list_posts() -> list[Post]:
    return await Post.objects.using(None).order_by("-id").limit(20).all()


@app.post("/posts/", response_model=PostOutput, status_code=201)
async def create_post(body: PostInput) -> Post:
    author = await Author.objects.using(None).get(email="demo@example.com")
    try:
        return await Post.create(**body.model_dump(), author=author)
    except IntegrityError:
        raise HTTPException(400, detail={"slug": "a post with this slug already exists"}) from None


@app.get("/posts/{post_id}/", response_model=PostOutput)
async def get_post(post_id: int) -> Post:
    post = await Post.objects.using(None).get_or_none(id=post_id)
    if post is None:
        raise HTTPException(404, detail="Not found.")
    return post


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
