"""Prior-shift adaptation against the database (SQLite, and PostgreSQL when configured): the
brands' mixes are estimated from their scored mentions, stored per model version, and the scoring
job adapts each brand's next mentions to its mix, keeping the model's own probabilities too.

The scorer is the real `Scorer` (its postprocess, urgency and adaptation) over hand-made heads and a
fake encoder, so each text's model probabilities are numbers chosen here."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Sequence

import numpy as np
import pytest
import sqlalchemy as sa

from core.config import AdaptationConfig, SentimentConfig
from core.db import Database
from core.mention import MentionIn
from core.models import Brand, BrandPriors, Mention, Score
from core.store import store_batch
from sentiment import features
from sentiment.adaptation import BasePriors, base_priors, brand_mixes, refresh_priors, sidecar_path
from sentiment.heads import Heads
from sentiment.job import rescore_recent, score_pending
from sentiment.scorer import Scorer

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
# The model's own probabilities (negative, neutral, positive) of each kind of text.
CLEAR = (0.80, 0.15, 0.05)  # an unmistakable complaint
FACTUAL = (0.40, 0.45, 0.15)  # "my bag has been missing for 3 days": reads neutral to the model
UNIFORM = (1 / 3, 1 / 3, 1 / 3)


class FakeEncoder:
    """Each text's vector is its model probabilities' logarithms (see `heads`); descriptions get zeros."""

    name = "fake"
    max_length = 64

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        kinds = {"clear": CLEAR, "factual": FACTUAL}
        return np.array([np.log(kinds[t.split()[0]]) if t.split()[0] in kinds else np.zeros(3) for t in texts],
                        dtype=np.float32).reshape(len(texts), 3)


def heads(version: str, class_priors: tuple[float, ...] | None = UNIFORM) -> Heads:
    """One 'MLP' that passes the first three inputs (the fake embedding) through as logits."""
    dim = 3 + features.vader_features(["x"]).shape[1]
    w1 = np.zeros((dim, 6), dtype=np.float32)
    w1[:3, :3], w1[:3, 3:] = np.eye(3), -np.eye(3)  # relu(x) - relu(-x) = x
    w2 = np.vstack([np.eye(3), -np.eye(3)]).astype(np.float32)
    zeros = np.zeros(3, dtype=np.float32)
    return Heads(version=version, encoder="fake", mlps=[(w1, np.zeros(6, dtype=np.float32), w2, zeros)],
                 bow_coef=np.zeros((3, features.HASH_FEATURES), dtype=np.float32), bow_intercept=zeros,
                 idf=np.ones(features.HASH_FEATURES, dtype=np.float32), valence_coef=np.zeros(dim, dtype=np.float32),
                 valence_intercept=0.0, mix=1.0, meta={} if class_priors is None else {"class_priors": list(class_priors)})


def scorer(version: str = "v1", conf: SentimentConfig = SentimentConfig()) -> Scorer:
    return Scorer.with_heads(FakeEncoder(), heads(version), conf)


def mention(n: int, text: str, brands: tuple[str, ...], *, is_own: bool = False, age_days: float = 1) -> MentionIn:
    return MentionIn(platform="x", native_id=str(n), text=text, created_at=NOW - timedelta(days=age_days),
                     brands=brands, is_own=is_own)


@pytest.fixture
def brands(db: Database) -> dict[str, int]:
    with db.session() as s:
        rows = [Brand(name="Acme"), Brand(name="Rival", is_competitor=True), Brand(name="Beta")]
        s.add_all(rows)
        s.flush()
        return {b.name: b.id for b in rows}


def store(db: Database, items: list[MentionIn]) -> None:
    with db.session() as s:
        store_batch(s, items, now=NOW)


def sentiment_of(db: Database, native_id: str) -> tuple[str, Score]:
    with db.session() as s:
        m = s.scalars(sa.select(Mention).where(Mention.native_id == native_id)).one()
        score = s.scalars(sa.select(Score).where(Score.mention_id == m.id)).one()
        s.expunge(score)
        return m.sentiment, score


CONF = AdaptationConfig(min_mentions=50)


def test_a_brands_mix_is_estimated_stored_and_adapts_its_next_mentions(db: Database, brands: dict[str, int]) -> None:
    # Acme's care traffic: 200 clear complaints and 100 factual ones; Beta has 10 mentions only.
    store(db, [mention(i, "clear complaint", ("Acme",)) for i in range(200)]
          + [mention(200 + i, "factual report", ("Acme",)) for i in range(100)]
          + [mention(400 + i, "factual report", ("Beta",)) for i in range(10)])
    first = scorer()
    assert score_pending(db, first, batch_size=64) == 310
    # Nothing estimated yet: a factual complaint reads neutral, as the model says.
    assert sentiment_of(db, "200")[0] == "neutral"

    estimates = {e.brand: e for e in refresh_priors(db, model_version="v1", base=UNIFORM, conf=CONF, now=NOW)}
    assert set(estimates) == {"Acme", "Beta"}  # own brands only
    acme, beta = estimates["Acme"], estimates["Beta"]
    # One EM step (the default): the mean of the model's own probabilities over the brand's window.
    assert acme.adapted and acme.mentions == 300 and acme.iterations == 1
    assert acme.priors == pytest.approx((np.array(CLEAR) * 2 + FACTUAL) / 3)
    assert not beta.adapted and beta.mentions == 10 and beta.priors == pytest.approx(UNIFORM)
    with db.session() as s:
        rows = {r.brand_id: r for r in s.scalars(sa.select(BrandPriors))}
    assert rows[brands["Acme"]].model_version == "v1" and rows[brands["Acme"]].p_negative == pytest.approx(acme.priors[0])
    assert not rows[brands["Beta"]].adapted

    store(db, [
        mention(1000, "factual bag missing", ("Acme",)),
        mention(1001, "factual bag missing", ("Beta",)),  # too few mentions: the model's own mix
        mention(1002, "factual bag missing", ("Rival",)),  # competitors are not adapted
        mention(1003, "factual reply from us", ("Acme",), is_own=True),  # nor the brand's own posts
        mention(1004, "factual bag missing", ("Beta", "Acme")),  # the lowest-id own brand: Acme
    ])
    assert score_pending(db, first, batch_size=64) == 5
    label, adapted = sentiment_of(db, "1000")
    assert label == "negative"  # the mention's sentiment, which the inbox, alerts and reports read
    assert adapted.sentiment == "negative" and adapted.p_negative > 0.5
    assert (adapted.raw_p_negative, adapted.raw_p_neutral, adapted.raw_p_positive) == pytest.approx(FACTUAL, abs=1e-5)
    assert adapted.p_negative + adapted.p_neutral + adapted.p_positive == pytest.approx(1.0)
    # Urgency reads the adapted probability, and says what the model's own was.
    assert any(r.startswith("negative sentiment (p=") and "0.40 before" in r for r in adapted.urgency_reasons)
    for native_id in ("1001", "1002", "1003"):
        label, score = sentiment_of(db, native_id)
        assert label == "neutral" and score.p_negative == pytest.approx(score.raw_p_negative)
    assert sentiment_of(db, "1004")[0] == "negative"


def test_a_new_model_version_starts_from_the_brands_last_mix_until_its_own_estimate(
    db: Database, brands: dict[str, int]
) -> None:
    store(db, [mention(i, "clear complaint", ("Acme",)) for i in range(100)]
          + [mention(100 + i, "factual report", ("Acme",)) for i in range(60)])
    score_pending(db, scorer("v1"), batch_size=64)
    (acme,) = [e for e in refresh_priors(db, model_version="v1", base=UNIFORM, conf=CONF, now=NOW) if e.brand == "Acme"]
    with db.session() as s:
        assert brand_mixes(s, "v2", [brands["Acme"]]) == {brands["Acme"]: pytest.approx(acme.priors)}
    # Re-scoring with the new version (as `earful train` does) keeps the mentions adapted.
    assert rescore_recent(db, scorer("v2"), since=NOW - timedelta(days=7), batch_size=64) == 160
    with db.session() as s:
        v2 = s.scalars(sa.select(Score).join(Mention).where(Score.model_version == "v2",
                                                            Mention.text.like("factual%"))).all()
    assert v2 and all(score.sentiment == "negative" for score in v2)
    # The new version's own estimate then takes over; one saying "too few" turns adaptation off.
    refresh_priors(db, model_version="v2", base=UNIFORM, conf=CONF.model_copy(update={'min_mentions': 1000}), now=NOW)
    with db.session() as s:
        assert brand_mixes(s, "v2", [brands["Acme"]]) == {}
        assert brand_mixes(s, "v1", [brands["Acme"]]) == {brands["Acme"]: pytest.approx(acme.priors)}


def test_the_em_can_run_to_convergence(db: Database, brands: dict[str, int]) -> None:
    store(db, [mention(i, "clear complaint", ("Acme",)) for i in range(200)]
          + [mention(200 + i, "factual report", ("Acme",)) for i in range(100)])
    score_pending(db, scorer(), batch_size=64)
    conf = CONF.model_copy(update={"max_iterations": 10_000, "tolerance": 1e-9})
    (acme,) = [e for e in refresh_priors(db, model_version="v1", base=UNIFORM, conf=conf, now=NOW) if e.brand == "Acme"]
    assert acme.converged and 1 < acme.iterations < 10_000
    assert acme.priors[0] > (2 * CLEAR[0] + FACTUAL[0]) / 3  # further than one step goes
    with db.session() as s:
        assert s.scalars(sa.select(BrandPriors.converged).where(BrandPriors.brand_id == brands["Acme"])).one()


def test_the_estimate_reads_the_window_and_the_model_version_only(db: Database, brands: dict[str, int]) -> None:
    store(db, [mention(i, "clear complaint", ("Acme",), age_days=30) for i in range(100)]
          + [mention(100 + i, "factual report", ("Acme",)) for i in range(60)])
    score_pending(db, scorer("v1"), batch_size=64)
    by_brand = {e.brand: e for e in refresh_priors(db, model_version="v1", base=UNIFORM, conf=CONF, now=NOW)}
    assert by_brand["Acme"].mentions == 60  # the 30-day-old ones are outside the 14-day window
    assert {e.brand: e.mentions for e in refresh_priors(db, model_version="other", base=UNIFORM, conf=CONF,
                                                        now=NOW)} == {"Acme": 0, "Beta": 0}
    # Refreshing again replaces the (brand, version) row instead of adding one.
    refresh_priors(db, model_version="v1", base=UNIFORM, conf=CONF, now=NOW + timedelta(hours=1))
    with db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(BrandPriors).where(BrandPriors.model_version == "v1")) == 2


def test_adaptation_off_scores_with_the_models_own_probabilities(db: Database, brands: dict[str, int]) -> None:
    store(db, [mention(i, "clear complaint", ("Acme",)) for i in range(100)]
          + [mention(100 + i, "factual report", ("Acme",)) for i in range(60)])
    score_pending(db, scorer("v1"), batch_size=64)
    refresh_priors(db, model_version="v1", base=UNIFORM, conf=CONF, now=NOW)
    store(db, [mention(1000, "factual bag missing", ("Acme",))])
    off = scorer("v1", SentimentConfig(adaptation=AdaptationConfig(enabled=False)))
    assert not off.adapts
    score_pending(db, off, batch_size=64)
    assert sentiment_of(db, "1000")[0] == "neutral"


def test_base_priors_come_from_the_heads_else_the_saved_estimate_else_none(tmp_path: Path) -> None:
    assert base_priors(heads("v1", (0.2, 0.5, 0.3)), tmp_path) == BasePriors(
        (0.2, 0.5, 0.3), "heads v1 metadata (class_priors)")
    bare = heads("v0", None)
    assert base_priors(bare, tmp_path) is None
    assert not Scorer(FakeEncoder(), bare).adapts  # scored as the model says, with a warning in the log
    sidecar_path("v0", tmp_path).write_text(json.dumps({"class_priors": [0.4, 0.2, 0.4], "how": "by hand"}))
    found = base_priors(bare, tmp_path)
    assert found is not None and found.priors == pytest.approx((0.4, 0.2, 0.4)) and "by hand" in found.source
    sidecar_path("v0", tmp_path).write_text(json.dumps({"class_priors": [0.4, 0.2]}))
    with pytest.raises(ValueError, match="three shares"):
        base_priors(bare, tmp_path)
