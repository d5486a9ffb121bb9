"""The hand-written app: what a FastAPI user writes with Tortoise, no framework.

A Tortoise model, `response_model=` on every route, querysets returning model instances that
FastAPI validates and serializes, `RegisterTortoise` in the lifespan. Served by
`benchmarks/http.py` as `benchmarks.http_apps.naive:app` on `BENCH_DATABASE_URL`.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Query, Request
from tortoise import fields
from tortoise.contrib.fastapi import RegisterTortoise
from tortoise.models import Model

from benchmarks.http_apps.schemas import PostInput, PostOutput, PostPage


class Post(Model):
    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=200)
    slug = fields.CharField(max_length=200, unique=True, db_index=True)
    content = fields.TextField()
    is_published = fields.BooleanField(default=False)
    views_count = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True, null=True)

    class Meta:
        table = "posts"


DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "sqlite://:memory:")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with RegisterTortoise(
        app, db_url=DATABASE_URL, modules={"models": [__name__]}, generate_schemas=True
    ):
        yield


app = FastAPI(title="bench-naive", lifespan=lifespan)


@app.get("/posts/", response_model=PostPage)
async def list_posts(
    request: Request,
    page: int = Query(1, ge=1),
    page_size: int = Query(20, ge=1, le=100),
) -> dict[str, object]:
    offset = (page - 1) * page_size
    query = Post.all().order_by("id")
    count = await query.count()
    if page > 1 and offset >= count:
        raise HTTPException(status_code=404, detail="Invalid page.")
    posts = await query.offset(offset).limit(page_size)
    next_url = None
    if offset + page_size < count:
        next_url = str(request.url.include_query_params(page=page + 1))
    previous_url = None
    if page > 1:
        previous = request.url.include_query_params(page=page - 1)
        previous_url = str(previous.remove_query_params("page") if page == 2 else previous)
    return {"count": count, "next": next_url, "previous": previous_url, "results": posts}


@app.get("/posts/{post_id}/", response_model=PostOutput)
async def get_post(post_id: int) -> Post:
    post = await Post.get_or_none(id=post_id)
    if post is None:
        raise HTTPException(status_code=404, detail="Not found.")
    return post


@app.post("/posts/", response_model=PostOutput, status_code=201)
async def create_post(body: PostInput) -> Post:
    return await Post.create(**body.model_dump())
