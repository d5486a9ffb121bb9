"""Users, groups and permissions in the database, plus revoked tokens and API keys.

`AbstractUser` and `PermissionsMixin` are abstract: a project's one concrete user model
(`class User(AbstractUser, PermissionsMixin)`) supplies the table. `Group`, `Permission`,
`RevokedToken`, `APIKey` and `OAuthIdentity` are the framework's own tables.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from typing import Any, ClassVar, Self

from tortoise import Tortoise, fields
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from core.auth.hashers import (
    acheck_password,
    amake_password,
    arun_dummy_hash,
    check_password,
    is_password_usable,
    make_unusable_password,
    password_bytes,
)
from core.config import get_settings
from core.datetime import DateTime, timezone
from core.exceptions import ImproperlyConfigured
from core.models import Field, Mapped, Model

#: Fields `create_user` refuses, so registration input can never grant privileges by accident.
PRIVILEGED_FIELDS = frozenset({"is_superuser", "is_staff", "is_active"})


class PermissionsNotLoaded(RuntimeError):
    """A synchronous permission or group check ran before the permissions were loaded.

    Permissions load only when something needs them (never during request authentication):
    `await user.load_permissions(db)` first, or use the async checks (`await user.ahas_perm(...)`),
    which load them once. A check never answers False because nothing was loaded.
    """


def normalize_email(email: str) -> str:
    """Emails are unique case-insensitively: stored and looked up trimmed and lower-cased."""
    return email.strip().lower()


class Permission(Model):
    """A named permission, `"app.action"` style (`"posts.delete"`)."""

    __tablename__ = "auth_permissions"

    id: Mapped[int] = Field.pk()
    codename: Mapped[str] = Field.string(max_length=150, unique=True)
    name: Mapped[str] = Field.string(max_length=255, default="")
    description: Mapped[str | None] = Field.text(nullable=True)

    def __str__(self) -> str:
        return self.codename

    @classmethod
    async def get_or_create(  # type: ignore[override]
        cls,
        codename: str,
        name: str = "",
        description: str | None = None,
        db: BaseDBAsyncClient | None = None,
    ) -> Self:
        """The permission `codename`, created with `name`/`description` if it does not exist."""
        permission = await cls.objects.using(db).get_or_none(codename=codename)
        if permission is not None:
            return permission
        try:
            return await cls.create(
                codename=codename, name=name, description=description, using_db=db
            )
        except IntegrityError:  # created concurrently
            return await cls.objects.using(db).get(codename=codename)


class Group(Model):
    """A named set of permissions users can be added to."""

    __tablename__ = "auth_groups"

    id: Mapped[int] = Field.pk()
    name: Mapped[str] = Field.string(max_length=150, unique=True)
    permissions: fields.ManyToManyRelation[Permission] = fields.ManyToManyField(
        "models.Permission", related_name="groups", through="auth_group_permissions"
    )

    _permission_cache: set[str] | None

    def __str__(self) -> str:
        return self.name

    @classmethod
    async def get_or_create(  # type: ignore[override]
        cls, name: str, db: BaseDBAsyncClient | None = None
    ) -> Self:
        """The group called `name` (created if missing), its permissions loaded."""
        group = await cls.objects.using(db).get_or_none(name=name)
        if group is None:
            try:
                group = await cls.create(name=name, using_db=db)
            except IntegrityError:
                group = await cls.objects.using(db).get(name=name)
        await group.load_permissions(db)
        return group

    async def load_permissions(self, db: BaseDBAsyncClient | None = None) -> set[str]:
        """Read this group's permission codenames, for the synchronous `has_permission`."""
        codenames = await self.permissions.all().using_db(db).values_list("codename", flat=True)
        self._permission_cache = {str(c) for c in codenames}
        return set(self._permission_cache)

    def has_permission(self, codename: str) -> bool:
        """Whether the group grants `codename` (as loaded by get_or_create/load_permissions)."""
        return codename in self._loaded_permissions()

    def get_permissions(self) -> set[str]:
        return set(self._loaded_permissions())

    def _loaded_permissions(self) -> set[str]:
        cache = getattr(self, "_permission_cache", None)
        if cache is None:
            raise PermissionsNotLoaded(
                f"permissions of group {self.name!r} are not loaded; "
                "await group.load_permissions(db) first"
            )
        return cache

    async def add_permission(self, codename: str, db: BaseDBAsyncClient | None = None) -> None:
        permission = await Permission.get_or_create(codename, db=db)
        if not await self.permissions.filter(id=permission.id).using_db(db).exists():
            await self.permissions.add(permission, using_db=db)
        await self.load_permissions(db)

    async def remove_permission(self, codename: str, db: BaseDBAsyncClient | None = None) -> None:
        permission = await Permission.objects.using(db).get_or_none(codename=codename)
        if permission is not None:
            await self.permissions.remove(permission, using_db=db)
        await self.load_permissions(db)

    async def set_permissions(
        self, codenames: Iterable[str], db: BaseDBAsyncClient | None = None
    ) -> None:
        """Make `codenames` exactly this group's permissions."""
        wanted = [await Permission.get_or_create(c, db=db) for c in dict.fromkeys(codenames)]
        await self.permissions.clear(using_db=db)
        if wanted:
            await self.permissions.add(*wanted, using_db=db)
        await self.load_permissions(db)


class AbstractUser(Model):
    """Identity and password: email login, flags, join and login times.

    The password is hashed off the event loop: `set_password` records the new password and
    `save(db)` hashes it, or `await user.aset_password(...)` hashes at once.
    """

    id: Mapped[int] = Field.pk()
    email: Mapped[str] = Field.string(max_length=255, unique=True)
    password_hash: Mapped[str] = Field.string(max_length=255, default=make_unusable_password)
    first_name: Mapped[str] = Field.string(max_length=150, default="")
    last_name: Mapped[str] = Field.string(max_length=150, default="")
    is_active: Mapped[bool] = Field.boolean(default=True)
    is_staff: Mapped[bool] = Field.boolean(default=False)
    is_superuser: Mapped[bool] = Field.boolean(default=False)
    date_joined: Mapped[DateTime] = Field.datetime(auto_now_add=True)
    last_login: Mapped[DateTime | None] = Field.datetime(nullable=True)
    password_changed_at: Mapped[DateTime | None] = Field.datetime(nullable=True)

    USERNAME_FIELD: ClassVar[str] = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    _pending_password: str | None

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.email

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    # Passwords -------------------------------------------------------------------------

    def set_password(self, raw_password: str) -> None:
        """Change the password; it is hashed (off the event loop) by the next `save(db)`."""
        self._pending_password = raw_password

    async def aset_password(self, raw_password: str) -> None:
        """Hash and set the password now (off the event loop); `save(db)` stores it."""
        self._apply_password_hash(await amake_password(raw_password))

    def _apply_password_hash(self, encoded: str) -> None:
        self.password_hash = encoded
        self.password_changed_at = timezone.now()
        self._pending_password = None

    def set_unusable_password(self) -> None:
        """No password will ever match (accounts created through OAuth or LDAP)."""
        self._pending_password = None
        self.password_hash = make_unusable_password()

    def has_usable_password(self) -> bool:
        return self._pending_password_or_none() is not None or is_password_usable(
            self.password_hash
        )

    def check_password(self, raw_password: str) -> bool:
        """Verify `raw_password` (synchronous, as in the guide; in async code prefer `acheck_password`)."""
        pending = self._pending_password_or_none()
        if pending is not None:
            return hmac.compare_digest(password_bytes(pending), password_bytes(raw_password))
        valid, _ = check_password(raw_password, self.password_hash)
        return valid

    async def acheck_password(self, raw_password: str) -> bool:
        """Verify `raw_password` off the event loop."""
        pending = self._pending_password_or_none()
        if pending is not None:
            return hmac.compare_digest(password_bytes(pending), password_bytes(raw_password))
        valid, _ = await acheck_password(raw_password, self.password_hash)
        return valid

    def _pending_password_or_none(self) -> str | None:
        return getattr(self, "_pending_password", None)

    async def save(
        self,
        using_db: BaseDBAsyncClient | None = None,
        update_fields: Iterable[str] | None = None,
        force_create: bool = False,
        force_update: bool = False,
    ) -> None:
        """Save, first hashing a password given to `set_password` and normalising the email."""
        pending = self._pending_password_or_none()
        if pending is not None:
            self._apply_password_hash(await amake_password(pending))
            if update_fields is not None:
                update_fields = {*update_fields, "password_hash", "password_changed_at"}
        if isinstance(self.email, str):
            self.email = normalize_email(self.email)
        await super().save(using_db, update_fields, force_create, force_update)

    # Creating and finding users --------------------------------------------------------

    @classmethod
    async def create_user(
        cls, email: str, password: str | None, db: BaseDBAsyncClient | None = None, **extra: Any
    ) -> Self:
        """A new active user; `is_superuser`, `is_staff` and `is_active` cannot be passed."""
        refused = PRIVILEGED_FIELDS & extra.keys()
        if refused:
            raise ValueError(
                f"create_user() does not set {', '.join(sorted(refused))}; "
                "use create_superuser() or set the flag explicitly after creating the user"
            )
        return await cls._create(email, password, db, extra)

    @classmethod
    async def create_superuser(
        cls, email: str, password: str | None, db: BaseDBAsyncClient | None = None, **extra: Any
    ) -> Self:
        """A new active staff superuser."""
        extra.update(is_staff=True, is_superuser=True, is_active=True)
        return await cls._create(email, password, db, extra)

    @classmethod
    async def _create(
        cls, email: str, password: str | None, db: BaseDBAsyncClient | None, extra: dict[str, Any]
    ) -> Self:
        unknown = set(extra) - set(cls._meta.fields_map)
        if unknown:
            raise ValueError(f"{cls.__name__} has no field(s) {', '.join(sorted(unknown))}")
        user = cls(email=normalize_email(email), **extra)
        if password is None:
            user.set_unusable_password()
        else:
            await user.aset_password(password)
        await user.save(db)
        user._set_permission_caches(set(), [])
        return user

    @classmethod
    async def get_by_email(cls, email: str, db: BaseDBAsyncClient | None = None) -> Self | None:
        if not isinstance(email, str):
            return None
        return await cls.objects.using(db).get_or_none(email=normalize_email(email))

    @classmethod
    async def authenticate(
        cls, email: str, password: str, db: BaseDBAsyncClient | None = None
    ) -> Self | None:
        """The active user with this email and password, else None.

        The password hasher runs exactly once whether or not the email exists, and an unknown
        email, a wrong password and an inactive account look the same to the caller. On success
        an outdated hash is upgraded, `last_login` is set, and groups and permissions are loaded
        (a login, not a per-request path: the sync checks work on the user it returns).
        """
        user = await cls.get_by_email(email, db) if isinstance(email, str) else None
        if user is None or not isinstance(password, str):
            await arun_dummy_hash(password if isinstance(password, str) else "")
            return None
        valid, needs_upgrade = await acheck_password(password, user.password_hash)
        if not valid or not user.is_active:
            return None
        update = ["last_login"]
        user.last_login = timezone.now()
        if needs_upgrade:
            user.password_hash = await amake_password(password)
            update.append("password_hash")
        await (
            cls.objects.using(db)
            .filter(id=user.id)
            .update(**{name: getattr(user, name) for name in update})
        )
        await user.load_permissions(db)
        return user

    # Permissions (PermissionsMixin overrides load_permissions) ------------------------
    #
    # Groups and permissions load lazily: request authentication never reads them. The
    # async checks load them once per instance; the sync checks need `load_permissions` (or
    # `authenticate`, `create_user`, `add_to_group`, ... which load them) and raise
    # PermissionsNotLoaded otherwise. As in Django, an inactive user has no permissions and an
    # active superuser has every one: those two answers need nothing loaded.

    async def load_permissions(self, db: BaseDBAsyncClient | None = None) -> None:
        """Load groups and permissions for the synchronous checks (PermissionsMixin reads them)."""
        load = getattr(super(), "load_permissions", None)
        if load is None:
            self._set_permission_caches(set(), [])
        else:
            await load(db)

    def _set_permission_caches(self, permissions: set[str], groups: list[str]) -> None:
        self._perm_cache = permissions
        self._group_cache = groups

    @property
    def permissions_loaded(self) -> bool:
        """Whether groups and permissions are loaded (the sync checks can answer)."""
        return getattr(self, "_perm_cache", None) is not None

    async def _ensure_permissions(self, db: BaseDBAsyncClient | None) -> None:
        if not self.permissions_loaded:
            await self.load_permissions(db)

    def _loaded_permissions(self) -> set[str]:
        cache: set[str] | None = getattr(self, "_perm_cache", None)
        if cache is None:
            raise self._not_loaded()
        return cache

    def _loaded_groups(self) -> list[str]:
        cache: list[str] | None = getattr(self, "_group_cache", None)
        if cache is None:
            raise self._not_loaded()
        return cache

    def _not_loaded(self) -> PermissionsNotLoaded:
        return PermissionsNotLoaded(
            f"groups and permissions of user {self.pk!r} are not loaded; "
            "await user.load_permissions(db) first, or use the async checks "
            "(await user.ahas_perm(...), ais_in_group(...), ...)"
        )

    def _answers_without_loading(self) -> bool | None:
        """False for an inactive user, True for an active superuser, None: look it up."""
        if not self.is_active:
            return False
        if self.is_superuser:
            return True
        return None

    def has_perm(self, codename: str) -> bool:
        """Superusers have every permission; inactive users none (needs loaded permissions)."""
        known = self._answers_without_loading()
        if known is not None:
            return known
        return codename in self._loaded_permissions()

    def has_perms(self, codenames: Iterable[str]) -> bool:
        """Whether the user has every one of `codenames`."""
        known = self._answers_without_loading()
        if known is not None:
            return known
        loaded = self._loaded_permissions()
        return all(codename in loaded for codename in codenames)

    def get_all_permissions(self) -> set[str]:
        """Every codename the user holds, directly or through groups (empty when inactive)."""
        if not self.is_active:
            return set()
        return set(self._loaded_permissions())

    def is_in_group(self, name: str) -> bool:
        return name in self._loaded_groups()

    def get_group_names(self) -> list[str]:
        return list(self._loaded_groups())

    async def ahas_perm(self, codename: str, db: BaseDBAsyncClient | None = None) -> bool:
        """`has_perm`, loading the permissions first if needed (once per instance)."""
        if self._answers_without_loading() is None:
            await self._ensure_permissions(db)
        return self.has_perm(codename)

    async def ahas_perms(
        self, codenames: Iterable[str], db: BaseDBAsyncClient | None = None
    ) -> bool:
        """`has_perms`, loading the permissions first if needed."""
        if self._answers_without_loading() is None:
            await self._ensure_permissions(db)
        return self.has_perms(codenames)

    async def aget_all_permissions(self, db: BaseDBAsyncClient | None = None) -> set[str]:
        """`get_all_permissions`, loading the permissions first if needed."""
        if self.is_active:
            await self._ensure_permissions(db)
        return self.get_all_permissions()

    async def ais_in_group(self, name: str, db: BaseDBAsyncClient | None = None) -> bool:
        """`is_in_group`, loading the groups first if needed."""
        await self._ensure_permissions(db)
        return self.is_in_group(name)

    async def aget_group_names(self, db: BaseDBAsyncClient | None = None) -> list[str]:
        """`get_group_names`, loading the groups first if needed."""
        await self._ensure_permissions(db)
        return self.get_group_names()

    def to_dict(self, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
        """Field values without the password hash."""
        return super().to_dict(exclude=(*exclude, "password_hash"))


class PermissionsMixin(Model):
    """Groups and direct permissions for a user model, loaded when a check needs them.

    For a user table `users`: `group.users`, `permission.users`, link tables `users_groups`
    and `users_permissions`.
    """

    groups: fields.ManyToManyRelation[Group] = fields.ManyToManyField(
        "models.Group", related_name="{table}", through="{table}_groups"
    )
    user_permissions: fields.ManyToManyRelation[Permission] = fields.ManyToManyField(
        "models.Permission", related_name="{table}", through="{table}_permissions"
    )

    class Meta:
        abstract = True

    async def load_permissions(self, db: BaseDBAsyncClient | None = None) -> None:
        """Read group names and every permission codename (direct and through groups)."""
        group_rows = await self.groups.all().using_db(db).values_list("id", "name")
        group_ids = [row[0] for row in group_rows]
        direct = await self.user_permissions.all().using_db(db).values_list("codename", flat=True)
        via_groups: list[Any] = []
        if group_ids:
            via_groups = (
                await Permission.objects.using(db)
                .filter(groups__id__in=group_ids)
                .distinct()
                .values_list("codename", flat=True)
            )
        self._perm_cache = {str(c) for c in (*direct, *via_groups)}
        self._group_cache = sorted(str(row[1]) for row in group_rows)

    async def add_to_group(self, name: str, db: BaseDBAsyncClient | None = None) -> None:
        """Add the user to group `name`, creating the group if it does not exist."""
        group = await Group.get_or_create(name, db=db)
        if not await self.groups.filter(id=group.id).using_db(db).exists():
            await self.groups.add(group, using_db=db)
        await self.load_permissions(db)

    async def remove_from_group(self, name: str, db: BaseDBAsyncClient | None = None) -> None:
        group = await Group.objects.using(db).get_or_none(name=name)
        if group is not None:
            await self.groups.remove(group, using_db=db)
        await self.load_permissions(db)

    async def set_groups(self, names: Iterable[str], db: BaseDBAsyncClient | None = None) -> None:
        """Make `names` exactly the user's groups."""
        groups = [await Group.get_or_create(name, db=db) for name in dict.fromkeys(names)]
        await self.groups.clear(using_db=db)
        if groups:
            await self.groups.add(*groups, using_db=db)
        await self.load_permissions(db)

    async def add_permission(self, codename: str, db: BaseDBAsyncClient | None = None) -> None:
        permission = await Permission.get_or_create(codename, db=db)
        if not await self.user_permissions.filter(id=permission.id).using_db(db).exists():
            await self.user_permissions.add(permission, using_db=db)
        await self.load_permissions(db)

    async def remove_permission(self, codename: str, db: BaseDBAsyncClient | None = None) -> None:
        permission = await Permission.objects.using(db).get_or_none(codename=codename)
        if permission is not None:
            await self.user_permissions.remove(permission, using_db=db)
        await self.load_permissions(db)

    async def set_permissions(
        self, codenames: Iterable[str], db: BaseDBAsyncClient | None = None
    ) -> None:
        """Make `codenames` exactly the user's direct permissions."""
        wanted = [await Permission.get_or_create(c, db=db) for c in dict.fromkeys(codenames)]
        await self.user_permissions.clear(using_db=db)
        if wanted:
            await self.user_permissions.add(*wanted, using_db=db)
        await self.load_permissions(db)


class RevokedToken(Model):
    """A revoked token's `jti` until the token would have expired anyway."""

    __tablename__ = "auth_revoked_tokens"

    id: Mapped[int] = Field.pk()
    jti: Mapped[str] = Field.string(max_length=64, unique=True)
    expires_at: Mapped[DateTime] = Field.datetime(index=True)
    revoked_at: Mapped[DateTime] = Field.datetime(auto_now_add=True)


class APIKey(Model):
    """An API key: only a prefix (to find it) and a SHA-256 digest of the whole key are stored."""

    __tablename__ = "auth_api_keys"

    id: Mapped[int] = Field.pk()
    user_id: Mapped[int] = Field.integer(index=True)
    name: Mapped[str] = Field.string(max_length=100, default="")
    prefix: Mapped[str] = Field.string(max_length=16, unique=True)
    key_hash: Mapped[str] = Field.string(max_length=64)
    is_active: Mapped[bool] = Field.boolean(default=True)
    created_at: Mapped[DateTime] = Field.datetime(auto_now_add=True)
    last_used_at: Mapped[DateTime | None] = Field.datetime(nullable=True)
    expires_at: Mapped[DateTime | None] = Field.datetime(nullable=True)


class OAuthIdentity(Model):
    """A user's account at an OAuth/OpenID provider: `(provider, subject)` logs in as `user_id`.

    `subject` is the provider's stable user id (OpenID's `sub`, GitHub's numeric id), never the
    email, which can change hands. `email` is what the provider last reported, for reference.
    """

    __tablename__ = "auth_oauth_identities"

    id: Mapped[int] = Field.pk()
    provider: Mapped[str] = Field.string(max_length=50)
    subject: Mapped[str] = Field.string(max_length=255)
    user_id: Mapped[int] = Field.integer(index=True)
    email: Mapped[str] = Field.string(max_length=255, default="")
    created_at: Mapped[DateTime] = Field.datetime(auto_now_add=True)
    last_login: Mapped[DateTime | None] = Field.datetime(nullable=True)

    class Meta:
        unique_together = (("provider", "subject"),)


def user_models(candidates: Iterable[type[Any]]) -> list[type[AbstractUser]]:
    """The concrete AbstractUser subclasses among `candidates`."""
    return [
        model
        for model in candidates
        if isinstance(model, type) and issubclass(model, AbstractUser) and not model._meta.abstract
    ]


#: The last answer of `get_user_model`: (Tortoise's Apps, USER_MODEL, the model). A new
#: Tortoise.init makes a new Apps object, which is how the cache notices a re-initialised ORM.
_user_model_cache: tuple[object, str | None, type[AbstractUser]] | None = None


def get_user_model() -> type[AbstractUser]:
    """The project's user model: the one installed concrete AbstractUser (`USER_MODEL` picks one).

    Looked up once per ORM start and USER_MODEL value, then cached.
    """
    global _user_model_cache
    apps = Tortoise.apps
    wanted = get_settings().user_model
    cached = _user_model_cache
    if cached is not None and cached[0] is apps and cached[1] == wanted:
        return cached[2]
    model = _find_user_model(apps, wanted)
    if apps is not None:
        _user_model_cache = (apps, wanted, model)
    return model


def reset_user_model_cache() -> None:
    """Forget the cached user model (test isolation; a new ORM start does this by itself)."""
    global _user_model_cache
    _user_model_cache = None


def _find_user_model(apps: Any, wanted: str | None) -> type[AbstractUser]:
    found = user_models(apps.get_models_iterable() if apps is not None else ())
    if wanted:
        name = wanted.rsplit(".", 1)[-1]
        matches = [
            m for m in found if m.__name__ == name or f"{m.__module__}.{m.__name__}" == wanted
        ]
        if not matches:
            raise ImproperlyConfigured(f"USER_MODEL={wanted!r} is not an installed user model")
        return matches[0]
    if len(found) == 1:
        return found[0]
    if not found:
        raise ImproperlyConfigured(
            "no user model is installed: define `class User(AbstractUser, PermissionsMixin)` "
            "in one of the project's models modules"
        )
    names = ", ".join(sorted(f"{m.__module__}.{m.__name__}" for m in found))
    raise ImproperlyConfigured(f"several user models are installed ({names}); set USER_MODEL")
