"""Per-process runtimes of scheduled jobs, one per config path.

APScheduler persists jobs as importable functions with plain-string arguments (the config path), so
a job cannot be handed its clients. The first job of a kind in a process builds its runtime (settings,
database, clients) through this registry; later runs reuse it; `earful run` or a test installs one it
built itself.
"""

from __future__ import annotations

import importlib
import logging
import threading
from typing import Callable, Generic, TypeVar

from core.config import Settings, load_config
from core.db import Database

R = TypeVar("R")
log = logging.getLogger(__name__)


class Runtimes(Generic[R]):
    def __init__(self, build: Callable[[Settings, Database], R]) -> None:
        self._build = build
        self._runtimes: dict[str | None, R] = {}
        self._lock = threading.Lock()

    def get(self, config_path: str | None) -> R:
        with self._lock:
            if config_path not in self._runtimes:
                settings = load_config(config_path)
                self._runtimes[config_path] = self._build(settings, Database.open(settings.database.url))
            return self._runtimes[config_path]

    def install(self, config_path: str | None, runtime: R) -> None:
        with self._lock:
            self._runtimes[config_path] = runtime


# -- one node at a time ----------------------------------------------------------------------------

_databases: Runtimes[Database] = Runtimes(lambda _settings, db: db)


def install_database(config_path: str | None, db: Database) -> None:
    """The database `run_exclusive` takes its locks on (`earful run` hands in its own)."""
    _databases.install(config_path, db)


def run_exclusive(lock: str, target: str, config_path: str | None, *args: str) -> bool:
    """Scheduled job wrapper: `target(config_path, *args)` while this process holds `lock`.

    Several `earful run` nodes schedule the same jobs; for a job that must not run twice at once
    (a poll, triage, detection, the weekly report) each run first takes the job's lock on the
    database (`Database.exclusive`: a PostgreSQL advisory lock, or a record lock beside an SQLite
    file). The node that gets it runs the job; the others skip their turn, which is the next run's
    leadership election. A node that dies holds nothing. Returns whether the job ran here.
    """
    db = _databases.get(config_path)
    with db.exclusive(f"earful.job:{lock}") as mine:
        if not mine:
            log.debug("job %s is running on another node; skipped this turn", lock)
            return False
        module, _, name = target.partition(":")
        getattr(importlib.import_module(module), name)(config_path, *args)
        return True
