"""Who works a case: automatic round-robin within a team (with capacity limits and config rules that
send some cases to another team), assignment by hand, and the hold that keeps two agents from
answering the same case at once.

Round-robin needs no pointer of its own: the next agent is the one in the team, under capacity,
whose most recent assignment is oldest (never assigned first). That is the same order a rotating
pointer gives, survives restarts, and stays fair when agents join or leave the team.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit
from core.config import AssignmentConfig
from core.errors import Conflict, InvalidInput
from core.models import Case, CaseStatus, Role, User
from core.users import RANK, has_role, require
from responder.rules import Facts, first_match

# Roles that work cases (viewers only read).
WORKER_ROLES = tuple(r for r in Role if RANK[r] >= RANK[Role.agent])


class CaseHeld(Conflict):
    """Another agent holds the case (is answering it) until the hold expires or they release it."""

    def __init__(self, holder: str, until: datetime) -> None:
        self.holder = holder
        self.until = until
        super().__init__(
            f"{holder} is answering this case (held until {until:%H:%M} UTC); wait until they release it "
            "or the hold expires, or ask a manager to release it"
        )


def team_for(config: AssignmentConfig, facts: Facts) -> str:
    rule = first_match(config.rules, facts, lambda r: r.when)
    return rule.team if rule is not None else config.default_team


def open_case_counts(session: Session, user_ids: list[int]) -> dict[int, int]:
    rows = session.execute(
        sa.select(Case.assignee_id, sa.func.count())
        .where(Case.assignee_id.in_(user_ids), Case.status != CaseStatus.closed)
        .group_by(Case.assignee_id)
    )
    return {uid: n for uid, n in rows}


def next_agent(session: Session, team: str, capacity: int) -> User | None:
    """The team member under capacity whose latest assignment is oldest (round-robin)."""
    last_assigned = (
        sa.select(Case.assignee_id, sa.func.max(Case.assigned_at).label("last_at"))
        .where(Case.assignee_id.is_not(None))
        .group_by(Case.assignee_id)
        .subquery()
    )
    candidates = session.execute(
        sa.select(User, last_assigned.c.last_at)
        .outerjoin(last_assigned, last_assigned.c.assignee_id == User.id)
        .where(User.team == team, User.active.is_(True), User.role.in_(WORKER_ROLES))
        .order_by(last_assigned.c.last_at.asc().nulls_first(), User.id)
    ).all()
    if not candidates:
        return None
    counts = open_case_counts(session, [u.id for u, _ in candidates])
    for user, _ in candidates:
        if counts.get(user.id, 0) < capacity:
            return user
    return None


def auto_assign(session: Session, case: Case, config: AssignmentConfig, facts: Facts, now: datetime) -> User | None:
    """Route a case to its team and, in round-robin mode, to the next agent there with room."""
    team = team_for(config, facts)
    moved = case.team is not None and case.team != team
    case.team = team
    if config.mode != "round_robin":
        return None
    if case.assignee_id is not None and not moved:
        return None
    agent = next_agent(session, team, config.capacity)
    if agent is None:
        if moved:
            case.assignee_id = None  # escalated: wait in the new team's queue rather than stay put
        return None
    _set_assignee(case, agent, now)
    audit.record(session, "system", "case.assign", target_type="case", target_id=case.id,
                 details={"to": agent.username, "team": team, "auto": True}, at=now)
    return agent


def escalate_if_needed(session: Session, case: Case, config: AssignmentConfig, facts: Facts, now: datetime) -> bool:
    """A case whose facts now match a rule for another team moves there (never back down)."""
    rule = first_match(config.rules, facts, lambda r: r.when)
    if rule is None or rule.team == case.team:
        return False
    old = case.team
    case.assignee_id = None
    auto_assign(session, case, config, facts, now)
    audit.record(session, "system", "case.escalate", target_type="case", target_id=case.id,
                 details={"from_team": old, "to_team": case.team}, at=now)
    return True


def assign(session: Session, actor: User, case_id: int, assignee: str | None, *, now: datetime) -> Case:
    """Assign a case by hand. Agents may take a case or give back their own; pr and above may assign
    anyone. `assignee=None` unassigns."""
    require(actor, Role.agent, "assign cases")
    case = _case(session, case_id)
    target: User | None = None
    if assignee is not None:
        target = session.scalar(sa.select(User).where(User.username == assignee))
        if target is None or not target.active:
            raise InvalidInput(f"no active user {assignee!r}; list them with `earful users list`")
        if not has_role(target, Role.agent):
            raise InvalidInput(f"{assignee} is a viewer and cannot work cases; give them the agent role first")
    if not has_role(actor, Role.pr):
        giving_back = target is None and case.assignee_id == actor.id
        if not (giving_back or (target is not None and target.id == actor.id)):
            require(actor, Role.pr, "assign cases to someone else")
    old = case.assignee.username if case.assignee else None
    if target is None:
        case.assignee_id = None
        case.assigned_at = None
    else:
        _set_assignee(case, target, now)
    case.updated_at = now
    audit.record(session, actor.username, "case.assign", target_type="case", target_id=case.id,
                 details={"from": old, "to": assignee}, at=now)
    return case


def _set_assignee(case: Case, user: User, now: datetime) -> None:
    case.assignee_id = user.id
    case.assignee = user
    case.assigned_at = now
    if case.status == CaseStatus.new:
        case.status = CaseStatus.open


# --------------------------------------------------------------------------- holds


@dataclass(frozen=True, slots=True)
class Hold:
    holder: str
    until: datetime


def hold(session: Session, actor: User, case_id: int, *, now: datetime, minutes: float) -> Hold:
    """Claim the case for answering. Atomic: of two agents claiming at once, exactly one wins."""
    require(actor, Role.agent, "answer cases")
    case = _case(session, case_id)
    until = now + timedelta(minutes=minutes)
    won = session.execute(
        sa.update(Case)
        .where(
            Case.id == case_id,
            sa.or_(Case.held_by_id.is_(None), Case.held_by_id == actor.id, Case.hold_expires_at <= now),
        )
        .values(held_by_id=actor.id, hold_expires_at=until)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(case)
    if not won:
        holder = session.get(User, case.held_by_id) if case.held_by_id else None
        raise CaseHeld(holder.username if holder else "someone", case.hold_expires_at or now)
    return Hold(actor.username, until)


def release(session: Session, actor: User, case_id: int, *, now: datetime) -> None:
    """Give up a hold. A manager may break someone else's (audited)."""
    case = _case(session, case_id)
    if case.held_by_id is None:
        return
    if case.held_by_id != actor.id:
        require(actor, Role.manager, "release another agent's hold")
        audit.record(session, actor.username, "case.hold_broken", target_type="case", target_id=case.id,
                     details={"holder_id": case.held_by_id}, at=now)
    case.held_by_id = None
    case.hold_expires_at = None


def current_hold(session: Session, case: Case, now: datetime) -> Hold | None:
    if case.held_by_id is None or case.hold_expires_at is None or case.hold_expires_at <= now:
        return None
    holder = session.get(User, case.held_by_id)
    return Hold(holder.username if holder else "someone", case.hold_expires_at)


def _case(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise InvalidInput(f"no case #{case_id}")
    return case


def bulk_assign(session: Session, actor: User, case_ids: list[int], assignee: str | None, *, now: datetime) -> int:
    """Assign many cases at once (each checked and audited as if done one by one)."""
    for case_id in case_ids:
        assign(session, actor, case_id, assignee, now=now)
    return len(case_ids)
