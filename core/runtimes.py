"""Per-process runtimes of scheduled jobs, one per config path.

APScheduler persists jobs as importable functions with plain-string arguments (the config path), so
a job cannot be handed its clients. The first job of a kind in a process builds its runtime (settings,
database, clients) through this registry; later runs reuse it; `earful run` or a test installs one it
built itself.
"""

from __future__ import annotations

import threading
from typing import Callable, Generic, TypeVar

from core.config import Settings, load_config
from core.db import Database

R = TypeVar("R")


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
