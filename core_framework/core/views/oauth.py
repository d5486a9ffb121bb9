"""`OAuthViewSet`: the browser login through a provider, mounted by an `AutoRouter`.

```python
oauth_router = AutoRouter(prefix="/auth/oauth", tags=["Authentication"])
oauth_router.register("", OAuthViewSet, basename="oauth")
```
gives `GET /auth/oauth/{provider}/login/` (a redirect to the provider, with `state`, PKCE and,
for OpenID providers, a `nonce`, kept in the signed session cookie) and
`GET /auth/oauth/{provider}/callback/` (checks the state, exchanges the code, reads the ID
token or userinfo, finds or creates the user and answers with the framework's token pair).
It lives in the views layer; `from core.auth.oauth import OAuthViewSet`, the documented import,
is a lazy alias to it, so the auth layer never imports views.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import Request
from pydantic import BaseModel
from tortoise.backends.base.client import BaseDBAsyncClient

from core.auth.backends import get_auth_backend
from core.auth.models import OAuthIdentity
from core.auth.oauth.backends import OAuthBackend
from core.auth.oauth.errors import OAuthLoginError, provider_calls, provider_error, state_mismatch
from core.auth.oauth.providers import OAuthProvider, get_oauth_provider
from core.auth.revocation import token_pair
from core.config import Settings, get_settings
from core.exceptions import ImproperlyConfigured
from core.permissions import AllowAny
from core.views import ViewSet, action
from core.views.errors import NotFound

_MAX_STATE_LENGTH = 256


class OAuthTokens(BaseModel):
    """The framework's tokens for the user the provider logged in."""

    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 - the token scheme
    expires_in: int


class OAuthViewSet(ViewSet):
    """Log in with any registered OAuth/OpenID provider (see `core.auth.oauth`).

    The user is resolved by the backend registered as `backend_name` (an `OAuthBackend`;
    the built-in one if none is registered), which applies the account-linking rules.
    """

    model = OAuthIdentity
    lookup_field = "provider"
    permission_classes = [AllowAny]
    tags = ["Authentication"]
    backend_name = "oauth"
    uses_session = True  # the flow's state, PKCE verifier and nonce

    @action(methods=["GET"], detail=True, status_code=302)
    async def login(self, request: Request, db: BaseDBAsyncClient, **kwargs: Any) -> Any:
        """Redirect to the provider's login page (302), with `state` and PKCE."""
        provider = self.get_provider(kwargs.get("provider"))
        settings = self.get_settings(request)
        client = provider.client(settings)
        session = self.session(request)
        with provider_calls(provider, provider.effective_timeout(settings)):
            response = await client.authorize_redirect(
                request, self.redirect_uri(request, provider), **provider.authorize_params
            )
        # The session only holds this flow's state: drop other providers' stale entries.
        for key in [k for k in session if k.startswith("_state_") and _expired(session[k])]:
            session.pop(key, None)
        return response

    # 400 a bad or replayed callback, 403 consent refused or account disabled, 409 an account
    # that may not be linked; the provider unreachable is a 503 (documented on every route).
    @action(methods=["GET"], detail=True, output_schema=OAuthTokens, errors=[400, 403, 409])
    async def callback(self, request: Request, db: BaseDBAsyncClient, **kwargs: Any) -> Any:
        """Where the provider sends the user back: exchange the code, answer with tokens."""
        provider = self.get_provider(kwargs.get("provider"))
        settings = self.get_settings(request)
        client = provider.client(settings)
        session = self.session(request)
        params = request.query_params
        state = params.get("state") or ""
        timeout = provider.effective_timeout(settings)
        with provider_calls(provider, timeout):
            state_data = None
            if 0 < len(state) <= _MAX_STATE_LENGTH:
                state_data = await client.framework.get_state_data(session, state)
            if not state_data or _expired(session.get(f"_state_{provider.name}_{state}")):
                raise state_mismatch()
            error = params.get("error")
            if error is not None or not params.get("code"):
                await client.framework.clear_state_data(session, state)
                if error is None:
                    raise OAuthLoginError(400, f"{provider.title} sent no authorization code.")
                raise provider_error(provider, error, params.get("error_description"))
            token = await client.authorize_access_token(request)
            profile = await provider.fetch_profile(client, token)
        user = await self.get_backend().user_for_profile(db, provider, profile, settings)
        return token_pair(user)

    # Hooks ------------------------------------------------------------------------------

    def get_provider(self, name: Any) -> OAuthProvider:
        provider = get_oauth_provider(name) if isinstance(name, str) else None
        if provider is None:
            raise NotFound(f"No OAuth provider is called {name!r}.")
        return provider

    def get_backend(self) -> OAuthBackend:
        try:
            backend = get_auth_backend(self.backend_name)
        except ImproperlyConfigured:
            return OAuthBackend()
        if not isinstance(backend, OAuthBackend):
            raise ImproperlyConfigured(
                f"the auth backend {self.backend_name!r} must be an OAuthBackend"
            )
        return backend

    def get_settings(self, request: Request) -> Settings:
        """The settings in force: the app's own (`CoreApp(settings=...)`), else the process's."""
        return get_settings()

    def redirect_uri(self, request: Request, provider: OAuthProvider) -> str:
        """The provider's `redirect_uri` if configured, else this request's `.../callback/`."""
        if provider.redirect_uri:
            return provider.redirect_uri
        url = request.url.replace(query="", fragment="")
        path = url.path
        login = "login/" if path.endswith("/login/") else "login"
        return str(url.replace(path=path.removesuffix(login) + "callback/"))

    @staticmethod
    def session(request: Request) -> Any:
        if "session" not in request.scope:
            raise ImproperlyConfigured(
                "OAuth login keeps its state in the session: add Starlette's SessionMiddleware "
                "(CoreApp does when it routes an OAuthViewSet)"
            )
        return request.session


def _expired(entry: Any) -> bool:
    """Whether Authlib's session entry `{"data": ..., "exp": ...}` has expired."""
    if not isinstance(entry, dict):
        return False
    expires = entry.get("exp")
    return isinstance(expires, int | float) and expires < time.time()
