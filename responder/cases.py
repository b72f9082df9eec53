"""Cases: the unit a social-care team works. Mentions group into cases by thread and customer.

`triage` runs after scoring (listener → store → sentiment → store → responder) and decides, for each
newly scored mention, whether it opens a case, joins one, or needs none:

- no case for the brand's own posts, for mentions that only name competitors, or below
  `responder.cases.min_urgency`;
- the same person in the same thread joins that thread's case; a closed one reopens if it closed
  less than `reopen_days` ago;
- the same person (or the same customer, linked across platforms) about the same brand joins their
  open case within `merge_hours`, wherever they wrote;
- otherwise a new case opens, gets its SLA due times and is routed to a team and an agent.

Statuses move new → open (assigned or worked) → pending (we replied, waiting on the customer) →
closed; a new mention from the customer moves pending or closed back to open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit
from core.config import ResponderConfig
from core.errors import InvalidInput
from core.models import Author, Brand, Case, CaseStatus, Mention, MentionBrand, Note, Reply, Role, Score, User
from core.users import require
from responder import assignment
from responder.rules import Facts, first_match
from responder.sla import BusinessCalendar, due_times

ALLOWED_BY_HAND = {CaseStatus.open, CaseStatus.pending, CaseStatus.closed}


@dataclass(frozen=True, slots=True)
class TriageResult:
    seen: int = 0
    opened: int = 0
    joined: int = 0
    reopened: int = 0
    skipped: int = 0


def mention_facts(session: Session, mentions: Sequence[Mention]) -> dict[int, Facts]:
    """What rules look at, for a batch of mentions, in three queries."""
    ids = [m.id for m in mentions]
    brands: dict[int, set[str]] = {i: set() for i in ids}
    for mention_id, name in session.execute(
        sa.select(MentionBrand.mention_id, Brand.name)
        .join(Brand, Brand.id == MentionBrand.brand_id)
        .where(MentionBrand.mention_id.in_(ids), Brand.is_competitor.is_(False))
    ):
        brands[mention_id].add(name)
    scores: dict[int, Score] = {}
    for score in session.scalars(sa.select(Score).where(Score.mention_id.in_(ids)).order_by(Score.created_at, Score.id)):
        scores[score.mention_id] = score  # the newest wins
    facts = {}
    for m in mentions:
        score = scores.get(m.id)
        facts[m.id] = Facts(
            urgency=float(m.urgency or 0.0),
            reach=int(m.author.followers or 0) if m.author else 0,
            platform=m.platform,
            brands=frozenset(brands[m.id]),
            topics=frozenset(t["name"] if isinstance(t, dict) else str(t) for t in (score.topics if score else [])),
            intent=score.intent if score else None,
            sentiment=m.sentiment,
        )
    return facts


def _competitor_only(session: Session, mention_id: int) -> bool:
    kinds = session.scalars(
        sa.select(Brand.is_competitor).join(MentionBrand, MentionBrand.brand_id == Brand.id)
        .where(MentionBrand.mention_id == mention_id)
    ).all()
    return bool(kinds) and all(kinds)


def _person(case_or_author: Author | None) -> tuple[str, int] | None:
    if case_or_author is None:
        return None
    if case_or_author.customer_id is not None:
        return ("customer", case_or_author.customer_id)
    return ("author", case_or_author.id)


def _same_person(person: tuple[str, int]) -> sa.ColumnElement[bool]:
    """A customer's cases include those opened before their accounts were linked into one customer."""
    kind, ident = person
    if kind == "author":
        return Case.author_id == ident
    return sa.or_(Case.customer_id == ident,
                  Case.author_id.in_(sa.select(Author.id).where(Author.customer_id == ident)))


def find_case(session: Session, mention: Mention, facts: Facts, config: ResponderConfig, now: datetime) -> Case | None:
    """The case this mention belongs to, if any (see the module docstring for the rules)."""
    person = _person(mention.author)
    if person is not None and mention.conversation_id:
        thread_case = session.scalars(
            sa.select(Case)
            .where(Case.platform == mention.platform, Case.conversation_id == mention.conversation_id,
                   _same_person(person))
            .order_by((Case.status == CaseStatus.closed).asc(), Case.updated_at.desc())
            .limit(1)
        ).first()
        if thread_case is not None:
            if thread_case.status != CaseStatus.closed:
                return thread_case
            closed_at = thread_case.closed_at or thread_case.updated_at
            if closed_at >= now - timedelta(days=config.cases.reopen_days):
                return thread_case
    if person is None:
        return None
    window = now - timedelta(hours=config.cases.merge_hours)
    brand_ids = sa.select(Brand.id).where(Brand.name.in_(facts.brands)) if facts.brands else None
    same_brand = Case.brand_id.is_(None) if brand_ids is None else sa.or_(Case.brand_id.is_(None), Case.brand_id.in_(brand_ids))
    return session.scalars(
        sa.select(Case)
        .where(_same_person(person), Case.status != CaseStatus.closed, Case.updated_at >= window, same_brand)
        .order_by(Case.updated_at.desc())
        .limit(1)
    ).first()


def triage(
    session: Session,
    config: ResponderConfig,
    *,
    now: datetime,
    calendar: BusinessCalendar,
    limit: int = 500,
) -> TriageResult:
    """Open or join cases for up to `limit` scored mentions not yet triaged (one transaction)."""
    query = (
        sa.select(Mention)
        .where(Mention.triaged_at.is_(None), Mention.scored_at.is_not(None))
        .order_by(Mention.created_at, Mention.id)
        .limit(limit)
        .execution_options(populate_existing=True)  # scores may have been written by a Core UPDATE
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=Mention)
    mentions = list(session.scalars(query))
    if not mentions:
        return TriageResult()
    facts_of = mention_facts(session, mentions)
    opened = joined = reopened = skipped = 0
    for mention in mentions:
        mention.triaged_at = now
        facts = facts_of[mention.id]
        if mention.is_own or facts.urgency < config.cases.min_urgency or _competitor_only(session, mention.id):
            skipped += 1
            continue
        case = find_case(session, mention, facts, config, now)
        if case is None:
            open_case(session, mention, facts, config, now=now, calendar=calendar)
            opened += 1
            continue
        if case.status == CaseStatus.closed:
            reopened += 1
        join_case(session, case, mention, facts, config, now=now, calendar=calendar)
        joined += 1
    session.flush()
    return TriageResult(len(mentions), opened, joined, reopened, skipped)


def open_case(
    session: Session, mention: Mention, facts: Facts, config: ResponderConfig, *, now: datetime,
    calendar: BusinessCalendar,
) -> Case:
    brand_id = None
    if facts.brands:
        brand_id = session.scalar(sa.select(Brand.id).where(Brand.name.in_(sorted(facts.brands))).order_by(Brand.id).limit(1))
    author = mention.author
    case = Case(
        brand_id=brand_id,
        platform=mention.platform,
        conversation_id=mention.conversation_id,
        customer_id=author.customer_id if author else None,
        author_id=author.id if author else None,
        status=CaseStatus.new,
        urgency=facts.urgency,
        opened_at=now,
        updated_at=now,
    )
    apply_sla(case, config, facts, now, calendar)
    session.add(case)
    session.flush()
    mention.case_id = case.id
    audit.record(session, "system", "case.open", target_type="case", target_id=case.id,
                 details={"mention_id": mention.id, "sla_policy": case.sla_policy}, at=now)
    assignment.auto_assign(session, case, config.assignment, facts, now)
    return case


def apply_sla(case: Case, config: ResponderConfig, facts: Facts, start: datetime, calendar: BusinessCalendar) -> None:
    policy = first_match(config.sla.policies, facts, lambda p: p.when)
    case.sla_policy = policy.name if policy else None
    if policy is None:
        case.first_response_due = case.resolution_due = None
        return
    targets = due_times(policy, start, calendar)
    case.first_response_due, case.resolution_due = targets.first_response_due, targets.resolution_due


def join_case(
    session: Session, case: Case, mention: Mention, facts: Facts, config: ResponderConfig, *, now: datetime,
    calendar: BusinessCalendar,
) -> None:
    mention.case_id = case.id
    case.urgency = max(case.urgency, facts.urgency)
    case.updated_at = now
    if case.status == CaseStatus.closed:
        case.status = CaseStatus.open
        case.closed_at = case.resolved_at = None
        case.resolution_breached = False
        policy = first_match(config.sla.policies, facts, lambda p: p.when)
        if policy is not None:
            case.resolution_due = due_times(policy, now, calendar).resolution_due
        audit.record(session, "system", "case.reopen", target_type="case", target_id=case.id,
                     details={"mention_id": mention.id}, at=now)
    elif case.status == CaseStatus.pending:
        case.status = CaseStatus.open
    case_facts = Facts(urgency=case.urgency, reach=facts.reach, platform=case.platform, brands=facts.brands,
                       topics=facts.topics, intent=facts.intent, sentiment=facts.sentiment)
    assignment.escalate_if_needed(session, case, config.assignment, case_facts, now)


# --------------------------------------------------------------------------- by hand


def get_case(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise InvalidInput(f"no case #{case_id}")
    return case


def set_status(session: Session, actor: User, case_id: int, status: CaseStatus | str, *, now: datetime) -> Case:
    require(actor, Role.agent, "change a case's status")
    try:
        status = CaseStatus(status)
    except ValueError:
        raise InvalidInput(f"unknown status {status!r}; use open, pending or closed") from None
    if status not in ALLOWED_BY_HAND:
        raise InvalidInput(f"a case cannot be set back to {status.value}; use open, pending or closed")
    case = get_case(session, case_id)
    old = case.status
    if old == status:
        return case
    case.status = status
    case.updated_at = now
    if status == CaseStatus.closed:
        case.closed_at = case.resolved_at = now
        if case.resolution_due is not None and now > case.resolution_due:
            case.resolution_breached = True
        case.held_by_id = case.hold_expires_at = None
    elif old == CaseStatus.closed:
        case.closed_at = case.resolved_at = None
    audit.record(session, actor.username, "case.status", target_type="case", target_id=case.id,
                 details={"from": old.value, "to": status.value}, at=now)
    return case


def mark_handled(session: Session, actor: User, case_id: int, *, now: datetime) -> Case:
    """For platforms with no reply API (Hacker News, RSS): the agent answered on the site itself."""
    require(actor, Role.agent, "mark a case handled")
    case = get_case(session, case_id)
    record_response(case, now)
    audit.record(session, actor.username, "case.mark_handled", target_type="case", target_id=case.id, at=now)
    return case


def record_response(case: Case, at: datetime) -> None:
    """A public answer went out (a sent reply, or one made on the platform by hand)."""
    if case.first_response_at is None:
        case.first_response_at = at
        if case.first_response_due is not None and at > case.first_response_due:
            case.first_response_breached = True
    if case.status in (CaseStatus.new, CaseStatus.open):
        case.status = CaseStatus.pending
    case.updated_at = at


def add_note(session: Session, actor: User, case_id: int, text: str, *, now: datetime) -> Note:
    """An internal note: stored with the case, shown to staff, never sent anywhere."""
    require(actor, Role.agent, "write notes")
    text = text.strip()
    if not text:
        raise InvalidInput("the note is empty; write something before saving it")
    case = get_case(session, case_id)
    note = Note(case_id=case.id, user_id=actor.id, text=text, created_at=now)
    session.add(note)
    session.flush()
    audit.record(session, actor.username, "note.add", target_type="case", target_id=case.id, at=now)
    return note


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class ThreadItem:
    kind: str  # "mention", "reply" or "note"
    at: datetime
    text: str
    who: str
    item: Any


def thread(session: Session, case_id: int) -> list[ThreadItem]:
    """Everything on a case in time order: the customer's mentions, our replies, internal notes."""
    case = get_case(session, case_id)
    items: list[ThreadItem] = []
    for m in session.scalars(sa.select(Mention).where(Mention.case_id == case.id)):
        items.append(ThreadItem("mention", m.created_at, m.text, m.author.handle if m.author else "?", m))
    users = {u.id: u.username for u in session.scalars(sa.select(User))}
    for r in session.scalars(sa.select(Reply).where(Reply.case_id == case.id)):
        items.append(ThreadItem("reply", r.sent_at or r.created_at, r.text, users.get(r.author_user_id or -1, "?"), r))
    for n in session.scalars(sa.select(Note).where(Note.case_id == case.id)):
        items.append(ThreadItem("note", n.created_at, n.text, users.get(n.user_id or -1, "?"), n))
    return sorted(items, key=lambda i: (i.at, i.kind))


def customer_cases(session: Session, case: Case) -> list[Case]:
    """The same customer's other cases on every platform, newest first."""
    author = session.get(Author, case.author_id) if case.author_id else None
    if case.customer_id is not None:
        where = _same_person(("customer", case.customer_id))
    elif author is not None:
        person = _person(author)
        assert person is not None
        where = _same_person(person)
    else:
        return []
    return list(session.scalars(sa.select(Case).where(where, Case.id != case.id).order_by(Case.opened_at.desc())))


def record_breaches(session: Session, *, now: datetime) -> int:
    """Flag cases whose first response or resolution is overdue; each breach is audited once."""
    found = 0
    late_first = session.scalars(
        sa.select(Case).where(Case.first_response_at.is_(None), Case.first_response_due < now,
                              Case.first_response_breached.is_(False), Case.status != CaseStatus.closed)
    ).all()
    for case in late_first:
        case.first_response_breached = True
        audit.record(session, "system", "sla.breach", target_type="case", target_id=case.id,
                     details={"target": "first_response", "due": case.first_response_due.isoformat()}, at=now)
        found += 1
    late_resolution = session.scalars(
        sa.select(Case).where(Case.status != CaseStatus.closed, Case.resolution_due < now,
                              Case.resolution_breached.is_(False))
    ).all()
    for case in late_resolution:
        case.resolution_breached = True
        audit.record(session, "system", "sla.breach", target_type="case", target_id=case.id,
                     details={"target": "resolution", "due": case.resolution_due.isoformat()}, at=now)
        found += 1
    return found


def bulk_status(session: Session, actor: User, case_ids: Sequence[int], status: CaseStatus | str, *, now: datetime) -> int:
    """Set many cases' status at once (each change checked and audited as if done one by one)."""
    for case_id in case_ids:
        set_status(session, actor, case_id, status, now=now)
    return len(case_ids)


def newest_mention(session: Session, case_id: int) -> Mention | None:
    """The customer's latest mention on the case: what a reply answers by default."""
    return session.scalars(
        sa.select(Mention).where(Mention.case_id == case_id).order_by(Mention.created_at.desc(), Mention.id.desc())
        .limit(1)
    ).first()


def case_brand_name(session: Session, case: Case) -> str:
    brand = session.get(Brand, case.brand_id) if case.brand_id else None
    return brand.name if brand else ""
