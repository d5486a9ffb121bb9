"""The guide's "Using Multiple Auth Backends in ViewSet" and Google backend registration.

As written in the guide, imports aside: `GoogleOAuthBackend` comes from `core.auth.oauth`
(the guide's `src/auth/oauth.py`, with timeouts and safe account linking), `AsyncSession`
from `core`, and `settings` is the guide's `AppSettings` with its `google_client_id`. The
test points the backend's Google URLs at the test provider.
"""

from __future__ import annotations

from fastapi import HTTPException, Request

from core import AsyncSession, ModelViewSet, action
from core.auth import get_auth_backend, register_auth_backend
from core.auth.oauth import GoogleOAuthBackend
from core.config import Settings
from tests.oauth.provider import CLIENT_ID, CLIENT_SECRET


class AppSettings(Settings):
    google_client_id: str = CLIENT_ID
    google_client_secret: str = CLIENT_SECRET


settings = AppSettings()


def register_google_backend(provider_url: str, timeout: float = 1.0) -> GoogleOAuthBackend:
    # Register (the guide's call, plus where "Google" is and a short timeout for the tests)
    return register_auth_backend(  # type: ignore[return-value]
        GoogleOAuthBackend(
            client_id=settings.google_client_id,
            client_secret=settings.google_client_secret,
            server_metadata_url=f"{provider_url}/.well-known/openid-configuration",
            userinfo_url=f"{provider_url}/userinfo",
            tokeninfo_url=f"{provider_url}/tokeninfo",
            timeout=timeout,
        )
    )


class MultiAuthViewSet(ModelViewSet):
    """ViewSet supporting multiple authentication methods."""

    @action(methods=["POST"], detail=False)
    async def login_password(self, request: Request, db: AsyncSession, **kwargs):
        """Login with email/password."""
        body = await request.json()

        backend = get_auth_backend("default")
        user = await backend.authenticate(
            request,
            db,
            email=body["email"],
            password=body["password"],
        )

        if not user:
            raise HTTPException(status_code=401, detail="Invalid credentials")

        return self._generate_tokens(user)

    @action(methods=["POST"], detail=False)
    async def login_google(self, request: Request, db: AsyncSession, **kwargs):
        """Login with Google OAuth."""
        body = await request.json()

        backend = get_auth_backend("google_oauth")
        user = await backend.authenticate(
            request,
            db,
            google_token=body["google_token"],
        )

        if not user:
            raise HTTPException(status_code=401, detail="Invalid Google token")

        return self._generate_tokens(user)

    @action(methods=["POST"], detail=False)
    async def login_api_key(self, request: Request, db: AsyncSession, **kwargs):
        """Login with API key."""
        backend = get_auth_backend("api_key")
        user = await backend.authenticate(request, db)

        if not user:
            raise HTTPException(status_code=401, detail="Invalid API key")

        return self._generate_tokens(user)

    def _generate_tokens(self, user):
        from core.auth import create_access_token, create_refresh_token
        from tests.oauth.guide_multi_auth import settings

        return {
            "access_token": create_access_token({"sub": str(user.id)}),
            "refresh_token": create_refresh_token({"sub": str(user.id)}),
            "token_type": "bearer",
            "expires_in": settings.auth_access_token_expire_minutes * 60,
        }
