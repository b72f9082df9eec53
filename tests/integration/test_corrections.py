from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from core.corrections import record_correction
from core.errors import InvalidInput, PermissionDenied
from core.mention import MentionIn
from core.models import AuditEntry, Correction
from core.store import store_batch
from core.users import add_user, parse_role

T = datetime(2026, 3, 2, 12, tzinfo=timezone.utc)


def test_corrections_are_checked_stored_and_audited(db) -> None:
    with db.session() as s:
        mention_id = store_batch(s, [MentionIn("x", "1", "hmm", T)]).inserted_ids[0]
        agent = add_user(s, "ada", "correct horse", parse_role("agent"))
        viewer = add_user(s, "vic", "correct horse", parse_role("viewer"))
        with pytest.raises(PermissionDenied):
            record_correction(s, viewer, mention_id, "sentiment", "negative")
        with pytest.raises(InvalidInput, match="sentiment must be one of"):
            record_correction(s, agent, mention_id, "sentiment", "angry")
        with pytest.raises(InvalidInput, match="urgency must be from 0 to 1"):
            record_correction(s, agent, mention_id, "urgency", 3)
        record_correction(s, agent, mention_id, "sentiment", "Negative", now=T)
        record_correction(s, agent, mention_id, "topic", ["outage", "outage", "refund"], now=T)
        values = [c.new_value for c in s.scalars(sa.select(Correction).order_by(Correction.id))]
        assert values == [{"label": "negative"}, {"topics": ["outage", "refund"]}]
        actions = list(s.scalars(sa.select(AuditEntry.action).where(AuditEntry.action.like("correction.%"))))
        assert actions == ["correction.sentiment", "correction.topic"]
