"""Metrics for reports: each one defined precisely in docs/metrics.md.

Counts (volume, sentiment, share of voice, topics, promoters and detractors, cases, SLA compliance,
CSAT) are SQL aggregates (GROUP BY). Durations (first response, resolution) are fetched per case
that has one and summarised in Python, because their business-hours arithmetic lives in
`responder.sla`. Every function takes the same `Filters`: a half-open UTC range [start, end) and an
optional brand, platform and team.
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Sequence

import sqlalchemy as sa
import sqlalchemy.orm
from sqlalchemy.orm import Session

from core import audit
from core.config import SlaPolicy
from core.errors import InvalidInput
from core.inbox import csv_cell
from core.models import (Alert, AlertStatus, Author, Brand, Case, Mention, MentionBrand, Reply, ReplyState, Role,
                         User)
from core.users import require
from responder.sla import BusinessCalendar, calendar_for, elapsed_time

# An author with at least this many positive (negative) mentions in the range, and more positive than
# negative (or the reverse), is a promoter (detractor).
REPEATED = 2
SATISFIED_FROM = 4  # CSAT answers are 1-5; 4 and 5 count as satisfied
# Per-bucket (per-period) aggregates joined by UNION ALL into one statement, at most this many at a
# time (well under SQLite's limit of 500 terms in a compound SELECT).
BUCKETS_PER_QUERY = 100


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


def _scope_brands(session: Session, f: Filters) -> list[int]:
    """The brands a mention must be about: the chosen one, or every own brand."""
    return list(session.scalars(
        sa.select(Brand.id).where(Brand.name == f.brand if f.brand else Brand.is_competitor.is_(False))))


def mentions_in_scope(session: Session, f: Filters, *, start: datetime | None = None, end: datetime | None = None,
                      few: bool = False, brands: Sequence[int] | None = None) -> sa.Select[Any]:
    """Ids of the mentions a report counts: in the range, not the brand's own posts, about the brand
    (any own brand when none is given), on the platform, in a case of the team.

    `few`: the caller narrows the query to a few mentions by other means (some authors), so the brand
    is checked mention by mention rather than by listing the range's brand links first. `brands`: the
    ids `_scope_brands` gives, when the caller has them already."""
    start, end = start or f.start, end or f.end
    query = sa.select(Mention.id).where(Mention.created_at >= start, Mention.created_at < end, Mention.is_own.is_(False))
    # mention_brands carries its mention's created_at, so the same range read off the (brand_id,
    # created_at) index keeps the list to the range instead of every mention the brands ever had.
    brands = _scope_brands(session, f) if brands is None else brands
    in_range = (MentionBrand.created_at >= start, MentionBrand.created_at < end)
    if len(brands) == 1 and not few:
        # One brand (chosen, or the only own one): (mention, brand) is the key of mention_brands, so a
        # join meets each mention once, and costs less than listing the range's links first.
        query = query.join(MentionBrand, sa.and_(MentionBrand.mention_id == Mention.id,
                                                 MentionBrand.brand_id == brands[0], *in_range))
    else:
        about = sa.select(MentionBrand.mention_id).where(MentionBrand.brand_id.in_(brands), *in_range)
        if few:
            query = query.where(sa.exists(about.where(MentionBrand.mention_id == Mention.id)))
        else:
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
    """Mentions per brand (the chosen one, or every own brand, plus every competitor).

    The brand links of the range are counted off the (brand_id, created_at) index, without reading
    their mentions: the mentions that do not count (the brand's own posts, or those on other
    platforms) are listed from the same range of mentions (a link carries its mention's created_at)
    off the (created_at, is_own, platform) index, and left out."""
    own = sa.select(Mention.id).where(Mention.created_at >= f.start, Mention.created_at < f.end)
    if f.platform:  # count the links of the platform's mentions
        counted = sa.func.sum(sa.case((MentionBrand.mention_id.in_(
            own.where(Mention.is_own.is_(False), Mention.platform == f.platform)), 1), else_=0))
    else:  # count every link but those of the brand's own posts (few)
        counted = sa.func.count() - sa.func.sum(sa.case((MentionBrand.mention_id.in_(
            own.where(Mention.is_own.is_(True))), 1), else_=0))
    query = (
        sa.select(Brand.name, Brand.is_competitor, counted)
        .join(MentionBrand, MentionBrand.brand_id == Brand.id)
        .where(MentionBrand.created_at >= f.start, MentionBrand.created_at < f.end)
        .group_by(Brand.name, Brand.is_competitor)
    )
    if f.brand:
        query = query.where(sa.or_(Brand.name == f.brand, Brand.is_competitor.is_(True)))
    rows = [(name, comp, int(n)) for name, comp, n in session.execute(query) if n]
    total = sum(n for _, _, n in rows)
    out = [{"brand": name, "competitor": bool(comp), "mentions": n, "share": round(100 * n / total, 1) if total else None}
           for name, comp, n in rows]
    return sorted(out, key=lambda r: (-r["mentions"], r["brand"]))


def _with_topics(session: Session, query: sa.Select[Any]) -> tuple[sa.Select[Any], Any]:
    """`query` (over mentions) with a row per topic of each mention's current score (copied onto the
    mention by `core.store.record_scores`); returns the query and the topic column."""
    if session.get_bind().dialect.name == "postgresql":
        each = sa.func.jsonb_array_elements_text(Mention.topics).table_valued("value").render_derived()
    else:
        each = sa.func.json_each(Mention.topics).table_valued("value")
    return query.join(each, sa.true()), each.c.value


def _topic_counts(session: Session, f: Filters, start: datetime, end: datetime) -> dict[str, int]:
    query, topic = _with_topics(session, mentions_in_scope(session, f, start=start, end=end))
    query = query.with_only_columns(topic, sa.func.count(sa.distinct(Mention.id))).group_by(topic)
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
    return _advocate_figures(session, f, _author_tallies(session, f))


def _author_tallies(session: Session, f: Filters, parts: Sequence[Filters] = ()) -> dict[Any, tuple[int, int]]:
    """(positive, negative) mentions of each promoter and detractor: over the range, or with `parts`
    (successive parts of the range) per part, keyed (part index, author), from one statement: one
    GROUP BY per part, joined by UNION ALL. Neutral and unscored mentions count for neither, so they
    are left out before grouping."""
    brands = _scope_brands(session, f)

    def tally(part: Filters, k: int | None) -> Any:
        pos = sa.func.sum(sa.case((Mention.sentiment == "positive", 1), else_=0))
        neg = sa.func.sum(sa.case((Mention.sentiment == "negative", 1), else_=0))
        keys = [Mention.author_id] if k is None else [sa.literal(k).label("part"), Mention.author_id]
        return (mentions_in_scope(session, part, brands=brands).with_only_columns(*keys, pos, neg)
                .where(Mention.author_id.is_not(None), Mention.sentiment.in_(("positive", "negative")))
                .group_by(Mention.author_id)
                .having(sa.or_(sa.and_(pos >= REPEATED, pos > neg), sa.and_(neg >= REPEATED, neg > pos))))

    if not parts:
        return {author: (int(p), int(n)) for author, p, n in session.execute(tally(f, None))}
    out: dict[Any, tuple[int, int]] = {}
    queries = [tally(part, k) for k, part in enumerate(parts)]
    for first in range(0, len(queries), BUCKETS_PER_QUERY):
        for k, author, p, n in session.execute(sa.union_all(*queries[first:first + BUCKETS_PER_QUERY])):
            out[(k, author)] = (int(p), int(n))
    return out


def _advocate_figures(session: Session, f: Filters, tallies: dict[int, tuple[int, int]]) -> dict[str, Any]:
    promoters = [a for a, (p, n) in tallies.items() if p >= REPEATED and p > n]
    detractors = [a for a, (p, n) in tallies.items() if n >= REPEATED and n > p]
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


def _cases_in_scope(session: Session, query: Any, f: Filters) -> Any:
    """Cases opened in the range (read off the opened_at index), narrowed by the brand, platform and
    team filters."""
    query = query.where(Case.opened_at >= f.start, Case.opened_at < f.end)
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


@dataclass(slots=True)
class _CaseTally:
    """The case figures of one group, added up: counts from SQL, durations from Python."""
    opened: int = 0
    # per SLA clock ("first_response", "resolution"): [cases with a due time, met, breached]
    sla: dict[str, list[int]] = field(default_factory=lambda: {"first_response": [0, 0, 0], "resolution": [0, 0, 0]})
    answers: int = 0
    answer_sum: int = 0
    satisfied: int = 0
    first: list[float] = field(default_factory=list)
    resolution: list[float] = field(default_factory=list)

    def add(self, counts: Sequence[int]) -> None:
        self.opened += counts[0]
        for i, clock in enumerate(("first_response", "resolution")):
            for j in range(3):
                self.sla[clock][j] += counts[1 + 3 * i + j]
        self.answers, self.answer_sum, self.satisfied = (
            self.answers + counts[7], self.answer_sum + counts[8], self.satisfied + counts[9])

    def figures(self) -> dict[str, Any]:
        def compliance(due: int, met: int, breached: int) -> dict[str, Any]:
            judged = met + breached
            return {"met": met, "breached": breached, "pending": due - judged,
                    "compliance_pct": round(100 * met / judged, 1) if judged else None}

        n = self.answers
        return {
            "cases_opened": self.opened,
            "first_response": summarise(self.first),
            "resolution": summarise(self.resolution),
            "sla": {clock: compliance(*self.sla[clock]) for clock in ("first_response", "resolution")},
            "csat": {
                "responses": n,
                "mean": round(self.answer_sum / n, 2) if n else None,
                "satisfied_pct": round(100 * self.satisfied / n, 1) if n else None,
            },
            # Earful's survey asks 1-5 (CSAT); it collects no 0-10 "would you recommend" answers.
            "nps": None,
        }


def _case_tallies(session: Session, f: Filters, by: Sequence[str], *, calendar: BusinessCalendar | None,
                  policies: Sequence[SlaPolicy], now: datetime) -> tuple[_CaseTally, dict[str, dict[str, _CaseTally]]]:
    """The total and one tally per group of each `by` ("team", "assignee"), from two queries: the counts,
    SLA compliance and CSAT summed in SQL per (team, assignee), and the few columns the durations need,
    only for cases with a first response or a resolution (each case's business time computed once)."""
    keys = {"team": Case.team.label("team"), "assignee": User.username.label("assignee")}
    groups = [keys[b] for b in ("team", "assignee")]

    def n(condition: Any) -> Any:
        return sa.func.sum(sa.case((condition, 1), else_=0))

    def met_breached(done: Any, due: Any) -> tuple[Any, Any, Any]:
        # met when done by the due time; breached when done late, or not done and already due
        return (n(due.is_not(None)), n(sa.and_(due.is_not(None), done.is_not(None), done <= due)),
                n(sa.and_(due.is_not(None), sa.or_(sa.and_(done.is_not(None), done > due),
                                                   sa.and_(done.is_(None), due <= now)))))

    counts = (sa.func.count(), *met_breached(Case.first_response_at, Case.first_response_due),
              *met_breached(Case.resolved_at, Case.resolution_due), sa.func.count(Case.csat_score),
              sa.func.sum(Case.csat_score), n(Case.csat_score >= SATISFIED_FROM))
    query = _cases_in_scope(session, sa.select(*groups, *counts).outerjoin(User, User.id == Case.assignee_id), f)
    total = _CaseTally()
    out: dict[str, dict[str, _CaseTally]] = {key: {} for key in by}

    def tallies(row: Any) -> list[_CaseTally]:
        return [total, *(out[key].setdefault(getattr(row, key) or "(none)", _CaseTally()) for key in by)]

    for row in session.execute(query.group_by(*groups)):
        numbers = [int(v or 0) for v in row[len(groups):]]
        for tally in tallies(row):
            tally.add(numbers)
    by_name = {p.name: p for p in policies}
    done = _cases_in_scope(session, sa.select(*groups, Case.opened_at, Case.first_response_at, Case.resolved_at,
                                               Case.sla_policy).outerjoin(User, User.id == Case.assignee_id), f)
    done = done.where(sa.or_(Case.first_response_at.is_not(None), Case.resolved_at.is_not(None)))
    for row in session.execute(done):
        policy = by_name.get(row.sla_policy or "")
        clock = calendar_for(policy, calendar) if policy else calendar
        first = (elapsed_time(row.opened_at, row.first_response_at, clock) / timedelta(minutes=1)
                 if row.first_response_at else None)
        resolution = (elapsed_time(row.opened_at, row.resolved_at, clock) / timedelta(minutes=1)
                      if row.resolved_at else None)
        for tally in tallies(row):
            if first is not None:
                tally.first.append(first)
            if resolution is not None:
                tally.resolution.append(resolution)
    return total, out


def case_metrics(session: Session, f: Filters, *, calendar: BusinessCalendar | None,
                 policies: Sequence[SlaPolicy], now: datetime) -> dict[str, Any]:
    total, _ = _case_tallies(session, f, (), calendar=calendar, policies=policies, now=now)
    return total.figures()


def case_metrics_by(session: Session, f: Filters, by: Sequence[str], *, calendar: BusinessCalendar | None,
                    policies: Sequence[SlaPolicy], now: datetime) -> dict[str, dict[str | None, dict[str, Any]]]:
    """The case metrics grouped by "team" and/or "assignee": {by: {group: figures}}, where the group
    None holds all cases together. Same definitions as `case_metrics`; counts are summed in SQL, so a
    page never loads a month of cases to count them."""
    total, groups = _case_tallies(session, f, by, calendar=calendar, policies=policies, now=now)
    everything = total.figures()
    return {key: {None: everything, **{g: t.figures() for g, t in sorted(groups[key].items())}} for key in by}


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
    return _volume_rows(*_bucket_tallies(session, f, bucket))


def volume_and_topic_series(session: Session, f: Filters, bucket: str = "day", *,
                            top: int = 5) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """`volume_series` and `topic_series` from one pass over the range's mentions."""
    starts, tallies = _bucket_tallies(session, f, bucket)
    return _volume_rows(starts, tallies), _topic_rows(starts, tallies, top)


# Per bucket and set of topics: (mentions, positive, neutral, negative).
Tallies = list[dict[tuple[str, ...], tuple[int, int, int, int]]]


def _bucket_tallies(session: Session, f: Filters, bucket: str) -> tuple[list[datetime], Tallies]:
    """The range's mentions in scope counted per bucket and set of topics, by sentiment.

    One aggregate per bucket, joined by UNION ALL into one statement: each reads its own slice of the
    range off the index, and nothing sorts the range's mentions by bucket as a GROUP BY would. A
    bucket holds a few dozen distinct sets of topics however many mentions it has, so volume,
    sentiment and topics over time all come from this one pass. On PostgreSQL the columns read are
    all in `ix_mentions_created_at`, so the pass reads the index alone (an index-only scan)."""
    if bucket not in BUCKETS:
        raise InvalidInput(f"unknown bucket {bucket!r}; use one of {', '.join(BUCKETS)}")

    def count(label: str) -> Any:
        return sa.func.sum(sa.case((Mention.sentiment == label, 1), else_=0))

    starts = bucket_starts(f, bucket)
    brands = _scope_brands(session, f)
    per_bucket = [mentions_in_scope(session, bucket_filters(f, start, bucket), brands=brands).with_only_columns(
        sa.literal(k).label("k"), Mention.topics, sa.func.count(), count("positive"), count("neutral"), count("negative"))
        .group_by(Mention.topics)
        for k, start in enumerate(starts)]
    tallies: Tallies = [{} for _ in starts]
    for first in range(0, len(per_bucket), BUCKETS_PER_QUERY):
        for k, topics, *counts in session.execute(sa.union_all(*per_bucket[first:first + BUCKETS_PER_QUERY])):
            key = tuple(sorted({str(t) for t in topics or ()}))  # the same set may be listed in another order
            before = tallies[k].get(key, (0, 0, 0, 0))
            tallies[k][key] = tuple(a + int(b or 0) for a, b in zip(before, counts))  # type: ignore[assignment]
    return starts, tallies


def _volume_rows(starts: Sequence[datetime], tallies: Tallies) -> list[dict[str, Any]]:
    rows = []
    for start, counts in zip(starts, tallies):
        n, pos, neu, neg = (sum(c[i] for c in counts.values()) for i in range(4))
        scored = pos + neu + neg
        rows.append({"start": start, "mentions": n, "positive": pos, "neutral": neu, "negative": neg,
                     "net_sentiment": round(100 * (pos - neg) / scored, 1) if scored else None})
    return rows


def _topic_rows(starts: Sequence[datetime], tallies: Tallies, top: int) -> list[dict[str, Any]]:
    per_bucket: list[dict[str, int]] = []
    totals: dict[str, int] = {}
    for counts in tallies:
        found: dict[str, int] = {}
        for topics, (n, *_) in counts.items():
            for topic in topics:
                found[topic] = found.get(topic, 0) + n
                totals[topic] = totals.get(topic, 0) + n
        per_bucket.append(found)
    chosen = sorted(totals, key=lambda t: (-totals[t], t))[:top]
    return [{"start": start, "topic": topic, "mentions": found.get(topic, 0)}
            for topic in chosen for start, found in zip(starts, per_bucket)]


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
    return _topic_rows(*_bucket_tallies(session, f, bucket), top)


def _mention_list(session: Session, f: Filters, limit: int,
                  authors: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """Mentions in scope (of `authors` only, when given), the most followed author first, then newest."""
    query = (
        mentions_in_scope(session, f, few=authors is not None)
        .with_only_columns(Mention.id, Mention.created_at, Mention.platform, Author.handle, Author.name,
                           Author.followers, Mention.sentiment, Mention.text, Mention.url)
        .outerjoin(Author, Author.id == Mention.author_id)
        .order_by(sa.func.coalesce(Author.followers, -1).desc(), Mention.created_at.desc(), Mention.id.desc())
        .limit(limit)
    )
    if authors is not None:
        query = query.where(Mention.author_id.in_(authors))
    return [dict(zip(MENTION_CSV_COLUMNS, row)) for row in session.execute(query)]


# The most followed authors are walked this many at a time (plus everyone tied with the last of them),
# at most WALK_STEPS times; a walk that has not filled the list by then gives way to sorting the range.
WALK_AUTHORS = 500
WALK_STEPS = 4


def _most_followed_first(session: Session, f: Filters, limit: int) -> list[dict[str, Any]] | None:
    """`_mention_list` without sorting the range: the mentions of the most followed authors, a batch of
    authors at a time (off the followers index), until the list is full. Every later batch has fewer
    followers, so its mentions sort after the ones found. None when the walk gives up."""
    rows: list[dict[str, Any]] = []
    below: int | None = None
    for _ in range(WALK_STEPS):
        query = sa.select(Author.followers).where(Author.followers >= 0)
        if below is not None:
            query = query.where(Author.followers < below)
        counts = list(session.scalars(query.order_by(Author.followers.desc()).limit(WALK_AUTHORS)))
        if not counts:
            return None  # authors without a follower count, and mentions without an author, come last
        low = counts[-1]
        authors = list(session.scalars(sa.select(Author.id).where(Author.followers >= low, *(
            [Author.followers < below] if below is not None else []))))
        if len(authors) > 4 * WALK_AUTHORS:
            return None  # a huge tie (say, everyone at 0 followers): the plain sort is as good
        rows += _mention_list(session, f, limit - len(rows), authors)
        if len(rows) == limit:
            return rows
        below = low
    return None


def top_mentions(session: Session, f: Filters, limit: int = 20) -> list[dict[str, Any]]:
    """The mentions in scope with the widest reach (author followers), as plain rows. Over a long range
    the most followed authors are looked at first, rather than sorting every mention of the range."""
    found = _most_followed_first(session, f, limit)
    return found if found is not None else _mention_list(session, f, limit)


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
    return _top_promoters(session, _author_tallies(session, f), limit)


def _top_promoters(session: Session, tallies: dict[int, tuple[int, int]], limit: int) -> list[dict[str, Any]]:
    """`top_advocates` from the tallies: the promoters with the most positive mentions, the followers of
    only those looked up (a tier of equal counts at a time, the most followed first)."""
    tiers: dict[int, list[int]] = {}
    for author, (p, n) in tallies.items():
        if p >= REPEATED and p > n:
            tiers.setdefault(p, []).append(author)
    out: list[dict[str, Any]] = []
    for positive in sorted(tiers, reverse=True):
        need = limit - len(out)
        if need <= 0:
            break
        found = []
        ids = tiers[positive]
        for chunk in range(0, len(ids), 10_000):  # under every backend's limit of bound parameters
            found += session.execute(
                sa.select(Author.id, Author.platform, Author.handle, Author.name, Author.followers)
                .where(Author.id.in_(ids[chunk:chunk + 10_000]))
                .order_by(sa.func.coalesce(Author.followers, -1).desc(), Author.id).limit(need)).all()
        found.sort(key=lambda r: (-(r.followers if r.followers is not None else -1), r.id))
        out += [{"platform": r.platform, "author_handle": r.handle, "author_name": r.name,
                 "author_followers": r.followers, "positive": positive, "negative": tallies[r.id][1]}
                for r in found[:need]]
    return out


def advocates_over_time(session: Session, f: Filters, step: timedelta) -> list[dict[str, Any]]:
    """`advocates` for each successive `step` of the range (the last one may be shorter): an author is a
    promoter or detractor of a period by their mentions in that period. One pass over the range's
    mentions for all the periods."""
    parts = []
    start = f.start
    while start < f.end:
        parts.append(replace(f, start=start, end=min(start + step, f.end)))
        start = parts[-1].end
    by_part: list[dict[int, tuple[int, int]]] = [{} for _ in parts]
    for (k, author), counts in _author_tallies(session, f, parts).items():
        by_part[k][author] = counts
    return [{"start": part.start, "end": part.end, **_advocate_figures(session, part, tallies)}
            for part, tallies in zip(parts, by_part)]


def advocates_and_top(session: Session, f: Filters, limit: int = 20) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """`advocates` and `top_advocates` from one pass over the range's mentions."""
    tallies = _author_tallies(session, f)
    return _advocate_figures(session, f, tallies), _top_promoters(session, tallies, limit)


def csat(session: Session, f: Filters) -> dict[str, Any]:
    """The CSAT figures of `case_metrics` as one SQL aggregate, for pages that need nothing else of it."""
    satisfied = sa.func.sum(sa.case((Case.csat_score >= SATISFIED_FROM, 1), else_=0))
    query = _cases_in_scope(session, sa.select(sa.func.count(Case.csat_score), sa.func.avg(Case.csat_score), satisfied),
                            f).order_by(None)
    answers, mean, happy = session.execute(query).one()
    return {"responses": answers, "mean": round(float(mean), 2) if answers else None,
            "satisfied_pct": round(100 * int(happy) / answers, 1) if answers else None}
