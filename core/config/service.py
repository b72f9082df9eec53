"""Sections that run Earful itself, whatever it listens to: the database, dashboard, scheduler,
sandbox, logging, retention and the data directory (paths)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from core.config.base import Section

# The URL spellings Earful talks to: SQLite through Python's sqlite3, PostgreSQL through psycopg 3
# (core/db.py sets psycopg-only connection options). Anything else gets a hint naming the right one.
DATABASE_DRIVERS = ("sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg")
SQLITE_EXAMPLE = "sqlite:///earful.db"
POSTGRES_EXAMPLE = "postgresql+psycopg://user:${PGPASSWORD}@host:5432/dbname"


class DatabaseConfig(Section):
    url: str = "sqlite:///earful.db"
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(f"this is not a database URL; use {SQLITE_EXAMPLE} or {POSTGRES_EXAMPLE}") from None
        hint = unsupported_url_hint(url.drivername)
        if hint:
            raise ValueError(hint)
        return value


def unsupported_url_hint(drivername: str) -> str | None:
    """None for a URL scheme Earful supports, else what is wrong with it and the spelling to use."""
    if drivername in DATABASE_DRIVERS:
        return None
    backend, _, driver = drivername.partition("+")
    if backend == "postgres":
        return (f"{drivername}:// is an old spelling SQLAlchemy no longer reads; use postgresql+psycopg:// "
                f"(e.g. {POSTGRES_EXAMPLE})")
    if backend == "postgresql":
        return (f"the driver {driver!r} is not supported: Earful reaches PostgreSQL through psycopg 3; "
                f"use postgresql+psycopg:// (e.g. {POSTGRES_EXAMPLE})")
    if backend == "sqlite":
        return f"the SQLite driver {driver!r} is not supported; use sqlite:/// with Python's sqlite3 (e.g. {SQLITE_EXAMPLE})"
    return (f"the database {backend!r} is not supported; use postgresql+psycopg:// (e.g. {POSTGRES_EXAMPLE}) "
            f"or SQLite ({SQLITE_EXAMPLE})")


class DashboardConfig(Section):
    host: str = "127.0.0.1"
    port: int = Field(8501, ge=1, le=65535)
    title: str = "Earful"


class SchedulerConfig(Section):
    misfire_grace_seconds: int = Field(30, ge=1)
    backoff_max_seconds: int = Field(900, ge=1)


class SandboxConfig(Section):
    host: str = "127.0.0.1"
    port: int = Field(8700, ge=0, le=65535)
    seed: int = 7
    rate_per_minute: float = Field(30.0, gt=0)
    spike_after_minutes: float | None = Field(1.0, ge=0)

    @field_validator("host")
    @classmethod
    def _loopback_only(cls, value: str) -> str:
        if value not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the sandbox only listens on the loopback interface (127.0.0.1)")
        return value


class PathsConfig(Section):
    """Where Earful keeps what it makes (core.paths): trained models, caches, fine-tuned models.
    Never the installed package: its model is the read-only default until `earful train` writes one."""

    # null: the folder earful-data beside the configuration file, or without one the platform's user
    # data folder (platformdirs: ~/.local/share/earful on Linux). Relative: from the configuration file's folder.
    data_dir: str | None = None

    @field_validator("data_dir")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("an empty path; give a folder, or null for earful-data beside the configuration file")
        return value

    def anchored(self, base_dir: Path, config_path: Path | None) -> PathsConfig:
        """`data_dir` made absolute: relative from `base_dir`, or the default for `config_path`."""
        from core.paths import default_data_dir

        if self.data_dir is None:
            return self.model_copy(update={"data_dir": str(default_data_dir(config_path))})
        return self.model_copy(update={"data_dir": str((base_dir / Path(self.data_dir).expanduser()).resolve())})


class RetentionConfig(Section):
    # Mentions older than this many days are deleted with their scores (never those in open cases);
    # None keeps everything.
    days: int | None = Field(None, ge=1)
    interval_seconds: int = Field(3600, ge=1)


class LoggingConfig(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
