"""Who is working on what right now: the live side of the Team page (the period figures, response and
resolution times, come from `core.metrics`, the one definition the report and alerts share)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.models import Case, CaseStatus, User
from responder.assignment import WORKER_ROLES


@dataclass(frozen=True, slots=True)
class Workload:
    username: str
    name: str
    team: str | None
    open_cases: int  # new, open or pending
    pending: int  # answered, waiting on the customer
    overdue: int  # no first response yet and past its due time
    holding: int  # cases they are answering right now (an unexpired hold)
    oldest_open: datetime | None


def workload(session: Session, now: datetime) -> list[Workload]:
    """One row per active agent (and above), busiest first, in one grouped query."""
    active = Case.status != CaseStatus.closed
    counts = (
        sa.select(
            Case.assignee_id.label("uid"),
            sa.func.count().filter(active).label("open_cases"),
            sa.func.count().filter(Case.status == CaseStatus.pending).label("pending"),
            sa.func.count().filter(active, Case.first_response_at.is_(None), Case.first_response_due < now).label("overdue"),
            sa.func.min(Case.opened_at).filter(active).label("oldest"),
        )
        .where(Case.assignee_id.is_not(None))
        .group_by(Case.assignee_id)
        .subquery()
    )
    holds = (
        sa.select(Case.held_by_id.label("uid"), sa.func.count().label("holding"))
        .where(Case.held_by_id.is_not(None), Case.hold_expires_at > now)
        .group_by(Case.held_by_id)
        .subquery()
    )
    rows = session.execute(
        sa.select(User, counts.c.open_cases, counts.c.pending, counts.c.overdue, counts.c.oldest, holds.c.holding)
        .outerjoin(counts, counts.c.uid == User.id)
        .outerjoin(holds, holds.c.uid == User.id)
        .where(User.active.is_(True), User.role.in_(WORKER_ROLES))
    ).all()
    found = [
        Workload(u.username, u.display_name or u.username, u.team, int(open_ or 0), int(pending or 0),
                 int(overdue or 0), int(holding or 0), oldest)
        for u, open_, pending, overdue, oldest, holding in rows
    ]
    return sorted(found, key=lambda w: (-w.open_cases, w.username))


def unassigned_by_team(session: Session) -> dict[str, int]:
    """Open cases waiting in each team's queue with nobody assigned."""
    rows = session.execute(
        sa.select(Case.team, sa.func.count())
        .where(Case.assignee_id.is_(None), Case.status != CaseStatus.closed)
        .group_by(Case.team)
    )
    return {team or "(no team)": int(n) for team, n in rows}
