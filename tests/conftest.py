"""Shared fixtures: databases on SQLite always, and on PostgreSQL when EARFUL_TEST_POSTGRES_URL is set.

Each test gets a database of its own (an SQLite file; a PostgreSQL database, dropped afterwards), so
tests never see each other's rows. Where the test uses `db` it is a copy of one database migrated
once per session (`migrated_sqlite`, `postgres_template`); otherwise `db_url` is empty, for
tests/integration/test_migrations.py.
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


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A PostgreSQL database migrated to head once per session: the `db` fixture's databases are
    made from it with CREATE DATABASE ... TEMPLATE (~40 ms) instead of migrating each (~0.6 s)."""
    if not POSTGRES_URL:
        pytest.skip("EARFUL_TEST_POSTGRES_URL is not set")
    admin = sa.create_engine(normalise_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    name = f"earful_template_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        Database.open(_postgres_database(name)).dispose()  # no connection may stay open on a template
        yield name
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _postgres_database(name: str) -> str:
    return make_url(normalise_url(POSTGRES_URL or "")).set(database=name).render_as_string(hide_password=False)


def _postgres_database_url(template: str | None) -> Iterator[str]:
    """The URL of a new PostgreSQL database of its own, empty or a copy of `template`; dropped afterwards."""
    if not POSTGRES_URL:
        pytest.skip("EARFUL_TEST_POSTGRES_URL is not set")
    admin = sa.create_engine(normalise_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    name = f"t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    try:
        yield _postgres_database(name)
    finally:
        with admin.connect() as conn:  # FORCE: a connection a test left open must not keep the database
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of a database of the test's own, once per backend: empty (no tables yet), or at the
    head revision when the test also uses `db` (a copy of the session's migrated template:
    tests/fakes/databases.py on SQLite, `postgres_template` on PostgreSQL)."""
    migrated = "db" in request.fixturenames
    if request.param == "sqlite":
        path = tmp_path / "earful.db"
        if migrated:
            migrated_sqlite_copy(request.getfixturevalue("migrated_sqlite"), path)
        yield f"sqlite:///{path}"
    else:
        yield from _postgres_database_url(request.getfixturevalue("postgres_template") if migrated else None)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated to head, made once per session; tests get copies (tests/fakes/databases.py)."""
    return migrate_template(tmp_path_factory.mktemp("template") / "earful.db")


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A migrated database, once per backend: `db_url`'s, copied from the session's template."""
    database = Database.open(db_url)  # at head already: opens without migrating
    yield database
    database.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path, migrated_sqlite: Path) -> Iterator[Database]:
    database = Database.open(migrated_sqlite_copy(migrated_sqlite, tmp_path / "earful.db"))
    yield database
    database.dispose()
