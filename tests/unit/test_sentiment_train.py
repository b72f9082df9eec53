"""Weighting of the training rows, and the class priors the heads file records for prior adaptation."""

from __future__ import annotations

import numpy as np
import pytest

from sentiment.train import balanced_weights, distribution, effective_priors


def test_balanced_weights_give_every_class_the_same_total() -> None:
    y = np.array([0, 1, 1, 1, 2, 2])
    totals = np.bincount(y, weights=balanced_weights(y))
    assert totals == pytest.approx([2.0, 2.0, 2.0])
    assert balanced_weights(np.array([0, 2, 2])).tolist() == pytest.approx([1.5, 0.75, 0.75])  # a class never seen


def test_the_training_mix_counts_each_row_by_its_loss_weight() -> None:
    y = np.array([0, 1, 1, 1, 2, 2])
    assert distribution(y) == pytest.approx([1 / 6, 1 / 2, 1 / 3], abs=1e-6)
    assert distribution(y, np.array([3.0, 1, 1, 1, 0.5, 0.5])) == pytest.approx([3 / 7, 3 / 7, 1 / 7], abs=1e-6)


def test_effective_priors_are_the_weighted_mean_probability() -> None:
    p = np.array([[0.8, 0.1, 0.1], [0.2, 0.6, 0.2], [0.0, 0.5, 0.5]])
    assert effective_priors(p, np.ones(3)) == pytest.approx([1 / 3, 0.4, 0.8 / 3], abs=1e-6)
    assert effective_priors(p, np.array([2.0, 1.0, 1.0])) == pytest.approx([0.45, 0.325, 0.225], abs=1e-6)
