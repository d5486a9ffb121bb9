"""The guide's "Models and ORM" section, run as written (imports aside) on a real database."""

from __future__ import annotations

import pytest

from core import F, Q
from tests.example_models import Comment, Label, Post, Tag, User


@pytest.fixture
async def author(db) -> User:
    return await User.create(email="author@example.com", using_db=db)


@pytest.fixture
async def posts(db, author: User) -> list[Post]:
    rows = [
        ("Python tips", "python-tips", True, 150),
        ("Learning Python", "learning-python", True, 90),
        ("Rust notes", "rust-notes", True, 300),
        ("Draft about Python", "draft-python", False, 500),
    ]
    created = []
    for title, slug, published, views in rows:
        post = Post(
            title=title,
            slug=slug,
            content="...",
            is_published=published,
            views_count=views,
            author_id=author.id,
        )
        await post.save(db)
        created.append(post)
    return created


async def test_queryset_operations_as_in_the_guide(db, posts: list[Post]) -> None:
    # Get all
    all_posts = await Post.objects.using(db).all()
    assert len(all_posts) == 4

    # Filter
    published = await Post.objects.using(db).filter(is_published=True).all()
    assert {p.slug for p in published} == {"python-tips", "learning-python", "rust-notes"}

    # Complex filters
    posts_found = (
        await Post.objects.using(db)
        .filter(
            is_published=True,
            views_count__gt=100,
            title__contains="Python",
        )
        .order_by("-created_at")
        .limit(10)
        .all()
    )
    assert [p.slug for p in posts_found] == ["python-tips"]

    # Get single
    post = await Post.objects.using(db).get(id=posts[0].id)
    assert post.title == "Python tips"
    post = await Post.objects.using(db).get_or_none(slug="my-post")
    assert post is None
    post = await Post.objects.using(db).get_or_none(slug="rust-notes")
    assert post is not None and post.views_count == 300

    # First/Last
    first = await Post.objects.using(db).first()
    assert first is not None and first.slug == "python-tips"
    last = await Post.objects.using(db).order_by("-id").first()
    assert last is not None and last.slug == "draft-python"

    # Count
    count = await Post.objects.using(db).filter(is_published=True).count()
    assert count == 3

    # Exists
    assert await Post.objects.using(db).filter(slug="rust-notes").exists() is True
    assert await Post.objects.using(db).filter(slug="my-post").exists() is False

    # Pagination
    page = await Post.objects.using(db).order_by("id").offset(2).limit(1).all()
    assert [p.slug for p in page] == ["rust-notes"]


async def test_instance_operations_as_in_the_guide(db, author: User) -> None:
    # Save (the guide's Post requires an author; the snippet is otherwise verbatim)
    post = Post(title="Title", slug="title", content="...", author_id=author.id)
    await post.save(db)
    assert post.id is not None
    assert post.created_at is not None

    # Update
    post.title = "New Title"
    await post.save(db)
    assert (await Post.objects.using(db).get(id=post.id)).title == "New Title"

    # Reload from database
    await Post.objects.using(db).filter(id=post.id).update(views_count=7)
    await post.refresh(db)
    assert post.views_count == 7

    # Convert to dict
    data = post.to_dict()
    assert data["title"] == "New Title"
    assert data["author_id"] == author.id
    assert set(data) == {
        "id",
        "title",
        "slug",
        "content",
        "is_published",
        "views_count",
        "author_id",
        "created_at",
        "updated_at",
    }

    # Delete
    await post.delete(db)
    assert await Post.objects.using(db).filter(id=post.id).exists() is False


async def test_foreign_key_declared_as_author_id(db, author: User) -> None:
    """`author_id = Field.foreign_key("users.id")`: relation `author`, column `author_id`."""
    fields = Post._meta.fields_map
    assert "author" in fields
    assert fields["author_id"].source_field == "author_id"
    assert Post._meta.fields_db_projection["author_id"] == "author_id"

    post = await Post.create(title="A", slug="a", content="x", author=author, using_db=db)
    assert post.author_id == author.id
    loaded = await Post.objects.using(db).select_related("author").get(id=post.id)
    assert loaded.author.email == "author@example.com"
    assert [p.id for p in await author.posts.all().using_db(db)] == [post.id]
    by_relation = await Post.objects.using(db).filter(author__email="author@example.com").count()
    assert by_relation == 1


async def test_foreign_keys_by_class_by_app_model_and_to_a_non_pk_column(db, author) -> None:
    post = await Post.create(title="A", slug="a", content="x", author=author, using_db=db)
    comment = await Comment.create(post=post, reviewer=author, body="hi", using_db=db)
    assert comment.post_id == post.id and comment.reviewer_id == author.id
    assert [c.id for c in await post.comments.all().using_db(db)] == [comment.id]

    label = await Label.create(code="py", using_db=db)
    tag = await Tag.create(label=label, using_db=db)
    assert tag.label_id == "py"  # "labels.code" points at the code column, not the pk
    assert (await Tag.objects.using(db).select_related("label").get(id=tag.id)).label.id == label.id

    await author.delete(db)  # SET NULL on the reviewer, CASCADE on the post's comments
    assert await Comment.objects.using(db).count() == 0


async def test_more_queryset_operations(db, posts: list[Post], author: User) -> None:
    qs = Post.objects.using(db)
    assert await qs.exclude(is_published=True).count() == 1
    assert await qs.filter(Q(views_count__gt=200) | Q(slug="learning-python")).count() == 3
    assert await qs.filter(slug__in=["rust-notes", "python-tips"]).count() == 2
    assert await qs.filter(title__icontains="python").count() == 3
    assert await qs.filter(title__startswith="Rust").count() == 1

    updated = await qs.filter(is_published=False).update(views_count=F("views_count") + 1)
    assert updated == 1
    assert (await qs.get(slug="draft-python")).views_count == 501

    values = await qs.filter(slug="rust-notes").values("title", "views_count")
    assert values == [{"title": "Rust notes", "views_count": 300}]
    flat = await qs.order_by("views_count").values_list("slug", flat=True)
    assert flat == ["learning-python", "python-tips", "rust-notes", "draft-python"]

    prefetched = await User.objects.using(db).prefetch_related("posts").get(id=author.id)
    assert len(list(prefetched.posts)) == 4

    await qs.bulk_create(
        [
            Post(title=f"Bulk {i}", slug=f"bulk-{i}", content="", author_id=author.id)
            for i in range(3)
        ]
    )
    assert await qs.filter(slug__startswith="bulk-").count() == 3

    deleted = await qs.filter(slug__startswith="bulk-").delete()
    assert deleted == 3
    assert await qs.count() == 4


async def test_tortoise_native_calls_keep_working(db, author: User) -> None:
    post = await Post.create(title="Native", slug="native", content="", author=author, using_db=db)
    assert await Post.filter(slug="native").using_db(db).count() == 1
    assert (await Post.get(id=post.id, using_db=db)).title == "Native"
    assert await Post.all().using_db(db).count() == 1
    assert (await Post.objects.using(db).get(id=post.id)).title == "Native"


async def test_objects_without_using_runs_on_the_default_connection(db, author: User) -> None:
    await Post.create(title="Default", slug="default", content="", author=author, using_db=db)
    assert await Post.objects.filter(slug="default").count() == 1
    assert await Post.objects.all().count() == 1
    with pytest.raises(AttributeError):
        _ = (await Post.objects.first()).objects


async def test_objects_create_like_django(db, author: User) -> None:
    post = await Post.objects.using(db).create(title="Made", slug="made", content="", author=author)
    assert post.id is not None
    assert (await Post.objects.using(db).get(slug="made")).author_id == author.id
