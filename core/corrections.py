"""Staff corrections of model output: the one way people teach the scorer.

A correction is stored next to what the model said, audited, and read by `earful train`, which
learns from sentiment corrections (weighted) and keeps a new model only if it is not worse.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit
from core.errors import InvalidInput
from core.models import Correction, Mention, Role, Score, User, utcnow
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


def record_correction(
    session: Session, actor: User, mention_id: int, field: str, value: Any, *, now: datetime | None = None
) -> Correction:
    """Record what the model should have said about a mention (agents and above)."""
    require(actor, Role.agent, "correct model output")
    new_value = _normalise(field, value)
    mention = session.get(Mention, mention_id)
    if mention is None:
        raise InvalidInput(f"no mention with id {mention_id}")
    score = session.scalar(
        sa.select(Score).where(Score.mention_id == mention_id).order_by(Score.created_at.desc(), Score.id.desc()).limit(1)
    )
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
    session.flush()
    audit.record(session, actor.username, f"correction.{field}", target_type="mention", target_id=mention_id,
                 details={"from": old_value, "to": new_value}, at=now)
    return correction
