"""The case queue agents work from: most urgent first, then the nearest SLA due time.

Read-only: what the dashboard's queue and case pages and `earful outbox` show, computed here so
they hold no SQL.
One page of cases costs three queries whatever the table size (the page of ids on the
`ix_cases_inbox`-style columns, then their newest mentions and scores in bulk).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.alerts import has_topic
from core.errors import InvalidInput
from core.inbox import check_intent, check_topic, has_intent
from core.models import Author, Brand, Case, CaseStatus, Mention, Reply, ReplyState, Score, User

OPEN_STATUSES = (CaseStatus.new, CaseStatus.open, CaseStatus.pending)
UNASSIGNED = "(unassigned)"


@dataclass(frozen=True, slots=True)
class CaseFilters:
    """What the queue is narrowed to. A case matches an intent or a topic when any of its mentions
    does (by its current score): a thread that began as a complaint stays one when the customer
    follows up with a question."""

    statuses: tuple[CaseStatus, ...] = (CaseStatus.new, CaseStatus.open)
    assignee: str | None = None  # a username, UNASSIGNED, or None for anyone
    team: str | None = None
    platform: str | None = None
    brand_id: int | None = None
    min_urgency: float = 0.0
    breached_only: bool = False
    intent: str | None = None  # one of core.corrections.INTENTS
    topic: str | None = None  # a topic name (sentiment.topics)

    def __post_init__(self) -> None:
        check_intent(self.intent)
        check_topic(self.topic)


@dataclass(frozen=True, slots=True)
class CaseRow:
    case_id: int
    status: str
    platform: str
    team: str | None
    assignee: str | None
    brand: str | None
    author_handle: str
    author_followers: int | None
    text: str  # the customer's newest mention
    url: str | None
    sentiment: str | None
    urgency: float
    reasons: tuple[str, ...]
    intent: str | None
    topics: tuple[str, ...]
    mentions: int
    opened_at: datetime
    first_response_due: datetime | None
    first_response_at: datetime | None
    breached: bool
    waiting_approval: int = 0
    failed_replies: int = 0
    held_by: str | None = None
    hold_until: datetime | None = None
    extra: dict[str, object] = field(default_factory=dict)


class FirstResponseTimes(Protocol):
    """A case's first-response times, as a CaseRow or an inbox row (core.inbox.InboxRow) carries them."""

    @property
    def first_response_due(self) -> datetime | None: ...
    @property
    def first_response_at(self) -> datetime | None: ...


def sla_clock(row: FirstResponseTimes, now: datetime) -> str:
    """'12m left', '3h 05m late', 'answered' or '' (no policy, or no case): what the queue shows."""
    if row.first_response_at is not None:
        return "answered"
    if row.first_response_due is None:
        return ""
    delta = row.first_response_due - now
    late = delta < timedelta(0)
    minutes = int(abs(delta).total_seconds() // 60)
    text = f"{minutes // 60}h {minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"
    return f"{text} late" if late else f"{text} left"


def _where(session: Session, filters: CaseFilters) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if filters.statuses:
        conditions.append(Case.status.in_(filters.statuses))
    if filters.assignee == UNASSIGNED:
        conditions.append(Case.assignee_id.is_(None))
    elif filters.assignee:
        conditions.append(Case.assignee_id.in_(sa.select(User.id).where(User.username == filters.assignee)))
    if filters.team:
        conditions.append(Case.team == filters.team)
    if filters.platform:
        conditions.append(Case.platform == filters.platform)
    if filters.brand_id is not None:
        conditions.append(Case.brand_id == filters.brand_id)
    if filters.min_urgency > 0:
        conditions.append(Case.urgency >= filters.min_urgency)
    if filters.breached_only:
        conditions.append(sa.or_(Case.first_response_breached.is_(True), Case.resolution_breached.is_(True)))
    # Probes of the case's mentions through mentions(case_id), one per candidate case.
    if filters.intent:
        conditions.append(sa.exists().where(Mention.case_id == Case.id, has_intent(filters.intent)))
    if filters.topic:
        conditions.append(sa.exists().where(Mention.case_id == Case.id, has_topic(session, filters.topic)))
    return conditions


def count_cases(session: Session, filters: CaseFilters) -> int:
    return int(session.scalar(sa.select(sa.func.count()).select_from(Case).where(*_where(session, filters))) or 0)


def list_cases(session: Session, filters: CaseFilters, *, page: int = 1, page_size: int = 50) -> list[CaseRow]:
    """One page of the queue: urgency descending, then the nearest first-response due time."""
    ids = list(session.scalars(
        sa.select(Case.id).where(*_where(session, filters))
        .order_by(Case.urgency.desc(), Case.first_response_due.asc().nulls_last(), Case.id)
        .limit(page_size).offset(max(page - 1, 0) * page_size)
    ))
    return rows_for(session, ids)


def rows_for(session: Session, ids: list[int]) -> list[CaseRow]:
    if not ids:
        return []
    cases = {c.id: c for c in session.scalars(sa.select(Case).where(Case.id.in_(ids)))}
    newest = (
        sa.select(Mention.case_id, sa.func.max(Mention.id).label("mention_id"), sa.func.count().label("n"))
        .where(Mention.case_id.in_(ids)).group_by(Mention.case_id).subquery()
    )
    mentions: dict[int, tuple[Mention, int]] = {}
    for mention, n in session.execute(
        sa.select(Mention, newest.c.n).join(newest, newest.c.mention_id == Mention.id)
    ):
        mentions[mention.case_id] = (mention, n)
    mention_ids = [m.id for m, _ in mentions.values()]
    scores: dict[int, Score] = {}
    for score in session.scalars(sa.select(Score).where(Score.mention_id.in_(mention_ids)).order_by(Score.created_at, Score.id)):
        scores[score.mention_id] = score
    authors = {a.id: a for a in session.scalars(
        sa.select(Author).where(Author.id.in_([m.author_id for m, _ in mentions.values() if m.author_id])))}
    users = {u.id: u.username for u in session.scalars(sa.select(User))}
    brands = {b.id: b.name for b in session.scalars(sa.select(Brand))}
    pending: dict[int, int] = dict(session.execute(
        sa.select(Reply.case_id, sa.func.count()).where(
            Reply.case_id.in_(ids), Reply.state == ReplyState.draft, Reply.submitted_at.is_not(None))
        .group_by(Reply.case_id)).all())
    failed: dict[int, int] = dict(session.execute(
        sa.select(Reply.case_id, sa.func.count()).where(
            Reply.case_id.in_(ids), Reply.state.in_((ReplyState.failed, ReplyState.verify)))
        .group_by(Reply.case_id)).all())
    rows = []
    for case_id in ids:
        case = cases[case_id]
        mention, n = mentions.get(case_id, (None, 0))
        score = scores.get(mention.id) if mention else None
        author = authors.get(mention.author_id) if mention and mention.author_id else None
        rows.append(CaseRow(
            case_id=case.id, status=case.status.value, platform=case.platform, team=case.team,
            assignee=users.get(case.assignee_id) if case.assignee_id else None,
            brand=brands.get(case.brand_id) if case.brand_id else None,
            author_handle=author.handle if author else "?", author_followers=author.followers if author else None,
            text=mention.text if mention else "", url=mention.url if mention else None,
            sentiment=mention.sentiment if mention else None, urgency=case.urgency,
            reasons=tuple(str(r) for r in (score.urgency_reasons if score else [])),
            intent=score.intent if score else None,
            topics=tuple(str(t) for t in (score.topics if score else [])),
            mentions=n, opened_at=case.opened_at, first_response_due=case.first_response_due,
            first_response_at=case.first_response_at,
            breached=case.first_response_breached or case.resolution_breached,
            waiting_approval=pending.get(case_id, 0), failed_replies=failed.get(case_id, 0),
            held_by=users.get(case.held_by_id) if case.held_by_id else None, hold_until=case.hold_expires_at,
        ))
    return rows


def teams(session: Session) -> list[str]:
    found = {t for t in session.scalars(sa.select(Case.team).distinct()) if t}
    found |= {t for t in session.scalars(sa.select(User.team).distinct()) if t}
    return sorted(found)


def workers(session: Session) -> list[str]:
    """Usernames a case can be assigned to (active agents and above)."""
    from responder.assignment import WORKER_ROLES

    return list(session.scalars(
        sa.select(User.username).where(User.active.is_(True), User.role.in_(WORKER_ROLES)).order_by(User.username)))


def list_replies(session: Session, state: str | None = None, *, limit: int = 500) -> list[Reply]:
    """The newest replies, optionally only those in one state (`earful outbox`)."""
    query = sa.select(Reply).order_by(Reply.id.desc()).limit(limit)
    if state:
        try:
            query = query.where(Reply.state == ReplyState(state))
        except ValueError:
            raise InvalidInput(f"unknown state {state!r}; use one of {', '.join(s.value for s in ReplyState)}") from None
    return list(session.scalars(query))
