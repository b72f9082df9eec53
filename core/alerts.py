"""Spike and crisis alerts: the detection job's database side (and listing every alert, operational
ones from `core.ops_alerts` included).

One run: count mentions per own brand (and per watched topic) in the current window and in the
baseline spans, in SQL; let `core.detect` judge each series; then move each series' alert along its
episode (open -> escalated -> resolved, see `core.detect.next_step`). There is at most one active
alert per (kind, brand, topic), so a spike that lasts an hour is one alert, not twelve. An alert keeps
the mentions that triggered it (`alert_mentions`, up to `MAX_MENTIONS_PER_ALERT`). Every open,
escalation and resolution queues its notifications in the same transaction (`core.notify`).

Statistics are in `core.detect`, delivery in `core.notify`; this module only reads, decides with
them, and writes.
"""

from __future__ import annotations

import logging
from typing import Any
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm
from sqlalchemy.orm import Session

from core import audit, detect, notify, ops_alerts
from core.config import AlertsConfig
from core.errors import Conflict, InvalidInput
from core.models import Alert, AlertMention, AlertStatus, Brand, Mention, MentionBrand, Notification, Role, User
from core.users import require

log = logging.getLogger(__name__)

ACTIVE = (AlertStatus.open, AlertStatus.escalated, AlertStatus.acknowledged)
MAX_MENTIONS_PER_ALERT = 500


def thresholds(config: AlertsConfig) -> detect.Thresholds:
    return detect.Thresholds(
        p_value=config.p_value, min_count=config.min_count, min_negative=config.min_negative,
        min_share_increase=config.min_share_increase,
        levels=tuple(detect.Level(s.name, s.ratio) for s in config.severities),
    )


def has_topic(session: Session, topic: str) -> sa.ColumnElement[bool]:
    """True for a mention whose newest score lists `topic` (copied onto the mention with its sentiment)."""
    if session.get_bind().dialect.name == "postgresql":
        return sa.func.jsonb_exists(Mention.topics, topic)  # NULL (no topics) counts as false in WHERE
    each = sa.func.json_each(Mention.topics).table_valued("value")
    return sa.exists(sa.select(1).select_from(each).where(each.c.value == topic))


def count_spans(session: Session, brand_ids: list[int], spans: list[detect.Span],
                topic: str | None) -> dict[int, list[detect.Counts]]:
    """Per brand, the mentions (all, scored, negative) in each span.

    One statement: a UNION ALL of one GROUP BY per span, so each part is a range scan of the
    (brand_id, created_at) index rather than one scan over the weeks the spans reach back.
    """
    parts = []
    for i, span in enumerate(spans):
        part = (
            sa.select(MentionBrand.brand_id, sa.literal(i).label("span"), sa.func.count().label("total"),
                      sa.func.count(Mention.scored_at).label("scored"),
                      sa.func.sum(sa.case((Mention.sentiment == "negative", 1), else_=0)).label("negative"))
            .join(Mention, Mention.id == MentionBrand.mention_id)
            .where(MentionBrand.brand_id.in_(brand_ids), MentionBrand.created_at >= span.start,
                   MentionBrand.created_at < span.end, Mention.is_own.is_(False))
            .group_by(MentionBrand.brand_id)
        )
        if topic is not None:
            part = part.where(has_topic(session, topic))
        parts.append(part)
    found = {b: [detect.Counts()] * len(spans) for b in brand_ids}
    for brand, span, total, scored, negative in session.execute(sa.union_all(*parts)):
        row = list(found[brand])
        row[span] = detect.Counts(int(total), int(scored or 0), int(negative or 0))
        found[brand] = row
    return found


@dataclass
class DetectionResult:
    series: int = 0
    opened: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)


def run_detection(session: Session, config: AlertsConfig, *, now: datetime) -> DetectionResult:
    """One detection pass over every own brand and watched topic; writes alerts and notifications."""
    result = DetectionResult()
    brands = {b.id: b.name for b in session.scalars(sa.select(Brand).where(Brand.is_competitor.is_(False)))}
    if not brands:
        return result
    first_seen = dict(session.execute(
        sa.select(MentionBrand.brand_id, sa.func.min(MentionBrand.created_at))
        .where(MentionBrand.brand_id.in_(list(brands))).group_by(MentionBrand.brand_id)).all())
    window = detect.Span(now - timedelta(minutes=config.window_minutes), now)
    weekly = detect.baseline_spans(window, config.baseline_weeks, timedelta(minutes=config.baseline_padding_minutes))
    trailing = detect.trailing_span(window, config.trailing_hours)
    spans = [window, *weekly, trailing]
    rules = thresholds(config)
    active = {(a.kind, a.brand_id, a.topic): a for a in session.scalars(sa.select(Alert).where(Alert.status.in_(ACTIVE)))}
    for topic in (None, *config.topics):
        counts = count_spans(session, list(brands), spans, topic)
        for brand_id, per_span in counts.items():
            result.series += 1
            baseline = _baseline(window, weekly, trailing, per_span, first_seen.get(brand_id))
            for finding in detect.assess(per_span[0], baseline, rules):
                alert = active.get((finding.kind, brand_id, topic))
                _advance(session, config, rules, result, alert, finding, baseline, window, now,
                         brand_id=brand_id, brand=brands[brand_id], topic=topic)
    return result


def _baseline(window: detect.Span, weekly: list[detect.Span], trailing: detect.Span, per_span: list[detect.Counts],
              first_seen: datetime | None) -> detect.Baseline:
    """Hour-of-week from the weeks the brand already existed in; else the trailing hours; else none."""
    if first_seen is None:
        return detect.Baseline(0.0, 0.5, "none")
    usable = [(s, c) for s, c in zip(weekly, per_span[1:-1]) if s.start >= first_seen]
    if usable:
        return detect.estimate_baseline(window, [s for s, _ in usable], [c for _, c in usable], "hour_of_week")
    if trailing.start >= first_seen:
        return detect.estimate_baseline(window, [trailing], [per_span[-1]], "trailing")
    return detect.Baseline(0.0, 0.5, "none")


def _advance(session: Session, config: AlertsConfig, rules: detect.Thresholds, result: DetectionResult,
             alert: Alert | None, finding: detect.Finding, baseline: detect.Baseline, window: detect.Span,
             now: datetime, *, brand_id: int, brand: str, topic: str | None) -> None:
    episode = None
    if alert is not None:
        last = datetime.fromisoformat(alert.details.get("last_anomalous_at", alert.opened_at.isoformat()))
        episode = detect.Episode(alert.severity, last)
    step = detect.next_step(episode, finding, now, timedelta(minutes=config.resolve_after_minutes), rules.levels)
    if step in ("none", "cooling"):
        return
    if step == "resolve":
        assert alert is not None
        alert.status, alert.resolved_at, alert.updated_at = AlertStatus.resolved, now, now
        result.resolved.append(alert.id)
        notify.enqueue_alert_event(session, config, alert, "resolved", brand, now)
        return
    details = {**finding.as_details(), "window_minutes": config.window_minutes, "baseline": baseline.method,
               "baseline_weeks": baseline.weeks, "last_anomalous_at": now.isoformat()}
    if alert is None:
        alert = Alert(brand_id=brand_id, topic=topic, kind=finding.kind, severity=finding.severity,
                      status=AlertStatus.open, opened_at=now, updated_at=now, summary="", details={})
        session.add(alert)
    peak = max(float(alert.details.get("peak_ratio", 0)), finding.ratio)
    alert.details = {**details, "peak_ratio": round(peak, 3)}
    alert.updated_at = now
    alert.summary = _summary(finding, brand, topic, config.window_minutes)
    if step == "escalate":
        alert.severity, alert.status = finding.severity, AlertStatus.escalated  # type: ignore[assignment]
    session.flush()
    _attach_mentions(session, alert, brand_id, topic, window, negative_only=finding.kind == "negative_spike")
    if step == "open":
        result.opened.append(alert.id)
        notify.enqueue_alert_event(session, config, alert, "opened", brand, now)
    elif step == "escalate":
        result.escalated.append(alert.id)
        notify.enqueue_alert_event(session, config, alert, "escalated", brand, now)


def _summary(finding: detect.Finding, brand: str, topic: str | None, window_minutes: float) -> str:
    about = f"{brand}" + (f" / {topic}" if topic else "")
    what = "mentions" if finding.kind == "volume_spike" else "negative mentions"
    return (f"{about}: {finding.observed} {what} in {window_minutes:g} min, {finding.ratio:.1f}x the "
            f"{finding.expected:.1f} expected for this hour of the week")


def _attach_mentions(session: Session, alert: Alert, brand_id: int, topic: str | None, window: detect.Span,
                     *, negative_only: bool) -> None:
    have = session.scalar(sa.select(sa.func.count()).select_from(AlertMention).where(AlertMention.alert_id == alert.id)) or 0
    room = MAX_MENTIONS_PER_ALERT - have
    if room <= 0:
        return
    linked = sa.select(AlertMention.mention_id).where(AlertMention.alert_id == alert.id)
    query = (
        sa.select(Mention.id).join(MentionBrand, MentionBrand.mention_id == Mention.id)
        .where(MentionBrand.brand_id == brand_id, MentionBrand.created_at >= window.start,
               MentionBrand.created_at < window.end, Mention.is_own.is_(False), Mention.id.not_in(linked))
        .order_by(Mention.id).limit(room)
    )
    if negative_only:
        query = query.where(Mention.sentiment == "negative")
    if topic is not None:
        query = query.where(has_topic(session, topic))
    ids = list(session.scalars(query))
    session.add_all(AlertMention(alert_id=alert.id, mention_id=i) for i in ids)


# --- people acting on alerts --------------------------------------------------------------------------


def acknowledge(session: Session, actor: User, alert_id: int, *, now: datetime) -> Alert:
    """Someone (pr or above) owns the episode: it stays deduplicated and still escalates and resolves."""
    require(actor, Role.pr, "acknowledge alerts")
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise InvalidInput(f"no alert {alert_id}; list them with `earful alerts`")
    if alert.status not in (AlertStatus.open, AlertStatus.escalated):
        raise Conflict(f"alert {alert_id} is {alert.status.value}; only open or escalated alerts can be acknowledged")
    alert.status, alert.acknowledged_by_id, alert.updated_at = AlertStatus.acknowledged, actor.id, now
    audit.record(session, actor.username, "alert.acknowledge", target_type="alert", target_id=alert.id, at=now)
    return alert


def list_alerts(session: Session, *, status: str | None = None, category: str | None = None,
                limit: int = 100) -> list[dict[str, Any]]:
    """Newest first, with the brand, the number of mentions kept and how each notification went.
    `category`: `reputation` (spikes about a brand) or `operational` (`core.ops_alerts`); None: both."""
    query = sa.select(Alert, Brand.name).outerjoin(Brand, Brand.id == Alert.brand_id).order_by(Alert.id.desc()).limit(limit)
    if status:
        try:
            query = query.where(Alert.status == AlertStatus(status))
        except ValueError:
            raise InvalidInput(f"unknown status {status!r}; use one of {', '.join(s.value for s in AlertStatus)}") from None
    if category == "operational":
        query = query.where(Alert.kind.in_(list(ops_alerts.KINDS)))
    elif category == "reputation":
        query = query.where(Alert.kind.not_in(list(ops_alerts.KINDS)))
    elif category is not None:
        raise InvalidInput(f"unknown category {category!r}; use one of {', '.join(ops_alerts.CATEGORIES)}")
    rows = session.execute(query).all()
    ids = [a.id for a, _ in rows]
    mentions = dict(session.execute(sa.select(AlertMention.alert_id, sa.func.count()).where(
        AlertMention.alert_id.in_(ids)).group_by(AlertMention.alert_id)).all())
    deliveries: dict[int, list[dict[str, Any]]] = {}
    for n in session.scalars(sa.select(Notification).where(Notification.alert_id.in_(ids)).order_by(Notification.id)):
        deliveries.setdefault(n.alert_id or 0, []).append(
            {"channel": n.channel, "event": n.event, "state": n.state.value, "attempts": n.attempts, "error": n.last_error})
    return [
        {"id": a.id, "category": ops_alerts.category_of(a.kind), "kind": a.kind, "subject": a.subject, "brand": brand,
         "topic": a.topic, "severity": a.severity, "status": a.status.value,
         "summary": a.summary, "details": a.details or {}, "opened_at": a.opened_at.isoformat(),
         "resolved_at": a.resolved_at.isoformat() if a.resolved_at else None,
         "mentions": mentions.get(a.id, 0), "notifications": deliveries.get(a.id, [])}
        for a, brand in rows
    ]


def alert_mentions(session: Session, alert_id: int, *, limit: int = 500) -> list[Mention]:
    """The mentions that triggered an alert, newest first (what the dashboard lists behind it)."""
    return list(session.scalars(
        sa.select(Mention).join(AlertMention, AlertMention.mention_id == Mention.id)
        .where(AlertMention.alert_id == alert_id)
        .options(sa.orm.joinedload(Mention.author))
        .order_by(Mention.created_at.desc()).limit(limit)
    ))
