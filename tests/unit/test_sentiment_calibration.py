"""Temperature scaling and calibration error on synthetic models whose true probabilities are known:
a calibrated one keeps T near 1, an over-confident one gets T > 1 and a lower ECE, an
under-confident one T < 1; ECE, classwise ECE and the reliability bins on hand-made numbers."""

from __future__ import annotations

import numpy as np
import pytest

from sentiment.calibration import (
    BINS, MAX_TEMPERATURE, MIN_TEMPERATURE, before_and_after, classwise_calibration_error,
    expected_calibration_error, fit_temperature, nll, reliability, softmax,
)


def world(n: int = 20_000, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Logits of a calibrated 3-class model and gold labels drawn from its own probabilities."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 1.5, size=(n, 3)) + np.array([0.3, 0.0, -0.2])
    p = softmax(logits)
    gold = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    return logits, gold


def test_a_calibrated_model_keeps_a_temperature_near_one() -> None:
    logits, gold = world()
    t = fit_temperature(logits, gold)
    assert t == pytest.approx(1.0, abs=0.05)
    assert expected_calibration_error(softmax(logits), gold) < 0.02


def test_an_over_confident_model_gets_t_above_one_and_a_lower_error() -> None:
    logits, gold = world()
    over = 2.5 * logits  # the same ranking, far too sure
    t = fit_temperature(over, gold)
    assert t == pytest.approx(2.5, rel=0.05)
    before = expected_calibration_error(softmax(over), gold)
    after = expected_calibration_error(softmax(over, t), gold)
    assert before > 0.08 and after < 0.02 and after < before / 4
    assert nll(over, gold, t) < nll(over, gold)
    assert classwise_calibration_error(softmax(over, t), gold) < classwise_calibration_error(softmax(over), gold)
    # The temperature never changes which class is largest.
    assert (softmax(over, t).argmax(axis=1) == over.argmax(axis=1)).all()


def test_an_under_confident_model_gets_t_below_one() -> None:
    logits, gold = world()
    assert fit_temperature(logits / 2.0, gold) == pytest.approx(0.5, rel=0.05)


def test_the_fitted_temperature_is_the_nll_minimum() -> None:
    logits, gold = world(3_000, seed=3)
    over = 1.8 * logits
    t = fit_temperature(over, gold)
    assert nll(over, gold, t) <= min(nll(over, gold, t * 0.98), nll(over, gold, t * 1.02))


def test_a_split_the_model_always_gets_right_pushes_t_to_its_floor() -> None:
    logits = np.array([[2.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 1.0]])
    assert fit_temperature(logits, [0, 1, 2]) == pytest.approx(MIN_TEMPERATURE, rel=1e-3)
    assert fit_temperature(logits, [1, 2, 0]) == pytest.approx(MAX_TEMPERATURE, rel=1e-3)
    assert fit_temperature(np.zeros((0, 3)), []) == 1.0


def test_ece_of_hand_made_numbers() -> None:
    # Bin (0.6, 0.667]: two rows at 0.65, one right -> |0.5 - 0.65| = 0.15.
    # Bin (0.867, 0.933]: two rows at 0.9, both right -> |1.0 - 0.9| = 0.1.  ECE = (2 * 0.15 + 2 * 0.1) / 4.
    p = np.array([[0.65, 0.25, 0.10], [0.65, 0.25, 0.10], [0.05, 0.90, 0.05], [0.90, 0.05, 0.05]])
    gold = [0, 1, 1, 0]
    assert expected_calibration_error(p, gold) == pytest.approx(0.125)
    table = reliability(p, gold)
    assert [(round(b.lower * BINS), b.n, b.accuracy) for b in table] == [(9, 2, 0.5), (13, 2, 1.0)]
    assert table[0].confidence == pytest.approx(0.65) and table[1].upper == pytest.approx(14 / 15)
    # One bin: the mean of |accuracy - confidence| over all rows at once.
    assert expected_calibration_error(p, gold, bins=1) == pytest.approx(abs(0.75 - 0.775))


def test_a_bin_holds_its_upper_edge_and_the_first_bin_holds_zero() -> None:
    p = np.array([[1.0, 0.0, 0.0], [0.6, 0.4, 0.0]])  # 1.0 in the last bin, 0.6 = 9/15 in bin 8
    assert [(round(b.lower * BINS), b.n) for b in reliability(p, [0, 1])] == [(8, 1), (14, 1)]
    assert classwise_calibration_error(np.array([[0.0, 1.0, 0.0]]), [1]) == 0.0


def test_classwise_ece_sees_the_probabilities_below_the_top() -> None:
    # The top class is always right and at its true rate (ECE 0), but p_negative on the
    # neutral rows says 0.3 where negative never happens there.
    p = np.array([[0.3, 0.7, 0.0]] * 10 + [[1.0, 0.0, 0.0]] * 3)
    gold = [1] * 7 + [0] * 3 + [0] * 3
    assert expected_calibration_error(p, gold) == pytest.approx(0.0, abs=1e-12)
    # negative: bin 0.3 holds 10 rows with 3 gold negatives: |0.3 - 0.3| = 0; bin 1.0: 3 rows, all right.
    # neutral: 10 rows at 0.7, 7 gold neutral: 0; positive: all 0, never gold: 0.
    assert classwise_calibration_error(p, gold) == pytest.approx(0.0, abs=1e-12)
    wrong = np.array([[0.3, 0.7, 0.0]] * 10)
    assert classwise_calibration_error(wrong, [1] * 10) == pytest.approx((0.3 + 0.3 + 0.0) / 3)


def test_before_and_after_reports_both_with_the_binning() -> None:
    logits, gold = world(5_000, seed=11)
    over = 3.0 * logits
    report = before_and_after(over, gold, fit_temperature(over, gold))
    assert report["bins"] == BINS and "equal-width" in report["binning"]
    assert report["after"]["ece"] < report["before"]["ece"] and report["after"]["nll"] < report["before"]["nll"]
    assert sum(b["n"] for b in report["before"]["reliability"]) == 5_000
    assert report["temperature"] > 2.5


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="temperature"):
        softmax(np.zeros((1, 3)), 0.0)
    with pytest.raises(ValueError, match="gold labels"):
        expected_calibration_error(np.full((2, 3), 1 / 3), [0])
    with pytest.raises(ValueError, match="class indices"):
        fit_temperature(np.zeros((1, 3)), [3])
    with pytest.raises(ValueError, match="shape"):
        nll(np.zeros(3), [0])
    assert expected_calibration_error(np.zeros((0, 3)), []) == 0.0
