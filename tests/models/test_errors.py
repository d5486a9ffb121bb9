"""ORM errors the views layer maps to 4xx: missing rows, unknown lookups, unique violations."""

from __future__ import annotations

import pytest
from tortoise.exceptions import DoesNotExist as TortoiseDoesNotExist
from tortoise.exceptions import FieldError

from core.models import IntegrityError, MultipleObjectsReturned
from tests.example_models import Post, User


async def test_get_of_a_missing_row_raises_the_models_does_not_exist(db) -> None:
    with pytest.raises(Post.DoesNotExist) as error:
        await Post.objects.using(db).get(id=12345)
    assert isinstance(error.value, TortoiseDoesNotExist)
    assert "Post" in str(error.value)
    with pytest.raises(Post.DoesNotExist):
        await Post.get(id=12345, using_db=db)
    assert not issubclass(Post.DoesNotExist, User.DoesNotExist)


async def test_get_of_several_rows_raises_multiple_objects_returned(db) -> None:
    await User.create(email="a@example.com", name="same", using_db=db)
    await User.create(email="b@example.com", name="same", using_db=db)
    with pytest.raises(User.MultipleObjectsReturned) as error:
        await User.objects.using(db).get(name="same")
    assert isinstance(error.value, MultipleObjectsReturned)


@pytest.mark.parametrize("lookup", ["nope", "title__nope", "views__gt"])
async def test_an_unknown_lookup_names_the_field(db, lookup: str) -> None:
    with pytest.raises(FieldError) as error:
        await Post.objects.using(db).filter(**{lookup: 1}).all()
    assert lookup in str(error.value)


async def test_a_unique_violation_is_an_integrity_error_and_writes_nothing(db) -> None:
    author = await User.create(email="dup@example.com", using_db=db)
    await Post.create(title="One", slug="same", content="", author=author, using_db=db)
    with pytest.raises(IntegrityError):
        await Post(title="Two", slug="same", content="", author_id=author.id).save(db)
    titles = await Post.objects.using(db).values_list("title", flat=True)
    assert titles == ["One"]


async def test_a_missing_foreign_key_target_is_an_integrity_error(db) -> None:
    with pytest.raises(IntegrityError):
        await Post(title="Orphan", slug="orphan", content="", author_id=999).save(db)
    assert await Post.objects.using(db).count() == 0
