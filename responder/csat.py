"""Customer satisfaction: an optional closing message with a survey link, and the answers.

Closing a case can send one last public reply carrying a link with a random per-case token; the
customer opens it (the dashboard's public survey page, no login), picks 1-5 and may comment. The
answer is recorded against the case once.
"""

from __future__ import annotations

import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit
from core.config import ResponderConfig
from core.errors import Conflict, InvalidInput
from core.models import Author, Brand, Case, Reply, User
from responder import cases, outbox
from responder.templates import render, template_values

MAX_COMMENT = 2000


def survey_link(config: ResponderConfig, token: str) -> str:
    return config.csat.url.replace("{token}", token)


def close_with_survey(
    session: Session, actor: User, case_id: int, *, config: ResponderConfig, now: datetime,
    idempotency_key: str | None = None,
) -> Reply:
    """Queue the closing message with the survey link (through the normal outbox) and close the case."""
    if not config.csat.enabled:
        raise InvalidInput("customer surveys are off; set responder.csat.enabled: true to send them")
    case = cases.get_case(session, case_id)
    if case.csat_token is None:
        case.csat_token = secrets.token_urlsafe(24)
    author = session.get(Author, case.author_id) if case.author_id else None
    brand = session.get(Brand, case.brand_id) if case.brand_id else None
    values = template_values(
        author_name=author.name if author else None,
        author_handle=author.handle if author else None,
        brand=brand.name if brand else "",
        case_id=case.id,
        agent_name=actor.display_name or actor.username,
        platform=case.platform,
        fields={**config.fields, "csat_link": survey_link(config, case.csat_token)},
    )
    reply = outbox.save_draft(session, actor, case.id, render(config.csat.message, values), config=config, now=now,
                              idempotency_key=idempotency_key)
    if reply.state.value == "draft" and reply.submitted_at is None:
        outbox.submit(session, actor, reply.id, config=config, now=now)
    cases.set_status(session, actor, case.id, "closed", now=now)
    return reply


def find_by_token(session: Session, token: str) -> Case | None:
    if not token or len(token) > 64:
        return None
    return session.scalar(sa.select(Case).where(Case.csat_token == token))


def record_answer(session: Session, token: str, score: int, comment: str = "", *, now: datetime) -> Case:
    """The customer's answer. Refused for an unknown token, a score outside 1-5 or a second answer."""
    case = find_by_token(session, token)
    if case is None:
        raise InvalidInput("this survey link is not valid; it may have been mistyped")
    if case.csat_answered_at is not None:
        raise Conflict("this survey was already answered; thank you")
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise InvalidInput("pick a score from 1 (very unhappy) to 5 (very happy)")
    case.csat_score = score
    case.csat_comment = comment.strip()[:MAX_COMMENT] or None
    case.csat_answered_at = now
    audit.record(session, "customer", "csat.answer", target_type="case", target_id=case.id,
                 details={"score": score}, at=now)
    return case
