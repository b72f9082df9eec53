"""Stage 3 of the scorer with hand-made numbers: no model, no database."""

from __future__ import annotations

import math

import pytest

from sentiment.metrics import classification_report
from sentiment.postprocess import (
    UrgencyPolicy,
    engagement_velocity,
    intent,
    sentiment_from_logits,
    sentiment_from_probabilities,
    topics,
    urgency,
    valence,
)

POLICY = UrgencyPolicy(risk_topics=frozenset({"outage", "safety"}), reach_followers=10_000, velocity_per_hour=20)


def test_logits_give_label_and_probabilities_that_sum_to_one() -> None:
    label, (neg, neu, pos) = sentiment_from_logits([2.0, 0.0, -1.0])
    assert label == "negative"
    assert neg + neu + pos == pytest.approx(1.0)
    assert neg == pytest.approx(math.exp(2) / (math.exp(2) + 1 + math.exp(-1)))
    assert sentiment_from_logits([0.0, 0.0, 5.0])[0] == "positive"
    assert sentiment_from_logits([math.log(0.2), math.log(0.5), math.log(0.3)]) == (
        "neutral",
        pytest.approx((0.2, 0.5, 0.3)),
    )


def test_logits_must_be_three() -> None:
    with pytest.raises(ValueError, match="3 logits"):
        sentiment_from_logits([1.0, 2.0])


def test_valence_scales_rater_means_and_clips() -> None:
    assert valence(2.0) == 0.5
    assert valence(-4.0) == -1.0
    assert valence(-9.0) == -1.0
    assert valence(5.0) == 1.0


def test_intent_takes_the_most_similar_description() -> None:
    sims = {"complaint": 0.42, "question": 0.2, "request": 0.1, "praise": 0.05}
    assert intent(sims, "my bag never arrived, terrible") == "complaint"


def test_question_mark_and_request_words_nudge_intent() -> None:
    sims = {"complaint": 0.30, "question": 0.25, "request": 0.2, "praise": 0.0}
    assert intent(sims, "when does the gate open?") == "question"
    assert intent(sims, "please refund my ticket") == "request"


def test_weak_similarity_is_other() -> None:
    assert intent({"complaint": 0.05, "question": 0.02, "request": 0.0, "praise": 0.1}, "lol ok") == "other"
    assert intent({}, "anything") == "other"


def test_with_a_complaint_head_the_first_rule_that_holds_decides() -> None:
    sims = {"complaint": 0.1, "question": 0.5, "request": 0.4, "praise": 0.6}  # ignored once a head scores
    said = dict(p_positive=0.2)
    assert intent(sims, "@Air why is my bag still not here?", p_complaint=0.8, **said) == "complaint"
    assert intent(sims, "@Air could you move me to an aisle seat?", p_complaint=0.2, **said) == "request"
    assert intent(sims, "@Air how much is an extra bag", p_complaint=0.2, **said) == "question"
    assert intent(sims, "@Air @AirHelp, is the lounge open", p_complaint=0.2, **said) == "question"
    assert intent(sims, "@Air lovely crew today", p_complaint=0.2, p_positive=0.9) == "praise"
    assert intent(sims, "@Air boarding now", p_complaint=0.2, p_positive=0.3) == "other"
    assert intent(sims, "@Air boarding now", p_complaint=0.2, p_positive=0.3, corrected="praise") == "praise"
    assert intent(sims, "@Air thanks for the refund", p_complaint=0.2, p_positive=0.9) == "praise", \
        "a refund mentioned is no request for one"
    assert intent(sims, "@Air I want a refund", p_complaint=0.4, p_positive=0.1) == "request"


def test_the_complaint_threshold_is_the_heads() -> None:
    assert intent({}, "the seat was broken", p_complaint=0.55, complaint_threshold=0.6) == "other"
    assert intent({}, "the seat was broken", p_complaint=0.6, complaint_threshold=0.6) == "complaint"


def test_a_topic_may_have_its_own_threshold() -> None:
    sims = {"outage": 0.5, "lost luggage": 0.32, "safety": 0.2}
    assert topics(sims, {"outage": 0.6, "lost luggage": 0.3, "safety": 0.2}) == ("lost luggage", "safety")
    assert topics(sims, 0.3) == ("outage", "lost luggage")


def test_topics_above_threshold_most_similar_first() -> None:
    sims = {"outage": 0.5, "lost luggage": 0.62, "safety": 0.1}
    assert topics(sims, 0.35) == ("lost luggage", "outage")
    assert topics(sims, 0.9) == ()
    assert topics(sims, 0.0, limit=2) == ("lost luggage", "outage")  # the most similar kept


def test_engagement_velocity_counts_first_quarter_hour_as_quarter() -> None:
    assert engagement_velocity(10, 5, 5, 2.0) == 10.0
    assert engagement_velocity(3, 0, 2, 0.0) == 20.0


def test_calm_positive_praise_is_not_urgent() -> None:
    score, reasons = urgency(
        p_negative=0.05, valence=0.8, intent="praise", topics=(), followers=120, velocity=0.5, policy=POLICY
    )
    assert score == 0.0
    assert reasons == ()


def test_every_signal_adds_a_reason_and_urgency_stays_in_range() -> None:
    score, reasons = urgency(
        p_negative=0.95, valence=-0.9, intent="complaint", topics=("outage",), followers=250_000, velocity=80,
        policy=POLICY,
    )
    assert 0.9 <= score <= 1.0
    assert reasons[0].startswith("negative sentiment (p=0.95")
    assert "risk topic: outage" in reasons
    assert "complaint needs a reply" in reasons
    assert "author reach: 250,000 followers" in reasons
    assert "spreading fast: 80 interactions/hour" in reasons


def test_urgency_grows_with_negative_intensity() -> None:
    mild, _ = urgency(p_negative=0.55, valence=-0.2, intent="other", topics=(), followers=None, velocity=0, policy=POLICY)
    strong, _ = urgency(p_negative=0.95, valence=-0.9, intent="other", topics=(), followers=None, velocity=0, policy=POLICY)
    assert 0 < mild < strong


def test_urgency_reads_the_adapted_probability_and_names_the_models_own() -> None:
    # The model said 0.40 (no negative reason); adapted to a complaint-heavy brand it is 0.72.
    own, own_reasons = urgency(p_negative=0.40, valence=-0.1, intent="other", topics=(), followers=None, velocity=0,
                               policy=POLICY)
    adapted, reasons = urgency(p_negative=0.72, valence=-0.1, intent="other", topics=(), followers=None, velocity=0,
                               policy=POLICY, raw_p_negative=0.40)
    assert own == 0.0 and own_reasons == ()
    assert adapted > 0 and reasons == ("negative sentiment (p=0.72 for this brand's mix, 0.40 before, valence -0.10)",)
    # Unchanged by adaptation: the reason reads as before.
    _, same = urgency(p_negative=0.72, valence=-0.1, intent="other", topics=(), followers=None, velocity=0,
                      policy=POLICY, raw_p_negative=0.7201)
    assert same == ("negative sentiment (p=0.72, valence -0.10)",)


def test_adapted_probabilities_give_the_label() -> None:
    assert sentiment_from_probabilities([0.5, 0.3, 0.2]) == ("negative", (0.5, 0.3, 0.2))
    assert sentiment_from_probabilities([0.1, 0.2, 0.7])[0] == "positive"
    with pytest.raises(ValueError, match="3 probabilities"):
        sentiment_from_probabilities([0.5, 0.5])


def test_only_configured_risk_topics_count() -> None:
    _, reasons = urgency(
        p_negative=0.1, valence=0.0, intent="other", topics=("lost luggage",), followers=None, velocity=0, policy=POLICY
    )
    assert reasons == ()
    score, reasons = urgency(
        p_negative=0.1, valence=0.0, intent="question", topics=("safety",), followers=None, velocity=0, policy=POLICY
    )
    assert score == pytest.approx(0.45)
    assert reasons == ("risk topic: safety", "question needs a reply")


def test_classification_report_by_hand() -> None:
    gold = ["positive", "positive", "negative", "neutral"]
    pred = ["positive", "negative", "negative", "neutral"]
    report = classification_report(gold, pred)
    assert report["accuracy"] == 0.75
    assert report["per_class"]["negative"] == {"precision": 0.5, "recall": 1.0, "f1": 0.6667, "support": 1}
    assert report["per_class"]["positive"]["recall"] == 0.5
    assert report["confusion"]["positive"]["negative"] == 1
    assert report["macro_f1"] == pytest.approx((0.6667 + 0.6667 + 1.0) / 3, abs=1e-4)
