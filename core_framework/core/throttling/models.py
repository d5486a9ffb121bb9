"""The database throttle store's table: one fixed-window counter per throttle key."""

from __future__ import annotations

from core.models import Field, Mapped, Model


class ThrottleBucket(Model):
    """`hits` requests counted for `bucket_key` in the window that ends at `window_ends`.

    `window_ends` is a Unix time in seconds (the app servers' clocks, which must agree to
    within a second or so). Expired rows are reused in place or pruned by the store.
    """

    __tablename__ = "throttle_buckets"

    id: Mapped[int] = Field.pk(big=True)
    bucket_key: Mapped[str] = Field.string(max_length=191, unique=True)
    hits: Mapped[int] = Field.integer(default=0)
    window_ends: Mapped[float] = Field.float_(index=True)
