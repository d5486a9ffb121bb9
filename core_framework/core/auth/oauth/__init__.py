"""OAuth 2.0 / OpenID Connect login ("Log in with Google") on Authlib's Starlette client.

```python
from core.auth.oauth import OAuthViewSet

oauth_router = AutoRouter(prefix="/auth/oauth", tags=["Authentication"])
oauth_router.register("", OAuthViewSet, basename="oauth")
```
Providers come from `OAUTH_<NAME>_CLIENT_ID`, `OAUTH_<NAME>_CLIENT_SECRET` and either
`OAUTH_<NAME>_SERVER_METADATA_URL` or `OAUTH_<NAME>_AUTHORIZE_URL` / `_TOKEN_URL` /
`_USERINFO_URL` (environment or `.env`; `google` and `github` are presets), or from
`register_oauth_provider(...)` in code. The browser goes to `/auth/oauth/<name>/login/`; the
provider sends it back to `/auth/oauth/<name>/callback/`, which answers with access and
refresh tokens. Identities live in `OAuthIdentity`; see `OAuthBackend` for the linking rules
(`OAUTH_LINK_EXISTING_ACCOUNTS`, `OAUTH_REQUIRE_VERIFIED_EMAIL`) and `OAUTH_TIMEOUT_SECONDS`
for the timeout of every call to a provider.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.auth.models import OAuthIdentity
from core.auth.oauth.backends import GoogleOAuthBackend, OAuthBackend, looks_like_jwt
from core.auth.oauth.errors import OAuthLoginError
from core.auth.oauth.providers import (
    GITHUB_AUTHORIZE_URL,
    GITHUB_EMAILS_URL,
    GITHUB_TOKEN_URL,
    GITHUB_USERINFO_URL,
    GOOGLE_METADATA_URL,
    GOOGLE_TOKENINFO_URL,
    GOOGLE_USERINFO_URL,
    PRESETS,
    GitHubProvider,
    OAuthProfile,
    OAuthProvider,
    get_oauth_provider,
    get_oauth_providers,
    oauth_environment,
    oauth_provider,
    providers_from_environment,
    register_oauth_provider,
    reset_oauth_providers,
    unregister_oauth_provider,
)

if TYPE_CHECKING:
    from core.views.oauth import OAuthTokens, OAuthViewSet

__all__ = [
    "GITHUB_AUTHORIZE_URL",
    "GITHUB_EMAILS_URL",
    "GITHUB_TOKEN_URL",
    "GITHUB_USERINFO_URL",
    "GOOGLE_METADATA_URL",
    "GOOGLE_TOKENINFO_URL",
    "GOOGLE_USERINFO_URL",
    "PRESETS",
    "GitHubProvider",
    "GoogleOAuthBackend",
    "OAuthBackend",
    "OAuthIdentity",
    "OAuthLoginError",
    "OAuthProfile",
    "OAuthProvider",
    "OAuthTokens",
    "OAuthViewSet",
    "get_oauth_provider",
    "get_oauth_providers",
    "looks_like_jwt",
    "oauth_environment",
    "oauth_provider",
    "providers_from_environment",
    "register_oauth_provider",
    "reset_oauth_providers",
    "unregister_oauth_provider",
]

#: Names that live in the views layer (`core.views.oauth`), re-exported lazily so that
#: `import core.auth.oauth` loads no views: auth sits below views.
_VIEW_NAMES = frozenset({"OAuthTokens", "OAuthViewSet"})


def __getattr__(name: str) -> Any:
    if name in _VIEW_NAMES:
        from core.views import oauth

        return getattr(oauth, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
