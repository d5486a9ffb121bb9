"""SQLite scripts split where SQLite sees statements end, not at every semicolon."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.migrations.sqlite import split_statements
from tests.migrations.projects import new_project


def test_semicolons_in_comments_and_literals_do_not_split() -> None:
    script = (
        'CREATE TABLE "notes" ("id" INT) /* A note; with a title; and text */;\n'
        "INSERT INTO notes VALUES ('semi;colon');\n"
        "-- a comment; still a comment\n"
        "SELECT 1"
    )
    assert split_statements(script) == [
        'CREATE TABLE "notes" ("id" INT) /* A note; with a title; and text */;',
        "INSERT INTO notes VALUES ('semi;colon');",
        "-- a comment; still a comment\nSELECT 1;",
    ]
    assert split_statements(" ; ;\n") == []


@pytest.mark.db
def test_a_model_docstring_with_semicolons_migrates(tmp_path: Path) -> None:
    project = new_project(tmp_path, models=False)
    project.write(
        "src/apps/notes/models.py",
        '''
        from core import Field, Mapped, Model


        class Note(Model):
            """A note; it has a title; and text."""

            __tablename__ = "notes"

            id: Mapped[int] = Field.pk()
            title: Mapped[str] = Field.string(max_length=10, description="short; really")
        ''',
    )
    project.core("makemigrations", "--name", "notes")
    project.core("migrate")
    assert project.columns("notes") == ["id", "title"]
    project.core("migrate", "--rollback")
    assert "notes" not in project.tables()
