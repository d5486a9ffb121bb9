"""The guide's "Serializers" section: PostInput/PostOutput/UserInput as written."""

from __future__ import annotations

import pytest
from pydantic import EmailStr, ValidationError, field_validator, model_validator

from core import InputSchema
from tests.example_models import Post, User
from tests.guide_app import PostInput, PostOutput  # the guide's schemas, as written


class UserInput(InputSchema):
    email: EmailStr
    password: str
    password_confirm: str

    @field_validator("password")
    @classmethod
    def validate_password(cls, v: str) -> str:
        if len(v) < 8:
            raise ValueError("Password must be at least 8 characters")
        if not any(c.isupper() for c in v):
            raise ValueError("Password must contain uppercase letter")
        if not any(c.isdigit() for c in v):
            raise ValueError("Password must contain digit")
        return v

    @model_validator(mode="after")
    def passwords_match(self) -> UserInput:
        if self.password != self.password_confirm:
            raise ValueError("Passwords do not match")
        return self


def test_post_input_validates_and_normalises_the_slug() -> None:
    data = PostInput.model_validate({"title": "Hi", "slug": "Hello-World", "content": "x"})
    assert data.slug == "hello-world"
    assert data.is_published is False
    with pytest.raises(ValidationError, match="Slug cannot contain spaces"):
        PostInput.model_validate({"title": "Hi", "slug": "has space", "content": "x"})
    with pytest.raises(ValidationError) as error:
        PostInput.model_validate({"title": 5, "content": "x"})
    fields = {tuple(e["loc"]) for e in error.value.errors()}
    assert fields == {("title",), ("slug",)}


def test_input_schema_drops_fields_it_does_not_declare() -> None:
    data = PostInput.model_validate(
        {"title": "t", "slug": "s", "content": "c", "id": 99, "views_count": 10**6}
    )
    assert data.model_dump() == {"title": "t", "slug": "s", "content": "c", "is_published": False}


async def test_post_output_reads_a_model_instance(db) -> None:
    author = await User.create(email="o@example.com", using_db=db)
    post = await Post.create(title="T", slug="t", content="c", author=author, using_db=db)
    output = PostOutput.model_validate(post)
    assert output.id == post.id
    assert output.created_at == post.created_at
    dumped = output.model_dump(mode="json")
    assert dumped["slug"] == "t" and dumped["views_count"] == 0
    assert "author_id" not in dumped


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Sh0rt", "at least 8 characters"),
        ("alllowercase1", "uppercase letter"),
        ("NoDigitsHere", "digit"),
    ],
)
def test_user_input_password_rules(password: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        UserInput.model_validate(
            {"email": "a@example.com", "password": password, "password_confirm": password}
        )


def test_user_input_email_and_confirmation() -> None:
    ok = UserInput.model_validate(
        {"email": "a@example.com", "password": "Passw0rdOK", "password_confirm": "Passw0rdOK"}
    )
    assert ok.email == "a@example.com"
    with pytest.raises(ValidationError, match="Passwords do not match"):
        UserInput.model_validate(
            {"email": "a@example.com", "password": "Passw0rdOK", "password_confirm": "other"}
        )
    with pytest.raises(ValidationError, match="email"):
        UserInput.model_validate(
            {"email": "not-an-email", "password": "Passw0rdOK", "password_confirm": "Passw0rdOK"}
        )
