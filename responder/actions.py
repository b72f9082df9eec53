"""Acting on a mention on its platform without writing: like / favourite, and hide or remove where the
brand's account has the right (YouTube channel moderation, Reddit as moderator, X hidden replies).

The platform call happens outside any database transaction; the audit entry is written after it, so
the log says what the platform actually did.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from core import audit
from core.db import Database
from core.errors import InvalidInput
from core.models import Mention, Role, Source, User, utcnow
from core.users import require
from responder.outbox import Publishers
from responder.publishers import target_of
from responder.publishers.base import ActionUnsupported, Publisher, Target


def _load(db: Database, actor: User, mention_id: int, needed: Role, action: str) -> tuple[str, Target]:
    require(actor, needed, action)
    with db.session() as session:
        mention = session.get(Mention, mention_id)
        if mention is None:
            raise InvalidInput(f"no mention {mention_id}")
        source = session.get(Source, mention.source_id) if mention.source_id else None
        if source is None:
            raise ActionUnsupported(f"mention {mention_id} came from no configured source; act on it on the site")
        return source.name, target_of(mention)


def _publisher(publishers: Publishers, source: str) -> Publisher:
    publisher = publishers.for_source(source)
    if publisher is None:
        raise ActionUnsupported(f"source {source} cannot act on the platform; use the link to the post")
    return publisher


def like(db: Database, publishers: Publishers, actor: User, mention_id: int, *,
         clock: Callable[[], datetime] = utcnow) -> None:
    source, target = _load(db, actor, mention_id, Role.agent, "like posts")
    if not publishers.is_dry_run(source):
        _publisher(publishers, source).like(target)
    with db.session() as session:
        audit.record(session, actor.username, "mention.like", target_type="mention", target_id=mention_id,
                     details={"dry_run": publishers.is_dry_run(source)}, at=clock())


def moderate(db: Database, publishers: Publishers, actor: User, mention_id: int, action: str, *,
             clock: Callable[[], datetime] = utcnow) -> None:
    """Hiding or removing a customer's post is a PR decision: it needs pr or above."""
    source, target = _load(db, actor, mention_id, Role.pr, "hide or remove posts")
    if not publishers.is_dry_run(source):
        _publisher(publishers, source).moderate(target, action)
    with db.session() as session:
        audit.record(session, actor.username, "mention.moderate", target_type="mention", target_id=mention_id,
                     details={"action": action, "dry_run": publishers.is_dry_run(source)}, at=clock())
