"""Tokens: round trips, every forgery and malformed input gives None, pluggable backends."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt as pyjwt
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from core.auth import (
    AuthConfig,
    AuthOptions,
    JWTBackend,
    TokenBackend,
    VerifiedTokens,
    configure_auth,
    create_access_token,
    create_refresh_token,
    decode_token,
    get_auth_config,
    get_token_backend,
    register_token_backend,
    reset_auth_config,
    unregister_token_backend,
    verify_token,
)
from core.config import Settings, get_settings, set_settings
from core.exceptions import ImproperlyConfigured
from tests.helpers import OTHER_SECRET, SECRET

try:
    from core.datetime import timezone
except ImportError:  # core.datetime is not written yet: the same contract, an aware UTC "now"

    class timezone:  # type: ignore[no-redef]
        @staticmethod
        def now() -> datetime:
            return datetime.now(UTC)


@pytest.fixture(autouse=True)
def auth_config() -> AuthConfig:
    """Configure auth for each test (the suite's `framework_state` fixture resets it after)."""
    return configure_auth(
        secret_key=SECRET, access_token_expire_minutes=15, refresh_token_expire_days=3
    )


def b64(data: bytes | dict[str, Any]) -> str:
    raw = json.dumps(data).encode() if isinstance(data, dict) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims(**changes: Any) -> dict[str, Any]:
    """Valid claims for the configured backend; a change to None removes that claim."""
    now = int(time.time())
    values: dict[str, Any] = {
        "sub": "42",
        "type": "access",
        "iat": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
    }
    values.update(changes)
    return {key: value for key, value in values.items() if value is not None}


def forge(payload: dict[str, Any], *, secret: str = SECRET, alg: str = "HS256") -> str:
    """A token signed the way an attacker (or a buggy service) would, with joserfc directly."""
    return jwt.encode({"alg": alg}, payload, OctKey.import_key(secret), algorithms=[alg])


def hs256(header: dict[str, Any], payload_segment: str, secret: str = SECRET) -> str:
    """Sign an arbitrary payload segment with HS256, bypassing any JSON library."""
    signing_input = f"{b64(header)}.{payload_segment}"
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


# --- round trips -----------------------------------------------------------------------------


def test_access_token_round_trip() -> None:
    token = create_access_token({"sub": "42", "email": "ada@example.com"})
    payload = verify_token(token, token_type="access")
    assert payload is not None
    assert payload["sub"] == "42" and payload["email"] == "ada@example.com"
    assert payload["type"] == "access"
    assert payload["exp"] - int(payload["iat"]) == 15 * 60  # iat has microseconds
    assert isinstance(payload["exp"], int) and isinstance(payload["iat"], float)
    assert len(payload["jti"]) == 32
    assert verify_token(token) == payload


def test_refresh_token_round_trip() -> None:
    token = create_refresh_token({"sub": "42"})
    payload = verify_token(token, token_type="refresh")
    assert payload is not None and payload["type"] == "refresh"
    assert payload["exp"] - int(payload["iat"]) == 3 * 86400


def test_wrong_type_is_refused_both_ways() -> None:
    assert verify_token(create_refresh_token({"sub": "42"}), "access") is None
    assert verify_token(create_access_token({"sub": "42"}), "refresh") is None
    assert verify_token(create_access_token({"sub": "42"}), "password-reset") is None


def test_decode_token_accepts_any_type() -> None:
    payload = decode_token(create_refresh_token({"sub": "42"}))
    assert payload is not None and payload["type"] == "refresh"


def test_every_token_has_its_own_jti() -> None:
    first = verify_token(create_access_token({"sub": "42"}))
    second = verify_token(create_access_token({"sub": "42"}))
    assert first is not None and second is not None and first["jti"] != second["jti"]


def test_payload_cannot_override_reserved_claims() -> None:
    token = create_access_token(
        {"sub": "42", "type": "refresh", "iat": 0, "exp": 4102444800, "jti": "chosen"}
    )
    payload = decode_token(token)
    assert payload is not None
    assert payload["type"] == "access"
    assert payload["jti"] != "chosen"
    assert payload["exp"] - int(payload["iat"]) == 15 * 60
    assert abs(payload["iat"] - time.time()) < 5


@pytest.mark.parametrize("payload", [{}, {"sub": 42}, {"sub": ""}, {"sub": None}])
def test_sub_must_be_a_string(payload: dict[str, Any]) -> None:
    with pytest.raises(TypeError, match="sub"):
        create_access_token(payload)


def test_oversized_payload_is_refused_when_creating() -> None:
    with pytest.raises(ValueError, match="8192"):
        create_access_token({"sub": "42", "blob": "x" * 9000})


def test_forging_helper_makes_tokens_the_backend_accepts() -> None:
    """The control for every attack below: only the one thing each test changes is wrong."""
    assert verify_token(forge(claims())) is not None
    assert verify_token(hs256({"alg": "HS256", "typ": "JWT"}, b64(claims()))) is not None


# --- attacks ---------------------------------------------------------------------------------


def test_alg_none_is_refused() -> None:
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims())}."
    assert verify_token(unsigned) is None
    assert decode_token(unsigned) is None


def test_alg_none_with_a_valid_signature_is_refused() -> None:
    good = forge(claims())
    _, payload, signature = good.split(".")
    assert verify_token(f"{b64({'alg': 'none'})}.{payload}.{signature}") is None


@pytest.mark.parametrize("alg", ["HS384", "HS512"])
def test_other_hmac_algorithm_with_the_right_secret_is_refused(alg: str) -> None:
    assert verify_token(forge(claims(), alg=alg)) is None


def test_rs256_token_is_refused() -> None:
    key = RSAKey.generate_key(2048)
    token = jwt.encode({"alg": "RS256"}, claims(), key, algorithms=["RS256"])
    assert verify_token(token) is None


def test_another_key_is_refused() -> None:
    assert verify_token(forge(claims(), secret=OTHER_SECRET)) is None


def test_tampered_signature_is_refused() -> None:
    header, payload, signature = create_access_token({"sub": "42"}).split(".")
    middle = len(signature) // 2
    flipped = "A" if signature[middle] != "A" else "B"
    tampered = signature[:middle] + flipped + signature[middle + 1 :]
    assert verify_token(f"{header}.{payload}.{tampered}") is None
    assert verify_token(f"{header}.{payload}.") is None


def test_tampered_payload_is_refused() -> None:
    header, payload, signature = create_access_token({"sub": "42"}).split(".")
    original = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    promoted = b64({**original, "sub": "1", "is_superuser": True})
    assert verify_token(f"{header}.{promoted}.{signature}") is None


def test_tampered_header_is_refused() -> None:
    _, payload, signature = create_access_token({"sub": "42"}).split(".")
    header = b64({"alg": "HS256", "typ": "JWT", "kid": "other"})
    assert verify_token(f"{header}.{payload}.{signature}") is None


@pytest.mark.parametrize("lifetime", [timedelta(seconds=-1), timedelta(0), timedelta(hours=-1)])
def test_expired_token_is_refused(lifetime: timedelta) -> None:
    assert verify_token(create_access_token({"sub": "42"}, expires_delta=lifetime)) is None


def test_expired_forged_token_is_refused() -> None:
    now = int(time.time())
    assert verify_token(forge(claims(iat=now - 700, exp=now - 1))) is None


def test_iat_in_the_future_is_refused() -> None:
    now = int(time.time())
    assert verify_token(forge(claims(iat=now + 3600, exp=now + 7200))) is None
    # a few seconds of clock skew between servers is tolerated
    assert verify_token(forge(claims(iat=now + 5))) is not None


def test_nbf_in_the_future_is_refused() -> None:
    assert verify_token(forge(claims(nbf=int(time.time()) + 3600))) is None


@pytest.mark.parametrize("missing", ["sub", "type", "iat", "exp", "jti"])
def test_missing_required_claim_is_refused(missing: str) -> None:
    assert verify_token(forge(claims(**{missing: None}))) is None


@pytest.mark.parametrize(
    "changes",
    [
        {"sub": 42},
        {"sub": ""},
        {"sub": ["42"]},
        {"type": 1},
        {"type": ["access"]},
        {"jti": 5},
        {"jti": ""},
        {"exp": "tomorrow"},
        {"exp": True},
        {"exp": float("nan")},
        {"iat": "now"},
        {"iat": float("inf")},
        {"iat": 10**400},
    ],
    ids=repr,
)
def test_wrongly_typed_claim_is_refused(changes: dict[str, Any]) -> None:
    assert verify_token(forge(claims(**changes))) is None


def test_payload_that_is_not_an_object_is_refused() -> None:
    header = {"alg": "HS256", "typ": "JWT"}
    for body in (b'["sub", "42"]', b'"42"', b"null", b"not json", b"\xff\xfe"):
        assert verify_token(hs256(header, b64(body))) is None


def test_deeply_nested_payload_is_refused_not_crashed() -> None:
    nested = b'{"x": ' + b"[" * 2500 + b"]" * 2500 + b"}"
    token = hs256({"alg": "HS256", "typ": "JWT"}, b64(nested))
    assert len(token) < 8192
    assert verify_token(token) is None


def test_oversized_token_is_refused_before_parsing() -> None:
    token = forge(claims(blob="x" * 9000))
    assert len(token) > 8192
    assert verify_token(token) is None
    assert decode_token(token) is None


@pytest.mark.parametrize(
    "garbage",
    [
        None,
        123,
        b"bytes",
        ["a", "b"],
        "",
        "a",
        "a.b",
        "a.b.c",
        "....",
        "eyJ.eyJ.sig",
        "Bearer ",
        "\x00\x00\x00",
        "é.é.é",
        "a.b.c.d.e",
    ],
    ids=repr,
)
def test_garbage_is_refused(garbage: Any) -> None:
    assert verify_token(garbage) is None
    assert decode_token(garbage) is None


def test_token_with_an_audience_is_refused_when_none_is_configured() -> None:
    assert verify_token(forge(claims(aud="some-other-service"))) is None


# --- issuer and audience ---------------------------------------------------------------------


@pytest.fixture
def iss_aud() -> AuthConfig:
    return configure_auth(secret_key=SECRET, issuer="core-tests", audience="core-api")


def test_issuer_and_audience_round_trip(iss_aud: AuthConfig) -> None:
    payload = verify_token(create_access_token({"sub": "42", "iss": "evil", "aud": "evil"}))
    assert payload is not None
    assert (payload["iss"], payload["aud"]) == ("core-tests", "core-api")
    with_list = forge(claims(iss="core-tests", aud=["other", "core-api"]))
    assert verify_token(with_list) is not None


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "someone-else"},
        {"iss": None, "aud": "core-api"},
        {"iss": "core-tests", "aud": "someone-else"},
        {"iss": "core-tests", "aud": None},
        {"iss": "core-tests", "aud": ["someone-else"]},
        {"iss": "core-tests", "aud": ""},
    ],
    ids=repr,
)
def test_wrong_or_missing_issuer_or_audience_is_refused(
    iss_aud: AuthConfig, changes: dict[str, Any]
) -> None:
    base = {"iss": "core-tests", "aud": "core-api"}
    assert verify_token(forge(claims(**{**base, **changes}))) is None


def test_tokens_without_issuer_and_audience_are_refused_once_configured(
    iss_aud: AuthConfig,
) -> None:
    reset_auth_config()
    plain = create_access_token({"sub": "42"})
    configure_auth(secret_key=SECRET, issuer="core-tests", audience="core-api")
    assert verify_token(plain) is None


# --- configuration ---------------------------------------------------------------------------


def test_configuration_defaults_come_from_settings() -> None:
    reset_auth_config()
    set_settings(
        Settings(
            secret_key=OTHER_SECRET,
            auth_access_token_expire_minutes=5,
            auth_refresh_token_expire_days=2,
            auth_algorithm="HS512",
            auth_issuer="from-env",
            auth_rotate_refresh_tokens=False,
        )
    )
    config = get_auth_config()
    assert config.secret_key == OTHER_SECRET
    assert (config.access_token_expire_minutes, config.refresh_token_expire_days) == (5, 2)
    assert (config.algorithm, config.issuer, config.audience) == ("HS512", "from-env", None)
    assert config.rotate_refresh_tokens is False
    payload = verify_token(create_access_token({"sub": "42"}))
    assert payload is not None and payload["iss"] == "from-env"
    assert configure_auth(access_token_expire_minutes=1).secret_key == OTHER_SECRET


def test_configure_auth_takes_exactly_the_config_fields() -> None:
    options = set(AuthOptions.__annotations__)
    assert options == {f.name for f in dataclasses.fields(AuthConfig)}
    with pytest.raises(TypeError, match="'secret'"):
        configure_auth(secret="x" * 40)  # type: ignore[call-arg]
    given = configure_auth(secret_key=SECRET, issuer="", password_hasher="", algorithm="")
    settings = get_settings()
    assert given.issuer == ""
    assert given.password_hasher == settings.auth_password_hasher
    assert given.algorithm == settings.auth_algorithm


def test_config_is_frozen_and_hides_the_secret(auth_config: AuthConfig) -> None:
    assert SECRET not in repr(auth_config)
    with pytest.raises(dataclasses.FrozenInstanceError):
        auth_config.secret_key = "x"  # type: ignore[misc]


@pytest.mark.parametrize("algorithm", ["none", "RS256", "ES256", "hs256"])
def test_unsupported_algorithms_are_refused_at_configuration(algorithm: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="algorithm"):
        configure_auth(secret_key=SECRET, algorithm=algorithm)


def test_empty_secret_is_refused() -> None:
    with pytest.raises(ImproperlyConfigured, match="empty"):
        configure_auth(secret_key="")


def test_short_secret_is_refused_in_production() -> None:
    set_settings(Settings(environment="production", secret_key=SECRET))
    with pytest.raises(ImproperlyConfigured, match="too short"):
        configure_auth(secret_key="short-key")


def test_non_positive_lifetimes_are_refused() -> None:
    with pytest.raises(ImproperlyConfigured, match="positive"):
        configure_auth(secret_key=SECRET, access_token_expire_minutes=0)


def test_changing_the_secret_invalidates_old_tokens() -> None:
    token = create_access_token({"sub": "42"})
    assert verify_token(token) is not None  # verified, hence remembered, under the old secret
    configure_auth(secret_key=OTHER_SECRET)
    assert verify_token(token) is None


# --- verified tokens are remembered ------------------------------------------------------------


def test_a_remembered_token_is_refused_once_it_expires() -> None:
    token = create_access_token({"sub": "42"}, expires_delta=timedelta(seconds=1))
    exp = verify_token(token)["exp"]  # type: ignore[index]
    assert verify_token(token) is not None  # from the remembered claims
    time.sleep(max(0.0, exp - time.time()) + 0.05)
    assert verify_token(token) is None
    assert decode_token(token) is None


def test_remembered_claims_are_a_copy_for_each_caller() -> None:
    token = create_access_token({"sub": "42"})
    first = verify_token(token)
    assert first is not None
    first["sub"] = "1"
    first["type"] = "refresh"
    again = verify_token(token)
    assert again is not None and again["sub"] == "42" and again["type"] == "access"


def test_only_tokens_that_pass_every_check_are_remembered() -> None:
    backend = get_token_backend()
    assert isinstance(backend, JWTBackend)
    backend.verified.clear()
    header, payload, signature = create_access_token({"sub": "42"}).split(".")
    forged = [
        f"{header}.{payload}.{signature[:-2]}AA",
        forge(claims(), secret=OTHER_SECRET),
        forge(claims(exp=int(time.time()) - 1)),
        create_access_token({"sub": "42"}, expires_delta=timedelta(seconds=-1)),
    ]
    for token in forged:
        assert verify_token(token) is None
        assert verify_token(token) is None
    assert len(backend.verified) == 0
    token = create_access_token({"sub": "42"})
    assert verify_token(token) is not None
    assert len(backend.verified) == 1
    assert token.encode() not in repr(backend.verified._entries).encode()  # kept by its digest


def test_size_zero_remembers_nothing() -> None:
    backend = get_token_backend()
    assert isinstance(backend, JWTBackend)
    backend.verified.size = 0
    token = create_access_token({"sub": "42"})
    assert verify_token(token) is not None and verify_token(token) is not None
    assert len(backend.verified) == 0


def test_remembered_tokens_are_bounded_oldest_first() -> None:
    remembered = VerifiedTokens(size=2)
    config = get_auth_config()
    tokens = [create_access_token({"sub": str(n)}) for n in range(3)]
    now = int(time.time())
    for token in tokens:
        payload = decode_token(token)
        assert payload is not None
        remembered.add(token, config, payload)
    assert len(remembered) == 2
    assert remembered.get(tokens[0], config, now) is None
    assert [remembered.get(token, config, now)["sub"] for token in tokens[1:]] == ["1", "2"]  # type: ignore[index]
    assert remembered.get(tokens[1], configure_auth(secret_key=OTHER_SECRET), now) is None


# --- backends ----------------------------------------------------------------------------------


class CustomJWTBackend(TokenBackend):
    """
    Custom JWT backend with additional claims.
    """

    name = "custom_jwt"

    def __init__(self, secret_key: str, algorithm: str = "HS512"):
        self.secret_key = secret_key
        self.algorithm = algorithm

    def create_token(
        self,
        payload: dict[str, Any],
        token_type: str = "access",
        expires_delta: timedelta | None = None,
    ) -> str:
        """Create a JWT token with custom claims."""
        import jwt

        now = timezone.now()

        # Set expiration
        if expires_delta:
            expire = now + expires_delta
        elif token_type == "access":
            expire = now + timedelta(minutes=30)
        else:
            expire = now + timedelta(days=7)

        # Build token payload
        token_payload = {
            **payload,
            "type": token_type,
            "iat": now,
            "exp": expire,
            "iss": "my-app",  # Custom issuer
            "aud": "my-app-users",  # Custom audience
        }

        return jwt.encode(token_payload, self.secret_key, algorithm=self.algorithm)

    def decode_token(self, token: str) -> dict[str, Any] | None:
        """Decode and validate a JWT token."""
        import jwt

        try:
            payload = jwt.decode(
                token,
                self.secret_key,
                algorithms=[self.algorithm],
                audience="my-app-users",
                issuer="my-app",
            )
            return payload
        except jwt.PyJWTError:
            return None

    def verify_token(
        self,
        token: str,
        token_type: str = "access",
    ) -> dict[str, Any] | None:
        """Verify token type and validity."""
        payload = self.decode_token(token)

        if not payload:
            return None

        if payload.get("type") != token_type:
            return None

        return payload


@pytest.fixture
def custom_backend() -> CustomJWTBackend:
    backend = CustomJWTBackend(secret_key=get_settings().secret_key + SECRET, algorithm="HS512")
    register_token_backend(backend)
    return backend


def test_guides_custom_backend_makes_and_checks_the_tokens(
    custom_backend: CustomJWTBackend,
) -> None:
    assert get_token_backend() is custom_backend
    token = create_access_token({"sub": "42", "email": "ada@example.com"})
    independent = pyjwt.decode(
        token,
        custom_backend.secret_key,
        algorithms=["HS512"],
        audience="my-app-users",
        issuer="my-app",
    )
    assert independent["type"] == "access" and independent["email"] == "ada@example.com"
    payload = verify_token(token)
    assert payload is not None and payload["sub"] == "42"
    assert verify_token(token, "refresh") is None
    refresh = create_refresh_token({"sub": "42"})
    assert verify_token(refresh, "refresh") is not None
    assert decode_token(refresh) is not None


def test_custom_backend_rejects_default_backend_tokens(custom_backend: CustomJWTBackend) -> None:
    default_token = get_token_backend("jwt").create_token({"sub": "42"})
    assert verify_token(default_token) is None
    assert get_token_backend("jwt").verify_token(default_token) is not None


def test_unregistering_the_active_backend_falls_back_to_jwt(
    custom_backend: CustomJWTBackend,
) -> None:
    unregister_token_backend("custom_jwt")
    assert isinstance(get_token_backend(), JWTBackend)
    assert verify_token(create_access_token({"sub": "42"})) is not None


def test_register_without_activating() -> None:
    backend = register_token_backend(CustomJWTBackend(SECRET), activate=False)
    assert isinstance(get_token_backend(), JWTBackend)
    assert get_token_backend("custom_jwt") is backend


def test_unknown_or_nameless_backends() -> None:
    with pytest.raises(ImproperlyConfigured, match="jwt"):
        get_token_backend("nope")
    with pytest.raises(ImproperlyConfigured):
        register_token_backend(TokenBackend())
