"""Scheduled responder jobs: triage scored mentions into cases, send the outbox, flag SLA breaches,
and store the embeddings that reply suggestions match against (`embed_replies_job`, run by the
scorer role with the encoder the scoring job already holds).

Like the listener's jobs they are importable functions with plain-string arguments (APScheduler
persists them). The first one in a process builds a `ResponderRuntime` (settings, database, business
calendar, publishers) that later runs reuse.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Callable

from core.config import Settings
from core.db import Database
from core.runtimes import Runtimes
from core.models import utcnow
from responder import cases, outbox
from responder.sla import BusinessCalendar
from responder.suggest import Embed, backfill_embeddings

log = logging.getLogger(__name__)
# Sent replies embedded per transaction: a few seconds of CPU encoding, so a write lock is short.
EMBED_CHUNK = 500


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

    def embed_replies(self, embed: Embed, *, chunk: int = EMBED_CHUNK, stop: threading.Event | None = None) -> int:
        """Store the context embedding of every sent reply lacking one, `chunk` per transaction;
        returns how many. `stop` (a shutting-down scheduler) ends it after the current chunk."""
        total = 0
        while not (stop is not None and stop.is_set()):
            with self.db.session() as session:
                stored = backfill_embeddings(session, embed, limit=chunk)
            total += stored
            if stored < chunk:
                break
        if total:
            log.info("suggestions: embedded the mentions of %d sent replies", total)
        return total

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


def embed_replies_job(config_path: str | None) -> None:
    """Scorer role: embed the mentions newly sent replies answered, so the composer can suggest them."""
    from sentiment.job import STOPPING, shared_encoder

    runtime_for(config_path).embed_replies(shared_encoder(config_path).encode, stop=STOPPING)
