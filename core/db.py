"""Engines, sessions and schema upgrades.

SQLite is the embedded default (WAL journal, foreign keys on, a busy timeout so the scheduler and
the dashboard can share one file); PostgreSQL is reached through psycopg 3. `open_database` runs the
Alembic upgrade to head before anything else touches the schema, so an upgraded Earful migrates its
own database on start.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from core.errors import ConfigError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def normalise_url(url: str) -> str:
    """Pick psycopg 3 for PostgreSQL URLs that name no driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def create_db_engine(url: str, *, echo: bool = False) -> Engine:
    url = normalise_url(url)
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        if parsed.database and parsed.database != ":memory:":
            folder = Path(parsed.database).parent
            if not folder.exists():
                raise ConfigError(
                    f"the folder {folder} for the SQLite database does not exist; create it or change the path",
                    key="database.url",
                )
    else:
        kwargs["pool_pre_ping"] = True
        # psycopg prepares a statement after 5 runs; the prepared plan of the batch lookups
        # (`IN` over hundreds of ids) is ~30x slower than planning each one with its values.
        kwargs["connect_args"] = {"prepare_threshold": None}
    engine = sa.create_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@contextmanager
def _migration_connection(engine: Engine) -> Iterator[sa.Connection]:
    """A connection whose whole migration is one transaction, DDL included, on both backends.

    Python's sqlite3 module commits DDL on its own, so a process killed halfway through a migration
    would leave half a schema. For migrations Earful opens its own SQLite transaction with
    BEGIN IMMEDIATE, which also makes a second process that starts at the same moment wait and then
    find the schema already upgraded.
    """
    if engine.dialect.name != "sqlite":
        with engine.begin() as connection:
            yield connection
        return
    migrator = sa.create_engine(engine.url, poolclass=sa.pool.NullPool, connect_args={"timeout": 30})

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        _sqlite_pragmas(dbapi_connection, _record)
        dbapi_connection.isolation_level = None

    sa.event.listen(migrator, "connect", on_connect)
    sa.event.listen(migrator, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
    try:
        with migrator.begin() as connection:
            yield connection
    finally:
        migrator.dispose()


def alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    cfg = alembic_config(engine)
    with _migration_connection(engine) as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    cfg = alembic_config(engine)
    with _migration_connection(engine) as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


class Database:
    """An engine plus its session factory: what every job and page is handed."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str, *, echo: bool = False, migrate: bool = True) -> Database:
        engine = create_db_engine(url, echo=echo)
        if migrate and current_revision(engine) != head_revision(engine):
            try:
                upgrade(engine)
            except sa.exc.DBAPIError:
                # Another Earful process (the scheduler and the dashboard start together) may have
                # migrated first; that is only an error if the schema is still not at head.
                if current_revision(engine) != head_revision(engine):
                    raise
        return cls(engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits once at the end, rolls back on any error."""
        with self.sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
