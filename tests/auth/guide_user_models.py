"""The guide's "Extending AbstractUser" example, installed alone by one test."""

from __future__ import annotations

from core import Field, Mapped
from core.auth import AbstractUser, PermissionsMixin
from core.datetime import DateTime


class GuideUser(AbstractUser, PermissionsMixin):
    """The guide's "Extending AbstractUser" example (no SQLAlchemy relationship)."""

    __tablename__ = "guide_users"

    username: Mapped[str] = Field.string(max_length=50, unique=True)
    phone: Mapped[str | None] = Field.string(max_length=20, nullable=True)
    avatar_url: Mapped[str | None] = Field.string(max_length=500, nullable=True)
    bio: Mapped[str | None] = Field.text(nullable=True)
    birth_date: Mapped[DateTime | None] = Field.datetime(nullable=True)

    USERNAME_FIELD = "email"  # Field used for login
    REQUIRED_FIELDS = ["username"]  # Required fields besides email
