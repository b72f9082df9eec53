"""`import_file` against a real database: each id lands once, and every other row is accounted for.

Runs on SQLite always and on PostgreSQL when EARFUL_TEST_POSTGRES_URL is set (each test gets a fresh
schema that is dropped afterwards).
"""

from __future__ import annotations

import csv
import os
import secrets
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa

from core.db import Database, normalise_url
from core.mention import MentionIn
from core.models import Mention
from core.store import store_batch
from listener import fileimport
from listener.fileimport import ImportOptions, import_file

ROWS = 10_000
START = datetime(2015, 2, 24, tzinfo=timezone.utc)


def no_detection(text: str) -> str | None:
    return "en"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a throwaway PostgreSQL schema."""
    if request.param == "sqlite":
        yield "sqlite:///" + str(tmp_path / "x.db")
        return
    base = os.environ.get("EARFUL_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("set EARFUL_TEST_POSTGRES_URL to run on PostgreSQL")
    schema = f"test_{secrets.token_hex(6)}"
    admin = sa.create_engine(normalise_url(base))
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database.open(database_url)
    try:
        yield database
    finally:
        database.dispose()


def write_export(path: Path) -> tuple[dict[int, int], int]:
    """10,000 rows; every 100th repeats the id of the row 50 lines before it; one row has no text.

    Returns {line of each duplicate: line of its original} and the line of the row without text.
    """
    duplicates: dict[int, int] = {}
    empty_line = 2 + 5_000
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "created_at", "author", "url"])
        for i in range(ROWS):
            line = i + 2
            native_id = i
            if i % 100 == 99:
                native_id = i - 50
                duplicates[line] = line - 50
            text = "" if line == empty_line else f'row {i}: flying again with @united, "as usual"'
            created = (START + timedelta(minutes=i)).strftime("%Y-%m-%d %H:%M:%S -0800")
            writer.writerow([f"t{native_id}", text, created, f"user{i % 300}", f"https://example.test/{native_id}"])
    return duplicates, empty_line


def test_ten_thousand_rows_with_duplicates_land_once(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    duplicates, empty_line = write_export(path)
    options = ImportOptions(platform="import")
    progress: list[int] = []

    started = time.perf_counter()
    report = import_file(db, path, options, detect=no_detection, on_progress=progress.append)
    elapsed = time.perf_counter() - started
    print(f"\nimported {ROWS} rows into {db.engine.dialect.name} in {elapsed:.2f}s")

    assert report.rows == ROWS
    assert report.inserted == 9_899
    assert len(report.duplicates) == 100
    assert {d.line: d.reason for d in report.duplicates} == {
        line: f"duplicate of line {first}" for line, first in duplicates.items()
    }
    assert [(r.line, r.reason) for r in report.rejected] == [(empty_line, "text is empty")]
    assert progress == sorted(progress) and progress[-1] == ROWS
    assert elapsed < 30, "the 10k import should take a few seconds"

    with db.session() as session:
        total, distinct = session.execute(
            sa.select(sa.func.count(), sa.func.count(sa.distinct(Mention.native_id))).where(
                Mention.platform == "import"
            )
        ).one()
        assert total == distinct == 9_899
        first = session.scalars(sa.select(Mention).where(Mention.native_id == "t49")).one()
    assert first.text.startswith("row 49:")  # the first sighting wins, not the duplicate at row 99
    assert first.created_at == START + timedelta(minutes=49, hours=8)
    assert first.language == "en"
    assert first.raw["author"] == "user49"
    assert first.author_id is not None

    again = import_file(db, path, options, detect=no_detection)
    assert (again.rows, again.inserted) == (ROWS, 0)
    reasons = [d.reason for d in again.duplicates]
    assert reasons.count("already stored") == 9_899
    assert sum(r.startswith("duplicate of line") for r in reasons) == 100
    assert [r.line for r in again.rejected] == [empty_line]


def test_rows_already_stored_keep_their_engagement_counts(db: Database, tmp_path: Path) -> None:
    polled = MentionIn(platform="x", native_id="570", text="polled", created_at=START, likes=42)
    with db.session() as session:
        store_batch(session, [polled])
    path = tmp_path / "x.jsonl"
    path.write_text(
        "\n".join(
            [
                '{"id": "570", "text": "from the export", "created_at": "2015-02-24T00:00:00Z"}',
                '{"id": "571", "text": "new", "created_at": "2015-02-24T00:00:00Z"}',
                '{"id": "571", "text": "again", "created_at": "2015-02-24T00:00:00Z"}',
                '{"id": "572", "text": "new\\u0000too", "created_at": "2015-02-24T00:00:00Z", "x": "\\u0000"}',
            ]
        ),
        encoding="utf-8",
    )
    report = import_file(db, path, ImportOptions(platform="x"), detect=no_detection, batch_size=1)

    assert report.inserted == 2
    assert [(d.line, d.native_id, d.reason) for d in report.duplicates] == [
        (1, "570", "already stored"),
        (3, "571", "duplicate of line 2"),
    ]
    with db.session() as session:
        kept = session.scalars(sa.select(Mention).where(Mention.native_id == "570")).one()
        nul = session.scalars(sa.select(Mention).where(Mention.native_id == "572")).one()
    assert (kept.text, kept.likes) == ("polled", 42)
    assert (nul.text, nul.raw["x"]) == ("newtoo", "")  # PostgreSQL stores no NUL characters


def test_rows_stored_by_another_writer_mid_batch_are_reported_not_counted(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A poller may store an id between the import's existence check and its insert."""
    with db.session() as session:
        store_batch(session, [MentionIn(platform="import", native_id="a", text="polled", created_at=START)])
    monkeypatch.setattr(fileimport, "_stored_ids", lambda session, platform, native_ids: set())  # check missed it
    path = tmp_path / "race.csv"
    path.write_text("id,text,created_at\na,x,2015-02-24\nb,y,2015-02-24\n", encoding="utf-8")

    report = import_file(db, path, ImportOptions(), detect=no_detection)

    assert report.inserted == 1
    assert [(d.line, d.native_id, d.reason) for d in report.duplicates] == [(2, "a", "already stored")]
