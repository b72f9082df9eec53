"""Metrics for reports: each one defined precisely in docs/metrics.md.

Counts (volume, sentiment, share of voice, topics, promoters and detractors) are SQL aggregates
(GROUP BY). Durations (first response, resolution) are fetched per case and summarised in Python,
because their business-hours arithmetic lives in `responder.sla` and the set (cases opened in the
range) is small. Every function takes the same `Filters`: a half-open UTC range [start, end) and an
optional brand, platform and team.
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from datetime import time as dtime
from typing import Any, Sequence

import sqlalchemy as sa
import sqlalchemy.orm
from sqlalchemy.orm import Session

from core import audit
from core.config import SlaPolicy
from core.errors import InvalidInput
from core.inbox import csv_cell
from core.models import (Alert, AlertStatus, Author, Brand, Case, Mention, MentionBrand, Reply, ReplyState, Role, Score,
                         User)
from core.users import require
from responder.sla import BusinessCalendar, calendar_for, elapsed_time

# An author with at least this many positive (negative) mentions in the range, and more positive than
# negative (or the reverse), is a promoter (detractor).
REPEATED = 2
SATISFIED_FROM = 4  # CSAT answers are 1-5; 4 and 5 count as satisfied


@dataclass(frozen=True, slots=True)
class Filters:
    start: datetime
    end: datetime
    brand: str | None = None
    platform: str | None = None
    team: str | None = None

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise InvalidInput(f"the range ends ({self.end.isoformat()}) before it starts ({self.start.isoformat()}); "
                               "give --from before --to")

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "brand": self.brand,
                "platform": self.platform, "team": self.team}


def brand_id(session: Session, name: str) -> int:
    found = session.scalar(sa.select(Brand.id).where(Brand.name == name))
    if found is None:
        names = ", ".join(session.scalars(sa.select(Brand.name).order_by(Brand.name))) or "none yet"
        raise InvalidInput(f"no brand {name!r}; known brands: {names}")
    return found


def _day(session: Session, column: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return sa.cast(sa.func.timezone("UTC", column), sa.Date)
    return sa.func.date(column)


def mentions_in_scope(session: Session, f: Filters, *, start: datetime | None = None,
                      end: datetime | None = None) -> sa.Select[Any]:
    """Ids of the mentions a report counts: in the range, not the brand's own posts, about the brand
    (any own brand when none is given), on the platform, in a case of the team."""
    start, end = start or f.start, end or f.end
    query = sa.select(Mention.id).where(Mention.created_at >= start, Mention.created_at < end, Mention.is_own.is_(False))
    # mention_brands carries its mention's created_at, so the same range read off the (brand_id,
    # created_at) index keeps the list to the range instead of every mention the brands ever had.
    brands = sa.select(Brand.id).where(Brand.name == f.brand if f.brand else Brand.is_competitor.is_(False))
    about = sa.select(MentionBrand.mention_id).where(MentionBrand.brand_id.in_(brands),
                                                     MentionBrand.created_at >= start, MentionBrand.created_at < end)
    query = query.where(Mention.id.in_(about))
    if f.platform:
        query = query.where(Mention.platform == f.platform)
    if f.team:
        query = query.where(Mention.case_id.in_(sa.select(Case.id).where(Case.team == f.team)))
    return query


def volume(session: Session, f: Filters) -> dict[str, Any]:
    scope = mentions_in_scope(session, f).subquery()
    base = sa.select(sa.func.count()).select_from(Mention).join(scope, scope.c.id == Mention.id)
    total = session.scalar(base) or 0
    by_platform = dict(session.execute(sa.select(Mention.platform, sa.func.count()).join(scope, scope.c.id == Mention.id)
                                       .group_by(Mention.platform)).all())
    day = _day(session, Mention.created_at)
    by_day = {str(d): n for d, n in session.execute(
        sa.select(day, sa.func.count()).join(scope, scope.c.id == Mention.id).group_by(day).order_by(day))}
    return {"total": total, "by_platform": dict(sorted(by_platform.items())), "by_day": by_day}


def sentiment(session: Session, f: Filters) -> dict[str, Any]:
    scope = mentions_in_scope(session, f).subquery()
    counts = dict(session.execute(
        sa.select(Mention.sentiment, sa.func.count()).join(scope, scope.c.id == Mention.id)
        .where(Mention.sentiment.is_not(None)).group_by(Mention.sentiment)).all())
    pos, neu, neg = counts.get("positive", 0), counts.get("neutral", 0), counts.get("negative", 0)
    scored = pos + neu + neg
    net = round(100 * (pos - neg) / scored, 1) if scored else None
    return {"scored": scored, "positive": pos, "neutral": neu, "negative": neg, "net_sentiment": net}


def share_of_voice(session: Session, f: Filters) -> list[dict[str, Any]]:
    """Mentions per brand (the chosen one, or every own brand, plus every competitor)."""
    query = (
        sa.select(Brand.name, Brand.is_competitor, sa.func.count(MentionBrand.mention_id))
        .join(MentionBrand, MentionBrand.brand_id == Brand.id).join(Mention, Mention.id == MentionBrand.mention_id)
        .where(MentionBrand.created_at >= f.start, MentionBrand.created_at < f.end, Mention.is_own.is_(False))
        .group_by(Brand.name, Brand.is_competitor)
    )
    if f.brand:
        query = query.where(sa.or_(Brand.name == f.brand, Brand.is_competitor.is_(True)))
    if f.platform:
        query = query.where(Mention.platform == f.platform)
    rows = session.execute(query).all()
    total = sum(n for _, _, n in rows)
    out = [{"brand": name, "competitor": bool(comp), "mentions": n, "share": round(100 * n / total, 1) if total else None}
           for name, comp, n in rows]
    return sorted(out, key=lambda r: (-r["mentions"], r["brand"]))


def _topic_counts(session: Session, f: Filters, start: datetime, end: datetime) -> dict[str, int]:
    scope = mentions_in_scope(session, f, start=start, end=end).subquery()
    if session.get_bind().dialect.name == "postgresql":
        each = sa.func.jsonb_array_elements_text(Score.topics).table_valued("value").render_derived()
    else:
        each = sa.func.json_each(Score.topics).table_valued("value")
    query = (
        sa.select(each.c.value, sa.func.count(sa.distinct(Mention.id)))
        .select_from(Mention).join(scope, scope.c.id == Mention.id)
        .join(Score, sa.and_(Score.mention_id == Mention.id, Score.created_at == Mention.scored_at))
        .join(each, sa.true()).group_by(each.c.value)
    )
    return {str(t): n for t, n in session.execute(query)}


def topic_trends(session: Session, f: Filters) -> list[dict[str, Any]]:
    """Mentions per topic in the range and in the equally long range just before it."""
    length = f.end - f.start
    now, before = _topic_counts(session, f, f.start, f.end), _topic_counts(session, f, f.start - length, f.start)
    rows = []
    for topic in sorted(set(now) | set(before)):
        n, p = now.get(topic, 0), before.get(topic, 0)
        rows.append({"topic": topic, "mentions": n, "previous": p,
                     "change_pct": round(100 * (n - p) / p, 1) if p else None})
    return sorted(rows, key=lambda r: (-r["mentions"], r["topic"]))


def advocates(session: Session, f: Filters) -> dict[str, Any]:
    """Promoters, detractors, and detractors won back after a reply (see docs/metrics.md)."""
    scope = mentions_in_scope(session, f).subquery()
    pos = sa.func.sum(sa.case((Mention.sentiment == "positive", 1), else_=0))
    neg = sa.func.sum(sa.case((Mention.sentiment == "negative", 1), else_=0))
    rows = session.execute(
        sa.select(Mention.author_id, pos, neg).join(scope, scope.c.id == Mention.id)
        .where(Mention.author_id.is_not(None)).group_by(Mention.author_id)
        .having(sa.or_(pos >= REPEATED, neg >= REPEATED))).all()
    promoters = [a for a, p, n in rows if p >= REPEATED and p > n]
    detractors = [a for a, p, n in rows if n >= REPEATED and n > p]
    first_reply = (
        sa.select(Mention.author_id.label("author_id"), sa.func.min(Reply.sent_at).label("at"))
        .join(Reply, Reply.in_reply_to_id == Mention.id)
        .where(Mention.author_id.in_(detractors), Reply.state == ReplyState.sent, Reply.sent_at >= f.start,
               Reply.sent_at < f.end).group_by(Mention.author_id).subquery())
    replied = dict(session.execute(sa.select(first_reply.c.author_id, first_reply.c.at)).all()) if detractors else {}
    # One query for all of them (through the author_id index), not one per detractor.
    later = sa.orm.aliased(Mention)
    won_back = (session.scalar(sa.select(sa.func.count()).select_from(first_reply).where(sa.exists().where(
        later.author_id == first_reply.c.author_id, later.sentiment == "positive", later.is_own.is_(False),
        later.created_at > first_reply.c.at, later.created_at < f.end))) or 0) if replied else 0
    return {"promoters": len(promoters), "detractors": len(detractors), "detractors_replied": len(replied),
            "detractors_won_back": won_back,
            "won_back_pct": round(100 * won_back / len(replied), 1) if replied else None}


# Only the columns the case metrics read: plain rows are several times faster to load than ORM objects,
# which matters for the Team page over a month of a busy team's cases.
CASE_COLUMNS = (Case.id, Case.opened_at, Case.first_response_at, Case.resolved_at, Case.first_response_due,
                Case.resolution_due, Case.sla_policy, Case.csat_score)


def _cases(session: Session, f: Filters) -> list[Any]:
    return list(session.execute(_cases_in_scope(session, sa.select(*CASE_COLUMNS), f)))


def _cases_in_scope(session: Session, query: Any, f: Filters) -> Any:
    """Cases opened in the range, narrowed by the brand, platform and team filters."""
    query = query.where(Case.opened_at >= f.start, Case.opened_at < f.end).order_by(Case.id)
    if f.brand:
        query = query.where(Case.brand_id == brand_id(session, f.brand))
    if f.platform:
        query = query.where(Case.platform == f.platform)
    if f.team:
        query = query.where(Case.team == f.team)
    return query


def summarise(minutes: Sequence[float]) -> dict[str, Any]:
    """Count, mean, median and p90 (nearest rank: the ceil(0.9 n)-th smallest) of durations in minutes."""
    if not minutes:
        return {"cases": 0, "mean_minutes": None, "median_minutes": None, "p90_minutes": None}
    ordered = sorted(minutes)
    p90 = ordered[math.ceil(0.9 * len(ordered)) - 1]
    return {"cases": len(ordered), "mean_minutes": round(statistics.fmean(ordered), 1),
            "median_minutes": round(statistics.median(ordered), 1), "p90_minutes": round(p90, 1)}


def _compliance(pairs: list[tuple[datetime | None, datetime]], now: datetime) -> dict[str, Any]:
    """(done_at, due) per case: met when done by the due time, breached when done late or overdue."""
    met = sum(1 for done, due in pairs if done is not None and done <= due)
    breached = sum(1 for done, due in pairs if (done is not None and done > due) or (done is None and due <= now))
    judged = met + breached
    return {"met": met, "breached": breached, "pending": len(pairs) - judged,
            "compliance_pct": round(100 * met / judged, 1) if judged else None}


def case_metrics(session: Session, f: Filters, *, calendar: BusinessCalendar | None,
                 policies: Sequence[SlaPolicy], now: datetime) -> dict[str, Any]:
    return _case_figures(_cases(session, f), calendar=calendar, policies=policies, now=now)


def case_metrics_by(session: Session, f: Filters, by: Sequence[str], *, calendar: BusinessCalendar | None,
                    policies: Sequence[SlaPolicy], now: datetime) -> dict[str, dict[str | None, dict[str, Any]]]:
    """The case metrics grouped by "team" and/or "assignee", from one query: {by: {group: figures}},
    where the group None holds all cases together. Same definitions as `case_metrics`."""
    columns = {"team": Case.team.label("team"), "assignee": User.username.label("assignee")}
    query = sa.select(*CASE_COLUMNS, *(columns[b] for b in by)).outerjoin(User, User.id == Case.assignee_id)
    rows = list(session.execute(_cases_in_scope(session, query, f)))
    total = _case_figures(rows, calendar=calendar, policies=policies, now=now)
    out: dict[str, dict[str | None, dict[str, Any]]] = {}
    for key in by:
        groups: dict[str, list[Any]] = {}
        for row in rows:
            groups.setdefault(getattr(row, key) or "(none)", []).append(row)
        out[key] = {None: total, **{g: _case_figures(members, calendar=calendar, policies=policies, now=now)
                                    for g, members in groups.items()}}
    return out


def _case_figures(cases: Sequence[Any], *, calendar: BusinessCalendar | None, policies: Sequence[SlaPolicy],
                  now: datetime) -> dict[str, Any]:
    by_name = {p.name: p for p in policies}
    first, resolution = [], []
    for case in cases:
        policy = by_name.get(case.sla_policy or "")
        clock = calendar_for(policy, calendar) if policy else calendar
        if case.first_response_at:
            first.append(elapsed_time(case.opened_at, case.first_response_at, clock) / timedelta(minutes=1))
        if case.resolved_at:
            resolution.append(elapsed_time(case.opened_at, case.resolved_at, clock) / timedelta(minutes=1))
    answers = [c.csat_score for c in cases if c.csat_score is not None]
    return {
        "cases_opened": len(cases),
        "first_response": summarise(first),
        "resolution": summarise(resolution),
        "sla": {
            "first_response": _compliance([(c.first_response_at, c.first_response_due) for c in cases if c.first_response_due], now),
            "resolution": _compliance([(c.resolved_at, c.resolution_due) for c in cases if c.resolution_due], now),
        },
        "csat": {
            "responses": len(answers),
            "mean": round(statistics.fmean(answers), 2) if answers else None,
            "satisfied_pct": round(100 * sum(a >= SATISFIED_FROM for a in answers) / len(answers), 1) if answers else None,
        },
        # Earful's survey asks 1-5 (CSAT); it collects no 0-10 "would you recommend" answers.
        "nps": None,
    }


def report(session: Session, f: Filters, *, calendar: BusinessCalendar | None, policies: Sequence[SlaPolicy],
           now: datetime) -> dict[str, Any]:
    """Every metric for one set of filters, as plain data (rendered by `core.report`)."""
    if f.brand:
        brand_id(session, f.brand)  # a misspelt brand is an error, not an empty report
    return {
        "filters": f.as_dict(),
        "volume": volume(session, f),
        "sentiment": sentiment(session, f),
        "share_of_voice": share_of_voice(session, f),
        "topics": topic_trends(session, f),
        **advocates(session, f),
        **case_metrics(session, f, calendar=calendar, policies=policies, now=now),
    }


# The dashboard's series and lists (Reputation and Advocacy pages). Same scope and definitions as the
# figures above; each is one GROUP BY or one ordered, limited query, so a page never loads the range.

BUCKETS: dict[str, timedelta] = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
SPIKE_KINDS = ("volume_spike", "negative_spike")
ACTIVE_ALERTS = (AlertStatus.open, AlertStatus.escalated, AlertStatus.acknowledged)
EXPORT_LIMIT = 10_000  # rows in one CSV export of mentions
MENTION_CSV_COLUMNS = ("mention_id", "created_at", "platform", "author_handle", "author_name", "author_followers",
                       "sentiment", "text", "url")


def _bucket(session: Session, column: Any, bucket: str) -> Any:
    """The UTC hour or day a time falls in, as SQL (a string on SQLite, a timestamp or date on PostgreSQL)."""
    if bucket not in BUCKETS:
        raise InvalidInput(f"unknown bucket {bucket!r}; use one of {', '.join(BUCKETS)}")
    if bucket == "day":
        return _day(session, column)
    if session.get_bind().dialect.name == "postgresql":
        return sa.func.date_trunc("hour", sa.func.timezone("UTC", column))
    return sa.func.strftime("%Y-%m-%d %H:00:00", column)


def _bucket_start(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    elif not isinstance(value, datetime):  # a date
        value = datetime.combine(value, dtime())
    return value.replace(tzinfo=timezone.utc)


def bucket_starts(f: Filters, bucket: str) -> list[datetime]:
    """Every bucket the range touches, from the one holding f.start (so a chart shows empty ones as 0)."""
    step = BUCKETS[bucket]
    first = f.start.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    if bucket == "day":
        first = first.replace(hour=0)
    starts = []
    while first < f.end:
        starts.append(first)
        first += step
    return starts


def volume_series(session: Session, f: Filters, bucket: str = "day") -> list[dict[str, Any]]:
    """Mentions in scope per UTC hour or day, by sentiment, with net sentiment; every bucket of the range."""
    when = _bucket(session, Mention.created_at, bucket)

    def count(label: str) -> Any:
        return sa.func.sum(sa.case((Mention.sentiment == label, 1), else_=0))

    # The scope query itself, given other columns: one pass over the range's rows, no second lookup.
    query = (mentions_in_scope(session, f)
             .with_only_columns(when, sa.func.count(), count("positive"), count("neutral"), count("negative"))
             .group_by(when))
    found = {_bucket_start(b): (n, int(p or 0), int(u or 0), int(g or 0)) for b, n, p, u, g in session.execute(query)}
    rows = []
    for start in bucket_starts(f, bucket):
        n, pos, neu, neg = found.get(start, (0, 0, 0, 0))
        scored = pos + neu + neg
        rows.append({"start": start, "mentions": n, "positive": pos, "neutral": neu, "negative": neg,
                     "net_sentiment": round(100 * (pos - neg) / scored, 1) if scored else None})
    return rows


def series_totals(series: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Volume and the `sentiment` figures of a whole `volume_series` (its buckets cover the range)."""
    pos, neu, neg = (sum(r[k] for r in series) for k in ("positive", "neutral", "negative"))
    scored = pos + neu + neg
    return {"total": sum(r["mentions"] for r in series), "scored": scored, "positive": pos, "neutral": neu,
            "negative": neg, "net_sentiment": round(100 * (pos - neg) / scored, 1) if scored else None}


def whole_buckets(now: datetime, length: timedelta, bucket: str) -> tuple[datetime, datetime]:
    """About `length` up to now, starting where a bucket starts (so the first bar is not a fraction):
    the last 7 days are the 6 whole days before today and today so far."""
    first = bucket_starts(Filters(now - length, now), bucket)[0]
    return first + BUCKETS[bucket], now


def topic_series(session: Session, f: Filters, bucket: str = "day", *, top: int = 5) -> list[dict[str, Any]]:
    """Mentions in scope per bucket for the `top` topics of the range (topic as in `topic_trends`)."""
    if session.get_bind().dialect.name == "postgresql":
        each = sa.func.jsonb_array_elements_text(Score.topics).table_valued("value").render_derived()
    else:
        each = sa.func.json_each(Score.topics).table_valued("value")
    when = _bucket(session, Mention.created_at, bucket)
    query = (
        mentions_in_scope(session, f).with_only_columns(when, each.c.value, sa.func.count(sa.distinct(Mention.id)))
        .join(Score, sa.and_(Score.mention_id == Mention.id, Score.created_at == Mention.scored_at))
        .join(each, sa.true()).group_by(when, each.c.value)
    )
    counts: dict[tuple[datetime, str], int] = {}
    totals: dict[str, int] = {}
    for b, topic, n in session.execute(query):
        counts[(_bucket_start(b), str(topic))] = n
        totals[str(topic)] = totals.get(str(topic), 0) + n
    chosen = sorted(totals, key=lambda t: (-totals[t], t))[:top]
    return [{"start": start, "topic": topic, "mentions": counts.get((start, topic), 0)}
            for topic in chosen for start in bucket_starts(f, bucket)]


def _mention_list(session: Session, f: Filters, limit: int) -> list[dict[str, Any]]:
    """Mentions in scope, the most followed author first, then newest."""
    query = (
        mentions_in_scope(session, f)
        .with_only_columns(Mention.id, Mention.created_at, Mention.platform, Author.handle, Author.name,
                           Author.followers, Mention.sentiment, Mention.text, Mention.url)
        .outerjoin(Author, Author.id == Mention.author_id)
        .order_by(sa.func.coalesce(Author.followers, -1).desc(), Mention.created_at.desc(), Mention.id.desc())
        .limit(limit)
    )
    return [dict(zip(MENTION_CSV_COLUMNS, row)) for row in session.execute(query)]


def top_mentions(session: Session, f: Filters, limit: int = 20) -> list[dict[str, Any]]:
    """The mentions in scope with the widest reach (author followers), as plain rows."""
    return _mention_list(session, f, limit)


def bucket_filters(f: Filters, start: datetime, bucket: str = "day") -> Filters:
    """The filters narrowed to one bucket (clipped to the range): what a chart's point stands for."""
    return replace(f, start=max(start, f.start), end=min(start + BUCKETS[bucket], f.end))


def mentions_on(session: Session, f: Filters, start: datetime, bucket: str = "day", *,
                limit: int = 500) -> list[dict[str, Any]]:
    """The mentions behind one bucket of a series, the most followed author first."""
    return _mention_list(session, bucket_filters(f, start, bucket), limit)


def mentions_csv(rows: Sequence[dict[str, Any]]) -> str:
    """Rows of `_mention_list` as CSV (header first), safe to open in a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(MENTION_CSV_COLUMNS)
    for row in rows:
        values = [row[c].isoformat() if isinstance(row[c], datetime) else row[c] for c in MENTION_CSV_COLUMNS]
        writer.writerow([csv_cell(v) for v in values])
    return out.getvalue()


def export_mentions_csv(session: Session, f: Filters, *, actor: User, limit: int = EXPORT_LIMIT) -> str:
    """Mentions in scope as CSV, most followed author first; exported data leaves Earful, so this
    checks the role (pr, as the Reputation page) and records the export in the audit log."""
    require(actor, Role.pr, "export mentions")
    rows = _mention_list(session, f, limit)
    audit.record(session, actor.username, "mentions.export", target_type="mention",
                 details={"rows": len(rows), "filters": f.as_dict()})
    return mentions_csv(rows)


def spike_alerts(session: Session, f: Filters, *, limit: int = 100) -> list[dict[str, Any]]:
    """Active spike alerts opened in the range, of the brand (any own brand when none is given)."""
    query = (
        sa.select(Alert.id, Alert.kind, Alert.severity, Alert.status, Brand.name, Alert.topic, Alert.opened_at,
                  Alert.summary)
        .join(Brand, Brand.id == Alert.brand_id)
        .where(Alert.status.in_(ACTIVE_ALERTS), Alert.opened_at >= f.start, Alert.opened_at < f.end,
               Alert.kind.in_(SPIKE_KINDS))
        .order_by(Alert.opened_at).limit(limit)
    )
    query = query.where(Brand.name == f.brand) if f.brand else query.where(Brand.is_competitor.is_(False))
    return [{"id": i, "kind": kind, "severity": severity, "status": status.value, "brand": brand, "topic": topic,
             "opened_at": opened, "summary": summary}
            for i, kind, severity, status, brand, topic, opened, summary in session.execute(query)]


def top_advocates(session: Session, f: Filters, limit: int = 20) -> list[dict[str, Any]]:
    """The promoters of the range (see `advocates`), the most positive mentions first, then reach."""
    pos = sa.func.sum(sa.case((Mention.sentiment == "positive", 1), else_=0))
    neg = sa.func.sum(sa.case((Mention.sentiment == "negative", 1), else_=0))
    ranked = (
        mentions_in_scope(session, f)
        .with_only_columns(Mention.author_id.label("author_id"), pos.label("positive"), neg.label("negative"))
        .where(Mention.author_id.is_not(None))
        .group_by(Mention.author_id).having(sa.and_(pos >= REPEATED, pos > neg)).subquery()
    )
    query = (
        sa.select(Author.platform, Author.handle, Author.name, Author.followers, ranked.c.positive, ranked.c.negative)
        .join(ranked, ranked.c.author_id == Author.id)
        .order_by(ranked.c.positive.desc(), sa.func.coalesce(Author.followers, -1).desc(), Author.id)
        .limit(limit)
    )
    return [{"platform": p, "author_handle": h, "author_name": n, "author_followers": fl, "positive": int(pv),
             "negative": int(nv)} for p, h, n, fl, pv, nv in session.execute(query)]


def advocates_over_time(session: Session, f: Filters, step: timedelta) -> list[dict[str, Any]]:
    """`advocates` for each successive `step` of the range (the last one may be shorter): an author is a
    promoter or detractor of a period by their mentions in that period."""
    rows = []
    start = f.start
    while start < f.end:
        part = replace(f, start=start, end=min(start + step, f.end))
        rows.append({"start": start, "end": part.end, **advocates(session, part)})
        start = part.end
    return rows


def csat(session: Session, f: Filters) -> dict[str, Any]:
    """The CSAT figures of `case_metrics` as one SQL aggregate, for pages that need nothing else of it."""
    satisfied = sa.func.sum(sa.case((Case.csat_score >= SATISFIED_FROM, 1), else_=0))
    query = _cases_in_scope(session, sa.select(sa.func.count(Case.csat_score), sa.func.avg(Case.csat_score), satisfied),
                            f).order_by(None)
    answers, mean, happy = session.execute(query).one()
    return {"responses": answers, "mean": round(float(mean), 2) if answers else None,
            "satisfied_pct": round(100 * int(happy) / answers, 1) if answers else None}
