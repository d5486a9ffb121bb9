"""A real OAuth 2.0 / OpenID Connect provider for the tests, served over HTTP on 127.0.0.1.

Built from Authlib's server components (no Flask/Django: Authlib's server integrations need
one of those, so `AuthorizationServer` is subclassed over plain Starlette requests here):
the authorization code grant with PKCE (`CodeChallenge`, required), OpenID Connect ID tokens
(`OpenIDCode`, RS256, nonce required), a token endpoint, userinfo, JWKS and discovery. In
memory: one client per test run, the codes and tokens it issued, and `ProviderState`, the
knobs a test turns (the user who "logs in", denied consent, slow or failing endpoints...).

Also a GitHub-like API (`/github/user`, `/github/user/emails`) and Google's `tokeninfo`.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    ClientMixin,
    OAuth2Error,
    OAuth2Request,
    grants,
)
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import AuthorizationCodeMixin, OpenIDCode, UserInfo
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

CLIENT_ID = "core-test-client"
CLIENT_SECRET = "core-test-secret"
OTHER_CLIENT_ID = "someone-elses-app"
SCOPES = ["openid", "email", "profile", "read:user", "user:email"]


@dataclass
class TestUser:
    """The provider's user the authorization endpoint logs in (auto-approving)."""

    sub: str = "user-1"
    email: str | None = "ada@example.com"
    email_verified: bool = True
    given_name: str = "Ada"
    family_name: str = "Lovelace"
    github_id: int = 4242

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    scope: str = " ".join(SCOPES)

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str | None) -> str:
        allowed = set(self.scope.split())
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return client_secret == self.client_secret

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class AuthorizationCode(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: TestUser
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time


@dataclass
class IssuedToken:
    access_token: str
    client_id: str
    scope: str
    user: TestUser


@dataclass
class ProviderState:
    """What the provider does; tests change it, `reset()` restores the defaults."""

    user: TestUser = field(default_factory=TestUser)
    deny: bool = False
    #: Endpoint names ("metadata", "authorize", "token", "userinfo", "jwks") answered late.
    slow: set[str] = field(default_factory=set)
    delay: float = 3.0
    #: Endpoint name -> HTTP status it answers with instead of its work.
    fail: dict[str, int] = field(default_factory=dict)
    #: An OAuth error code the token endpoint answers with.
    token_error: str | None = None
    #: Sign ID tokens with a key that is not in the JWKS (a forged token).
    forge_id_tokens: bool = False
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    tokens: dict[str, IssuedToken] = field(default_factory=dict)
    #: The query of each authorization request, the form of each token request.
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)

    def reset(self) -> None:
        fresh = ProviderState()
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(fresh, name))


class StarletteOAuth2Request(OAuth2Request):
    """Authlib's request over an already-read Starlette request (query string + form)."""

    def __init__(
        self, method: str, url: str, headers: Headers, query: dict[str, str], form: dict[str, str]
    ) -> None:
        super().__init__(method, url, headers=headers)
        self._args = query
        self._form = form
        self.payload = BasicOAuth2Payload({**query, **form})

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


async def oauth2_request(request: Request) -> StarletteOAuth2Request:
    form: dict[str, str] = {}
    if request.method == "POST":  # urlencoded (python-multipart is not installed)
        form = dict(parse_qsl((await request.body()).decode("utf-8")))
    return StarletteOAuth2Request(
        request.method, str(request.url), request.headers, dict(request.query_params), form
    )


class Provider:
    """The authorization server, its keys and its Starlette app."""

    def __init__(self) -> None:
        self.state = ProviderState()
        self.base_url = ""  # set once the server listens
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1", "use": "sig"})
        self.forged_key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1"})
        self.clients: dict[str, Client] = {}
        self.server = self._authorization_server()
        self.app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.metadata),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
                Route("/userinfo", self.userinfo),
                Route("/jwks", self.jwks),
                Route("/tokeninfo", self.tokeninfo),
                Route("/github/user", self.github_user),
                Route("/github/user/emails", self.github_emails),
            ]
        )

    # Setup --------------------------------------------------------------------------------

    def add_client(self, client_id: str, client_secret: str, redirect_uris: list[str]) -> Client:
        client = Client(client_id, client_secret, redirect_uris)
        self.clients[client_id] = client
        return client

    def _authorization_server(self) -> AuthorizationServer:
        provider = self

        class Server(AuthorizationServer):
            def query_client(self, client_id: str) -> Client | None:
                return provider.clients.get(client_id)

            def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
                provider.state.tokens[token["access_token"]] = IssuedToken(
                    token["access_token"],
                    request.client.get_client_id(),
                    token["scope"],
                    request.user,
                )

            def create_oauth2_request(self, request: Any) -> OAuth2Request:
                return request  # built (the body read) by the async endpoint

            def handle_response(self, status: int, body: Any, headers: Any) -> Response:
                if isinstance(body, dict):
                    return JSONResponse(body, status_code=status, headers=dict(headers))
                return Response(body, status_code=status, headers=dict(headers))

            def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
                pass

        class CodeGrant(grants.AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

            def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
                data = request.payload.data
                provider.state.codes[code] = AuthorizationCode(
                    code=code,
                    client_id=request.client.get_client_id(),
                    redirect_uri=request.payload.redirect_uri,
                    scope=request.scope,
                    user=request.user,
                    nonce=data.get("nonce"),
                    code_challenge=data.get("code_challenge"),
                    code_challenge_method=data.get("code_challenge_method"),
                )

            def query_authorization_code(
                self, code: str, client: Client
            ) -> AuthorizationCode | None:
                found = provider.state.codes.get(code)
                if found is not None and found.client_id == client.get_client_id():
                    return found
                return None

            def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
                provider.state.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code: AuthorizationCode) -> TestUser:
                return authorization_code.user

        class IDTokens(OpenIDCode):
            def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
                return any(code.nonce == nonce for code in provider.state.codes.values())

            def resolve_client_private_key(self, client: Client) -> RSAKey:
                return provider.forged_key if provider.state.forge_id_tokens else provider.key

            def get_client_algorithm(self, client: Client) -> str:
                return "RS256"

            def get_encode_header(self, client: Client) -> dict[str, str]:
                return {"alg": "RS256", "kid": "test-key-1"}

            def get_client_claims(self, client: Client) -> dict[str, Any]:
                return {"iss": provider.base_url, "aud": [client.get_client_id()]}

            def generate_user_info(self, user: TestUser, scope: str) -> UserInfo:
                return UserInfo(provider.claims(user, scope))

        server = Server(scopes_supported=SCOPES)
        server.register_token_generator(
            "default", BearerTokenGenerator(lambda **kwargs: generate_token(42))
        )
        server.register_grant(
            CodeGrant, [CodeChallenge(required=True), IDTokens(require_nonce=True)]
        )
        return server

    def claims(self, user: TestUser, scope: str) -> dict[str, Any]:
        scopes = scope.split()
        claims: dict[str, Any] = {"sub": user.sub}
        if "email" in scopes and user.email is not None:
            claims.update(email=user.email, email_verified=user.email_verified)
        if "profile" in scopes:
            claims.update(name=user.name, given_name=user.given_name, family_name=user.family_name)
        return claims

    # Tokens for the token-login tests (a client that got them on its own) -----------------

    def issue_access_token(
        self, client_id: str = CLIENT_ID, scope: str = "openid email profile"
    ) -> str:
        token = generate_token(42)
        self.state.tokens[token] = IssuedToken(token, client_id, scope, self.state.user)
        return token

    def issue_id_token(
        self,
        audience: str | list[str] = CLIENT_ID,
        issuer: str | None = None,
        lifetime: int = 3600,
        key: RSAKey | None = None,
        algorithm: str = "RS256",
        **extra: Any,
    ) -> str:
        now = int(time.time())
        claims = {
            "iss": issuer or self.base_url,
            "aud": audience,
            "iat": now,
            "exp": now + lifetime,
            **self.claims(self.state.user, "openid email profile"),
            **extra,
        }
        header = {"alg": algorithm, "kid": (key or self.key).kid or "test-key-1"}
        return jwt.encode(header, claims, key or self.key, algorithms=[algorithm])

    # Endpoints ------------------------------------------------------------------------------

    async def _trouble(self, endpoint: str) -> Response | None:
        """Sleep for a slow endpoint; the failure response of a failing one."""
        if endpoint in self.state.slow:
            await asyncio.sleep(self.state.delay)
        status = self.state.fail.get(endpoint)
        if status is not None:
            return JSONResponse({"message": "provider trouble"}, status_code=status)
        return None

    async def metadata(self, request: Request) -> Response:
        if (trouble := await self._trouble("metadata")) is not None:
            return trouble
        base = self.base_url
        return JSONResponse(
            {
                "issuer": base,
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token",
                "userinfo_endpoint": f"{base}/userinfo",
                "jwks_uri": f"{base}/jwks",
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "scopes_supported": SCOPES,
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
            }
        )

    async def authorize(self, request: Request) -> Response:
        if (trouble := await self._trouble("authorize")) is not None:
            return trouble
        self.state.authorize_requests.append(dict(request.query_params))
        oauth_request = await oauth2_request(request)
        user = self.state.user
        try:
            grant = self.server.get_consent_grant(oauth_request, end_user=user)
        except OAuth2Error as error:
            return self.server.handle_error_response(oauth_request, error)
        grant_user = None if self.state.deny else user
        return self.server.create_authorization_response(
            oauth_request, grant_user=grant_user, grant=grant
        )

    async def token(self, request: Request) -> Response:
        if (trouble := await self._trouble("token")) is not None:
            return trouble
        oauth_request = await oauth2_request(request)
        self.state.token_requests.append(dict(oauth_request.form))
        if self.state.token_error is not None:
            return JSONResponse(
                {"error": self.state.token_error, "error_description": "Refused by the test."},
                status_code=400,
            )
        return self.server.create_token_response(oauth_request)

    def _bearer(self, request: Request) -> IssuedToken | None:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        return self.state.tokens.get(value.strip())

    async def userinfo(self, request: Request) -> Response:
        if (trouble := await self._trouble("userinfo")) is not None:
            return trouble
        issued = self._bearer(request)
        if issued is None:
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        return JSONResponse(self.claims(issued.user, issued.scope))

    async def jwks(self, request: Request) -> Response:
        if (trouble := await self._trouble("jwks")) is not None:
            return trouble
        return JSONResponse(KeySet([self.key]).as_dict(private=False))

    async def tokeninfo(self, request: Request) -> Response:
        """Google's tokeninfo: who the access token was issued to, and for whom."""
        if (trouble := await self._trouble("tokeninfo")) is not None:
            return trouble
        issued = self.state.tokens.get(request.query_params.get("access_token", ""))
        if issued is None:
            return JSONResponse({"error": "invalid_token"}, status_code=400)
        return JSONResponse(
            {
                "aud": issued.client_id,
                "azp": issued.client_id,
                "sub": issued.user.sub,
                "scope": issued.scope,
                "expires_in": "3599",
                "email": issued.user.email,
                "email_verified": "true" if issued.user.email_verified else "false",
            }
        )

    async def github_user(self, request: Request) -> Response:
        if (trouble := await self._trouble("userinfo")) is not None:
            return trouble
        issued = self._bearer(request)
        if issued is None:
            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        user = issued.user
        return JSONResponse(
            {
                "id": user.github_id,
                "login": "ada",
                "name": user.name,
                "email": None,  # private: only /user/emails tells
                "avatar_url": "https://avatars.example.com/ada",
            }
        )

    async def github_emails(self, request: Request) -> Response:
        issued = self._bearer(request)
        if issued is None:
            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        user = issued.user
        return JSONResponse(
            [
                {"email": "old@example.com", "primary": False, "verified": True},
                {"email": user.email, "primary": True, "verified": user.email_verified},
            ]
        )


def free_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(provider: Provider) -> Iterator[Provider]:
    """Run the provider with uvicorn in a background thread on a free loopback port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    provider.base_url = f"http://127.0.0.1:{port}"
    config = uvicorn.Config(
        provider.app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test OAuth provider did not start")
        time.sleep(0.01)
    try:
        yield provider
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
