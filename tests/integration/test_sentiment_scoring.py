"""The scorer end to end: the real encoder with the committed heads, the scoring job against the
database (SQLite, and PostgreSQL when configured), and learning from a staff correction."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from core.config import SentimentConfig
from core.db import Database
from core.mention import AuthorIn, MentionIn
from core.corrections import record_correction
from core.models import Mention, Score
from core.users import add_user, operator, parse_role
from core.store import store_batch
from sentiment.heads import load_heads
from sentiment.job import score_pending, sentiment_corrections
from sentiment.postprocess import ScoreResult
from sentiment.scorer import ScoreInput, Scorer
from sentiment.train import Labelled, dense_features, fit_heads

encoder_mod = pytest.importorskip("sentiment.encoder")


@pytest.fixture(scope="module")
def encoder() -> encoder_mod.Encoder:
    return encoder_mod.Encoder(max_length=64, batch_size=16)


@pytest.fixture(scope="module")
def scorer(encoder: encoder_mod.Encoder) -> Scorer:
    return Scorer.with_heads(encoder, load_heads(), SentimentConfig())


def test_obvious_examples(scorer: Scorer) -> None:
    results = scorer.score(
        [
            ScoreInput("I love this airline, the crew was wonderful and the flight was perfect!", 1),
            ScoreInput("Worst service ever. They lost my bag, cancelled my flight and nobody helps. Furious.", 2,
                       followers=50_000, velocity=60),
            ScoreInput("The flight departs from terminal 2 at 10:40.", 3),
            ScoreInput("Does anyone know what time the lounge opens?", 4),
            ScoreInput("The app is down again, I cannot log in to check in", 5),
        ]
    )
    happy, angry, flat, question, outage = results
    assert happy.sentiment == "positive" and happy.p_positive > 0.6 and happy.valence > 0.2
    assert angry.sentiment == "negative" and angry.valence < -0.2
    assert flat.sentiment == "neutral"
    assert question.intent == "question"
    assert "outage" in outage.topics
    assert angry.urgency > happy.urgency and angry.urgency > 0.6
    assert any(r.startswith("author reach") for r in angry.urgency_reasons)
    assert all(r.model_version == scorer.version for r in results)
    for r in results:
        assert r.p_negative + r.p_neutral + r.p_positive == pytest.approx(1.0, abs=1e-5)


class FakeScorer:
    version = "fake-1"

    def __init__(self) -> None:
        self.calls = 0

    def score(self, items: list[ScoreInput]) -> list[ScoreResult]:
        self.calls += 1
        return [
            ScoreResult(
                i.mention_id, self.version, "negative" if "late" in i.text else "positive", 0.6, 0.2, 0.2, -0.5,
                "complaint", ("outage",), 0.7 if i.followers else 0.3, ("negative sentiment",),
            )
            for i in items
        ]


def _mentions(n: int, now: datetime) -> list[MentionIn]:
    author = AuthorIn(platform="mastodon", handle="@jo@example.social", native_id="9", followers=20_000)
    return [
        MentionIn("mastodon", f"m{i}", f"flight {i} is late" if i % 2 else f"nice flight {i}", now - timedelta(hours=1),
                  author=author if i == 0 else None)
        for i in range(n)
    ]


def test_score_pending_writes_scores_in_batches_and_copies_to_mentions(db: Database, fixed_now: datetime) -> None:
    with db.session() as session:
        store_batch(session, _mentions(5, fixed_now), now=fixed_now)
    fake = FakeScorer()
    assert score_pending(db, fake, batch_size=2, clock=lambda: fixed_now) == 5
    assert fake.calls == 3
    assert score_pending(db, fake, batch_size=2, clock=lambda: fixed_now) == 0
    with db.session() as session:
        mentions = session.scalars(sa.select(Mention).order_by(Mention.id)).all()
        assert all(m.scored_at == fixed_now for m in mentions)
        assert [m.sentiment for m in mentions] == ["positive", "negative", "positive", "negative", "positive"]
        assert mentions[0].urgency == pytest.approx(0.7) and mentions[0].topics == ["outage"]
        scores = session.scalars(sa.select(Score)).all()
        assert len(scores) == 5
        assert scores[0].topics == ["outage"] and scores[0].urgency_reasons == ["negative sentiment"]


def test_the_most_topics_a_config_allows_fit_the_period_index(db: Database, fixed_now: datetime) -> None:
    """sentiment.max_topics (10 at most) topics of the longest names (60) still fit PostgreSQL's index row,
    which carries a mention's topics."""
    from core.store import record_scores
    names = tuple(f"{k}{'x' * 59}" for k in range(10))
    with db.session() as session:
        store_batch(session, _mentions(1, fixed_now), now=fixed_now)
        mention_id = session.scalars(sa.select(Mention.id)).one()
        result = ScoreResult(mention_id, "t", "negative", 1, 0, 0, -1, "complaint", names, 0.9)
        assert record_scores(session, [result], now=fixed_now) == 1
    with db.session() as session:
        assert session.get(Mention, mention_id).topics == list(names)


def test_score_pending_respects_limit(db: Database, fixed_now: datetime) -> None:
    with db.session() as session:
        store_batch(session, _mentions(5, fixed_now), now=fixed_now)
    assert score_pending(db, FakeScorer(), batch_size=10, limit=3, clock=lambda: fixed_now) == 3
    assert score_pending(db, FakeScorer(), batch_size=10, clock=lambda: fixed_now) == 2


TINY = [
    ("I love it, wonderful", "positive"), ("great service, thank you", "positive"), ("amazing, so happy", "positive"),
    ("terrible, I hate it", "negative"), ("awful experience, never again", "negative"), ("bad and broken", "negative"),
    ("the train leaves at noon", "neutral"), ("the shop is on main street", "neutral"), ("it is a blue box", "neutral"),
]


def test_a_staff_correction_changes_the_next_model(db: Database, fixed_now: datetime, encoder: encoder_mod.Encoder) -> None:
    text = "the seat was a seat"
    with db.session() as session:
        result = store_batch(session, [MentionIn("mastodon", "c1", text, fixed_now)], now=fixed_now)
        mention_id = result.inserted_ids[0]

    def train(corrections: list[tuple[str, str]]) -> str:
        items = [Labelled(t, label, {"positive": 2.0, "negative": -2.0, "neutral": 0.0}[label]) for t, label in TINY]
        items += [Labelled(t, label, None, weight=20) for t, label in corrections]
        texts = [i.text for i in items]
        heads = fit_heads(dense_features(encoder.encode(texts), texts), texts, items, version="t", encoder_name="x")
        return Scorer(encoder, heads).labels([text])[0]

    before = train(sentiment_corrections(db))
    wanted = "negative" if before != "negative" else "positive"
    with db.session() as session:
        agent = add_user(session, operator("test"), "ada", "correct horse", parse_role("agent"))
        record_correction(session, agent, mention_id, "sentiment", wanted, now=fixed_now)
    corrections = sentiment_corrections(db)
    assert corrections == [(text, wanted)]
    assert train(corrections) == wanted


def test_the_int8_path_scores_obvious_examples_like_fp32() -> None:
    """sentiment.quantize: int8 (the CPU default) agrees with fp32 where the answer is plain."""
    fast = Scorer.from_settings(SentimentConfig(quantize="int8", max_length=64, batch_size=16))
    assert fast.encoder.quantized
    texts = ["I love this airline, the crew was wonderful!", "They lost my bag and nobody helps. Furious.",
             "The flight departs from terminal 2 at 10:40."]
    assert fast.labels(texts) == ["positive", "negative", "neutral"]
