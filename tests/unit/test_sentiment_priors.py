"""The EM of Saerens, Latinne & Decaestecker (2002) with hand-made numbers (sentiment.priors)."""

from __future__ import annotations

import numpy as np
import pytest

from sentiment.priors import MIN_PRIOR, adjust, estimate_priors

# A toy world with four kinds of text and known likelihoods p(kind | class), rows negative, neutral,
# positive: a classifier that knows these exactly is calibrated, so only the class mix can differ.
LIKELIHOOD = np.array([
    [0.70, 0.20, 0.05, 0.05],
    [0.20, 0.45, 0.25, 0.10],
    [0.05, 0.15, 0.30, 0.50],
])
TRAINING = np.array([0.40, 0.30, 0.30])
CARE = np.array([0.60, 0.25, 0.15])


def posteriors_of_a_stream(mix: np.ndarray, n: int = 20_000) -> tuple[np.ndarray, np.ndarray]:
    """(posteriors under TRAINING, the kind of each row) of n texts drawn in exact proportion from `mix`."""
    kinds_share = mix @ LIKELIHOOD  # p(kind) under the stream's mix
    counts = np.round(kinds_share * n).astype(int)
    kinds = np.repeat(np.arange(4), counts)
    joint = LIKELIHOOD[:, kinds].T * TRAINING
    return joint / joint.sum(axis=1, keepdims=True), kinds


def test_adjust_is_bayes_rule_by_hand() -> None:
    # (0.5, 0.3, 0.2) under a uniform mix, moved to (0.6, 0.25, 0.15): weights 1.8, 0.75, 0.45,
    # so (0.9, 0.225, 0.09) / 1.215.
    out = adjust(np.array([[0.5, 0.3, 0.2]]), (1 / 3, 1 / 3, 1 / 3), (0.6, 0.25, 0.15))
    assert out[0] == pytest.approx([0.9 / 1.215, 0.225 / 1.215, 0.09 / 1.215])


def test_adjust_takes_one_mix_per_row() -> None:
    rows = np.array([[0.5, 0.3, 0.2], [0.5, 0.3, 0.2]])
    out = adjust(rows, (1 / 3, 1 / 3, 1 / 3), np.array([[0.6, 0.25, 0.15], [1 / 3, 1 / 3, 1 / 3]]))
    assert out[0] == pytest.approx([0.9 / 1.215, 0.225 / 1.215, 0.09 / 1.215])
    assert out[1] == pytest.approx([0.5, 0.3, 0.2])


def test_a_known_shifted_mix_is_recovered() -> None:
    posteriors, _ = posteriors_of_a_stream(CARE)
    found = estimate_priors(posteriors, TRAINING)
    assert found.converged and found.n == 20_000
    assert found.priors == pytest.approx(CARE, abs=2e-3)
    # The adjusted posteriors are the exact posteriors under the care mix.
    kinds = np.arange(4)
    exact = LIKELIHOOD[:, kinds].T * CARE
    exact /= exact.sum(axis=1, keepdims=True)
    first_of_each_kind = [int(np.flatnonzero(posteriors_of_a_stream(CARE)[1] == k)[0]) for k in kinds]
    assert adjust(posteriors[first_of_each_kind], TRAINING, found.priors) == pytest.approx(exact, abs=3e-3)


def test_a_mix_equal_to_training_leaves_the_probabilities_unchanged() -> None:
    posteriors, _ = posteriors_of_a_stream(TRAINING)
    found = estimate_priors(posteriors, TRAINING)
    assert found.priors == pytest.approx(TRAINING, abs=1e-3)
    assert adjust(posteriors, TRAINING, found.priors) == pytest.approx(posteriors, abs=2e-3)
    assert np.allclose(adjust(posteriors, TRAINING, TRAINING), posteriors, rtol=0, atol=1e-12)


def test_adaptation_finds_more_negatives_of_a_care_stream() -> None:
    posteriors, kinds = posteriors_of_a_stream(CARE)
    found = estimate_priors(posteriors, TRAINING)
    raw, adapted = posteriors.argmax(axis=1), adjust(posteriors, TRAINING, found.priors).argmax(axis=1)
    # Kind 1 (likelihoods 0.20, 0.45, 0.15) reads neutral under the training mix, negative under the care mix.
    assert raw[kinds == 1][0] == 1 and adapted[kinds == 1][0] == 0


def test_an_empty_set_keeps_the_training_mix() -> None:
    found = estimate_priors(np.zeros((0, 3)), TRAINING)
    assert found.priors == pytest.approx(TRAINING) and found.n == 0 and found.iterations == 0 and found.converged


def test_a_set_of_one_class_only_stays_finite_and_keeps_every_class_possible() -> None:
    found = estimate_priors(np.tile([1.0, 0.0, 0.0], (50, 1)), TRAINING)
    assert all(np.isfinite(found.priors)) and sum(found.priors) == pytest.approx(1.0)
    assert found.priors[0] > 0.99 and min(found.priors) >= MIN_PRIOR / 1.01
    # A text the model calls neutral stays neutral-leaning when it is sure enough.
    assert adjust(np.array([[0.0, 1.0, 0.0]]), TRAINING, found.priors)[0] == pytest.approx([0, 1, 0])


def test_a_single_row_is_estimated_without_error() -> None:
    found = estimate_priors(np.array([[0.2, 0.5, 0.3]]), TRAINING)
    assert found.n == 1 and sum(found.priors) == pytest.approx(1.0)


def test_stopping_at_max_iterations_says_it_did_not_converge() -> None:
    posteriors, _ = posteriors_of_a_stream(CARE)
    found = estimate_priors(posteriors, TRAINING, max_iterations=2)
    assert found.iterations == 2 and not found.converged


@pytest.mark.parametrize("priors, message", [
    ((0.5, 0.5, 0.0), "above 0"),
    ((0.5, 0.4, 0.4), "sum to 1"),
    ((0.5, 0.5), "expected 3"),
    ((float("nan"), 0.5, 0.5), "finite"),
])
def test_bad_training_priors_are_refused(priors: tuple[float, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        estimate_priors(np.array([[0.2, 0.5, 0.3]]), priors)


@pytest.mark.parametrize("posteriors, message", [
    (np.array([[0.2, 0.5, 0.4]]), "sums to 1.1"),
    (np.array([[np.nan, 0.5, 0.5]]), "finite"),
    (np.array([0.2, 0.5, 0.3]), "shape"),
    (np.array([[-0.1, 0.6, 0.5]]), "negative"),
])
def test_bad_posteriors_are_refused(posteriors: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        estimate_priors(posteriors, TRAINING)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="tolerance"):
        estimate_priors(np.array([[0.2, 0.5, 0.3]]), TRAINING, tolerance=0)
    with pytest.raises(ValueError, match="max_iterations"):
        estimate_priors(np.array([[0.2, 0.5, 0.3]]), TRAINING, max_iterations=0)


def test_eval_adapts_each_group_as_production_adapts_one_brand() -> None:
    from core.config import AdaptationConfig
    from sentiment.adaptation import adapt_groups

    care, _ = posteriors_of_a_stream(CARE, n=400)
    calm, _ = posteriors_of_a_stream(TRAINING, n=400)
    few = care[:50]
    probs = np.vstack([care, calm, few])
    groups = ["care"] * len(care) + ["calm"] * len(calm) + ["small"] * len(few)
    conf = AdaptationConfig(min_mentions=100, max_iterations=1000)
    adapted, found = adapt_groups(probs, groups, tuple(TRAINING), conf)
    by_name = {g.name: g for g in found}
    assert by_name["care"].adapted
    assert [g.name for g in found] == ["care", "calm", "small"]
    assert by_name["care"].mix == pytest.approx(CARE, abs=0.01) and by_name["care"].n == 400
    assert by_name["calm"].mix == pytest.approx(TRAINING, abs=0.01)
    assert not by_name["small"].adapted and by_name["small"].n == 50  # below min_mentions: the model's own
    assert np.array_equal(adapted[-50:], few)
    assert np.allclose(adapted[:400], adjust(care, TRAINING, by_name["care"].mix))
    # Without groups the whole file is one stream.
    _, whole = adapt_groups(probs, None, tuple(TRAINING), conf)
    assert [(g.name, g.n) for g in whole] == [("all rows", 850)]
