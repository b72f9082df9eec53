"""Spike alerts on a real database with an injected clock: detection, one alert per episode
(open, escalate, resolve), the mentions kept, notifications queued, acknowledgement."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from core import alerts
from core.config import AlertsConfig
from core.db import Database
from core.errors import PermissionDenied
from core.models import (
    Alert,
    AlertMention,
    AlertStatus,
    AuditEntry,
    Brand,
    Mention,
    MentionBrand,
    Notification,
    Role,
    Score,
)
from core.users import add_user, operator

T0 = datetime(2026, 3, 23, 14, 0, tzinfo=timezone.utc)  # a Monday afternoon
WEEK = timedelta(days=7)
_ids = itertools.count(1)

CONFIG = AlertsConfig.model_validate({
    "topics": ["outage"],
    "channels": [{"name": "hook", "type": "webhook", "webhook_url": "http://127.0.0.1:9/hook"}],
    "rules": [{"channels": ["hook"]}],
})


def brand(db: Database, name: str = "Acme") -> int:
    with db.session() as session:
        row = Brand(name=name, is_competitor=False)
        session.add(row)
        session.flush()
        return row.id


def mentions(db: Database, brand_id: int, times: list[datetime], *, sentiment: str | None = "neutral",
             topics: tuple[str, ...] = ()) -> list[int]:
    """Store mentions at `times` (scored with `sentiment` and `topics` unless sentiment is None)."""
    rows = []
    for at in times:
        n = next(_ids)
        rows.append({"id": n, "platform": "mastodon", "native_id": f"m{n}", "text": f"mention {n}", "created_at": at,
                     "scored_at": at if sentiment else None, "sentiment": sentiment, "urgency": 0.1 if sentiment else None,
                     "topics": list(topics) if sentiment else None, "raw": {}, "likes": 0, "reposts": 0, "replies": 0, "is_own": False, "fetched_at": at})
    with db.session() as session:
        session.execute(sa.insert(Mention), rows)
        session.execute(sa.insert(MentionBrand), [{"mention_id": r["id"], "brand_id": brand_id, "created_at": r["created_at"]}
                                                  for r in rows])
        if sentiment:
            session.execute(sa.insert(Score), [
                {"mention_id": r["id"], "model_version": "test", "sentiment": sentiment, "p_negative": 0.1,
                 "p_neutral": 0.8, "p_positive": 0.1, "valence": 0.0, "urgency": 0.1, "urgency_reasons": [],
                 "intent": "other", "topics": list(topics), "created_at": r["created_at"]} for r in rows])
    return [r["id"] for r in rows]


def every(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    out, at = [], start
    while at < end:
        out.append(at)
        at += step
    return out


def weekly_history(db: Database, brand_id: int, per_hour: int, *, weeks: int = 3, negative_every: int = 0) -> None:
    """`per_hour` mentions an hour around this hour of the week in each of the previous `weeks` weeks."""
    step = timedelta(hours=1) / per_hour
    for k in range(1, weeks + 1):
        times = every(T0 - k * WEEK - timedelta(hours=3), T0 - k * WEEK + timedelta(hours=3), step)
        negative = times[::negative_every] if negative_every else []
        mentions(db, brand_id, [t for t in times if t not in negative])
        if negative:
            mentions(db, brand_id, negative, sentiment="negative")


def detect(db: Database, at: datetime, config: AlertsConfig = CONFIG) -> alerts.DetectionResult:
    with db.session() as session:
        return alerts.run_detection(session, config, now=at)


def all_alerts(db: Database) -> list[Alert]:
    with db.session() as session:
        return list(session.scalars(sa.select(Alert).order_by(Alert.id)))


def events(db: Database) -> list[tuple[int | None, str]]:
    with db.session() as session:
        return [(n.alert_id, n.event) for n in session.scalars(sa.select(Notification).order_by(Notification.id))]


def test_a_spike_is_one_alert_that_escalates_then_resolves(db: Database) -> None:
    acme = brand(db)
    weekly_history(db, acme, per_hour=4)  # 2 expected in a 30-minute window
    mentions(db, acme, every(T0 - timedelta(minutes=30), T0, timedelta(minutes=15)))  # the usual 2

    assert detect(db, T0).opened == []

    spike = mentions(db, acme, every(T0 + timedelta(minutes=1), T0 + timedelta(minutes=4), timedelta(seconds=18)))
    first = detect(db, T0 + timedelta(minutes=5))  # 1 usual + 10 spike in the window: 11 / 2 = 5.5x
    assert len(first.opened) == 1
    [alert] = all_alerts(db)
    assert (alert.kind, alert.severity, alert.status, alert.brand_id, alert.topic) == (
        "volume_spike", "major", AlertStatus.open, acme, None)
    assert alert.details["observed"] == 11 and alert.details["baseline"] == "hour_of_week"
    assert alert.details["baseline_weeks"] == 3

    assert detect(db, T0 + timedelta(minutes=8)).opened == []  # same episode: no second alert

    more = mentions(db, acme, every(T0 + timedelta(minutes=8), T0 + timedelta(minutes=10), timedelta(seconds=6)))
    escalated = detect(db, T0 + timedelta(minutes=10))  # 41 in the window: 20x
    assert escalated.escalated == [alert.id] and escalated.opened == []
    [alert] = all_alerts(db)
    assert (alert.severity, alert.status) == ("critical", AlertStatus.escalated)

    assert detect(db, T0 + timedelta(minutes=45)).resolved == []  # quiet for 35 min: cooling
    resolved = detect(db, T0 + timedelta(minutes=75))  # quiet for 65 min >= resolve_after_minutes (60)
    assert resolved.resolved == [alert.id]
    [alert] = all_alerts(db)
    assert alert.status == AlertStatus.resolved and alert.resolved_at == T0 + timedelta(minutes=75)

    with db.session() as session:
        kept = set(session.scalars(sa.select(AlertMention.mention_id).where(AlertMention.alert_id == alert.id)))
    assert set(spike) | set(more) <= kept
    assert events(db) == [(alert.id, "opened"), (alert.id, "escalated"), (alert.id, "resolved")]

    mentions(db, acme, every(T0 + timedelta(minutes=80), T0 + timedelta(minutes=84), timedelta(seconds=15)))
    again = detect(db, T0 + timedelta(minutes=85))
    assert len(again.opened) == 1 and again.opened[0] != alert.id  # a new episode is a new alert


def test_negative_share_spike_without_more_volume(db: Database) -> None:
    acme = brand(db)
    weekly_history(db, acme, per_hour=24, negative_every=6)  # 12 a window, 1 in 6 negative
    times = every(T0 - timedelta(minutes=30), T0, timedelta(minutes=2.5))
    mentions(db, acme, times[:2])
    angry = mentions(db, acme, times[2:], sentiment="negative")  # 10 of 12 negative
    result = detect(db, T0)
    [alert] = all_alerts(db)
    assert result.opened == [alert.id]
    assert alert.kind == "negative_spike" and alert.severity == "major"
    with db.session() as session:
        kept = set(session.scalars(sa.select(AlertMention.mention_id)))
    assert kept == set(angry)


def test_a_quiet_brand_doubling_is_no_crisis(db: Database) -> None:
    acme = brand(db)
    weekly_history(db, acme, per_hour=6)  # 3 expected in the window
    mentions(db, acme, every(T0 - timedelta(minutes=30), T0, timedelta(minutes=5)))  # 6: twice the usual
    assert detect(db, T0).opened == []
    assert all_alerts(db) == []


def test_topic_spike_on_a_young_brand_uses_the_trailing_baseline(db: Database) -> None:
    acme = brand(db)
    mentions(db, acme, every(T0 - timedelta(hours=30), T0 - timedelta(minutes=30), timedelta(minutes=10)))
    mentions(db, acme, every(T0 - timedelta(minutes=30), T0, timedelta(minutes=10)))
    outage = mentions(db, acme, every(T0 - timedelta(minutes=12), T0, timedelta(seconds=40)), topics=("outage",))
    detect(db, T0)
    found = {(a.kind, a.topic): a for a in all_alerts(db)}
    assert ("volume_spike", "outage") in found and ("volume_spike", None) in found
    topic_alert = found[("volume_spike", "outage")]
    assert topic_alert.details["baseline"] == "trailing"
    with db.session() as session:
        kept = set(session.scalars(sa.select(AlertMention.mention_id).where(AlertMention.alert_id == topic_alert.id)))
    assert kept == set(outage)


def test_no_history_no_alerts(db: Database) -> None:
    acme = brand(db)
    mentions(db, acme, every(T0 - timedelta(minutes=30), T0, timedelta(seconds=20)))
    assert detect(db, T0).opened == []


def test_acknowledge_needs_pr_and_is_audited_and_still_escalates(db: Database) -> None:
    acme = brand(db)
    weekly_history(db, acme, per_hour=4)
    mentions(db, acme, every(T0 - timedelta(minutes=5), T0, timedelta(seconds=30)))  # 10: 5x
    [alert_id] = detect(db, T0).opened
    with db.session() as session:
        agent = add_user(session, operator("test"), "ada", "password123", Role.agent)
        pr = add_user(session, operator("test"), "pat", "password123", Role.pr)
        with pytest.raises(PermissionDenied):
            alerts.acknowledge(session, agent, alert_id, now=T0)
        alerts.acknowledge(session, pr, alert_id, now=T0 + timedelta(minutes=1))
    with db.session() as session:
        alert = session.get(Alert, alert_id)
        assert alert.status == AlertStatus.acknowledged and alert.acknowledged_by_id is not None
        assert session.scalar(sa.select(AuditEntry.action).where(AuditEntry.target_type == "alert", AuditEntry.target_id == str(alert_id))) == "alert.acknowledge"
    mentions(db, acme, every(T0, T0 + timedelta(minutes=3), timedelta(seconds=5)))
    assert detect(db, T0 + timedelta(minutes=3)).escalated == [alert_id]
    with db.session() as session:
        listed = alerts.list_alerts(session)
    assert listed[0]["id"] == alert_id and listed[0]["status"] == "escalated"
    assert [n["event"] for n in listed[0]["notifications"]] == ["opened", "escalated"]
