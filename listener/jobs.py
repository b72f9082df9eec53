"""Scheduled job functions and the per-process state they share.

APScheduler persists jobs, so a job is an importable function whose arguments are plain strings
(the config path and a source name). The first job in a process loads the configuration and opens
the database once; later jobs reuse that `Runtime` and the source clients it built.
"""

from __future__ import annotations

import logging
import random
import threading
from datetime import datetime
from typing import Callable

from core.catalog import sync_from_config
from core.config import Settings
from core.db import Database
from core.runtimes import Runtimes
from core.models import utcnow
from listener.base import Source
from listener.enrich import BrandMatcher
from listener.poller import PollOutcome, poll
from listener.registry import build_source

log = logging.getLogger(__name__)


class Runtime:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        clock: Callable[[], datetime] = utcnow,
        rand: random.Random | None = None,
        build: Callable[..., Source] = build_source,
    ) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.rand = rand or random.Random()
        self.matcher = BrandMatcher.from_brands(settings.brands)
        self._build = build
        self._sources: dict[str, Source] = {}
        self._lock = threading.Lock()
        with db.session() as session:
            self.source_ids = sync_from_config(session, settings)

    def source(self, name: str) -> Source:
        with self._lock:
            if name not in self._sources:
                self._sources[name] = self._build(self.settings.source(name), self.matcher)
            return self._sources[name]

    def poll(self, name: str) -> PollOutcome:
        conf = self.settings.source(name)
        outcome = poll(
            self.db,
            self.source(name),
            self.source_ids[name],
            self.matcher,
            clock=self.clock,
            rand=self.rand,
            backoff_cap=self.settings.scheduler.backoff_max_seconds,
            daily_budget_usd=conf.daily_budget_usd,
            alerts=self.settings.alerts,
        )
        if outcome.status not in ("paused", "disabled"):
            log.info("source %s: %s, %d new, %d pages", name, outcome.status, outcome.inserted, outcome.pages)
        return outcome

    def close(self) -> None:
        with self._lock:
            for source in self._sources.values():
                try:
                    source.close()
                except Exception:  # closing must never stop a shutdown
                    log.exception("closing source %s failed", source.name)
            self._sources.clear()


_runtimes: Runtimes[Runtime] = Runtimes(Runtime)


def runtime_for(config_path: str | None) -> Runtime:
    return _runtimes.get(config_path)


def install_runtime(config_path: str | None, runtime: Runtime) -> None:
    """Let `earful run` (or a test) hand in the runtime it already built."""
    _runtimes.install(config_path, runtime)


def poll_source_job(config_path: str | None, source_name: str) -> None:
    runtime_for(config_path).poll(source_name)
