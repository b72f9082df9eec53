"""Topic prototypes and thresholds (sentiment.topics) with hand-made vectors: no encoder."""

from __future__ import annotations

import numpy as np
import pytest

from sentiment.examples import Examples
from sentiment.topics import (
    DESCRIPTION_WEIGHT,
    TopicModel,
    derived_threshold,
    leave_one_out_scores,
    nearest_mean,
    prototype_scores,
)


def unit(*values: float) -> np.ndarray:
    v = np.array(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_without_examples_a_topic_is_its_description() -> None:
    description = np.array([0.3, 0.1], dtype=np.float32)
    assert prototype_scores(description, np.zeros((2, 0))) == pytest.approx(description)


def test_examples_join_the_description_by_their_count() -> None:
    description = np.array([0.2])
    one = prototype_scores(description, np.array([[0.8]]))
    assert one[0] == pytest.approx((DESCRIPTION_WEIGHT * 0.2 + 0.8) / (DESCRIPTION_WEIGHT + 1))
    # with five examples the text's three nearest count, weighted as five examples
    five = prototype_scores(description, np.array([[0.9, 0.1, 0.7, 0.8, 0.0]]))
    assert five[0] == pytest.approx((DESCRIPTION_WEIGHT * 0.2 + 5 * 0.8) / (DESCRIPTION_WEIGHT + 5))


def test_nearest_mean_takes_the_highest_three() -> None:
    assert nearest_mean(np.array([[0.1, 0.9, 0.5, 0.7]])) == pytest.approx([0.7])
    assert nearest_mean(np.array([[0.1, 0.9]])) == pytest.approx([0.5])


def test_the_threshold_is_derived_from_the_examples_left_out_one_at_a_time() -> None:
    description = np.array([0.3, 0.4, 0.2, 0.35])
    gram = np.array([[1.0, 0.6, 0.5, 0.4], [0.6, 1.0, 0.7, 0.5], [0.5, 0.7, 1.0, 0.3], [0.4, 0.5, 0.3, 1.0]])
    loo = leave_one_out_scores(description, gram)
    assert loo[0] == pytest.approx((DESCRIPTION_WEIGHT * 0.3 + 3 * np.mean([0.6, 0.5, 0.4])) / (DESCRIPTION_WEIGHT + 3))
    assert derived_threshold(description, gram, default=0.35) == pytest.approx(np.quantile(loo, 0.2))
    assert derived_threshold(description[:2], gram[:2, :2], default=0.35) == 0.35, "two examples say too little"


def test_topic_model_scores_config_and_staff_examples_and_obeys_counter_examples() -> None:
    descriptions = np.stack([unit(1, 0, 0), unit(0, 1, 0)])
    text = unit(0.2, 0.1, 1.0)  # about neither description
    near = unit(0.25, 0.1, 1.0)  # a near-paraphrase of `text`
    staff = Examples(np.stack([near]), (None,), (("billing",),), ((),))
    model = TopicModel.build(("billing", "outage"), descriptions, {"outage": np.stack([unit(0, 1, 0.2)])},
                             {"billing": None, "outage": 0.5}, 0.35, staff=staff)
    assert model.example_counts() == {"billing": 1, "outage": 1}
    assert model.thresholds == (0.35, 0.5)
    scores = model.scores(text[None, :])[0]
    assert scores[0] == pytest.approx(float(text @ near), abs=1e-6), "a near-paraphrase scores its cosine"
    zero = TopicModel.build(("billing", "outage"), descriptions, {}, {"billing": None, "outage": None}, 0.35)
    assert zero.scores(text[None, :])[0] == pytest.approx(descriptions @ text)

    removed = Examples(np.stack([near]), (None,), ((),), (("billing",),))
    against = TopicModel.build(("billing",), descriptions[:1], {}, {"billing": None}, 0.35, staff=removed)
    assert against.scores(text[None, :])[0, 0] == 0.0, "a closer counter-example takes the topic away"
