"""Account linking: identities by (provider, subject); existing accounts only when allowed."""

from __future__ import annotations

import asyncio

import httpx

from core.auth import OAuthIdentity, is_password_usable
from core.auth.oauth import OAuthBackend, OAuthProfile
from core.config import Settings
from tests.example_models import User
from tests.oauth.conftest import API, browser_login, configure
from tests.oauth.provider import Provider


async def counts(db) -> tuple[int, int]:
    return await User.objects.using(db).count(), await OAuthIdentity.objects.using(db).count()


async def test_an_existing_account_is_not_linked_by_default(
    client: httpx.AsyncClient, app_db, provider: Provider
) -> None:
    await User.create_user("ada@example.com", "Password1", db=app_db)

    response = await browser_login(client)

    assert response.status_code == 409
    assert response.json() == {
        "detail": "An account with the email ada@example.com already exists and is not linked "
        "to your TestID login. Sign in the way you signed in before."
    }
    assert await counts(app_db) == (1, 0)


async def test_linking_when_allowed_and_the_provider_verified_the_email(
    app, client: httpx.AsyncClient, app_db, provider: Provider
) -> None:
    existing = await User.create_user("Ada@Example.com", "Password1", db=app_db)
    configure(app, oauth_link_existing_accounts=True)

    response = await browser_login(client)

    assert response.status_code == 200, response.text
    assert await counts(app_db) == (1, 1)
    identity = await OAuthIdentity.objects.using(app_db).get(provider="test")
    assert identity.user_id == existing.id
    # The account keeps its password: both ways of logging in work.
    await existing.refresh(app_db)
    assert is_password_usable(existing.password_hash)
    login = await client.post(
        f"{API}/auth/login/", json={"email": "ada@example.com", "password": "Password1"}
    )
    assert login.status_code == 200
    # And the next OAuth login goes through the identity, whatever the setting says now.
    configure(app, oauth_link_existing_accounts=False)
    assert (await browser_login(client)).status_code == 200


async def test_an_unverified_email_is_never_linked(
    app, client: httpx.AsyncClient, app_db, provider: Provider
) -> None:
    await User.create_user("ada@example.com", "Password1", db=app_db)
    configure(app, oauth_link_existing_accounts=True)
    provider.state.user.email_verified = False

    response = await browser_login(client)

    assert response.status_code == 409
    detail = response.json()["detail"]
    assert "already exists" in detail and "has not verified" in detail
    assert await counts(app_db) == (1, 0)


async def test_a_new_account_needs_a_verified_email_unless_configured_otherwise(
    app, client: httpx.AsyncClient, app_db, provider: Provider
) -> None:
    provider.state.user.email_verified = False

    refused = await browser_login(client)
    assert refused.status_code == 403
    assert refused.json() == {
        "detail": "TestID has not verified the email address ada@example.com. "
        "Verify it with TestID and try again."
    }
    assert await counts(app_db) == (0, 0)

    configure(app, oauth_require_verified_email=False)
    created = await browser_login(client)
    assert created.status_code == 200
    assert await counts(app_db) == (1, 1)


async def test_without_an_email_no_account_is_created(
    client: httpx.AsyncClient, app_db, provider: Provider
) -> None:
    provider.state.user.email = None

    response = await browser_login(client)

    assert response.status_code == 400
    assert "did not share a usable email address" in response.json()["detail"]
    assert await counts(app_db) == (0, 0)


async def test_a_disabled_account_cannot_log_in(
    client: httpx.AsyncClient, app_db, provider: Provider
) -> None:
    assert (await browser_login(client)).status_code == 200
    await User.objects.using(app_db).filter(email="ada@example.com").update(is_active=False)

    response = await browser_login(client)

    assert response.status_code == 403
    assert response.json() == {"detail": "This account is disabled."}


async def test_the_identity_of_a_deleted_user_is_void(
    client: httpx.AsyncClient, app_db, provider: Provider
) -> None:
    assert (await browser_login(client)).status_code == 200
    await User.objects.using(app_db).all().delete()  # the identity row stays behind
    # Someone else registers and may get the freed id (SQLite reuses the largest id).
    other = await User.create_user("grace@example.com", "Password1", db=app_db)

    response = await browser_login(client)

    assert response.status_code == 200, response.text
    me = await client.get(
        f"{API}/auth/me/", headers={"Authorization": f"Bearer {response.json()['access_token']}"}
    )
    assert me.json()["email"] == "ada@example.com"  # never grace's account
    identity = await OAuthIdentity.objects.using(app_db).get(provider="test")
    assert identity.user_id != other.id
    assert await counts(app_db) == (2, 1)


async def test_a_second_provider_identity_for_the_same_person(
    app, client: httpx.AsyncClient, app_db, provider: Provider
) -> None:
    """Another subject with the same verified email is another identity: a 409 by default."""
    assert (await browser_login(client)).status_code == 200
    provider.state.user.sub = "user-2"

    assert (await browser_login(client)).status_code == 409
    configure(app, oauth_link_existing_accounts=True)
    assert (await browser_login(client)).status_code == 200
    assert await counts(app_db) == (1, 2)


async def test_the_same_first_login_at_once_makes_one_account(
    client: httpx.AsyncClient, app_db, oauth_provider
) -> None:
    """Concurrent first logins (double-clicked callback, two devices): one user, one identity."""
    backend = OAuthBackend(Settings())
    profile = OAuthProfile(subject="user-9", email="zoe@example.com", email_verified=True)

    users = await asyncio.gather(
        *(backend.user_for_profile(app_db, oauth_provider, profile) for _ in range(8))
    )

    assert len({user.id for user in users}) == 1
    assert await counts(app_db) == (1, 1)
