"""Scheduled alert jobs: detect spikes, deliver notifications, send the weekly report.

Like the other jobs they are importable functions with plain-string arguments (APScheduler persists
them). Detection and delivery are separate jobs on purpose: detection only writes the outbox, so a
channel that hangs or fails can never delay or stop it. The first job in a process builds an
`AlertsRuntime` that later runs reuse; tests build one with an injected clock and HTTP client.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Callable

from core import alerts, metrics, notify, ops_alerts, report
from core.config import Settings
from core.db import Database
from core.runtimes import Runtimes
from core.models import utcnow
from responder.sla import BusinessCalendar

log = logging.getLogger(__name__)


class AlertsRuntime:
    def __init__(self, settings: Settings, db: Database, *, clock: Callable[[], datetime] = utcnow,
                 notifier: notify.Notifier | None = None) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.notifier = notifier or notify.Notifier(settings.alerts)

    def detect(self) -> alerts.DetectionResult:
        with self.db.session() as session:
            result = alerts.run_detection(session, self.settings.alerts, now=self.clock())
        for what, ids in (("opened", result.opened), ("escalated", result.escalated), ("resolved", result.resolved)):
            if ids:
                log.warning("alerts %s: %s", what, ", ".join(map(str, ids)))
        return result

    def deliver(self) -> list[notify.DeliveryOutcome]:
        """Send what is due; then a channel that keeps failing opens its operational alert (delivered
        through the other channels by a later run) and one that delivered again resolves it."""
        outcomes = notify.deliver_due(self.db, self.notifier, self.settings.alerts.notify, now=self.clock())
        with self.db.session() as session:
            opened = ops_alerts.watch_deliveries(session, self.settings.alerts, outcomes, now=self.clock())
        if opened:  # announce a failing channel now, through the others (their failures open nothing more)
            more = notify.deliver_due(self.db, self.notifier, self.settings.alerts.notify, now=self.clock())
            with self.db.session() as session:
                ops_alerts.watch_deliveries(session, self.settings.alerts, more, now=self.clock())
            outcomes += more
        return outcomes

    def weekly_report(self) -> int:
        """Queue last week's report (Markdown) to the weekly_report channels; returns messages queued."""
        conf = self.settings.alerts.weekly_report
        now = self.clock()
        end = now.replace(minute=0, second=0, microsecond=0)
        filters = metrics.Filters(start=end - timedelta(days=7), end=end, brand=conf.brand)
        sla = self.settings.responder.sla
        with self.db.session() as session:
            data = metrics.report(session, filters, calendar=BusinessCalendar.from_config(sla),
                                  policies=sla.policies, now=now)
            body = report.render(data, "md")
            subject = f"Earful weekly report {filters.start.date()} to {filters.end.date()}"
            rows = notify.enqueue(session, conf.channels, event="report", subject=subject, body=body,
                                  payload={"event": "report", "subject": subject, "report": data}, now=now)
        return len(rows)

    def close(self) -> None:
        self.notifier.close()


_runtimes: Runtimes[AlertsRuntime] = Runtimes(AlertsRuntime)


def runtime_for(config_path: str | None) -> AlertsRuntime:
    return _runtimes.get(config_path)


def install_runtime(config_path: str | None, runtime: AlertsRuntime) -> None:
    """Let `earful run` (or a test) hand in the runtime it already built."""
    _runtimes.install(config_path, runtime)


def detect_job(config_path: str | None) -> None:
    runtime_for(config_path).detect()


def notify_job(config_path: str | None) -> None:
    runtime_for(config_path).deliver()


def weekly_report_job(config_path: str | None) -> None:
    runtime_for(config_path).weekly_report()
