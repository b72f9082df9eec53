"""One poll of one source: fetch pages, enrich, store with the cursor, and keep the source's health.

Everything that decides *when* to come back lives here as data on the source row (`paused_until`,
`consecutive_failures`), so a source that is rate limited or failing only skips its own turns: the
scheduler runs each source as its own job and never waits on another.

Faults, by kind:
- RateLimited: pause until the platform's reset/retry-after, or a backoff step when it gave none.
- Unavailable (5xx, timeouts, connection errors, unexpected library errors): exponential backoff with
  full jitter, capped.
- AuthFailed: the source is marked unhealthy with the platform's message and retried only at the cap,
  since a human has to fix credentials.
- Malformed items never get here: sources skip and count them (listener.base.map_each).

No silent failure: given `alerts`, refused credentials, a budget pause and a run of failures longer
than `alerts.operational.source_failing_minutes` each open an operational alert (`core.ops_alerts`)
in the transaction that records them, and the next successful poll resolves them.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Callable

from sqlalchemy.orm import Session

from core import ops_alerts
from core.config import AlertsConfig
from core.db import Database
from core.errors import AuthFailed, PlatformError, RateLimited
from core.models import Source as SourceRow, SourceHealth
from core.store import get_cursors, store_batch
from listener.base import Source
from listener.enrich import BrandMatcher, enrich

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 5.0


@dataclass(frozen=True)
class PollOutcome:
    status: str  # ok, paused, rate_limited, unavailable, auth_failed, over_budget, disabled
    inserted: int = 0
    pages: int = 0
    skipped_items: int = 0
    error: str | None = None


def backoff_seconds(failures: int, *, cap: float, rand: random.Random, base: float = BACKOFF_BASE_SECONDS) -> float:
    """Exponential backoff with full jitter: uniform in [base, min(cap, base * 2**failures)]."""
    ceiling = min(cap, base * (2 ** max(0, failures - 1)))
    return base + rand.random() * max(0.0, ceiling - base)


def next_utc_midnight(now: datetime) -> datetime:
    return (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def poll(
    db: Database,
    source: Source,
    source_id: int,
    matcher: BrandMatcher | None,
    *,
    clock: Callable[[], datetime],
    rand: random.Random,
    backoff_cap: float = 900.0,
    max_pages: int = 10,
    daily_budget_usd: float | None = None,
    alerts: AlertsConfig | None = None,
) -> PollOutcome:
    """`alerts`: where operational alerts go; None opens none (a caller that only wants the data)."""
    now = clock()
    with db.session() as session:
        row = session.get(SourceRow, source_id)
        if row is None or not row.enabled:
            return PollOutcome("disabled")
        if row.paused_until and row.paused_until > now:
            return PollOutcome("paused")
        if _over_budget(row, now, daily_budget_usd):
            _pause_for_budget(session, row, now, daily_budget_usd, alerts)
            return PollOutcome("over_budget")
        cursors = get_cursors(session, source_id)

    inserted = pages = skipped = 0
    while True:
        try:
            batch = source.fetch(cursors)
        except PlatformError as exc:
            return _record_failure(db, source_id, exc, clock(), rand, backoff_cap, inserted, pages, alerts)
        except Exception as exc:  # a library raising something its adapter did not translate
            log.exception("source %s: unexpected error", source.name)
            wrapped = PlatformError(source.platform, f"unexpected {type(exc).__name__}: {exc}")
            return _record_failure(db, source_id, wrapped, clock(), rand, backoff_cap, inserted, pages, alerts)
        pages += 1
        skipped += batch.skipped
        kept = [m for m in enrich(batch.mentions, matcher) if m.brands or m.is_own or m.direct]
        stamp = clock()
        with db.session() as session:
            result = store_batch(session, kept, source_id=source_id, cursors=batch.cursors, now=stamp)
            row = session.get(SourceRow, source_id)
            assert row is not None
            _record_success(row, stamp, batch.cost_usd)
            over = _over_budget(row, stamp, daily_budget_usd)
            if alerts is not None:
                ops_alerts.source_recovered(session, alerts, row.name, now=stamp, still_over_budget=over)
            if over:
                _pause_for_budget(session, row, stamp, daily_budget_usd, alerts)
        inserted += result.inserted
        cursors = {**cursors, **batch.cursors}
        if over:
            return PollOutcome("over_budget", inserted, pages, skipped)
        if not batch.more or pages >= max_pages:
            return PollOutcome("ok", inserted, pages, skipped)


def _record_success(row: SourceRow, now: datetime, cost_usd: float) -> None:
    row.last_success_at = now
    row.health = SourceHealth.ok
    row.consecutive_failures = 0
    row.failing_since = None
    row.paused_until = None
    if row.spend_day != now.date():
        row.spend_day = now.date()
        row.spend_today_usd = Decimal("0")
    if cost_usd:
        cost = Decimal(str(round(cost_usd, 4)))
        row.api_spend_usd = (row.api_spend_usd or Decimal("0")) + cost
        row.spend_today_usd = (row.spend_today_usd or Decimal("0")) + cost


def _over_budget(row: SourceRow, now: datetime, budget: float | None) -> bool:
    if budget is None or row.spend_day != now.date():
        return False
    return float(row.spend_today_usd or 0) >= budget


def _pause_for_budget(session: Session, row: SourceRow, now: datetime, budget: float | None,
                      alerts: AlertsConfig | None) -> None:
    row.health = SourceHealth.paused
    row.paused_until = next_utc_midnight(now)
    row.last_error = f"daily API budget of ${budget:.2f} reached; polling resumes at 00:00 UTC"
    row.last_error_at = now
    if alerts is not None:  # one alert per episode: a pause already alerted only refreshes it
        ops_alerts.source_over_budget(session, alerts, row.name, row.last_error,
                                      spend_today_usd=float(row.spend_today_usd or 0), now=now)


def _record_failure(
    db: Database,
    source_id: int,
    exc: PlatformError,
    now: datetime,
    rand: random.Random,
    cap: float,
    inserted: int,
    pages: int,
    alerts: AlertsConfig | None,
) -> PollOutcome:
    with db.session() as session:
        row = session.get(SourceRow, source_id)
        assert row is not None
        row.consecutive_failures += 1
        if row.failing_since is None:
            row.failing_since = now
        row.last_error = str(exc)
        row.last_error_at = now
        if isinstance(exc, RateLimited):
            wait = exc.retry_after if exc.retry_after is not None else backoff_seconds(
                row.consecutive_failures, cap=cap, rand=rand, base=60.0
            )
            row.health = SourceHealth.paused
            status = "rate_limited"
        elif isinstance(exc, AuthFailed):
            wait = cap
            row.health = SourceHealth.unhealthy
            status = "auth_failed"
        else:
            wait = backoff_seconds(row.consecutive_failures, cap=cap, rand=rand)
            row.health = SourceHealth.degraded
            status = "unavailable"
        row.paused_until = now + timedelta(seconds=max(0.0, wait))
        if alerts is not None:
            ops_alerts.source_failed(session, alerts, row.name, auth=isinstance(exc, AuthFailed), error=str(exc),
                                     failing_since=row.failing_since, now=now)
    log.warning("source %s: %s; next try in %.0f s", source_id, exc, wait)
    return PollOutcome(status, inserted, pages, error=str(exc))
