"""`OAuthBackend`: from a provider's word about a user to a local user, linking accounts safely.

The rules, in order:

1. The provider identity `(provider, subject)` is already linked: that user (if active).
2. No identity, but a local account has the provider's email: it is linked only when
   `Settings.oauth_link_existing_accounts` is on *and* the provider marks the email verified;
   otherwise a 409 says why. (Linking on an unverified email would hand the account to whoever
   typed that address at the provider.)
3. Otherwise a new user with an unusable password (and, with
   `Settings.oauth_require_verified_email`, only for a verified email: an account created on
   someone else's address would block or trap its real owner).

All of it runs in one transaction: a failure creates nothing.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionContext
from tortoise.exceptions import IntegrityError

from core.adapters.tortoise import model_connection, transaction_context
from core.auth.backends import AuthBackend
from core.auth.models import AbstractUser, OAuthIdentity, get_user_model, normalize_email
from core.auth.oauth.errors import OAuthLoginError, provider_calls
from core.auth.oauth.providers import (
    GOOGLE_METADATA_URL,
    GOOGLE_TOKENINFO_URL,
    GOOGLE_USERINFO_URL,
    OAuthProfile,
    OAuthProvider,
    get_oauth_provider,
    tls_context,
)
from core.config import Settings, get_settings
from core.datetime import timezone
from core.exceptions import ImproperlyConfigured

logger = logging.getLogger("core.auth.oauth")

#: Longest token accepted as a credential (ID tokens of real providers are ~1-2 KB).
MAX_TOKEN_LENGTH = 16 * 1024
#: Clock skew tolerated when checking an ID token's `exp`/`iat`.
ID_TOKEN_LEEWAY_SECONDS = 60
#: Google's ID tokens name their issuer with or without the scheme.
GOOGLE_ISSUERS = ("https://accounts.google.com", "accounts.google.com")
#: User fields filled from the profile when the user model has them.
_PROFILE_FIELDS = {
    "first_name": "first_name",
    "last_name": "last_name",
    "name": "name",
    "avatar_url": "picture",
    "picture": "picture",
}


def _atomic(db: BaseDBAsyncClient | None) -> TransactionContext:
    """A transaction on `db` (a savepoint when `db` is already in one)."""
    client = db if db is not None else model_connection(OAuthIdentity, for_write=True)
    return transaction_context(client)


def looks_like_jwt(token: str) -> bool:
    """Three base64url segments whose header is a JSON object with an `alg`."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        return False
    try:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    except (ValueError, TypeError, RecursionError):  # RecursionError: "[[[[..." nested headers
        return False
    return isinstance(header, dict) and "alg" in header


class OAuthBackend(AuthBackend):
    """Logs in the user an OAuth provider vouches for (registered as `"oauth"` to customise).

    `authenticate(request, db, provider=..., profile=OAuthProfile(...))` after a completed
    authorization code flow, or `provider=..., id_token=...` for an ID token a client obtained
    itself (verified here with joserfc against the provider's keys, issuer and client id).
    Without those credentials it returns None, like every backend.
    """

    name = "oauth"

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings

    def get_settings(self, request: Any = None) -> Settings:
        """The settings given to the backend, else those in force (the running app's own)."""
        return self.settings if self.settings is not None else get_settings()

    async def authenticate(
        self,
        request: Any,
        db: BaseDBAsyncClient,
        *,
        provider: OAuthProvider | str | None = None,
        profile: OAuthProfile | None = None,
        id_token: str | None = None,
        **credentials: Any,
    ) -> Any:
        if provider is None or (profile is None and id_token is None):
            return None
        found = provider if isinstance(provider, OAuthProvider) else get_oauth_provider(provider)
        if found is None:
            return None
        settings = self.get_settings(request)
        if profile is None:
            profile = await self.verify_id_token(found, id_token, settings)
            if profile is None:
                return None
        return await self.user_for_profile(db, found, profile, settings)

    # ID tokens --------------------------------------------------------------------------

    async def verify_id_token(
        self,
        provider: OAuthProvider,
        id_token: Any,
        settings: Settings | None = None,
        issuers: tuple[str, ...] | None = None,
    ) -> OAuthProfile | None:
        """The profile in a valid ID token for this client, else None.

        Checked with joserfc: the signature against the provider's published keys (refetched
        once for an unknown key id), the algorithm against those the provider announces
        (never `none` or HMAC), `iss`, `aud` (our client id; `azp` too with several
        audiences), `sub`, `exp` and `iat`.
        """
        if not isinstance(id_token, str) or not 0 < len(id_token) <= MAX_TOKEN_LENGTH:
            return None
        if not looks_like_jwt(id_token):
            return None
        if not provider.server_metadata_url:
            raise ImproperlyConfigured(
                f"OAuth provider {provider.name!r} needs SERVER_METADATA_URL to verify ID tokens"
            )
        timeout = provider.effective_timeout(settings)
        client = provider.client(settings)
        with provider_calls(provider, timeout):
            metadata = await client.load_server_metadata()
            jwks = await client.fetch_jwk_set()
        announced = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = [a for a in announced if isinstance(a, str) and a != "none" and a[:2] != "HS"]
        expected_issuers = issuers or (metadata.get("issuer"),)
        if not algorithms or not all(isinstance(i, str) and i for i in expected_issuers):
            logger.warning("OAuth provider %s: no usable issuer or algorithms", provider.name)
            return None
        try:
            try:
                token = jwt.decode(id_token, KeySet.import_key_set(jwks), algorithms=algorithms)
            except InvalidKeyIdError:
                with provider_calls(provider, timeout):
                    jwks = await client.fetch_jwk_set(force=True)
                token = jwt.decode(id_token, KeySet.import_key_set(jwks), algorithms=algorithms)
            claims = token.claims
            jwt.JWTClaimsRegistry(
                leeway=ID_TOKEN_LEEWAY_SECONDS,
                iss={"essential": True, "values": list(expected_issuers)},
                sub={"essential": True},
                aud={"essential": True, "value": provider.client_id},
                exp={"essential": True},
                iat={"essential": True},
            ).validate(claims)
        except (JoseError, ValueError, TypeError, KeyError) as error:  # KeyError: JWKS sans "keys"
            logger.info("OAuth provider %s: ID token refused: %r", provider.name, error)
            return None
        audience = claims.get("aud")
        several = isinstance(audience, list) and len(audience) > 1
        if several and claims.get("azp") != provider.client_id:
            return None
        try:
            return OAuthProfile.from_claims(claims)
        except ValueError:
            return None

    # From a profile to a user ------------------------------------------------------------

    async def user_for_profile(
        self,
        db: BaseDBAsyncClient | None,
        provider: OAuthProvider,
        profile: OAuthProfile,
        settings: Settings | None = None,
    ) -> AbstractUser:
        """The local user for this provider identity, linked or created by the rules above.

        Raises OAuthLoginError (409 for an account that may not be linked, 403 for a disabled
        account or an unverified email, 400 without a usable email).
        """
        settings = settings or self.get_settings()
        for attempt in range(2):
            try:
                async with _atomic(db) as connection:
                    return await self._resolve(connection, provider, profile, settings)
            except IntegrityError:
                # Created concurrently (the same login twice at once): look again.
                if attempt:
                    raise OAuthLoginError(
                        409, "The account changed during the login; try again."
                    ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _resolve(
        self,
        db: BaseDBAsyncClient,
        provider: OAuthProvider,
        profile: OAuthProfile,
        settings: Settings,
    ) -> AbstractUser:
        user_model = get_user_model()
        now = timezone.now()
        identity = await OAuthIdentity.objects.using(db).get_or_none(
            provider=provider.name, subject=profile.subject
        )
        if identity is not None:
            user = await user_model.objects.using(db).get_or_none(pk=identity.user_id)
            if user is not None and not _outlived(identity, user):
                self.check_active(user)
                identity.last_login = now
                if profile.email:
                    identity.email = profile.email[:255]
                await identity.save(db, update_fields=["last_login", "email"])
                return await self._logged_in(user, db, now)
            # Its user was deleted (and the id possibly reused): the link is void.
            await identity.delete(db)

        email = self.usable_email(provider, profile, user_model)
        existing = await user_model.get_by_email(email, db)
        if existing is not None:
            # Committed after our first look by the same first login running concurrently?
            # (Each statement sees the latest commits: the account may have appeared with its
            # identity in between.)
            if (
                await OAuthIdentity.objects.using(db)
                .filter(provider=provider.name, subject=profile.subject, user_id=existing.pk)
                .exists()
            ):
                self.check_active(existing)
                return await self._logged_in(existing, db, now)
            self.check_may_link(provider, profile, email, settings)
            self.check_active(existing)
            await self.link(db, existing, provider, profile, now)
            return await self._logged_in(existing, db, now)

        if settings.oauth_require_verified_email and not profile.email_verified:
            raise OAuthLoginError(
                403,
                f"{provider.title} has not verified the email address {email}. "
                f"Verify it with {provider.title} and try again.",
            )
        user = await self.create_user(db, provider, profile, email)
        await self.link(db, user, provider, profile, now)
        return await self._logged_in(user, db, now)

    def usable_email(
        self, provider: OAuthProvider, profile: OAuthProfile, user_model: type[AbstractUser]
    ) -> str:
        email = normalize_email(profile.email or "")
        field = user_model._meta.fields_map.get("email")
        max_length = getattr(field, "max_length", None) or 255
        local, at, domain = email.partition("@")
        if (
            not (local and at and domain)
            or len(email) > max_length
            or any(c.isspace() for c in email)
        ):
            raise OAuthLoginError(
                400,
                f"{provider.title} did not share a usable email address. Allow access to your "
                "email address when logging in, and try again.",
            )
        return email

    def check_may_link(
        self, provider: OAuthProvider, profile: OAuthProfile, email: str, settings: Settings
    ) -> None:
        """409 unless an existing account with this email may be linked to the identity."""
        title = provider.title
        if not settings.oauth_link_existing_accounts:
            raise OAuthLoginError(
                409,
                f"An account with the email {email} already exists and is not linked to your "
                f"{title} login. Sign in the way you signed in before.",
            )
        if not profile.email_verified:
            raise OAuthLoginError(
                409,
                f"An account with the email {email} already exists, but {title} has not "
                f"verified that this address is yours, so the two cannot be linked. Verify it "
                f"with {title}, or sign in the way you signed in before.",
            )

    def check_active(self, user: AbstractUser) -> None:
        if not user.is_active:
            raise OAuthLoginError(403, "This account is disabled.")

    async def create_user(
        self, db: BaseDBAsyncClient, provider: OAuthProvider, profile: OAuthProfile, email: str
    ) -> AbstractUser:
        """A new user for the profile, with an unusable password (override to add fields)."""
        user_model = get_user_model()
        extra: dict[str, Any] = {}
        for field_name, attribute in _PROFILE_FIELDS.items():
            model_field = user_model._meta.fields_map.get(field_name)
            value = getattr(profile, attribute)
            if model_field is None or not isinstance(value, str) or not value:
                continue
            max_length = getattr(model_field, "max_length", None)
            if max_length and len(value) > max_length:
                if field_name in ("avatar_url", "picture"):
                    continue  # a cut URL is a broken URL
                value = value[:max_length]
            extra[field_name] = value
        return await user_model.create_user(email, None, db=db, **extra)

    async def link(
        self,
        db: BaseDBAsyncClient,
        user: AbstractUser,
        provider: OAuthProvider,
        profile: OAuthProfile,
        now: dt.datetime,
    ) -> OAuthIdentity:
        return await OAuthIdentity.create(
            provider=provider.name,
            subject=profile.subject,
            user_id=user.pk,
            email=(profile.email or "")[:255],
            last_login=now,
            using_db=db,
        )

    async def _logged_in(
        self, user: AbstractUser, db: BaseDBAsyncClient, now: dt.datetime
    ) -> AbstractUser:
        user.last_login = now
        await type(user).objects.using(db).filter(pk=user.pk).update(last_login=now)
        await user.load_permissions(db)
        return user


def _outlived(identity: OAuthIdentity, user: AbstractUser) -> bool:
    """Whether the user joined after the identity was linked: the id was reused (SQLite reuses
    the largest id after a delete), so the identity belonged to a deleted user."""
    joined = getattr(user, "date_joined", None)
    if joined is None or identity.created_at is None:
        return False
    return bool(joined > identity.created_at + dt.timedelta(seconds=1))


class GoogleOAuthBackend(OAuthBackend):
    """The guide's Google backend: `authenticate(request, db, google_token=...)`.

    `google_token` is an ID token (verified locally with joserfc: signature, issuer, audience
    = `client_id`, expiry) or an access token (checked at Google's tokeninfo endpoint to have
    been issued to `client_id`, then exchanged for the profile at the userinfo endpoint).
    Every call to Google has a timeout; accounts are found, linked or created by the rules of
    `OAuthBackend`, under the provider name `google` (shared with `/auth/oauth/google/`).
    """

    name = "google_oauth"

    def __init__(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        *,
        provider_name: str = "google",
        server_metadata_url: str = GOOGLE_METADATA_URL,
        userinfo_url: str = GOOGLE_USERINFO_URL,
        tokeninfo_url: str | None = GOOGLE_TOKENINFO_URL,
        timeout: float | None = None,
        settings: Settings | None = None,
    ) -> None:
        super().__init__(settings)
        if not client_id:
            raise ImproperlyConfigured(
                "GoogleOAuthBackend needs the client id of your Google OAuth client"
            )
        self.client_id = client_id
        self.client_secret = client_secret
        self.provider = OAuthProvider(
            name=provider_name,
            client_id=client_id,
            client_secret=client_secret,
            server_metadata_url=server_metadata_url,
            userinfo_url=userinfo_url,
            timeout=timeout,
            title="Google",
        )
        self.tokeninfo_url = tokeninfo_url
        self.issuers = GOOGLE_ISSUERS if server_metadata_url == GOOGLE_METADATA_URL else None

    async def authenticate(
        self,
        request: Any,
        db: BaseDBAsyncClient,
        *,
        google_token: str | None = None,
        **credentials: Any,
    ) -> Any:
        if not isinstance(google_token, str):
            return None
        token = google_token.strip()
        if not 0 < len(token) <= MAX_TOKEN_LENGTH or not token.isascii():
            return None
        settings = self.get_settings(request)
        if looks_like_jwt(token):
            profile = await self.verify_id_token(self.provider, token, settings, self.issuers)
        else:
            profile = await self.profile_for_access_token(token, settings)
        if profile is None:
            return None
        return await self.user_for_profile(db, self.provider, profile, settings)

    async def profile_for_access_token(
        self, token: str, settings: Settings | None = None
    ) -> OAuthProfile | None:
        """The profile behind an access token issued to our client, else None."""
        provider = self.provider
        timeout = provider.effective_timeout(settings)
        async with httpx.AsyncClient(timeout=timeout, verify=tls_context()) as http:
            with provider_calls(provider, timeout):
                token_subject = None
                if self.tokeninfo_url:
                    info = await http.get(self.tokeninfo_url, params={"access_token": token})
                    if info.status_code in (400, 401):
                        return None  # unknown, expired or revoked token
                    info.raise_for_status()
                    data = info.json()
                    if not isinstance(data, dict):
                        raise ValueError("tokeninfo answer is not a JSON object")
                    if self.client_id not in (data.get("aud"), data.get("azp")):
                        logger.info("Google token issued to another client refused")
                        return None
                    token_subject = data.get("sub")
                response = await http.get(
                    provider.userinfo_url or GOOGLE_USERINFO_URL,
                    headers={"Authorization": f"Bearer {token}"},
                )
                if response.status_code in (400, 401, 403):
                    return None
                response.raise_for_status()
                claims = response.json()
                if not isinstance(claims, dict):
                    raise ValueError("userinfo answer is not a JSON object")
                profile = OAuthProfile.from_claims(claims)
        if token_subject is not None and str(token_subject) != profile.subject:
            return None
        return profile
