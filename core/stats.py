"""Counts for `earful stats`: the quick health read of a running installation."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.models import Alert, Case, CaseStatus, Mention, Reply, ReplyState


def stats(session: Session) -> dict[str, Any]:
    mentions = session.scalar(sa.select(sa.func.count()).select_from(Mention)) or 0
    scored = session.scalar(sa.select(sa.func.count()).select_from(Mention).where(Mention.scored_at.is_not(None))) or 0
    cases = {s.value: 0 for s in CaseStatus}
    for status, n in session.execute(sa.select(Case.status, sa.func.count()).group_by(Case.status)):
        cases[status.value] = n
    replies = {s.value: 0 for s in ReplyState}
    for state, n in session.execute(sa.select(Reply.state, sa.func.count()).group_by(Reply.state)):
        replies[state.value] = n
    alerts = session.scalar(sa.select(sa.func.count()).select_from(Alert)) or 0
    return {"mentions": mentions, "scored": scored, "cases": cases, "replies": replies, "alerts": alerts}
