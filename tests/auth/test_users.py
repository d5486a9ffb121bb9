"""The guide's "Custom User Model" and "Groups and Permissions in Database" sections, as written."""

from __future__ import annotations

import pytest
from tortoise.exceptions import IntegrityError

from core.auth import (
    AbstractUser,
    FastTestHasher,
    Group,
    Permission,
    PermissionsMixin,
    PermissionsNotLoaded,
    get_user_model,
    make_password,
    register_password_hasher,
    set_default_password_hasher,
)
from tests.auth.conftest import CountingHasher
from tests.example_models import User
from tests.helpers import count_queries


async def test_create_user_and_superuser(db) -> None:
    user = await User.create_user(
        email="User@Example.com", password="password123", db=db, name="user"
    )
    assert user.email == "user@example.com"
    assert user.is_active and not user.is_staff and not user.is_superuser
    assert user.password_hash.startswith("fast_test$")
    assert "password123" not in user.password_hash
    assert user.date_joined is not None and user.last_login is None

    admin = await User.create_superuser(email="admin@example.com", password="password123", db=db)
    assert admin.is_superuser and admin.is_staff and admin.is_active


@pytest.mark.parametrize("flag", ["is_superuser", "is_staff", "is_active"])
async def test_create_user_refuses_privilege_flags(db, flag: str) -> None:
    with pytest.raises(ValueError, match=flag):
        await User.create_user(email="x@example.com", password="pw", db=db, **{flag: True})
    assert await User.objects.using(db).count() == 0


async def test_create_user_refuses_unknown_fields(db) -> None:
    with pytest.raises(ValueError, match="no field"):
        await User.create_user(email="x@example.com", password="pw", db=db, shoe_size=44)


async def test_email_is_unique_case_insensitively(db) -> None:
    await User.create_user(email="same@example.com", password="pw", db=db)
    with pytest.raises(IntegrityError):
        await User.create_user(email="SAME@example.COM", password="pw", db=db)
    found = await User.get_by_email("  Same@Example.com ", db)
    assert found is not None and found.email == "same@example.com"
    assert await User.get_by_email("other@example.com", db) is None


async def test_authenticate_as_in_the_guide(db) -> None:
    await User.create_user(email="user@example.com", password="password123", db=db)

    user = await User.authenticate("user@example.com", "password123", db)
    assert user is not None
    assert user.last_login is not None
    stored = await User.objects.using(db).get(id=user.id)
    assert stored.last_login is not None

    assert await User.authenticate("user@example.com", "wrong", db) is None
    assert await User.authenticate("nobody@example.com", "password123", db) is None
    assert await User.authenticate("USER@example.com", "password123", db) is not None


async def test_inactive_user_and_corrupted_hash_fail_like_a_wrong_password(db) -> None:
    user = await User.create_user(email="off@example.com", password="pw12345678", db=db)
    user.is_active = False
    await user.save(db)
    assert await User.authenticate("off@example.com", "pw12345678", db) is None

    broken = await User.create_user(email="broken@example.com", password="pw12345678", db=db)
    for corrupted in ("", "fast_test$", "unknown_algo$1$2$3", "!", "pbkdf2_sha256$x$y$z"):
        await User.objects.using(db).filter(id=broken.id).update(password_hash=corrupted)
        assert await User.authenticate("broken@example.com", "pw12345678", db) is None


async def test_set_and_check_password(db) -> None:
    user = await User.create_user(email="pw@example.com", password="old-password", db=db)
    assert user.check_password("old-password")
    assert not user.check_password("new_password")

    user.set_password("new_password")
    assert user.check_password("new_password")  # before saving, too
    await user.save(db)
    assert user.password_hash.startswith("fast_test$")
    assert user.password_changed_at is not None

    reloaded = await User.objects.using(db).get(id=user.id)
    assert reloaded.check_password("new_password")
    assert await reloaded.acheck_password("new_password")
    assert not reloaded.check_password("old-password")
    assert await User.authenticate("pw@example.com", "new_password", db) is not None


async def test_unusable_password_never_matches(db) -> None:
    user = await User.create_user(email="oauth@example.com", password=None, db=db)
    assert not user.has_usable_password()
    assert not user.check_password("")
    assert await User.authenticate("oauth@example.com", "", db) is None
    user.set_unusable_password()
    await user.save(db)
    assert not user.check_password("anything")


async def test_hash_is_upgraded_on_successful_login_only(db) -> None:
    set_default_password_hasher("pbkdf2_sha256")
    register_password_hasher(FastTestHasher())  # still able to verify the old hashes
    await User.create_user(email="up@example.com", password="pw12345678", db=db)
    # The site moves to another default algorithm.
    from core.auth import PBKDF2Hasher

    register_password_hasher(PBKDF2Hasher(iterations=1000))
    set_default_password_hasher("fast_test")
    before = (await User.objects.using(db).get(email="up@example.com")).password_hash
    assert before.startswith("pbkdf2_sha256$")

    assert await User.authenticate("up@example.com", "wrong-password", db) is None
    after_failure = (await User.objects.using(db).get(email="up@example.com")).password_hash
    assert after_failure == before

    assert await User.authenticate("up@example.com", "pw12345678", db) is not None
    upgraded = (await User.objects.using(db).get(email="up@example.com")).password_hash
    assert upgraded.startswith("fast_test$")
    assert await User.authenticate("up@example.com", "pw12345678", db) is not None


async def test_login_runs_the_hasher_exactly_once_in_every_case(
    db, counting_hasher: CountingHasher
) -> None:
    await User.create_user(email="known@example.com", password="right-password", db=db)
    inactive = await User.create_user(email="off@example.com", password="right-password", db=db)
    inactive.is_active = False
    await inactive.save(db)

    cases = [
        ("unknown@example.com", "right-password", False),
        ("known@example.com", "wrong-password", False),
        ("off@example.com", "right-password", False),
        ("known@example.com", "right-password", True),
    ]
    for email, password, succeeds in cases:
        counting_hasher.calls = 0
        user = await User.authenticate(email, password, db)
        assert (user is not None) is succeeds, email
        assert counting_hasher.calls == 1, (email, password)


async def test_permission_methods_as_in_the_guide(db) -> None:
    user = await User.create_user(
        email="user@example.com", password="password123", db=db, name="user"
    )
    assert not user.has_perm("posts.delete")

    await user.add_to_group("editors", db)
    editors = await Group.get_or_create("editors", db=db)
    await editors.set_permissions(["posts.create", "posts.edit"], db)
    await user.load_permissions(db)  # group permissions changed behind the user's back

    assert user.is_in_group("editors")
    assert user.get_group_names() == ["editors"]
    assert user.has_perm("posts.create")
    assert user.has_perms(["posts.create", "posts.edit"])
    assert not user.has_perms(["posts.create", "posts.delete"])

    await user.add_permission("posts.delete", db)
    assert user.has_perm("posts.delete")
    assert user.get_all_permissions() == {"posts.create", "posts.edit", "posts.delete"}

    await user.remove_permission("posts.delete", db)
    assert not user.has_perm("posts.delete")

    await user.set_permissions(["posts.create", "posts.publish"], db)
    assert user.get_all_permissions() == {"posts.create", "posts.edit", "posts.publish"}

    await user.set_groups(["editors", "moderators"], db)
    assert user.get_group_names() == ["editors", "moderators"]
    await user.remove_from_group("editors", db)
    assert user.get_group_names() == ["moderators"]
    assert user.get_all_permissions() == {"posts.create", "posts.publish"}

    # A freshly fetched user sees the same thing once loaded.
    fresh = await User.objects.using(db).get(id=user.id)
    await fresh.load_permissions(db)
    assert fresh.get_all_permissions() == {"posts.create", "posts.publish"}
    assert fresh.get_group_names() == ["moderators"]


async def test_superusers_have_every_permission_and_inactive_users_none(db) -> None:
    admin = await User.create_superuser(email="admin@example.com", password="pw", db=db)
    assert admin.has_perm("anything.at_all")
    assert admin.has_perms(["a.b", "c.d"])
    admin.is_active = False
    assert not admin.has_perm("anything.at_all")


SYNC_CHECKS = {
    "has_perm": lambda user: user.has_perm("posts.create"),
    "has_perms": lambda user: user.has_perms(["posts.create"]),
    "get_all_permissions": lambda user: user.get_all_permissions(),
    "is_in_group": lambda user: user.is_in_group("editors"),
    "get_group_names": lambda user: user.get_group_names(),
}


async def fetched_editor(db) -> User:
    """An editor (posts.create through `editors`) as any query other than authenticate finds it."""
    user = await User.create_user(email="editor@example.com", password="pw", db=db)
    await user.add_to_group("editors", db)
    await (await Group.get_or_create("editors", db=db)).add_permission("posts.create", db)
    return await User.objects.using(db).get(id=user.id)


@pytest.mark.parametrize("check", SYNC_CHECKS.values(), ids=SYNC_CHECKS.keys())
async def test_sync_checks_on_a_user_whose_permissions_are_not_loaded_raise(db, check) -> None:
    fetched = await fetched_editor(db)
    assert not fetched.permissions_loaded
    with pytest.raises(PermissionsNotLoaded, match=r"await user\.load_permissions\(db\)"):
        check(fetched)
    await fetched.load_permissions(db)
    assert check(fetched) in (True, {"posts.create"}, ["editors"])


async def test_the_async_checks_load_once_then_answer(db) -> None:
    fetched = await fetched_editor(db)
    with count_queries() as statements:
        assert await fetched.ahas_perm("posts.create", db)
    assert len(statements) == 3, statements  # groups, direct permissions, groups' permissions
    with count_queries() as statements:
        assert not await fetched.ahas_perm("posts.delete", db)
        assert await fetched.ahas_perms(["posts.create"], db)
        assert await fetched.aget_all_permissions(db) == {"posts.create"}
        assert await fetched.ais_in_group("editors", db)
        assert not await fetched.ais_in_group("admins", db)
        assert await fetched.aget_group_names(db) == ["editors"]
    assert statements == []
    assert fetched.has_perm("posts.create")  # the sync checks answer from then on

    for name, call in {
        "ais_in_group": lambda user: user.ais_in_group("editors", db),
        "aget_group_names": lambda user: user.aget_group_names(db),
        "ahas_perms": lambda user: user.ahas_perms(["posts.create"], db),
        "aget_all_permissions": lambda user: user.aget_all_permissions(db),
    }.items():
        again = await User.objects.using(db).get(id=fetched.id)
        assert await call(again) in (True, {"posts.create"}, ["editors"]), name
        assert again.permissions_loaded, name


async def test_inactive_users_and_superusers_answer_permission_checks_without_loading(db) -> None:
    """As in Django: inactive users hold no permission, active superusers every one."""
    fetched = await fetched_editor(db)
    fetched.is_superuser = True
    with count_queries() as statements:
        assert fetched.has_perm("anything.at_all") and await fetched.ahas_perm("x.y", db)
        assert fetched.has_perms(["a.b"]) and await fetched.ahas_perms(["a.b"], db)
    assert statements == []
    with pytest.raises(PermissionsNotLoaded):
        fetched.is_in_group("editors")  # membership is a fact to look up, superuser or not
    with pytest.raises(PermissionsNotLoaded):
        fetched.get_all_permissions()
    fetched.is_active = False
    with count_queries() as statements:
        assert not fetched.has_perm("posts.create")
        assert not await fetched.ahas_perm("posts.create", db)
        assert fetched.get_all_permissions() == set()
        assert await fetched.aget_all_permissions(db) == set()
    assert statements == []


async def test_a_group_whose_permissions_are_not_loaded_raises_the_same_error(db) -> None:
    await Group.get_or_create("editors", db=db)
    group = await Group.objects.using(db).get(name="editors")
    with pytest.raises(PermissionsNotLoaded, match=r"group\.load_permissions\(db\)"):
        group.has_permission("posts.create")
    assert issubclass(PermissionsNotLoaded, RuntimeError)  # what Group raised before


async def test_groups_and_permissions_in_database_as_in_the_guide(db) -> None:
    # Create group
    editors = await Group.get_or_create("editors", db=db)

    # Add permissions to group
    await editors.add_permission("posts.create", db)
    await editors.add_permission("posts.edit", db)
    await editors.add_permission("posts.delete", db)
    assert editors.has_permission("posts.delete")

    # Or set all at once
    await editors.set_permissions(
        [
            "posts.create",
            "posts.edit",
            "posts.delete",
            "comments.moderate",
        ],
        db,
    )

    # Check group permission
    assert editors.has_permission("posts.delete")
    assert editors.has_permission("comments.moderate")
    await editors.remove_permission("posts.delete", db)
    assert not editors.has_permission("posts.delete")

    # Create permission
    perm = await Permission.get_or_create(
        codename="posts.feature",
        name="Can feature posts",
        description="Allows featuring posts on homepage",
        db=db,
    )
    assert perm.name == "Can feature posts"
    again = await Permission.get_or_create(codename="posts.feature", db=db)
    assert again.id == perm.id and again.name == "Can feature posts"
    assert (await Group.get_or_create("editors", db=db)).id == editors.id
    assert await Group.objects.using(db).count() == 1


def test_the_user_model_is_the_installed_abstract_user() -> None:
    assert issubclass(User, AbstractUser) and issubclass(User, PermissionsMixin)
    fields = User._meta.fields_map
    for name in (
        "id",
        "email",
        "password_hash",
        "is_active",
        "is_staff",
        "is_superuser",
        "date_joined",
        "last_login",
        "groups",
        "user_permissions",
    ):
        assert name in fields, name
    assert User.USERNAME_FIELD == "email"


async def test_get_user_model_finds_the_one_concrete_user(db) -> None:
    assert get_user_model() is User


async def test_the_guides_custom_user_model() -> None:
    from core.testing import isolated_database
    from tests.auth.guide_user_models import GuideUser

    async with isolated_database(models=["tests.auth.guide_user_models"]) as db:
        assert get_user_model() is GuideUser
        # Create user
        user = await GuideUser.create_user(
            email="user@example.com",
            password="password123",
            db=db,
            username="user",
            phone="+1234567890",
        )
        # Create superuser
        admin = await GuideUser.create_superuser(
            email="admin@example.com",
            password="password123",
            db=db,
            username="admin",
        )
        assert admin.is_superuser
        # Authenticate
        found = await GuideUser.authenticate("user@example.com", "password123", db)
        assert found is not None and found.id == user.id and found.phone == "+1234567890"
        assert "password_hash" not in found.to_dict()
        assert make_password("x").startswith("fast_test$")


@pytest.mark.parametrize("password", ["\ud800", "Str0ng\udfffPassword", "\x00"])
async def test_authenticate_costs_one_hash_for_known_and_unknown_emails_whatever_the_password(
    db, counting_hasher: CountingHasher, password: str
) -> None:
    """A password no encoder accepts used to fail only on the dummy hash (unknown email)."""
    await User.create_user("known@example.com", "Password1", db=db)
    counting_hasher.calls = 0
    assert await User.authenticate("known@example.com", password, db) is None
    assert counting_hasher.calls == 1
    assert await User.authenticate("unknown@example.com", password, db) is None
    assert counting_hasher.calls == 2
