"""Builders for responder tests: settings, staff, scored mentions, and a scripted publisher; and for
the tests that send real replies to the sandbox's Mastodon: its config, and approved replies on
cases of the mentions the listener collected from it.

Mentions go in through the product's own write paths (`store_batch`, `record_scores`), so a test sees
the rows the listener and scorer would have written.
"""

from __future__ import annotations

import itertools
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.catalog import sync_from_config
from core.config import Settings, load_config
from core.db import Database
from core.mention import AuthorIn, MentionIn
from core.models import Case, Mention, Reply, Role, User, utcnow
from core.store import record_scores, store_batch
from core.users import add_user, get_user, operator
from listener.jobs import Runtime
from listener.sandbox import Sandbox
from responder import cases, outbox
from responder.publishers.base import LookupUnsupported, Published, Target
from responder.sla import BusinessCalendar
from sentiment.postprocess import ScoreResult

_ids = itertools.count(1)


# The dashboard tests' site: one brand heard on the sandbox's Mastodon; a template of the database file
# (`{db}`). Tests that need more append their sections; ROUND_THE_CLOCK_SLA makes SLA clocks tick whatever
# the day and hour the test runs.
MASTODON_SITE = """
database: {{url: 'sqlite:///{db}'}}
logging: {{level: WARNING}}
brands:
  - {{name: Skylark Air, queries: [{{keywords: [skylark]}}]}}
sources:
  - {{name: masto, platform: mastodon, sandbox: true}}
"""
ROUND_THE_CLOCK_SLA = """
responder:
  sla:
    policies: [{{name: round the clock, first_response_minutes: 60, resolution_hours: 24, business_hours_only: false}}]
"""


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
    return add_user(session, operator("test"), name, "correct-horse-battery", Role(role), team=team)


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
    reasons: tuple[str, ...] = (),
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
        p_positive=0.1, valence=-0.6, intent=intent, topics=topics, urgency=urgency, urgency_reasons=reasons,
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


def triaged(
    session: Session,
    conf: Settings,
    source_ids: dict[str, int],
    scored: Iterable[tuple[str, str, tuple[str, ...], float]],
    *,
    now: datetime,
    reasons: bool = False,
) -> list[Mention]:
    """Mentions (text, intent, topics, urgency) from one customer each, minutes apart before `now`,
    triaged into cases at `now`; with `reasons`, each says why it is urgent ("<intent> needs a reply")."""
    made = [
        mention(session, source_ids, text=text, author=f"@c{i}@example.social", intent=intent, topics=topics,
                urgency=urgency, reasons=(f"{intent} needs a reply",) if reasons else (),
                at=now - timedelta(minutes=10 + i))
        for i, (text, intent, topics, urgency) in enumerate(scored)
    ]
    cases.triage(session, conf.responder, now=now, calendar=BusinessCalendar.from_config(conf.responder.sla))
    for m in made:
        session.refresh(m)
    return made


def later(at: datetime, **kwargs: float) -> datetime:
    return at + timedelta(**kwargs)


# -- replies to the sandbox's Mastodon ---------------------------------------------------------------

def mastodon_config(folder: Path, database_url: str, sb: Sandbox, settings: str, source_options: str = "") -> Path:
    """folder/config.yaml: Skylark Air, owner of @skylarkair, collected from the sandbox's Mastodon into
    `database_url`, with the `settings` YAML (logging, responder, ...) and `source_options` (", key: value")
    added to the source."""
    path = folder / "config.yaml"
    path.write_text(f"""
database: {{url: "{database_url}"}}
{settings.strip()}
brands:
  - name: Skylark Air
    queries: [{{expression: 'skylark OR skylarkair', handles: ["@skylarkair"]}}]
sources:
  - {{name: mastodon, platform: mastodon, sandbox: true, base_url: "{sb.base_urls['mastodon']}",
      owned_accounts: ["@skylarkair"]{source_options}}}
""")
    return path


@contextmanager
def collected(config: Path) -> Iterator[tuple[Settings, Database]]:
    """The config's settings and database once the listener has polled its Mastodon source once."""
    settings = load_config(config)
    db = Database.open(settings.database.url)
    try:
        runtime = Runtime(settings, db)
        runtime.poll("mastodon")
        runtime.close()
        yield settings, db
    finally:
        db.dispose()


def score_and_triage(session: Session, conf: Settings, mentions: Iterable[Mention]) -> None:
    """Score `mentions` as negative complaints of urgency 0.5 (model "test") and open their cases."""
    record_scores(session, [ScoreResult(m.id, "test", "negative", .8, .1, .1, -.6, "complaint", (), .5)
                            for m in mentions], now=utcnow())
    cases.triage(session, conf.responder, now=utcnow(), calendar=BusinessCalendar.from_config(conf.responder.sla))


def approve(session: Session, conf: Settings, author: User, case_id: int, text: str) -> Reply:
    """A reply the agent wrote and sent: in the outbox, waiting for the sender."""
    reply = outbox.save_draft(session, author, case_id, text, config=conf.responder, now=utcnow())
    outbox.submit(session, author, reply.id, config=conf.responder, now=utcnow())
    return reply


def approve_replies(session: Session, conf: Settings, count: int) -> list[str]:
    """Agent ann approves a reply on each of the first `count` cases (by id); returns their texts."""
    agent = user(session, "ann", Role.agent)
    texts = []
    for i, case_id in enumerate(session.scalars(sa.select(Case.id).order_by(Case.id).limit(count))):
        text = f"Reply {i}: sorry about this, we are on it and will update you here."
        approve(session, conf, agent, case_id, text)
        texts.append(text)
    return texts
