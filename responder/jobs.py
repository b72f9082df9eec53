"""Scheduled responder jobs: triage scored mentions into cases, send the outbox, flag SLA breaches.

Like the listener's jobs they are importable functions with plain-string arguments (APScheduler
persists them). The first one in a process builds a `ResponderRuntime` (settings, database, business
calendar, publishers) that later runs reuse.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable

from core.config import Settings
from core.db import Database
from core.runtimes import Runtimes
from core.models import utcnow
from responder import cases, outbox
from responder.sla import BusinessCalendar

log = logging.getLogger(__name__)


class ResponderRuntime:
    def __init__(self, settings: Settings, db: Database, *, clock: Callable[[], datetime] = utcnow,
                 publishers: outbox.Publishers | None = None) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.calendar = BusinessCalendar.from_config(settings.responder.sla)
        self.publishers = publishers or outbox.Publishers(settings)

    def triage(self) -> cases.TriageResult:
        total = cases.TriageResult()
        while True:
            with self.db.session() as session:
                result = cases.triage(session, self.settings.responder, now=self.clock(), calendar=self.calendar)
            total = cases.TriageResult(*(a + b for a, b in zip(
                (total.seen, total.opened, total.joined, total.reopened, total.skipped),
                (result.seen, result.opened, result.joined, result.reopened, result.skipped))))
            if result.seen == 0:
                break
        if total.seen:
            log.info("triage: %d mentions, %d cases opened, %d joined (%d reopened), %d need none",
                     total.seen, total.opened, total.joined, total.reopened, total.skipped)
        return total

    def send(self) -> list[outbox.Outcome]:
        outcomes = outbox.send_due(self.db, self.publishers, clock=self.clock)
        for o in outcomes:
            log.info("reply %s: %s %s", o.reply_id, o.state.value, o.detail)
        return outcomes

    def check_sla(self) -> int:
        with self.db.session() as session:
            found = cases.record_breaches(session, now=self.clock())
        if found:
            log.warning("SLA: %d new breaches", found)
        return found

    def close(self) -> None:
        self.publishers.close()


_runtimes: Runtimes[ResponderRuntime] = Runtimes(ResponderRuntime)


def runtime_for(config_path: str | None) -> ResponderRuntime:
    return _runtimes.get(config_path)


def install_runtime(config_path: str | None, runtime: ResponderRuntime) -> None:
    """Let `earful run` (or a test) hand in the runtime it already built."""
    _runtimes.install(config_path, runtime)


def triage_job(config_path: str | None) -> None:
    runtime_for(config_path).triage()


def send_job(config_path: str | None) -> None:
    runtime_for(config_path).send()


def sla_job(config_path: str | None) -> None:
    runtime_for(config_path).check_sla()
