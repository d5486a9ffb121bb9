"""What can go wrong in an OAuth login, each with the HTTP status it should become (never a 500).

The user's side (a stale or forged `state`, consent refused, a code that no longer works) is
a 4xx; the provider's side (unreachable, too slow, answering with errors or nonsense) is a 503.
`OAuthLoginError` is a plain exception carrying that status: `core.errors` turns it into the
response, so this layer knows nothing of FastAPI.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import httpx
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from joserfc.errors import JoseError

from core.exceptions import ImproperlyConfigured, StatusError

if TYPE_CHECKING:
    from core.auth.oauth.providers import OAuthProvider

logger = logging.getLogger("core.auth.oauth")

#: Seconds a client should wait before retrying when the provider is unavailable.
RETRY_AFTER = "30"
_ERROR_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_MAX_DESCRIPTION = 200


def _http_errors(name: str) -> tuple[type[Exception], ...]:
    """`httpx.<name>`, and `httpx2.<name>` too when installed (Authlib then uses httpx2)."""
    found: list[type[Exception]] = [getattr(httpx, name)]
    try:
        import httpx2
    except ImportError:
        pass
    else:  # pragma: no cover - httpx2 is not a dependency
        found.append(getattr(httpx2, name))
    return tuple(found)


_TIMEOUT = _http_errors("TimeoutException")
_STATUS = _http_errors("HTTPStatusError")
_HTTP = _http_errors("HTTPError")

#: Provider error codes that mean "the provider is in trouble", not "the request was wrong".
_UNAVAILABLE_CODES = frozenset({"server_error", "temporarily_unavailable"})


class OAuthLoginError(StatusError):
    """An OAuth login that cannot complete; `detail` says why and what to do.

    A plain exception: `status_code` and `headers` are what `core.errors` answers with.
    """


def provider_unavailable(detail: str) -> OAuthLoginError:
    return OAuthLoginError(503, detail, headers={"Retry-After": RETRY_AFTER})


def state_mismatch() -> OAuthLoginError:
    return OAuthLoginError(
        400,
        "The login state does not match: the login expired, was started in another browser, "
        "or the link was altered. Start the login again.",
    )


def provider_error(provider: OAuthProvider, error: str, description: str | None) -> OAuthLoginError:
    """The error a provider reported (in the redirect back, or from its token endpoint)."""
    code = error if _ERROR_CODE.match(error or "") else "invalid_response"
    title = provider.title
    if code == "access_denied":
        return OAuthLoginError(403, f"Login with {title} was cancelled: access was not granted.")
    if code in _UNAVAILABLE_CODES:
        return provider_unavailable(f"{title} is unavailable right now ({code}); try again later.")
    detail = f"{title} refused the login ({code})"
    if isinstance(description, str) and description.strip():
        detail += f": {description.strip()[:_MAX_DESCRIPTION]}"
    detail = detail.rstrip(".") + "."
    if code == "invalid_grant":
        detail += " Start the login again."
    return OAuthLoginError(400, detail)


@contextmanager
def provider_calls(provider: OAuthProvider, timeout: float) -> Iterator[None]:
    """Turn what talking to `provider` may raise into the matching OAuthLoginError."""
    title = provider.title
    try:
        yield
    except (OAuthLoginError, ImproperlyConfigured):
        raise
    except MismatchingStateError:
        raise state_mismatch() from None
    except OAuthError as error:
        raise provider_error(provider, str(error.error or ""), error.description) from None
    except _TIMEOUT:
        logger.warning("OAuth provider %s timed out after %ss", provider.name, timeout)
        raise provider_unavailable(
            f"{title} did not answer within {timeout:g} seconds; try again later."
        ) from None
    except _STATUS as error:
        status = getattr(getattr(error, "response", None), "status_code", "error")
        logger.warning("OAuth provider %s answered %s", provider.name, status)
        raise provider_unavailable(
            f"{title} answered with HTTP {status}; try again later."
        ) from None
    except _HTTP as error:
        logger.warning("OAuth provider %s unreachable: %r", provider.name, error)
        raise provider_unavailable(f"{title} could not be reached; try again later.") from None
    except JoseError as error:
        logger.warning("OAuth provider %s sent an invalid ID token: %r", provider.name, error)
        raise OAuthLoginError(
            400, f"The ID token from {title} is not valid ({error.error}). Start the login again."
        ) from None
    except (AuthlibBaseError, ValueError, RuntimeError, KeyError, TypeError) as error:
        # Authlib's RuntimeErrors are configuration gaps (no jwks_uri, no authorization endpoint
        # in the metadata); the others are answers that are not the JSON they should be.
        logger.warning("OAuth provider %s: %s", provider.name, error, exc_info=True)
        raise provider_unavailable(
            f"{title} sent an answer that cannot be used; try again later."
        ) from None
