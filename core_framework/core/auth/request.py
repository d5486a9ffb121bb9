"""Who is making this request: Bearer token first, then the other registered backends."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request
from tortoise.backends.base.client import BaseDBAsyncClient

from core.adapters.starlette import state_has
from core.auth.backends import ModelBackend, get_auth_backends
from core.auth.revocation import user_for_token
from core.auth.tokens import ACCESS, MAX_TOKEN_LENGTH, verify_token

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


class AuthenticationFailed(HTTPException):
    """401 with a `WWW-Authenticate: Bearer` challenge."""

    def __init__(self, detail: str = "Authentication credentials were not provided.") -> None:
        super().__init__(status_code=401, detail=detail, headers=_CHALLENGE)


def bearer_token(header: str) -> str:
    """The token of an `Authorization: Bearer <token>` header; malformed headers are 401."""
    if len(header) > MAX_TOKEN_LENGTH + 16 or not header.isascii():
        raise AuthenticationFailed("Invalid authorization header.")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise AuthenticationFailed("Invalid authorization header: expected 'Bearer <token>'.")
    return token


async def authenticate_request(request: Request, db: BaseDBAsyncClient) -> Any:
    """Resolve the request's user, store it in `request.state.user` (None when anonymous).

    A Bearer token that is invalid, expired, revoked, or whose user is gone is a 401, even
    on endpoints open to anonymous users: a client that sends credentials wants to know.
    A Bearer token costs at most one SQL statement; groups and permissions are not loaded
    here but by the checks that need them (`HasPermission`, `await user.ahas_perm(...)`).
    """
    user = None
    header = request.headers.get("authorization")
    if header is not None:
        payload = verify_token(bearer_token(header), token_type=ACCESS)
        user = await user_for_token(payload, db) if payload is not None else None
        if user is None:
            raise AuthenticationFailed("Invalid or expired token.")
    else:
        for backend in get_auth_backends():
            if isinstance(backend, ModelBackend):
                continue
            user = await backend.authenticate(request, db)
            if user is not None:
                break
    request.state.user = user
    request.state.auth_db = db
    return user


async def login_required(request: Request, db: BaseDBAsyncClient) -> Any:
    """The authenticated user of this request, or a 401."""
    if not state_has(request.state, "user"):
        await authenticate_request(request, db)
    user = request.state.user
    if user is None:
        raise AuthenticationFailed()
    return user
