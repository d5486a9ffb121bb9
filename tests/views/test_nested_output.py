"""Nested relations in output schemas: a fixed number of queries per page, errors at build.

Each relation kind (foreign key, reverse foreign key, many-to-many) and two levels of them
are listed at page sizes 1, 20 and 100, with the stock queryset and with a `get_queryset`
override, and the queries are counted; retrieve, create and update answer nested too. An
output schema naming a relation its model lacks fails when the router is built, and
`topic_ids` on an input schema sets the many-to-many (unknown ids: a 422, nothing written).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.query_utils import Prefetch

from core import AutoRouter, InputSchema, ModelViewSet, OutputSchema
from core.adapters.tortoise import queryset_prefetches
from core.exceptions import ImproperlyConfigured
from core.permissions import AllowAny
from core.testing import app_client, app_database
from tests.helpers import TEST_MODELS, app_with, count_queries
from tests.views.nested_models import Article, Badge, Remark, Topic, Writer

pytestmark = pytest.mark.db  # re-run on PostgreSQL (scripts/with-postgres.sh)

NESTED_MODELS = [*TEST_MODELS, "tests.views.nested_models"]
PAGE_SIZES = (1, 20, 100)


class BadgeOutput(OutputSchema):
    id: int
    label: str


class WriterOutput(OutputSchema):
    id: int
    name: str


class WriterWithBadges(WriterOutput):
    badges: list[BadgeOutput]


class TopicOutput(OutputSchema):
    id: int
    name: str


class RemarkOutput(OutputSchema):
    id: int
    body: str


class RemarkWithWriter(RemarkOutput):
    writer: WriterOutput


class ArticleWithWriter(OutputSchema):
    """Foreign keys: one required, one optional."""

    id: int
    title: str
    writer: WriterOutput
    editor: WriterOutput | None


class ArticleWithRemarks(OutputSchema):
    """A reverse foreign key."""

    id: int
    title: str
    remarks: list[RemarkOutput]


class ArticleWithTopics(OutputSchema):
    """A many-to-many."""

    id: int
    title: str
    topics: list[TopicOutput]


class ArticleDeep(OutputSchema):
    """Two levels: a foreign key's many-to-many, a reverse foreign key's foreign key."""

    id: int
    title: str
    writer: WriterWithBadges
    remarks: list[RemarkWithWriter]
    topics: list[TopicOutput]


class ArticleBrief(OutputSchema):
    id: int
    title: str
    writer: WriterOutput


class RemarkWithArticle(OutputSchema):
    """Two foreign keys deep: joined, not prefetched."""

    id: int
    body: str
    article: ArticleBrief


class ArticleFlat(OutputSchema):
    """Columns only: the row path and (but for `topic_ids`) the one-trip create apply."""

    id: int
    title: str
    writer_id: int


class ArticleInput(InputSchema):
    title: str
    writer_id: int
    editor_id: int | None = None
    topic_ids: list[int] = []


class Articles(ModelViewSet):
    model = Article
    input_schema = ArticleInput
    output_schema = ArticleDeep
    permission_classes = [AllowAny]


class ScopedArticles(Articles):
    """`get_queryset` overridden as apps do: scoped and ordered."""

    def get_queryset(self, db: BaseDBAsyncClient) -> Any:
        return Article.objects.using(db).filter(title__startswith="Article").order_by("-id")


def viewset(name: str, schema: type[OutputSchema], scoped: bool) -> type[ModelViewSet]:
    return type(name, (ScopedArticles if scoped else Articles,), {"output_schema": schema})


class FirstRemarks(Articles):
    """A hand-written `Prefetch` narrowing a relation the schema nests: it is kept."""

    output_schema = ArticleWithRemarks

    def get_queryset(self, db: BaseDBAsyncClient) -> Any:
        first = Prefetch("remarks", queryset=Remark.filter(body__startswith="remark 0"))
        return Article.objects.using(db).prefetch_related(first, "editor__badges")


class Remarks(ModelViewSet):
    model = Remark
    output_schema = RemarkWithArticle
    permission_classes = [AllowAny]


#: prefix -> (output schema, queries per list page, per retrieve). One level deep, list pages
#: are read as rows (the fast path); two levels deep, and retrieve, read model instances.
#: Statements per request, as (fixed, many-to-many prefetches): a list page, then a retrieve.
#: Each many-to-many that Tortoise prefetches on instances costs `m2m_prefetch_statements()`.
KINDS: dict[str, tuple[type[OutputSchema], tuple[int, int], tuple[int, int]]] = {
    "fk": (ArticleWithWriter, (2, 0), (3, 0)),  # COUNT, SELECT ... JOIN; retrieve: both keys
    "reverse": (ArticleWithRemarks, (3, 0), (2, 0)),  # COUNT, SELECT, remarks
    "m2m": (ArticleWithTopics, (3, 0), (1, 1)),  # COUNT, SELECT, topics JOIN link; retrieve: topics
    "deep": (ArticleDeep, (5, 2), (4, 2)),  # + writer, its badges, remarks, their writers, topics
}


async def m2m_prefetch_statements(db: BaseDBAsyncClient) -> int:
    """The statements Tortoise itself runs to prefetch a many-to-many on instances: 2 in
    tortoise-orm 1.1.9 (the link table, then the targets), 1 in 1.1.7 (one joined query)."""
    with count_queries() as queries:
        await Article.all().using_db(db).limit(1).prefetch_related("topics")
    return len(queries) - 1


async def expected_statements(db: BaseDBAsyncClient, cost: tuple[int, int]) -> int:
    fixed, many_to_many = cost
    return fixed + many_to_many * await m2m_prefetch_statements(db)


def nested_router() -> AutoRouter:
    router = AutoRouter()
    for prefix, (schema, _, _) in KINDS.items():
        router.register(f"/{prefix}", viewset(f"{prefix}View", schema, False), basename=prefix)
        scoped = f"scoped-{prefix}"
        router.register(f"/{scoped}", viewset(f"{scoped}View", schema, True), basename=scoped)
        instances = type(
            f"{prefix}Instances", (viewset(prefix, schema, False),), {"read_rows": False}
        )
        router.register(f"/{prefix}-instances", instances, basename=f"{prefix}-instances")
    router.register("/remarks", Remarks, basename="remark")
    router.register("/first-remarks", FirstRemarks, basename="first-remarks")
    router.register("/flat", viewset("FlatView", ArticleFlat, False), basename="flat")
    return router


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(app_with(nested_router(), models=NESTED_MODELS)) as client:
        yield client


async def seed(db: BaseDBAsyncClient, articles: int = 100) -> list[Article]:
    """Articles with a writer (with badges), every other one an editor, topics and remarks."""
    badges = [await Badge.create(label=f"badge {i}", using_db=db) for i in range(3)]
    topics = [await Topic.create(name=f"topic {i}", using_db=db) for i in range(4)]
    writers = []
    for i in range(5):
        writer = await Writer.create(name=f"writer {i}", using_db=db)
        await writer.badges.add(*badges[: i % 3 + 1], using_db=db)
        writers.append(writer)
    await Article.bulk_create(
        [
            Article(
                title=f"Article {i:03}",
                writer_id=writers[i % 5].id,
                editor_id=writers[(i + 1) % 5].id if i % 2 else None,
            )
            for i in range(articles)
        ],
        using_db=db,
    )
    made = list(await Article.all().using_db(db).order_by("id"))
    await Remark.bulk_create(
        [
            Remark(body=f"remark {n} on {article.id}", article_id=article.id, writer_id=w.id)
            for article in made
            for n, w in enumerate(writers[:2])
        ],
        using_db=db,
    )
    for i, article in enumerate(made):
        await article.topics.add(*topics[i % 2 : i % 2 + 2], using_db=db)
    return made


async def list_page(http: httpx.AsyncClient, prefix: str, size: int) -> tuple[dict, list[str]]:
    with count_queries() as queries:
        response = await http.get(f"/{prefix}/", params={"page_size": size})
    assert response.status_code == 200, response.text
    return response.json(), queries


@pytest.mark.parametrize("scoped", [False, True], ids=["stock", "get_queryset"])
@pytest.mark.parametrize("kind", list(KINDS))
async def test_a_list_page_costs_the_same_queries_at_any_size(
    http: httpx.AsyncClient, kind: str, scoped: bool
) -> None:
    await seed(app_database())
    prefix = f"scoped-{kind}" if scoped else kind
    expected = await expected_statements(app_database(), KINDS[kind][1])
    for size in PAGE_SIZES:
        body, queries = await list_page(http, prefix, size)
        assert body["count"] == 100 and len(body["results"]) == size
        assert len(queries) == expected, (size, queries)


async def test_each_relation_kind_answers_nested(http: httpx.AsyncClient) -> None:
    made = await seed(app_database(), articles=4)
    first, second = made[0], made[1]

    page, _ = await list_page(http, "fk", 20)
    rows = {row["id"]: row for row in page["results"]}
    assert rows[first.id]["writer"] == {"id": first.writer_id, "name": "writer 0"}
    assert rows[first.id]["editor"] is None
    assert rows[second.id]["editor"] == {"id": second.editor_id, "name": "writer 2"}

    page, _ = await list_page(http, "reverse", 20)
    remarks = {row["id"]: row["remarks"] for row in page["results"]}
    assert sorted(remark["body"] for remark in remarks[first.id]) == [
        f"remark 0 on {first.id}",
        f"remark 1 on {first.id}",
    ]

    page, _ = await list_page(http, "m2m", 20)
    topics = {row["id"]: sorted(t["name"] for t in row["topics"]) for row in page["results"]}
    assert topics[first.id] == ["topic 0", "topic 1"]
    assert topics[second.id] == ["topic 1", "topic 2"]

    page, _ = await list_page(http, "deep", 20)
    deep = {row["id"]: row for row in page["results"]}[second.id]
    assert deep["writer"]["name"] == "writer 1"
    assert sorted(b["label"] for b in deep["writer"]["badges"]) == ["badge 0", "badge 1"]
    assert sorted(r["writer"]["name"] for r in deep["remarks"]) == ["writer 0", "writer 1"]


@pytest.mark.parametrize("kind", list(KINDS))
async def test_rows_and_instances_answer_alike(http: httpx.AsyncClient, kind: str) -> None:
    await seed(app_database())
    rows, _ = await list_page(http, kind, 100)
    instances, _ = await list_page(http, f"{kind}-instances", 100)
    assert rows == instances


@pytest.mark.parametrize("scoped", [False, True], ids=["stock", "get_queryset"])
@pytest.mark.parametrize("kind", list(KINDS))
async def test_retrieve_answers_nested_in_fixed_queries(
    http: httpx.AsyncClient, kind: str, scoped: bool
) -> None:
    made = await seed(app_database(), articles=3)
    prefix = f"scoped-{kind}" if scoped else kind
    with count_queries() as queries:
        response = await http.get(f"/{prefix}/{made[1].id}/")
    assert response.status_code == 200, response.text
    listed, _ = await list_page(http, prefix, 20)
    assert response.json() == next(r for r in listed["results"] if r["id"] == made[1].id)
    assert len(queries) == await expected_statements(app_database(), KINDS[kind][2]), queries


async def test_two_foreign_keys_deep_are_joined(http: httpx.AsyncClient) -> None:
    await seed(app_database(), articles=30)
    endpoint = next(r.endpoint for r in http.app.routes if r.name == "remark-list")  # type: ignore[attr-defined]
    assert endpoint.view_cls.get_eager_loading().select == ("article", "article__writer")
    for size in PAGE_SIZES:
        body, queries = await list_page(http, "remarks", size)
        assert len(body["results"]) == min(size, 60)
        assert len(queries) == 2, queries  # COUNT, one SELECT with both joins
    first = body["results"][0]
    assert first["article"]["writer"]["name"].startswith("writer ")
    with count_queries() as queries:
        one = await http.get(f"/remarks/{first['id']}/")
    assert one.json() == first
    assert len(queries) == 3  # the remark, then its article and the article's writer


async def test_the_prefetches_of_get_queryset_are_kept(http: httpx.AsyncClient) -> None:
    made = await seed(app_database(), articles=3)
    page, queries = await list_page(http, "first-remarks", 20)
    remarks = {row["id"]: [r["body"] for r in row["remarks"]] for row in page["results"]}
    assert remarks == {article.id: [f"remark 0 on {article.id}"] for article in made}
    # COUNT, SELECT, its remarks; the editor, then its badges (a many-to-many)
    assert len(queries) == 4 + await m2m_prefetch_statements(app_database())
    applied = FirstRemarks.get_eager_loading().apply(Article.all().prefetch_related("editor"))
    assert queryset_prefetches(applied) == (["editor", "remarks"], set())
    mine = Article.all().prefetch_related(Prefetch("remarks", queryset=Remark.all()))
    assert queryset_prefetches(FirstRemarks.get_eager_loading().apply(mine)) == ([], {"remarks"})


async def test_create_and_update_set_topics_by_id_and_answer_nested(
    http: httpx.AsyncClient,
) -> None:
    db = app_database()
    writer = await Writer.create(name="Ada", using_db=db)
    topics = [await Topic.create(name=name, using_db=db) for name in ("a", "b", "c")]

    created = await http.post(
        "/deep/",
        json={"title": "Article new", "writer_id": writer.id, "topic_ids": [topics[0].id]},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["writer"] == {"id": writer.id, "name": "Ada", "badges": []}
    assert [t["name"] for t in body["topics"]] == ["a"] and body["remarks"] == []

    url = f"/deep/{body['id']}/"
    ids = [topics[1].id, topics[2].id, topics[1].id]  # a repeated id counts once
    updated = await http.put(
        url, json={"title": "Article new", "writer_id": writer.id, "topic_ids": ids}
    )
    assert updated.status_code == 200, updated.text
    assert sorted(t["name"] for t in updated.json()["topics"]) == ["b", "c"]

    patched = await http.patch(url, json={"title": "Article renamed"})  # topics untouched
    assert sorted(t["name"] for t in patched.json()["topics"]) == ["b", "c"]
    cleared = await http.patch(url, json={"topic_ids": []})
    assert cleared.json()["topics"] == []
    article = await Article.get(id=body["id"]).using_db(db)
    assert await article.topics.all().using_db(db).count() == 0


async def test_unknown_topic_ids_are_a_422_and_nothing_is_written(
    http: httpx.AsyncClient,
) -> None:
    db = app_database()
    writer = await Writer.create(name="Ada", using_db=db)
    topic = await Topic.create(name="a", using_db=db)
    refused = await http.post(
        "/m2m/", json={"title": "Article x", "writer_id": writer.id, "topic_ids": [topic.id, 999]}
    )
    assert refused.status_code == 422
    assert refused.json()["detail"] == [
        {
            "loc": ["body", "topic_ids"],
            "msg": 'Invalid pk "999" - object does not exist.',
            "type": "does_not_exist",
        }
    ]
    assert await Article.all().using_db(db).count() == 0

    created = await http.post(
        "/m2m/", json={"title": "Article x", "writer_id": writer.id, "topic_ids": [topic.id]}
    )
    url = f"/m2m/{created.json()['id']}/"
    refused = await http.patch(url, json={"title": "changed", "topic_ids": [998]})
    assert refused.status_code == 422 and "998" in refused.text
    kept = (await http.get(url)).json()
    assert kept["title"] == "Article x" and [t["id"] for t in kept["topics"]] == [topic.id]


async def test_topic_ids_set_the_many_to_many_under_a_flat_output(
    http: httpx.AsyncClient,
) -> None:
    db = app_database()
    writer = await Writer.create(name="Ada", using_db=db)
    topic = await Topic.create(name="a", using_db=db)
    created = await http.post(
        "/flat/", json={"title": "Article", "writer_id": writer.id, "topic_ids": [topic.id]}
    )
    assert created.status_code == 201, created.text
    assert created.json() == {
        "id": created.json()["id"],
        "title": "Article",
        "writer_id": writer.id,
    }
    article = await Article.get(id=created.json()["id"]).using_db(db)
    assert [t.id for t in await article.topics.all().using_db(db)] == [topic.id]


def test_one_level_of_nesting_reads_list_pages_as_rows() -> None:
    router = nested_router()
    plans = {route.name: route.endpoint.plan for route in router.routes}  # type: ignore[attr-defined]
    assert plans["flat-list"].rows and plans["flat-retrieve"].rows
    assert not plans["flat-create"].one_trip_create  # topic_ids are set after the INSERT
    for kind in ("fk", "reverse", "m2m"):  # one level deep: list pages are rows
        assert plans[f"{kind}-list"].rows and plans[f"scoped-{kind}-list"].rows
        assert not plans[f"{kind}-retrieve"].rows
        assert plans[f"{kind}-retrieve"].rows_off == (
            "the output schema nests relations (retrieve reads the object)"
        )
        assert not plans[f"{kind}-instances-list"].rows
    assert not plans["deep-list"].rows and not plans["deep-retrieve"].rows  # two levels deep
    assert plans["deep-list"].rows_off == "the output schema is not exactly model columns"


# Errors when the router is built --------------------------------------------------------


class ArticleWithPublisher(OutputSchema):
    id: int
    publisher: WriterOutput


class WriterWithNickname(OutputSchema):
    id: int
    nickname: str


class ArticleWithBadWriter(OutputSchema):
    id: int
    writer: WriterWithNickname


class ArticleWithWritersList(OutputSchema):
    id: int
    writer: list[WriterOutput]


class ArticleWithOneTopic(OutputSchema):
    id: int
    topics: TopicOutput


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        (
            ArticleWithPublisher,
            "BadView.output_schema: ArticleWithPublisher.publisher is typed as WriterOutput, "
            "but Article has no relation 'publisher'",
        ),
        (
            ArticleWithBadWriter,
            "BadView.output_schema: WriterWithNickname.nickname (nested) is not a field of Writer",
        ),
        (
            ArticleWithWritersList,
            "BadView.output_schema: ArticleWithWritersList.writer reads Article.writer, "
            "a fk relation: type it as a schema (not a list)",
        ),
        (
            ArticleWithOneTopic,
            "BadView.output_schema: ArticleWithOneTopic.topics reads Article.topics, "
            "a m2m relation: type it as a list of schemas",
        ),
    ],
)
def test_a_schema_the_model_does_not_match_fails_when_the_router_is_built(
    schema: type[OutputSchema], message: str
) -> None:
    bad = type("BadView", (Articles,), {"output_schema": schema})
    with pytest.raises(ImproperlyConfigured) as error:
        AutoRouter().register("/bad", bad)
    assert str(error.value) == message


def test_a_reverse_relation_is_known_before_the_orm_starts() -> None:
    loading = viewset("ReverseView", ArticleDeep, False).get_eager_loading()
    assert loading.select == ()
    assert loading.prefetch == (
        "writer",
        "writer__badges",
        "remarks",
        "remarks__writer",
        "topics",
    )
