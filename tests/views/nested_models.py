"""Models for the nested-output tests: every relation kind, and two levels of them.

An article has a writer (foreign key), an optional editor (nullable foreign key), topics
(many-to-many) and remarks (the reverse of `Remark.article`); a remark has a writer, and a
writer has badges (many-to-many), so nesting two levels deep mixes the kinds.
"""

from __future__ import annotations

from tortoise import fields

from core import Field, Mapped, Model


class Badge(Model):
    __tablename__ = "nested_badges"

    id: Mapped[int] = Field.pk()
    label: Mapped[str] = Field.string(max_length=50)


class Writer(Model):
    __tablename__ = "nested_writers"

    id: Mapped[int] = Field.pk()
    name: Mapped[str] = Field.string(max_length=100)
    badges: fields.ManyToManyRelation[Badge] = fields.ManyToManyField(
        "models.Badge", related_name="writers", through="nested_writers_badges"
    )


class Topic(Model):
    __tablename__ = "nested_topics"

    id: Mapped[int] = Field.pk()
    name: Mapped[str] = Field.string(max_length=50)


class Article(Model):
    __tablename__ = "nested_articles"

    id: Mapped[int] = Field.pk()
    title: Mapped[str] = Field.string(max_length=200)
    writer_id: Mapped[int] = Field.foreign_key("nested_writers.id", related_name="articles")
    editor_id: Mapped[int | None] = Field.foreign_key(
        "nested_writers.id", related_name="edited_articles", nullable=True, on_delete="SET NULL"
    )
    topics: fields.ManyToManyRelation[Topic] = fields.ManyToManyField(
        "models.Topic", related_name="articles", through="nested_articles_topics"
    )


class Remark(Model):
    __tablename__ = "nested_remarks"

    id: Mapped[int] = Field.pk()
    body: Mapped[str] = Field.text()
    article_id: Mapped[int] = Field.foreign_key("nested_articles.id", related_name="remarks")
    writer_id: Mapped[int] = Field.foreign_key("nested_writers.id", related_name="remarks")
