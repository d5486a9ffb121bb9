"""The auth backend registry, the default email/password backend, and the guide's custom backend."""

from __future__ import annotations

from typing import Any

import pytest

from core import AsyncSession
from core.auth import (
    APIKeyBackend,
    AuthBackend,
    ModelBackend,
    get_auth_backend,
    get_auth_backends,
    register_auth_backend,
    unregister_auth_backend,
)
from core.exceptions import ImproperlyConfigured
from tests.auth.conftest import CountingHasher
from tests.example_models import User


def names() -> list[str]:
    return [backend.name for backend in get_auth_backends()]


# Whatever a test registers is gone afterwards: the suite's `framework_state` fixture resets
# the registry to the built-in default backend around each test.


# --- the default backend --------------------------------------------------------------------


async def test_the_default_backend_checks_email_and_password(db) -> None:
    user = await User.create_user(email="user@example.com", password="password123", db=db)
    backend = get_auth_backend("default")
    assert isinstance(backend, ModelBackend)
    assert get_auth_backend() is backend

    found = await backend.authenticate(None, db, email="USER@example.com", password="password123")
    assert isinstance(found, User) and found.id == user.id
    assert await backend.authenticate(None, db, email="user@example.com", password="nope") is None
    assert (
        await backend.authenticate(None, db, email="x@example.com", password="password123") is None
    )
    fetched = await backend.get_user(user.id, db)
    assert isinstance(fetched, User) and fetched.id == user.id
    assert await backend.get_user(user.id + 1, db) is None


async def test_the_default_backend_does_no_work_without_credentials(
    db, counting_hasher: CountingHasher
) -> None:
    await User.create_user(email="user@example.com", password="password123", db=db)
    backend = get_auth_backend("default")

    counting_hasher.calls = 0
    assert await backend.authenticate(None, db) is None
    assert await backend.authenticate(None, db, api_key="something-else") is None
    assert counting_hasher.calls == 0

    # Half the credentials is a failed login: the same single hash as any other failure.
    assert await backend.authenticate(None, db, email="user@example.com") is None
    assert counting_hasher.calls == 1
    assert await backend.authenticate(None, db, password="password123") is None
    assert counting_hasher.calls == 2


# --- the registry ----------------------------------------------------------------------------


def test_an_unknown_backend_name_is_improperly_configured() -> None:
    with pytest.raises(
        ImproperlyConfigured,
        match=r"no auth backend named 'ldap' is registered \(registered: .*default",
    ):
        get_auth_backend("ldap")


def test_a_backend_without_a_name_is_refused() -> None:
    class Nameless(AuthBackend):
        async def authenticate(self, request: Any, db: Any, **credentials: Any) -> Any:
            return None

    before = names()
    with pytest.raises(ImproperlyConfigured, match="Nameless needs a `name`"):
        register_auth_backend(Nameless())
    assert names() == before


def test_backends_are_listed_default_first_and_can_be_unregistered() -> None:
    before = names()
    api_keys = register_auth_backend(APIKeyBackend())
    assert names() == [*before, "api_key"]
    assert names()[0] == "default"
    assert get_auth_backend("api_key") is api_keys

    unregister_auth_backend("api_key")
    unregister_auth_backend("api_key")  # twice is fine
    with pytest.raises(ImproperlyConfigured):
        get_auth_backend("api_key")


async def test_replacing_the_default_backend_and_restoring_it(db) -> None:
    class Nobody(AuthBackend):
        name = "default"

        async def authenticate(self, request: Any, db: Any, **credentials: Any) -> Any:
            return None

    await User.create_user(email="user@example.com", password="password123", db=db)
    register_auth_backend(Nobody())
    assert (
        await get_auth_backend().authenticate(
            None, db, email="user@example.com", password="password123"
        )
        is None
    )

    unregister_auth_backend("default")  # the built-in comes back, never "no default"
    assert isinstance(get_auth_backend("default"), ModelBackend)
    assert (
        await get_auth_backend().authenticate(
            None, db, email="user@example.com", password="password123"
        )
        is not None
    )


# --- the guide's custom backend ------------------------------------------------------------


class LDAPAuthBackend(AuthBackend):
    """The guide's LDAP backend, as written, with an in-memory directory in place of ldap3."""

    name = "ldap"

    def __init__(self, ldap_server: str, base_dn: str, directory: dict[str, str]) -> None:
        self.ldap_server = ldap_server
        self.base_dn = base_dn
        self.directory = directory  # uid -> password, what binding as `uid=...` would check

    async def authenticate(
        self,
        request: Any,
        db: AsyncSession,
        **credentials: Any,
    ) -> Any | None:
        username = credentials.get("username")
        password = credentials.get("password")

        if not username or not password:
            return None

        if self.directory.get(username) != password:  # the bind failed
            return None

        email = f"{username}@company.com"
        user = await User.objects.using(db).get_or_none(email=email)
        if not user:
            user = User(name=username, email=email, is_active=True)
            await user.save(db)

        return user

    async def get_user(self, user_id: int, db: AsyncSession) -> Any | None:
        return await User.objects.using(db).get_or_none(id=user_id)


@pytest.fixture
def ldap() -> LDAPAuthBackend:
    backend = LDAPAuthBackend(
        ldap_server="ldap://ldap.company.com",
        base_dn="ou=users,dc=company,dc=com",
        directory={"alice": "wonderland", "bob": "builder"},
    )
    assert register_auth_backend(backend) is backend
    return backend


async def test_the_guides_custom_backend_logs_in_and_creates_local_users(
    db, ldap: LDAPAuthBackend
) -> None:
    backend = get_auth_backend("ldap")
    assert backend is ldap
    assert await User.objects.using(db).count() == 0

    alice = await backend.authenticate(None, db, username="alice", password="wonderland")
    assert isinstance(alice, User)
    assert alice.email == "alice@company.com" and alice.name == "alice" and alice.is_active

    again = await backend.authenticate(None, db, username="alice", password="wonderland")
    assert again is not None and again.id == alice.id
    assert await User.objects.using(db).count() == 1

    fetched = await backend.get_user(alice.id, db)
    assert fetched is not None and fetched.email == "alice@company.com"


async def test_the_guides_custom_backend_refuses_bad_or_missing_credentials(
    db, ldap: LDAPAuthBackend
) -> None:
    backend = get_auth_backend("ldap")
    assert await backend.authenticate(None, db, username="alice", password="builder") is None
    assert await backend.authenticate(None, db, username="mallory", password="x") is None
    assert await backend.authenticate(None, db, username="alice") is None
    assert await backend.authenticate(None, db) is None
    assert await User.objects.using(db).count() == 0


async def test_users_created_by_the_custom_backend_have_no_local_password(
    db, ldap: LDAPAuthBackend
) -> None:
    alice = await get_auth_backend("ldap").authenticate(
        None, db, username="alice", password="wonderland"
    )
    assert alice is not None and not alice.has_usable_password()
    default = get_auth_backend("default")
    for password in ("wonderland", "", "!"):
        assert (
            await default.authenticate(None, db, email="alice@company.com", password=password)
            is None
        )


async def test_unregistering_the_custom_backend(ldap: LDAPAuthBackend) -> None:
    assert names()[0] == "default" and names()[-1] == "ldap"
    unregister_auth_backend("ldap")
    assert "ldap" not in names()
    with pytest.raises(ImproperlyConfigured, match="'ldap'"):
        get_auth_backend("ldap")
