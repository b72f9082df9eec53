"""Shared fixtures: databases on SQLite always, and on PostgreSQL when EARFUL_TEST_POSTGRES_URL is set.

Each PostgreSQL test gets a fresh schema (dropped afterwards) so tests never see each other's rows.
Each SQLite test gets its own file too, a copy of one file migrated once per session (`migrated_sqlite`,
tests/fakes/databases.py); `db_url` stays an empty database, for tests/integration/test_migrations.py.
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from core.db import Database, normalise_url
from tests.fakes.databases import migrate_template, migrated_sqlite_copy

POSTGRES_URL = os.environ.get("EARFUL_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture
def fixed_now() -> datetime:
    return datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)


def _postgres_schema_url() -> Iterator[str]:
    if not POSTGRES_URL:
        pytest.skip("EARFUL_TEST_POSTGRES_URL is not set")
    base = normalise_url(POSTGRES_URL)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database (no tables yet), once per backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'earful.db'}"
    else:
        yield from _postgres_schema_url()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated to head, made once per session; tests get copies (tests/fakes/databases.py)."""
    return migrate_template(tmp_path_factory.mktemp("template") / "earful.db")


@pytest.fixture
def db(db_url: str, request: pytest.FixtureRequest) -> Iterator[Database]:
    """A migrated database, once per backend; on SQLite the file of `db_url`, copied from the template."""
    if db_url.startswith("sqlite:///"):
        migrated_sqlite_copy(request.getfixturevalue("migrated_sqlite"), Path(db_url.removeprefix("sqlite:///")))
    database = Database.open(db_url)  # at head already on SQLite: opens without migrating
    yield database
    database.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path, migrated_sqlite: Path) -> Iterator[Database]:
    database = Database.open(migrated_sqlite_copy(migrated_sqlite, tmp_path / "earful.db"))
    yield database
    database.dispose()
