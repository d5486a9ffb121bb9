"""The guide's PostViewSet over HTTP: every CRUD route, the actions, hooks and uniqueness."""

from __future__ import annotations

from core.datetime import isoformat
from core.testing import force_authenticate
from tests.example_models import Post
from tests.helpers import make_post

POSTS = "/api/v1/posts/"
ARTICLES = "/api/v1/articles/"


async def test_list_and_retrieve_are_open_to_anonymous_users(client, app_db, alice) -> None:
    post = await make_post(app_db, alice, is_published=True)
    listed = await client.get(POSTS)
    assert listed.status_code == 200
    body = listed.json()
    assert body["count"] == 1 and body["next"] is None and body["previous"] is None
    assert body["results"][0]["slug"] == "title"
    assert set(body["results"][0]) == {
        "id",
        "title",
        "slug",
        "content",
        "is_published",
        "views_count",
        "created_at",
        "updated_at",
    }
    detail = await client.get(f"{POSTS}{post.id}/")
    assert detail.status_code == 200
    assert detail.json()["id"] == post.id


async def test_create_update_partial_update_destroy(client, app_db, alice) -> None:
    force_authenticate(client, alice)
    created = await client.post(
        POSTS, json={"title": "Hello", "slug": "Hello-World", "content": "Body"}
    )
    assert created.status_code == 201, created.text
    data = created.json()
    assert data["slug"] == "hello-world"  # the schema's validator ran
    assert data["is_published"] is False and data["views_count"] == 0
    post = await Post.objects.using(app_db).get(id=data["id"])
    assert post.author_id == alice.id  # the owner field is set from the user

    replaced = await client.put(
        f"{POSTS}{post.id}/",
        json={"title": "New", "slug": "new", "content": "Other", "is_published": True},
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["title"] == "New" and replaced.json()["is_published"] is True

    patched = await client.patch(f"{POSTS}{post.id}/", json={"content": "Patched"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["content"] == "Patched"
    assert patched.json()["title"] == "New"  # untouched

    await alice.add_permission("posts.delete", app_db)
    deleted = await client.delete(f"{POSTS}{post.id}/")
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert not await Post.objects.using(app_db).filter(id=post.id).exists()
    assert (await client.get(f"{POSTS}{post.id}/")).status_code == 404


async def test_put_requires_every_field_and_patch_refuses_null(client, app_db, alice) -> None:
    force_authenticate(client, alice)
    post = await make_post(app_db, alice)
    incomplete = await client.put(f"{POSTS}{post.id}/", json={"title": "Only title"})
    assert incomplete.status_code == 422
    missing = {tuple(e["loc"]) for e in incomplete.json()["detail"]}
    assert missing == {("body", "slug"), ("body", "content")}

    null = await client.patch(f"{POSTS}{post.id}/", json={"title": None})
    assert null.status_code == 422
    assert (await Post.objects.using(app_db).get(id=post.id)).title == "Title"

    spaced = await client.patch(f"{POSTS}{post.id}/", json={"slug": "has space"})
    assert spaced.status_code == 422
    assert "Slug cannot contain spaces" in spaced.text


async def test_no_mass_assignment(client, app_db, alice, bob) -> None:
    force_authenticate(client, alice)
    created = await client.post(
        POSTS,
        json={
            "title": "T",
            "slug": "t",
            "content": "c",
            "id": 999,
            "views_count": 10**6,
            "author_id": bob.id,
            "created_at": "2000-01-01T00:00:00Z",
        },
    )
    assert created.status_code == 201
    post = await Post.objects.using(app_db).get(slug="t")
    assert post.id != 999
    assert post.views_count == 0
    assert post.author_id == alice.id
    assert post.created_at.year > 2000

    patched = await client.patch(
        f"{POSTS}{post.id}/", json={"views_count": 5, "author_id": bob.id, "id": 7}
    )
    assert patched.status_code == 200
    await post.refresh(app_db)
    assert (post.id, post.views_count, post.author_id) == (post.id, 0, alice.id)


async def test_unique_fields_are_checked_with_a_422_naming_the_field(client, app_db, alice) -> None:
    force_authenticate(client, alice)
    await make_post(app_db, alice, slug="taken")
    duplicate = await client.post(POSTS, json={"title": "T", "slug": "taken", "content": ""})
    assert duplicate.status_code == 422
    assert duplicate.json()["detail"][0]["loc"] == ["body", "slug"]
    assert "slug" in duplicate.json()["detail"][0]["msg"]

    mine = await make_post(app_db, alice, slug="mine")
    again = await client.put(
        f"{POSTS}{mine.id}/", json={"title": "T", "slug": "mine", "content": ""}
    )
    assert again.status_code == 200  # its own value is not a duplicate
    clash = await client.patch(f"{POSTS}{mine.id}/", json={"slug": "taken"})
    assert clash.status_code == 422
    assert await Post.objects.using(app_db).filter(slug="taken").count() == 1


async def test_the_guides_first_viewset_hooks_and_scoped_queryset(client, app_db, alice) -> None:
    hidden = await make_post(app_db, alice, slug="hidden", is_published=False)
    shown = await make_post(app_db, alice, slug="shown", is_published=True)
    listed = await client.get(ARTICLES)
    assert [p["slug"] for p in listed.json()["results"]] == ["shown"]
    assert (await client.get(f"{ARTICLES}{hidden.id}/")).status_code == 404
    assert (await client.get(f"{ARTICLES}{shown.id}/")).status_code == 200

    force_authenticate(client, alice)
    created = await client.post(
        ARTICLES, json={"title": "My Great Post", "slug": "ignored", "content": "x"}
    )
    assert created.status_code == 201
    assert created.json()["slug"] == "my-great-post"  # perform_create_validation


async def test_actions_as_in_the_guide(client, app_db, alice) -> None:
    post = await make_post(app_db, alice, title="Draft", views_count=150)
    other = await make_post(app_db, alice, slug="popular", views_count=500, is_published=True)

    anonymous = await client.post(f"{POSTS}{post.id}/publish/")
    assert anonymous.status_code == 401

    force_authenticate(client, alice)
    published = await client.post(f"{POSTS}{post.id}/publish/")
    assert published.status_code == 200
    assert published.json() == {"message": "Post 'Draft' published", "is_published": True}
    assert (await Post.objects.using(app_db).get(id=post.id)).is_published is True

    featured = await client.get(f"{POSTS}featured/")
    assert featured.status_code == 200
    assert [p["slug"] for p in featured.json()] == ["popular", "title"]

    unpublished = await client.post(f"{POSTS}{post.id}/unpublish/")
    assert unpublished.json()["is_published"] is False

    stats = await client.get(f"{POSTS}{other.id}/stats/")
    assert stats.status_code == 200
    assert stats.json()["views_count"] == 500
    assert stats.json()["created_at"] == isoformat(other.created_at)  # `Z`, as schemas write it

    missing = await client.post(f"{POSTS}99999/publish/")
    assert missing.status_code == 404


async def test_action_with_declared_schemas_validates_and_serializes(client, app_db, alice) -> None:
    force_authenticate(client, alice)
    bad = await client.post(f"{POSTS}bulk-title/", json={"current_password": "x"})
    assert bad.status_code == 422
    made = await client.post(
        f"{POSTS}bulk-title/", json={"current_password": "From action", "new_password": "act"}
    )
    assert made.status_code == 201
    assert made.json()["title"] == "From action" and made.json()["slug"] == "act"
    assert set(made.json()) >= {"id", "created_at", "views_count"}


async def test_read_only_viewset_has_only_list_and_retrieve(client, app_db, alice) -> None:
    post = await make_post(app_db, alice, is_published=True)
    await make_post(app_db, alice, slug="draft", is_published=False)
    listed = await client.get("/api/v1/public-posts/")
    assert [p["id"] for p in listed.json()["results"]] == [post.id]
    assert (await client.get(f"/api/v1/public-posts/{post.id}/")).status_code == 200

    force_authenticate(client, alice)
    assert (await client.post("/api/v1/public-posts/", json={})).status_code == 405
    assert (await client.delete(f"/api/v1/public-posts/{post.id}/")).status_code == 405
    assert (await client.put(f"/api/v1/public-posts/{post.id}/", json={})).status_code == 405


async def test_health_and_dashboard_views(client, app_db, alice) -> None:
    health = await client.get("/health")
    assert health.status_code == 200
    assert health.json() == {"status": "healthy", "version": "1.0.0"}
    assert (await client.post("/health")).status_code == 405

    assert (await client.get("/dashboard")).status_code == 401
    force_authenticate(client, alice)
    await make_post(app_db, alice)
    dashboard = await client.get("/dashboard")
    assert dashboard.status_code == 200
    assert dashboard.json() == {"user": "alice@example.com", "posts_count": 1, "users_count": 1}


async def test_unique_fields_are_checked_after_the_hooks_transform_the_data(
    client, app_db, alice
) -> None:
    """ArticleViewSet's hook derives the slug from the title: a clash is still named."""
    force_authenticate(client, alice)
    first = await client.post(ARTICLES, json={"title": "Same Title", "slug": "a", "content": "x"})
    assert first.status_code == 201
    second = await client.post(ARTICLES, json={"title": "Same Title", "slug": "b", "content": "x"})
    assert second.status_code == 422
    assert second.json()["detail"] == [
        {"loc": ["body", "slug"], "msg": "Post with this slug already exists.", "type": "unique"}
    ]
    assert await Post.objects.using(app_db).filter(slug="same-title").count() == 1
