"""The hand-written app: what a careful FastAPI user writes with Tortoise, no framework.

A Tortoise model, `response_model=` on every route, querysets returning model instances that
FastAPI validates and serializes, `RegisterTortoise` in the lifespan. Served by
`benchmarks/http_bench.py` as `benchmarks.http_apps.naive:app` on `BENCH_DATABASE_URL`, with the
token key from `BENCH_SECRET_KEY`; `BENCH_QUERYSET=stock` lists every post by id instead of the
published ones newest first (default: `filtered`), as the framework app does.

The same routes as the framework app: `/posts/` (anonymous), `/auth-posts/` (a Bearer token:
`current_user` verifies the HS256 JWT and its claims, checks the token's `jti` against the
revoked-tokens table, then loads the active user, one query each), and `/health/` and
`/health-plain/` (both plain routes), and `/nested-posts/`: posts with their author and tags,
loaded by hand with `select_related("author").prefetch_related("tags")`, as Tortoise's docs
advise.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from tortoise import fields
from tortoise.contrib.fastapi import RegisterTortoise
from tortoise.models import Model
from tortoise.queryset import QuerySet

from benchmarks.http_apps.schemas import NestedPostPage, PostInput, PostOutput, PostPage

FILTERED = os.environ.get("BENCH_QUERYSET", "filtered") != "stock"
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "sqlite://:memory:")
SECRET_KEY = OctKey.import_key(os.environ.get("BENCH_SECRET_KEY", "bench-secret-key-" + "x" * 32))


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


class Author(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100)

    class Meta:
        table = "bench_authors"


class Tag(Model):
    id = fields.IntField(primary_key=True)
    label = fields.CharField(max_length=50)

    class Meta:
        table = "bench_tags"


class NestedPost(Model):
    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=200)
    slug = fields.CharField(max_length=200, unique=True, db_index=True)
    content = fields.TextField()
    is_published = fields.BooleanField(default=False)
    views_count = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True, null=True)
    author: fields.ForeignKeyNullableRelation[Author] = fields.ForeignKeyField(
        "models.Author", related_name="posts", null=True
    )
    tags: fields.ManyToManyRelation[Tag] = fields.ManyToManyField(
        "models.Tag",
        related_name="posts",
        through="bench_posts_tags",
        forward_key="tag_id",
        backward_key="post_id",
    )

    class Meta:
        table = "bench_posts"


class User(Model):
    """The framework's user table, column for column (PostgreSQL runs share it)."""

    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=255, unique=True)
    password_hash = fields.CharField(max_length=255)
    first_name = fields.CharField(max_length=150, default="")
    last_name = fields.CharField(max_length=150, default="")
    is_active = fields.BooleanField(default=True)
    is_staff = fields.BooleanField(default=False)
    is_superuser = fields.BooleanField(default=False)
    date_joined = fields.DatetimeField(auto_now_add=True)
    last_login = fields.DatetimeField(null=True)
    password_changed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "users"


class RevokedToken(Model):
    """A revoked token's `jti` until it would have expired anyway (logout, refresh rotation)."""

    id = fields.IntField(primary_key=True)
    jti = fields.CharField(max_length=64, unique=True)
    expires_at = fields.DatetimeField(db_index=True)
    revoked_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "auth_revoked_tokens"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with RegisterTortoise(
        app, db_url=DATABASE_URL, modules={"models": [__name__]}, generate_schemas=True
    ):
        yield


app = FastAPI(title="bench-naive", lifespan=lifespan)

# Security -------------------------------------------------------------------------------------

bearer = HTTPBearer(auto_error=False)
CLAIMS = jwt.JWTClaimsRegistry(
    leeway=0,
    sub={"essential": True},
    type={"essential": True, "value": "access"},
    iat={"essential": True},
    exp={"essential": True},
    jti={"essential": True},
)


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


async def current_user(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    """The active user of a valid, unrevoked access token; 401 otherwise."""
    if credentials is None:
        raise unauthorized("Authentication credentials were not provided.")
    try:
        token = jwt.decode(credentials.credentials, SECRET_KEY, algorithms=["HS256"])
        CLAIMS.validate(token.claims)
        user_id = int(token.claims["sub"])
        jti = str(token.claims["jti"])
    except (JoseError, ValueError, TypeError):
        raise unauthorized("Invalid or expired token.") from None
    if await RevokedToken.exists(jti=jti):
        raise unauthorized("Invalid or expired token.")
    user = await User.get_or_none(id=user_id, is_active=True)
    if user is None:
        raise unauthorized("Invalid or expired token.")
    changed = user.password_changed_at
    if changed is not None and token.claims["iat"] < int(changed.timestamp()):
        raise unauthorized("Invalid or expired token.")
    return user


CurrentUser = Annotated[User, Depends(current_user)]

# Posts ----------------------------------------------------------------------------------------


def posts() -> QuerySet[Post]:
    if FILTERED:
        return Post.filter(is_published=True).order_by("-created_at")
    return Post.all().order_by("id")


async def page_of_posts(request: Request, page: int, page_size: int) -> dict[str, Any]:
    offset = (page - 1) * page_size
    query = posts()
    count = await query.count()
    if page > 1 and offset >= count:
        raise HTTPException(status_code=404, detail="Invalid page.")
    rows = await query.offset(offset).limit(page_size)
    next_url = None
    if offset + page_size < count:
        next_url = str(request.url.include_query_params(page=page + 1))
    previous_url = None
    if page > 1:
        previous = request.url.include_query_params(page=page - 1)
        previous_url = str(previous.remove_query_params("page") if page == 2 else previous)
    return {"count": count, "next": next_url, "previous": previous_url, "results": rows}


async def one_post(post_id: int) -> Post:
    post = await posts().get_or_none(id=post_id)
    if post is None:
        raise HTTPException(status_code=404, detail="Not found.")
    return post


@app.get("/posts/", response_model=PostPage)
async def list_posts(
    request: Request,
    page: int = Query(1, ge=1),
    page_size: int = Query(20, ge=1, le=100),
) -> dict[str, Any]:
    return await page_of_posts(request, page, page_size)


@app.get("/posts/{post_id}/", response_model=PostOutput)
async def get_post(post_id: int) -> Post:
    return await one_post(post_id)


@app.post("/posts/", response_model=PostOutput, status_code=201)
async def create_post(body: PostInput) -> Post:
    return await Post.create(**body.model_dump())


@app.get("/auth-posts/", response_model=PostPage)
async def list_posts_authenticated(
    request: Request,
    user: CurrentUser,
    page: int = Query(1, ge=1),
    page_size: int = Query(20, ge=1, le=100),
) -> dict[str, Any]:
    return await page_of_posts(request, page, page_size)


@app.get("/auth-posts/{post_id}/", response_model=PostOutput)
async def get_post_authenticated(post_id: int, user: CurrentUser) -> Post:
    return await one_post(post_id)


@app.post("/auth-posts/", response_model=PostOutput, status_code=201)
async def create_post_authenticated(body: PostInput, user: CurrentUser) -> Post:
    return await Post.create(**body.model_dump())


@app.get("/nested-posts/", response_model=NestedPostPage)
async def list_nested_posts(
    request: Request,
    page: int = Query(1, ge=1),
    page_size: int = Query(20, ge=1, le=100),
) -> dict[str, Any]:
    query = NestedPost.all()
    if FILTERED:
        query = query.filter(is_published=True).order_by("-created_at")
    else:
        query = query.order_by("id")
    offset = (page - 1) * page_size
    count = await query.count()
    if page > 1 and offset >= count:
        raise HTTPException(status_code=404, detail="Invalid page.")
    rows = (
        await query.offset(offset)
        .limit(page_size)
        .select_related("author")
        .prefetch_related("tags")
    )
    next_url = None
    if offset + page_size < count:
        next_url = str(request.url.include_query_params(page=page + 1))
    previous_url = None
    if page > 1:
        previous = request.url.include_query_params(page=page - 1)
        previous_url = str(previous.remove_query_params("page") if page == 2 else previous)
    return {"count": count, "next": next_url, "previous": previous_url, "results": rows}


# Health ---------------------------------------------------------------------------------------


@app.get("/health/")
async def health() -> dict[str, str]:
    return {"status": "healthy"}


@app.get("/health-plain/")
async def health_plain() -> dict[str, str]:
    return {"status": "healthy"}
