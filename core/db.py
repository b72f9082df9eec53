"""Engines, sessions and schema upgrades.

SQLite is the embedded default (WAL journal, foreign keys on, a busy timeout so the scheduler and
the dashboard can share one file); PostgreSQL is reached through psycopg 3. `open_database` runs the
Alembic upgrade to head before anything else touches the schema, so an upgraded Earful migrates its
own database on start.
"""

from __future__ import annotations

import errno
import hashlib
import os
import sqlite3
import threading
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

from core.config import MASK, mask_url_passwords, unsupported_url_hint
from core.errors import ConfigError, StorageError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def normalise_url(url: str) -> str:
    """Pick psycopg 3 for PostgreSQL URLs that name no driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def check_driver(url: str) -> str:
    """The name of the DB-API module `url` is reached through, imported; a ConfigError saying what to
    do when the URL names no driver Earful supports or the driver cannot be imported."""
    parsed = make_url(normalise_url(url))
    hint = unsupported_url_hint(parsed.drivername)
    if hint:
        raise ConfigError(hint, key="database.url")
    try:
        module = parsed.get_dialect().import_dbapi()
    except (ImportError, sa.exc.NoSuchModuleError) as exc:
        install = "pip install 'psycopg[binary]'" if parsed.get_backend_name() == "postgresql" else "reinstall Earful"
        raise ConfigError(f"the driver of {parsed.drivername}:// cannot be imported ({exc}); {install}",
                          key="database.url") from None
    return str(getattr(module, "__name__", parsed.drivername)).split(".")[0]


def server_version(url: str, *, timeout_seconds: int = 10) -> str:
    """Connect to the database of `url` and say what answered ("PostgreSQL 16.4", "SQLite 3.45.1")
    and at which schema revision; a StorageError with the reason (never the password) when it cannot.

    An SQLite file is opened read-only and never created, so checking a new deployment leaves no
    empty database behind."""
    check_driver(url)
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_version(parsed.database or ":memory:")
    parsed = parsed.update_query_dict({"connect_timeout": str(timeout_seconds)})
    engine = create_db_engine(parsed.render_as_string(hide_password=False))
    try:
        with engine.connect() as connection:
            version = connection.scalar(sa.text("SHOW server_version"))
            revision = MigrationContext.configure(connection).get_current_revision()
    except sa.exc.DBAPIError as exc:
        said = " ".join(line.strip() for line in str(exc.orig or exc).strip().splitlines()[:3])
        if parsed.password:
            said = said.replace(str(parsed.password), MASK)
        said = mask_url_passwords(said)
        raise StorageError(f"cannot connect to the PostgreSQL database: {said}; check database.url, the password "
                           "variable and that the server accepts connections from this machine") from None
    finally:
        engine.dispose()
    return f"PostgreSQL {version}, {_revision_note(revision, engine)}"


def _sqlite_version(database: str) -> str:
    if database == ":memory:":
        return f"SQLite {sqlite3.sqlite_version}, in memory (nothing is kept after the process ends)"
    path = Path(database)
    if not path.exists():
        if not path.parent.is_dir():
            raise ConfigError(f"the folder {path.parent} for the SQLite database does not exist; create it or "
                              "change the path", key="database.url")
        return f"SQLite {sqlite3.sqlite_version}, {path} does not exist yet: Earful creates it on its first start"
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            has_versions = connection.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'").fetchone()[0]
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone() if has_versions else None
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise StorageError(f"cannot read the SQLite database {path}: {exc}", path=str(path)) from None
    engine = sa.create_engine("sqlite://")
    return f"SQLite {sqlite3.sqlite_version}, {path}, {_revision_note(row[0] if row else None, engine)}"


def _revision_note(revision: str | None, engine: Engine) -> str:
    head = head_revision(engine)
    if revision == head:
        return f"schema at revision {revision} (the newest)"
    return f"schema at revision {revision or 'none'}; Earful upgrades it to {head} on its next start"


def create_db_engine(url: str, *, echo: bool = False) -> Engine:
    url = normalise_url(url)
    parsed = make_url(url)
    check_driver(url)
    # hide_parameters: a failed statement is logged and shown without its values (mention text,
    # payloads, password hashes), only the SQL.
    kwargs: dict[str, Any] = {"echo": echo, "future": True, "hide_parameters": True}
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
        if parsed.database and parsed.database != ":memory:":
            sa.event.listen(engine, "handle_error", _name_the_file(os.path.abspath(parsed.database)))
    else:
        sa.event.listen(engine, "connect", _postgres_settings)
    return engine


def _postgres_settings(dbapi_connection: Any, _record: Any) -> None:
    """Every PostgreSQL connection Earful opens runs without JIT compilation.

    Earful's queries are short index scans and aggregates of a period; the planner's cost guesses for
    the dashboard's (a UNION ALL of a week's hourly buckets, jsonb_array_elements) pass
    jit_above_cost, and compiling then took 6-7 s for a query that runs in 0.7 s (bench/dashboard.py,
    1M mentions). Set per session, so the server's setting for other applications is left alone."""
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    try:
        dbapi_connection.execute("SET jit = off")
    finally:
        dbapi_connection.autocommit = autocommit


def _name_the_file(path: str) -> Any:
    """An engine hook that records which SQLite file an error came from, for `storage_error`."""

    def on_error(context: Any) -> None:
        for exc in (context.sqlalchemy_exception, context.original_exception):
            if exc is not None:
                exc.earful_database = path

    return on_error


# sqlite3's messages (SQLITE_READONLY, SQLITE_FULL, SQLITE_CANTOPEN) and what each means for Earful.
_READ_ONLY = "read-only"
_FULL = "full"
_CANNOT_OPEN = "cannot open"
_UNREACHABLE = "unreachable"
_SQLITE_PROBLEMS = (
    ("readonly database", _READ_ONLY),
    ("database or disk is full", _FULL),
    ("unable to open database file", _CANNOT_OPEN),
)
_OS_PROBLEMS = {errno.EACCES: _READ_ONLY, errno.EPERM: _READ_ONLY, errno.EROFS: _READ_ONLY,
                errno.ENOSPC: _FULL, errno.EDQUOT: _FULL}


def storage_error(exc: BaseException) -> StorageError | None:
    """Earful's clear error for a database file that is read-only, on a full disk or out of reach, or
    None when `exc` is something else.

    SQLite reports these as an OperationalError with a bare message ("attempt to write a readonly
    database") that names no file; the engine hook above records the file. The record lock beside
    the database (`<file>.locks`) fails as an OSError naming its own file.
    """
    path: str | None = None
    problem: str | None = None
    for link in _chain(exc):
        if type(link).__module__.startswith("psycopg") and type(link).__name__ == "OperationalError":
            first = str(link).strip().splitlines()[0] if str(link).strip() else type(link).__name__
            if "connection" in first.lower() or "could not" in first.lower():
                # A server that is down or out of reach; psycopg's message names host and port, never the password.
                return StorageError(
                    f"cannot reach the PostgreSQL database ({first}): check database.url and that the server "
                    "is running and accepts connections from this machine"
                )
        path = path or getattr(link, "earful_database", None)
        if isinstance(link, sqlite3.OperationalError) and problem is None:
            message = str(link)
            problem = next((kind for text, kind in _SQLITE_PROBLEMS if text in message), None)
        elif (isinstance(link, OSError) and link.errno in _OS_PROBLEMS and problem is None
              and isinstance(link.filename, str) and link.filename.endswith(".locks")):
            # Only the lock file beside the database: another file Earful cannot read is not this.
            problem = _OS_PROBLEMS[link.errno]
            path = path or link.filename.removesuffix(".locks")
    if problem is None:
        return None
    if problem == _CANNOT_OPEN and path and not _writable(path):
        problem = _READ_ONLY  # SQLite cannot create the -wal or -shm file beside a read-only one
    return StorageError(_explain(problem, path), path=path)


def _writable(path: str) -> bool:
    folder = os.path.dirname(path)
    if os.path.isdir(folder) and not os.access(folder, os.W_OK):
        return False
    return not os.path.exists(path) or os.access(path, os.W_OK)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        yield link
        link = getattr(link, "orig", None) or link.__cause__ or link.__context__


def _explain(problem: str, path: str | None) -> str:
    file = f"the database file {path}" if path else "the database file"
    folder = os.path.dirname(path) if path else "its folder"
    if problem == _READ_ONLY:
        return (f"{file} is read-only: Earful needs write permission on it and on {folder} (SQLite creates "
                "the -wal, -shm and .locks files beside it); fix the permissions, or run Earful as the user "
                "owning the file")
    if problem == _FULL:
        where = f"the disk holding {path}" if path else "the disk holding the database"
        return (f"{where} is full: nothing of the failed write was stored; free space on that disk (or move "
                "the database to a larger one and change database.url), then run Earful again")
    return (f"cannot open {file}: check that its folder {folder} exists and that the user running Earful "
            "may read and write there, or change database.url")


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
        self._schema: str | None = None  # PostgreSQL's current_schema(), read once for lock keys

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

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

    @contextmanager
    def exclusive(self, name: str, *, wait: bool = False) -> Iterator[bool]:
        """Hold the lock `name` across every Earful process on this database for the block.

        Yields True when this process holds it and False when another process does, so the caller
        skips its turn; with `wait=True` it waits for the lock instead and always yields True. On
        PostgreSQL it is a session-level advisory lock on a connection kept for the block, so a node
        that dies or loses its connection releases it with its server session. On an SQLite file it
        is a POSIX record lock on one byte of `<database>.locks`, released by the kernel when the
        process exits. An in-memory SQLite database has one process by definition: always True.
        """
        if self.is_postgres:
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                # Advisory locks are per database: the schema keeps two Earfuls sharing one apart.
                if self._schema is None:
                    self._schema = str(conn.scalar(sa.text("SELECT current_schema()")))
                key = lock_key(f"{self._schema}/{name}")
                if wait:
                    conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": key})
                    held = True
                else:
                    held = bool(conn.scalar(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}))
                try:
                    yield held
                finally:
                    if held:
                        try:
                            conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                        except sa.exc.DBAPIError:  # the connection is gone, and the lock with it
                            pass
            return
        fd = self._sqlite_lock_file()
        if fd is None:
            yield True
            return
        import fcntl

        offset = lock_key(name) % (2**31)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset)
        except OSError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.lockf(fd, fcntl.LOCK_UN, 1, offset)

    def _sqlite_lock_file(self) -> int | None:
        database = self.engine.url.database
        if not database or database == ":memory:" or database.startswith("file:"):
            return None
        path = os.path.realpath(f"{database}.locks")
        with _LOCK_FILES_GUARD:
            # One descriptor per file for the life of the process, never closed: POSIX drops every
            # record lock a process holds on a file when any of its descriptors of it is closed.
            if path not in _LOCK_FILES:
                _LOCK_FILES[path] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            return _LOCK_FILES[path]

    def dispose(self) -> None:
        self.engine.dispose()


_LOCK_FILES: dict[str, int] = {}
_LOCK_FILES_GUARD = threading.Lock()


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for a lock name (PostgreSQL advisory locks take a bigint)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)
