"""OAuth 2.0 / OpenID Connect providers: configuration, presets, the registry, user profiles.

A provider is configured in code (`register_oauth_provider(OAuthProvider(...))`) or from
environment variables, read from the process environment and the settings' `.env` file
(the environment wins), names case-insensitive:

```
OAUTH_GOOGLE_CLIENT_ID=...              # a provider exists once its CLIENT_ID is set
OAUTH_GOOGLE_CLIENT_SECRET=...
OAUTH_GOOGLE_SERVER_METADATA_URL=...    # OpenID discovery; or explicit endpoints:
OAUTH_ACME_AUTHORIZE_URL=... OAUTH_ACME_TOKEN_URL=... OAUTH_ACME_USERINFO_URL=...
OAUTH_ACME_SCOPE="openid email profile" OAUTH_ACME_REDIRECT_URI=https://api.example.com/...
```
`google` and `github` are presets: their client id and secret are all they need.
"""

from __future__ import annotations

import os
import re
import ssl
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import httpx

with warnings.catch_warnings():
    # Authlib prefers the `httpx2` package and warns when it falls back to `httpx`, which is
    # the HTTP client this framework depends on (and the one Authlib then uses).
    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    from authlib.integrations.starlette_client import OAuth

from core.config import Settings, get_settings
from core.exceptions import ImproperlyConfigured

GOOGLE_METADATA_URL = "https://accounts.google.com/.well-known/openid-configuration"
GOOGLE_USERINFO_URL = "https://openidconnect.googleapis.com/v1/userinfo"
GOOGLE_TOKENINFO_URL = "https://oauth2.googleapis.com/tokeninfo"
GITHUB_AUTHORIZE_URL = "https://github.com/login/oauth/authorize"
GITHUB_TOKEN_URL = "https://github.com/login/oauth/access_token"  # noqa: S105 - a URL
GITHUB_USERINFO_URL = "https://api.github.com/user"
GITHUB_EMAILS_URL = "https://api.github.com/user/emails"

#: Provider names: they appear in URLs (`/auth/oauth/<name>/login/`) and in the identity table.
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
#: The OAUTH_<NAME>_<KEY> variables, and the provider option each one sets.
_ENV_KEYS = {
    "CLIENT_ID": "client_id",
    "CLIENT_SECRET": "client_secret",
    "SERVER_METADATA_URL": "server_metadata_url",
    "AUTHORIZE_URL": "authorize_url",
    "ACCESS_TOKEN_URL": "token_url",
    "TOKEN_URL": "token_url",
    "USERINFO_URL": "userinfo_url",
    "SCOPE": "scope",
    "REDIRECT_URI": "redirect_uri",
    "TIMEOUT": "timeout",
}
_ENV_VARIABLE = re.compile(
    r"^OAUTH_(?P<name>[A-Z0-9][A-Z0-9_-]*?)_(?P<key>" + "|".join(_ENV_KEYS) + r")$"
)


#: The longest subject an OAuthIdentity stores (OpenID Connect caps `sub` at 255 characters).
MAX_SUBJECT_LENGTH = 255


@cache
def tls_context() -> ssl.SSLContext:
    """One TLS context for every call to a provider: building one per HTTP client (as httpx
    does by default) costs ~50 ms of CPU on the event loop, several times per login."""
    return httpx.create_ssl_context()


def _is_true(value: Any) -> bool:
    """OpenID's `email_verified` is a boolean; some providers send the string "true"."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


@dataclass(frozen=True)
class OAuthProfile:
    """Who the provider says the user is, in the provider-neutral shape the login uses.

    `subject` is the provider's stable id for the user; `email_verified` is True only when the
    provider vouches for the address.
    """

    subject: str
    email: str | None = None
    email_verified: bool = False
    first_name: str = ""
    last_name: str = ""
    name: str = ""
    picture: str | None = None
    claims: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> OAuthProfile:
        """A profile from OpenID Connect claims (an ID token's, or a userinfo response)."""
        subject = claims.get("sub")
        if isinstance(subject, int) and not isinstance(subject, bool):
            subject = str(subject)
        if not isinstance(subject, str) or not subject.strip():
            raise ValueError("the provider's answer has no subject (`sub`)")
        if len(subject.strip()) > MAX_SUBJECT_LENGTH:
            raise ValueError("the provider's subject (`sub`) is too long to store")
        email = _text(claims.get("email")) or None
        return cls(
            subject=subject.strip(),
            email=email,
            email_verified=email is not None and _is_true(claims.get("email_verified")),
            first_name=_text(claims.get("given_name")),
            last_name=_text(claims.get("family_name")),
            name=_text(claims.get("name")),
            picture=_text(claims.get("picture")) or None,
            claims=dict(claims),
        )


@dataclass
class OAuthProvider:
    """An OAuth 2.0 / OpenID Connect provider the users can log in with.

    Either `server_metadata_url` (OpenID discovery) or explicit `authorize_url` and `token_url`
    (plus `userinfo_url` unless the scope asks for an ID token with `openid`). Every call to
    the provider times out after `timeout` seconds (`Settings.oauth_timeout_seconds` if None).
    The login always uses the authorization code flow with PKCE (S256) and a `state`.
    """

    name: str
    client_id: str
    client_secret: str | None = None
    server_metadata_url: str | None = None
    authorize_url: str | None = None
    token_url: str | None = None
    userinfo_url: str | None = None
    scope: str = "openid email profile"
    redirect_uri: str | None = None
    timeout: float | None = None
    title: str = ""
    authorize_params: dict[str, str] = field(default_factory=dict)

    _client: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.name = self.name.strip().lower()
        if not _NAME.match(self.name):
            raise ImproperlyConfigured(
                f"OAuth provider name {self.name!r}: use 1-50 lower-case letters, digits, '_' or '-'"
            )
        if not self.client_id:
            raise ImproperlyConfigured(f"OAuth provider {self.name!r} needs a client id")
        if not self.server_metadata_url and not (self.authorize_url and self.token_url):
            raise ImproperlyConfigured(
                f"OAuth provider {self.name!r} needs SERVER_METADATA_URL, or AUTHORIZE_URL "
                "and TOKEN_URL"
            )
        if not self.server_metadata_url and not self.is_openid and not self.userinfo_url:
            raise ImproperlyConfigured(
                f"OAuth provider {self.name!r} needs USERINFO_URL (or `openid` in its scope)"
            )
        if self.timeout is not None and self.timeout <= 0:
            raise ImproperlyConfigured(f"OAuth provider {self.name!r}: timeout must be positive")
        if not self.title:
            self.title = self.name.replace("_", " ").replace("-", " ").title()

    @property
    def is_openid(self) -> bool:
        return "openid" in self.scope.split()

    def effective_timeout(self, settings: Settings | None = None) -> float:
        if self.timeout is not None:
            return self.timeout
        return (settings or get_settings()).oauth_timeout_seconds

    def client(self, settings: Settings | None = None) -> Any:
        """Authlib's Starlette client for this provider (built once; it caches the metadata).

        Every HTTP call it makes (discovery, token, JWKS, userinfo) has the provider's timeout.
        """
        if self._client is None:
            registry = OAuth()
            options: dict[str, Any] = {
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "client_kwargs": {
                    "scope": self.scope,
                    "code_challenge_method": "S256",
                    "timeout": self.effective_timeout(settings),
                    "verify": tls_context(),
                },
            }
            if self.server_metadata_url:
                options["server_metadata_url"] = self.server_metadata_url
            if self.authorize_url:
                options["authorize_url"] = self.authorize_url
            if self.token_url:
                options["access_token_url"] = self.token_url
            self._client = registry.register(self.name, **options)
        return self._client

    async def userinfo_endpoint(self, client: Any) -> str:
        if self.userinfo_url:
            return self.userinfo_url
        metadata = await client.load_server_metadata()
        url = metadata.get("userinfo_endpoint")
        if not isinstance(url, str) or not url:
            raise ValueError(f"{self.title} publishes no userinfo endpoint")
        return url

    async def fetch_userinfo(self, client: Any, token: Mapping[str, Any]) -> dict[str, Any]:
        """GET the userinfo endpoint with the access token (a JSON object, or ValueError)."""
        response = await client.get(await self.userinfo_endpoint(client), token=dict(token))
        response.raise_for_status()
        data = response.json()
        if not isinstance(data, dict):
            raise ValueError(f"{self.title}'s userinfo answer is not a JSON object")
        return data

    async def fetch_profile(self, client: Any, token: Mapping[str, Any]) -> OAuthProfile:
        """The user behind a token response: the validated ID token's claims, completed by the
        userinfo endpoint when they lack the email (or when there is no ID token)."""
        id_claims = token.get("userinfo")
        if isinstance(id_claims, Mapping) and id_claims.get("email"):
            return OAuthProfile.from_claims(id_claims)
        data = await self.fetch_userinfo(client, token)
        if isinstance(id_claims, Mapping) and id_claims.get("sub") is not None:
            # OpenID Connect Core 5.3.2: userinfo must describe the ID token's subject.
            if str(data.get("sub")) != str(id_claims["sub"]):
                raise ValueError(
                    f"{self.title}'s userinfo describes another user than its ID token"
                )
            data = {**id_claims, **data}
        return self.profile_from_userinfo(data)

    def profile_from_userinfo(self, data: Mapping[str, Any]) -> OAuthProfile:
        """Map a userinfo answer to a profile (OpenID Connect claims; presets override)."""
        return OAuthProfile.from_claims(data)


@dataclass
class GitHubProvider(OAuthProvider):
    """GitHub: plain OAuth 2.0; the profile comes from `/user` and the verified primary
    address from `/user/emails` (the `/user` email is optional and carries no verification)."""

    emails_url: str | None = GITHUB_EMAILS_URL

    async def fetch_profile(self, client: Any, token: Mapping[str, Any]) -> OAuthProfile:
        data = await self.fetch_userinfo(client, token)
        emails: list[Any] = []
        if self.emails_url:
            response = await client.get(self.emails_url, token=dict(token))
            response.raise_for_status()
            answer = response.json()
            emails = answer if isinstance(answer, list) else []
        return self.profile_from_github(data, emails)

    def profile_from_github(self, user: Mapping[str, Any], emails: list[Any]) -> OAuthProfile:
        subject = user.get("id")
        if isinstance(subject, bool) or not isinstance(subject, int | str) or not str(subject):
            raise ValueError("GitHub's user answer has no id")
        if len(str(subject)) > MAX_SUBJECT_LENGTH:
            raise ValueError("GitHub's user id is too long to store")
        entries = [entry for entry in emails if isinstance(entry, Mapping)]
        chosen = next(
            (e for e in entries if e.get("primary") and e.get("verified") is True), None
        ) or next((e for e in entries if e.get("verified") is True), None)
        email, verified = None, False
        if chosen is not None and _text(chosen.get("email")):
            email, verified = _text(chosen.get("email")), True
        elif _text(user.get("email")):
            email = _text(user.get("email"))
        name = _text(user.get("name"))
        first, _, last = name.partition(" ")
        return OAuthProfile(
            subject=str(subject),
            email=email,
            email_verified=verified,
            first_name=first,
            last_name=last.strip(),
            name=name or _text(user.get("login")),
            picture=_text(user.get("avatar_url")) or None,
            claims=dict(user),
        )


#: Presets by provider name: the class and the options the environment need not repeat.
PRESETS: dict[str, tuple[type[OAuthProvider], dict[str, Any]]] = {
    "google": (
        OAuthProvider,
        {
            "title": "Google",
            "server_metadata_url": GOOGLE_METADATA_URL,
            "scope": "openid email profile",
        },
    ),
    "github": (
        GitHubProvider,
        {
            "title": "GitHub",
            "authorize_url": GITHUB_AUTHORIZE_URL,
            "token_url": GITHUB_TOKEN_URL,
            "userinfo_url": GITHUB_USERINFO_URL,
            "scope": "read:user user:email",
        },
    ),
}


def oauth_provider(name: str, **options: Any) -> OAuthProvider:
    """A provider, from its preset when `name` has one (`oauth_provider("google", client_id=...)`)."""
    cls, defaults = PRESETS.get(name.strip().lower(), (OAuthProvider, {}))
    return cls(name=name, **{**defaults, **options})


# Registry -----------------------------------------------------------------------------------

_providers: dict[str, OAuthProvider] = {}
_environment_read = False


def _env_files(settings: Settings) -> list[Path]:
    configured = type(settings).model_config.get("env_file")
    if configured is None:
        return []
    if isinstance(configured, str | os.PathLike):
        return [Path(configured)]
    return [Path(item) for item in configured]


def oauth_environment(settings: Settings | None = None) -> dict[str, str]:
    """The OAUTH_* variables: the settings' `.env` file(s), then the process environment."""
    from dotenv import dotenv_values

    settings = settings or get_settings()
    found: dict[str, str] = {}
    for path in _env_files(settings):
        if path.is_file():
            for key, value in dotenv_values(path).items():
                if value is not None and key.upper().startswith("OAUTH_"):
                    found[key.upper()] = value
    for key, value in os.environ.items():
        if key.upper().startswith("OAUTH_"):
            found[key.upper()] = value
    return found


def providers_from_environment(
    environ: Mapping[str, str] | None = None, settings: Settings | None = None
) -> list[OAuthProvider]:
    """The providers OAUTH_<NAME>_* variables configure (one per name with a CLIENT_ID)."""
    variables = oauth_environment(settings) if environ is None else environ
    options: dict[str, dict[str, Any]] = {}
    for key, value in variables.items():
        match = _ENV_VARIABLE.match(key.upper())
        if match is None or not value.strip():
            continue
        option = _ENV_KEYS[match["key"]]
        parsed: Any = value.strip()
        if option == "timeout":
            try:
                parsed = float(parsed)
            except ValueError:
                raise ImproperlyConfigured(f"{key}={value!r} is not a number of seconds") from None
        options.setdefault(match["name"].lower(), {})[option] = parsed
    providers = []
    for name, values in sorted(options.items()):
        if "client_id" not in values:
            raise ImproperlyConfigured(
                f"OAuth provider {name!r} is configured without OAUTH_{name.upper()}_CLIENT_ID"
            )
        providers.append(oauth_provider(name, **values))
    return providers


def _read_environment() -> None:
    global _environment_read
    if not _environment_read:
        _environment_read = True
        for provider in providers_from_environment():
            _providers.setdefault(provider.name, provider)


def register_oauth_provider(provider: OAuthProvider) -> OAuthProvider:
    """Make `provider` available at `/auth/oauth/<name>/...` (replacing one of that name)."""
    _read_environment()
    _providers[provider.name] = provider
    return provider


def unregister_oauth_provider(name: str) -> None:
    _read_environment()
    _providers.pop(name.strip().lower(), None)


def get_oauth_provider(name: str) -> OAuthProvider | None:
    """The provider called `name`, or None (providers from the environment included)."""
    _read_environment()
    return _providers.get(name.strip().lower())


def get_oauth_providers() -> list[OAuthProvider]:
    _read_environment()
    return list(_providers.values())


def reset_oauth_providers(read_environment: bool = True) -> None:
    """Forget every provider; the environment is read again on next use (unless told not to)."""
    global _environment_read
    _providers.clear()
    _environment_read = not read_environment


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
    "OAuthProfile",
    "OAuthProvider",
    "get_oauth_provider",
    "get_oauth_providers",
    "oauth_environment",
    "oauth_provider",
    "providers_from_environment",
    "register_oauth_provider",
    "reset_oauth_providers",
    "unregister_oauth_provider",
]
