"""Staff corrections of model output: the one way people teach the scorer.

A correction is stored next to what the model said, audited, and read by `earful train` (and the
nightly retraining at `sentiment.train_at`): sentiment corrections are weighted training examples
(the new heads are kept only if not worse on the held-out split); intent and topic corrections
become labelled examples of the zero-shot intent and topics (sentiment.examples). An urgency
correction acts at once instead: the mention, and the case it belongs to, take the corrected
urgency, so the Inbox and the Cases queue re-order; re-scoring keeps it (core.store.record_scores).
Urgency itself is not learnt: it is a sum of configured signal weights (sentiment.postprocess).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit
from core.errors import InvalidInput
from core.models import Case, Correction, Mention, Role, Score, User, utcnow
from core.users import require

SENTIMENTS = ("negative", "neutral", "positive")
INTENTS = ("complaint", "question", "request", "praise", "other")
FIELDS = ("sentiment", "urgency", "topic", "intent")


def _normalise(field: str, value: Any) -> dict[str, Any]:
    if field == "sentiment":
        label = str(value).strip().lower()
        if label not in SENTIMENTS:
            raise InvalidInput(f"sentiment must be one of {', '.join(SENTIMENTS)}, not {value!r}")
        return {"label": label}
    if field == "intent":
        label = str(value).strip().lower()
        if label not in INTENTS:
            raise InvalidInput(f"intent must be one of {', '.join(INTENTS)}, not {value!r}")
        return {"label": label}
    if field == "urgency":
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InvalidInput(f"urgency must be a number from 0 to 1, not {value!r}") from None
        if not 0.0 <= number <= 1.0:
            raise InvalidInput(f"urgency must be from 0 to 1, not {number}")
        return {"value": number}
    if field == "topic":
        topics = [value] if isinstance(value, str) else list(value)
        cleaned = sorted({str(t).strip() for t in topics if str(t).strip()})
        return {"topics": cleaned}
    raise InvalidInput(f"cannot correct {field!r}; choose one of {', '.join(FIELDS)}")


@dataclass(frozen=True, slots=True)
class ModelOutput:
    """What the model said about a mention (its newest score) and what staff corrected since."""

    model_version: str | None
    sentiment: str | None
    intent: str | None
    topics: tuple[str, ...]
    urgency: float | None
    corrected: dict[str, dict[str, Any]]  # field -> the newest correction's new value


def _newest_score(session: Session, mention_id: int) -> Score | None:
    return session.scalar(
        sa.select(Score).where(Score.mention_id == mention_id).order_by(Score.created_at.desc(), Score.id.desc()).limit(1)
    )


def model_output(session: Session, mention_id: int) -> ModelOutput:
    """What the case page shows next to its correction controls."""
    score = _newest_score(session, mention_id)
    corrected: dict[str, dict[str, Any]] = {}
    for field, value in session.execute(
        sa.select(Correction.field, Correction.new_value).where(Correction.mention_id == mention_id)
        .order_by(Correction.created_at, Correction.id)
    ):
        corrected[field] = value
    return ModelOutput(
        model_version=score.model_version if score else None, sentiment=score.sentiment if score else None,
        intent=score.intent if score else None, topics=tuple(str(t) for t in (score.topics if score else ())),
        urgency=score.urgency if score else None, corrected=corrected,
    )


def record_correction(
    session: Session, actor: User, mention_id: int, field: str, value: Any, *, now: datetime | None = None
) -> Correction:
    """Record what the model should have said about a mention (agents and above).

    An urgency correction also sets the urgency of the mention and of its case: the case's urgency
    is the agent's judgement of the whole case (a later mention from the customer can raise it).
    """
    require(actor, Role.agent, "correct model output")
    new_value = _normalise(field, value)
    mention = session.get(Mention, mention_id)
    if mention is None:
        raise InvalidInput(f"no mention with id {mention_id}")
    score = _newest_score(session, mention_id)
    old_value: dict[str, Any] = {}
    if score is not None:
        old_value = {
            "sentiment": {"label": score.sentiment},
            "intent": {"label": score.intent},
            "urgency": {"value": score.urgency},
            "topic": {"topics": list(score.topics)},
        }[field]
    correction = Correction(
        mention_id=mention_id,
        user_id=actor.id,
        field=field,
        old_value=old_value,
        new_value=new_value,
        model_version=score.model_version if score else None,
        created_at=now or utcnow(),
    )
    session.add(correction)
    if field == "urgency":
        # The queue orders by these columns: a corrected urgency moves the mention and its case now.
        mention.urgency = new_value["value"]
        case = session.get(Case, mention.case_id) if mention.case_id is not None else None
        if case is not None:
            case.urgency = new_value["value"]
            case.updated_at = correction.created_at
    session.flush()
    audit.record(session, actor.username, f"correction.{field}", target_type="mention", target_id=mention_id,
                 details={"from": old_value, "to": new_value}, at=now)
    return correction
