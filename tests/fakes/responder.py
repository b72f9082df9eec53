"""Builders for responder tests: settings, staff, scored mentions, and a scripted publisher.

Mentions go in through the product's own write paths (`store_batch`, `record_scores`), so a test sees
the rows the listener and scorer would have written.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy.orm import Session

from core.catalog import sync_from_config
from core.config import Settings
from core.mention import AuthorIn, MentionIn
from core.models import Mention, Role, User
from core.store import record_scores, store_batch
from core.users import add_user, get_user
from responder.publishers.base import LookupUnsupported, Published, Target
from sentiment.postprocess import ScoreResult

_ids = itertools.count(1)


def settings(responder: dict[str, Any] | None = None, *, dry_run: bool = False) -> Settings:
    return Settings.model_validate({
        "brands": [
            {"name": "Skylark Air", "queries": [{"keywords": ["skylark"]}]},
            {"name": "Nimbus Airways", "competitor": True, "queries": [{"keywords": ["nimbus"]}]},
        ],
        "sources": [
            {"name": "masto", "platform": "mastodon", "sandbox": True, "dry_run": dry_run},
            {"name": "bird", "platform": "x", "sandbox": True},
            {"name": "hn", "platform": "hackernews", "sandbox": True},
        ],
        "responder": responder or {},
    })


def sync(session: Session, conf: Settings) -> dict[str, int]:
    return sync_from_config(session, conf)


def user(session: Session, name: str, role: Role | str = Role.agent, team: str | None = "care") -> User:
    found = get_user(session, name)
    if found is not None:
        return found
    return add_user(session, name, "correct-horse-battery", Role(role), team=team)


def mention(
    session: Session,
    source_ids: dict[str, int],
    *,
    text: str = "skylark lost my bag",
    source: str = "masto",
    platform: str = "mastodon",
    author: str = "@jo@example.social",
    followers: int = 10,
    conversation_id: str | None = None,
    brands: tuple[str, ...] = ("Skylark Air",),
    urgency: float = 0.5,
    sentiment: str = "negative",
    intent: str = "complaint",
    topics: tuple[str, ...] = (),
    at: datetime,
    is_own: bool = False,
    native_id: str | None = None,
    raw: dict[str, Any] | None = None,
) -> Mention:
    """Store one mention as the listener would, then score it as the scorer would."""
    native = native_id or f"{platform}-{next(_ids)}"
    item = MentionIn(
        platform=platform, native_id=native, text=text, created_at=at,
        url=f"https://{platform}.example/{native}",
        author=AuthorIn(platform=platform, handle=author, native_id=f"id-{author}", name=author.strip("@").split("@")[0],
                        followers=followers),
        conversation_id=conversation_id or native, is_own=is_own, brands=brands, raw=raw or {},
    )
    result = store_batch(session, [item], source_id=source_ids.get(source), now=at)
    mention_id = result.inserted_ids[0]
    record_scores(session, [ScoreResult(
        mention_id=mention_id, model_version="test-1", sentiment=sentiment, p_negative=0.8, p_neutral=0.1,
        p_positive=0.1, valence=-0.6, intent=intent, topics=topics, urgency=urgency,
    )], now=at)
    found = session.get(Mention, mention_id)
    assert found is not None
    session.refresh(found)
    return found


@dataclass
class ScriptedPublisher:
    """Stands in for a platform publisher in outbox tests: each publish pops the next scripted step
    (an exception to raise, or None to succeed). Posts it "accepted" are kept, as a platform would."""

    platform: str = "mastodon"
    name: str = "masto"
    script: list[Exception | None] = field(default_factory=list)
    posts: list[tuple[str, str]] = field(default_factory=list)  # (target native id, text)
    lookups: bool = True
    accept_before_raising: bool = False  # OutcomeUnknown after the platform stored the post
    on_publish: Callable[[], None] | None = None
    clock: Callable[[], datetime] | None = None

    def publish(self, target: Target, text: str) -> Published:
        if self.on_publish is not None:
            self.on_publish()
        step = self.script.pop(0) if self.script else None
        if step is not None:
            if self.accept_before_raising:
                self.posts.append((target.native_id, text))
            raise step
        self.posts.append((target.native_id, text))
        return Published(platform_id=f"post-{len(self.posts)}", url=f"https://example/{len(self.posts)}")

    def find(self, target: Target, text: str, since: datetime) -> Published | None:
        if not self.lookups:
            raise LookupUnsupported("no lookup")
        for i, (native, posted) in enumerate(self.posts, start=1):
            if native == target.native_id and posted == text:
                return Published(platform_id=f"post-{i}", url=f"https://example/{i}")
        return None

    def like(self, target: Target) -> None:
        self.posts.append((target.native_id, "<like>"))

    def moderate(self, target: Target, action: str) -> None:
        self.posts.append((target.native_id, f"<{action}>"))

    def close(self) -> None:
        pass


def later(at: datetime, **kwargs: float) -> datetime:
    return at + timedelta(**kwargs)
