"""Reply suggestions against the database (SQLite, and PostgreSQL when configured), ranked with the
real sentence encoder where the ranking itself is under test, and a counting fake where only the
storage of embeddings is."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from itertools import count
from typing import Any, Sequence

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.db import Database
from core.errors import InvalidInput
from core.mention import MentionIn
from core.models import Case, CaseStatus, Reply, ReplyState
from core.store import store_batch
from responder.suggest import DEFAULT_MIN_SIMILARITY, backfill_embeddings, from_bytes, suggest, to_bytes

encoder_mod = pytest.importorskip("sentiment.encoder")

T = datetime(2026, 3, 2, 12, tzinfo=timezone.utc)
BAG = "So sorry your bag hasn't arrived. Please file a report at the baggage desk and DM us the file reference so we can trace it."
REFUND = "Refunds for cancelled flights take up to 7 working days; DM us your booking reference and we'll check on it."
LOGIN = "Please try resetting your password from the login screen; if that fails, DM us the email on your account."
NEVER_SENT = {
    ReplyState.draft: "DRAFT: we found your bag",
    ReplyState.approved: "APPROVED: we found your bag",
    ReplyState.sending: "SENDING: we found your bag",
    ReplyState.failed: "FAILED: we found your bag",
    ReplyState.verify: "VERIFY: we found your bag",
}
DRY_RUN = "DRY RUN: we found your bag"

_native_ids = count(1)


@pytest.fixture(scope="module")
def encoder() -> encoder_mod.Encoder:
    return encoder_mod.Encoder()


def add_mention(session: Session, text: str, *, platform: str = "x", minutes: int = 0) -> int:
    mention = MentionIn(platform, f"m{next(_native_ids)}", text, T + timedelta(minutes=minutes))
    return store_batch(session, [mention]).inserted_ids[0]


def add_reply(
    session: Session, mention_id: int, text: str, *, state: ReplyState = ReplyState.sent, dry_run: bool = False,
    platform: str = "x", minutes: int = 0, embedding: bytes | None = None,
) -> int:
    case = Case(platform=platform, status=CaseStatus.pending)
    session.add(case)
    session.flush()
    reply = Reply(
        case_id=case.id, in_reply_to_id=mention_id, platform=platform, text=text, state=state, dry_run=dry_run,
        idempotency_key=f"k{next(_native_ids)}", context_embedding=embedding,
        sent_at=T + timedelta(minutes=minutes) if state is ReplyState.sent else None,
    )
    session.add(reply)
    session.flush()
    return reply.id


def answered(session: Session, mention_text: str, reply_text: str, *, platform: str = "x", **reply: Any) -> int:
    mention_id = add_mention(session, mention_text, platform=platform)
    return add_reply(session, mention_id, reply_text, platform=platform, **reply)


def seed_history(db: Database) -> None:
    """Three situations the team answered, on several platforms, plus baggage replies that never went out."""
    with db.session() as s:
        answered(s, "@Acme my bag didn't come off the belt in Frankfurt, where is my luggage?", f"@ann {BAG} ^JS", minutes=1)
        answered(s, "Your lost luggage desk is useless, my suitcase is missing since Tuesday",
                 f"@bob@mastodon.social {BAG} ^AB", platform="mastodon", minutes=2)
        answered(s, "Still waiting for my refund for the cancelled flight, it's been 6 weeks", f"@cy {REFUND}", minutes=3)
        answered(s, "I can't log in to the app, it keeps saying password incorrect", f"@di {LOGIN}",
                 platform="bluesky", minutes=4)
        for state, text in NEVER_SENT.items():
            answered(s, "my luggage never arrived, my suitcase is lost", text, state=state)
        answered(s, "my luggage never arrived, my suitcase is lost", DRY_RUN, dry_run=True, minutes=5)


def test_lost_baggage_reply_ranks_first(db: Database, encoder: encoder_mod.Encoder) -> None:
    seed_history(db)
    with db.session() as s:
        target = add_mention(s, "my suitcase never arrived at Heathrow", minutes=10)
    with db.session() as s:
        top = suggest(s, target, encoder.encode)
        everything = suggest(s, target, encoder.encode, k=10, min_similarity=-1.0)
    assert [x.text for x in top] == [BAG]  # refund and login fall below the threshold
    assert top[0].uses == 2  # the same answer on X and on Mastodon, handles and initials aside
    assert top[0].example_mention_text == "Your lost luggage desk is useless, my suitcase is missing since Tuesday"
    # With no threshold at all, every text that went out is a candidate and nothing else is.
    assert [x.text for x in everything] == [BAG, REFUND, LOGIN]
    sims = [x.similarity for x in everything]
    assert sims[0] >= DEFAULT_MIN_SIMILARITY > sims[1] > sims[2]


def test_unrelated_text_gets_no_suggestion(db: Database, encoder: encoder_mod.Encoder) -> None:
    seed_history(db)
    with db.session() as s:
        target = add_mention(s, "Best banana bread recipe: ripe bananas, butter, sugar, flour", minutes=10)
    with db.session() as s:
        assert suggest(s, target, encoder.encode) == []
        closest = suggest(s, target, encoder.encode, k=1, min_similarity=-1.0)
    assert closest and closest[0].similarity < DEFAULT_MIN_SIMILARITY - 0.15  # not a near miss


class CountingEmbed:
    """A stand-in encoder: a fixed vector per text (its length and first letter), counting texts."""

    def __init__(self, dim: int = 4) -> None:
        self.dim = dim
        self.texts: list[str] = []

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        self.texts.extend(texts)
        return np.array([[len(t), ord(t[0]), 1.0, 0.0][: self.dim] for t in texts], dtype=np.float32)


def stored(db: Database) -> dict[str, bytes | None]:
    with db.session() as s:
        return {text: blob for text, blob in s.execute(sa.select(Reply.text, Reply.context_embedding))}


def test_backfill_stores_embeddings_once_for_replies_that_went_out(db: Database) -> None:
    seed_history(db)
    embed = CountingEmbed()
    with db.session() as s:
        assert backfill_embeddings(s, embed, limit=2, batch_size=1) == 2  # newest first, bounded
        assert backfill_embeddings(s, embed) == 2
    assert embed.texts == [
        "I can't log in to the app, it keeps saying password incorrect",
        "Still waiting for my refund for the cancelled flight, it's been 6 weeks",
        "Your lost luggage desk is useless, my suitcase is missing since Tuesday",
        "@Acme my bag didn't come off the belt in Frankfurt, where is my luggage?",
    ]
    rows = stored(db)
    login = "I can't log in to the app, it keeps saying password incorrect"
    assert rows[f"@di {LOGIN}"] == to_bytes(np.array([len(login), ord("I"), 1, 0]))
    assert all(rows[text] is None for text in [*NEVER_SENT.values(), DRY_RUN])
    with db.session() as s:
        assert backfill_embeddings(s, embed) == 0
        target = add_mention(s, "my bag is lost", minutes=10)
        suggest(s, target, embed, min_similarity=-1.0)
    assert len(embed.texts) == 5  # only the query was embedded; nothing was recomputed
    assert stored(db) == rows


def test_suggest_backfills_within_its_bound(db: Database) -> None:
    seed_history(db)
    with db.session() as s:
        target = add_mention(s, "my bag is lost", minutes=10)
        out = suggest(s, target, CountingEmbed(), k=10, min_similarity=-1.0, backfill_limit=1)
    assert [x.text for x in out] == [LOGIN]  # only the newest reply had an embedding yet
    assert sum(v is not None for v in stored(db).values()) == 1


def test_replies_to_the_mention_itself_and_other_models_are_left_out(db: Database) -> None:
    embed = CountingEmbed()
    with db.session() as s:
        target = add_mention(s, "my bag is lost")
        add_reply(s, target, "Already said to this customer", embedding=to_bytes(np.ones(4)))
        answered(s, "bag lost", "From an older, wider model", embedding=to_bytes(np.ones(8)))
        answered(s, "bag lost too", "Current model", embedding=to_bytes(np.ones(4)))
    with db.session() as s:
        out = suggest(s, target, embed, k=10, min_similarity=-1.0)
    assert [x.text for x in out] == ["Current model"]
    assert embed.texts == ["my bag is lost"]
    assert from_bytes(stored(db)["From an older, wider model"] or b"").shape == (8,)  # left alone


def test_unknown_mention_is_refused(db: Database) -> None:
    with db.session() as s, pytest.raises(InvalidInput, match="no mention with id 999"):
        suggest(s, 999, CountingEmbed())


def test_the_embed_replies_job_indexes_every_sent_reply_a_chunk_per_transaction(db: Database) -> None:
    from responder.jobs import ResponderRuntime
    from responder.suggest import indexed_counts
    from tests.fakes.responder import settings

    seed_history(db)
    embed = CountingEmbed()
    calls: list[int] = []

    def counted(texts: Sequence[str]) -> np.ndarray:
        calls.append(len(texts))
        return embed(texts)

    runtime = ResponderRuntime(settings(), db)
    with db.session() as s:
        assert indexed_counts(s) == (4, 0)  # drafts, failures and the dry run are not counted
    assert runtime.embed_replies(counted, chunk=3) == 4
    assert calls == [3, 1]  # one chunk per transaction, until a chunk comes back short
    with db.session() as s:
        assert indexed_counts(s) == (4, 4)
        answered(s, "where is my bag", f"@ed {BAG}", minutes=9)
    stopping = threading.Event()
    stopping.set()
    assert runtime.embed_replies(counted, stop=stopping) == 0  # a shutting-down scheduler starts none
    assert runtime.embed_replies(counted) == 1
    assert runtime.embed_replies(counted) == 0
    assert embed.texts.count("where is my bag") == 1
    runtime.close()
