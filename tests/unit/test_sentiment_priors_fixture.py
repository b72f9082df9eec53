"""Issue 14's target on real numbers: on TweetEval resampled to a care-like mix (60 % negative, 25 %
neutral, 15 % positive), adaptation as production runs it raises negative recall by at least 10
points without lowering macro-F1. The second half holds; the ten points do not with the calibrated
heads (9.4), so that test is a strict expected failure: it turns the suite red once it passes, to
be made a plain test again.

The fixture holds the shipped scorer's own probabilities and the gold labels of 5,000 such tweets,
numbers only (`python bench/priors.py --fixture tests/fixtures/priors/tweeteval-care-mix.json`
wrote it; the tweets stay outside the project). A new model version regenerates it with that
command. It is the draw docs/model.md reports ("Prior shift", seed 2002); other draws vary around it
(the mean over ten draws there), which is why the model card gives the spread too."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.config import AdaptationConfig
from sentiment.adaptation import adapt_groups
from sentiment.metrics import classification_report

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "priors" / "tweeteval-care-mix.json"


def adapted_and_own() -> tuple[dict, dict]:
    data = json.loads(FIXTURE.read_text())
    labels = data["labels"]
    probs, gold = np.array(data["probabilities"]), [labels[g] for g in data["gold"]]
    assert len(gold) == 5000 and np.bincount(data["gold"]).tolist() == [3000, 1250, 750]
    adapted, (stream,) = adapt_groups(probs, None, tuple(data["base_priors"]), AdaptationConfig())
    assert stream.adapted and stream.n == 5000
    own = classification_report(gold, [labels[i] for i in probs.argmax(axis=1)])
    after = classification_report(gold, [labels[i] for i in adapted.argmax(axis=1)])
    return own, after


def negative_recall(report: dict) -> float:
    return report["per_class"]["negative"]["recall"]


def test_adaptation_finds_more_negatives_without_lowering_macro_f1() -> None:
    own, after = adapted_and_own()
    assert negative_recall(after) > negative_recall(own)
    assert after["macro_f1"] >= own["macro_f1"]


@pytest.mark.xfail(strict=True, reason="issue 14, open: with the calibrated heads 202612041917-4b25a7 one EM step "
                                       "finds 9.4 points more negatives on this draw (0.7483 -> 0.8420), short of 10; "
                                       "docs/model.md 'Prior shift'")
def test_adaptation_finds_ten_points_more_negatives() -> None:
    own, after = adapted_and_own()
    assert negative_recall(after) >= negative_recall(own) + 0.10
