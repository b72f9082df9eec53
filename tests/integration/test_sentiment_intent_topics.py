"""The shipped scorer's intent and topics with the real encoder, as production runs it (ONNX int8 on CPU).

The hand-labelled sample is tests/fixtures/intent/brand_messages.csv (written for Earful, see its
README); bench/intent.py prints its full confusion matrix.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from core.config import SentimentConfig, TopicConfig
from sentiment.heads import load_heads
from sentiment.scorer import ScoreInput, Scorer

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "intent" / "brand_messages.csv"
LUGGAGE = "bag missing, delayed or damaged"
CAROUSEL = ("my suitcase never came off the carousel", "we watched the carousel for an hour, my case never appeared",
            "still nothing on the carousel from the Malaga flight")
SIMILAR = "the carousel has been going round empty for an hour"
UNRELATED = "great flight, loved the crew"


@pytest.fixture(scope="module")
def encoder():  # type: ignore[no-untyped-def]
    encoder_mod = pytest.importorskip("sentiment.encoder")
    return encoder_mod.encoder_from_settings(SentimentConfig())


def f1(gold: list[str], predicted: list[str], label: str) -> float:
    tp = sum(g == p == label for g, p in zip(gold, predicted))
    precision = tp / max(sum(p == label for p in predicted), 1)
    recall = tp / max(sum(g == label for g in gold), 1)
    return 2 * precision * recall / (precision + recall) if tp else 0.0


def test_the_shipped_scorer_tells_the_five_intents_apart_on_the_hand_labelled_sample(encoder) -> None:  # type: ignore[no-untyped-def]
    with FIXTURE.open(newline="") as f:
        rows = list(csv.DictReader(f))
    texts, gold = [r["text"] for r in rows], [r["intent"] for r in rows]
    conf = SentimentConfig()
    shipped = Scorer.with_heads(encoder, load_heads(), conf)
    assert shipped.complaint is not None, "production scores intent with the shipped complaint head"
    zero_shot = Scorer(encoder, shipped.heads, topics=conf.topics, complaint=None)
    predicted = [r.intent for r in shipped.score([ScoreInput(t) for t in texts])]
    before = [r.intent for r in zero_shot.score([ScoreInput(t) for t in texts])]
    assert f1(gold, predicted, "complaint") >= 0.85 > f1(gold, before, "complaint")
    accuracy = sum(g == p for g, p in zip(gold, predicted)) / len(gold)
    assert accuracy >= 0.8 and accuracy > sum(g == p for g, p in zip(gold, before)) / len(gold)


def test_config_examples_teach_a_topic_what_its_description_misses(encoder) -> None:  # type: ignore[no-untyped-def]
    heads = load_heads()
    described = Scorer(encoder, heads, topics={"lost luggage": LUGGAGE})
    taught = Scorer(encoder, heads, topics={"lost luggage": TopicConfig(description=LUGGAGE, examples=CAROUSEL)})
    assert taught.topic_model.thresholds[0] != described.topic_model.thresholds[0], "three examples derive a threshold"
    assert described.score([ScoreInput(SIMILAR)])[0].topics == ()
    assert taught.score([ScoreInput(SIMILAR)])[0].topics == ("lost luggage",)
    assert taught.score([ScoreInput(UNRELATED)])[0].topics == ()
    strict = Scorer(encoder, heads, topics={"lost luggage": TopicConfig(description=LUGGAGE, examples=CAROUSEL,
                                                                          threshold=0.9)})
    assert strict.score([ScoreInput(SIMILAR)])[0].topics == (), "a configured threshold wins over the derived one"
