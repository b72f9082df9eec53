"""Calibrated sentiment probabilities: temperature scaling, and how far off probabilities are.

The heads' mixed probabilities are over-confident (the MLPs fit their training rows closely), so a
p_negative of 0.8 was right less than 80 % of the time, and everything that reads it as a
probability suffers: urgency's "negative at p ≥ 0.5", praise at p_positive ≥ 0.5, and prior
adaptation, whose Bayes correction and EM assume calibrated posteriors (sentiment.priors).

Temperature scaling (Guo, Pleiss, Sun & Weinberger, "On Calibration of Modern Neural Networks",
ICML 2017) divides the logits by one number T > 0 before the softmax, T chosen to minimise the
negative log-likelihood of held-out gold labels. One parameter cannot overfit a development split
of thousands of texts, and it never changes which class is largest, so labels, macro-F1 and the
training gate (which reads held-out macro-F1 on the same split) are untouched. Vector scaling (a
scale and a bias per class) would move the argmax, and with it the labels the gate compares, on
the very split it was fitted on.

Expected calibration error (ECE, as in Guo et al.): the top probability of each row is binned into
`BINS` equal-width bins on [0, 1] (a bin holds confidences in (lower, upper], the first also 0);
ECE is the row-weighted mean, over bins, of |accuracy − mean confidence|. Classwise ECE (Kull et
al., NeurIPS 2019) does the same for each class's own probability against how often that class is
the gold one, averaged over classes: it sees the non-top probabilities too, which urgency reads
(p_negative of a text whose top class is neutral). Pure numpy and scipy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

BINS = 15  # equal-width bins of [0, 1], as in Guo et al. (2017)
# The search range of T. The optimum of a sane model lies well inside; a tiny or separable split
# pushes it to an end (all right: T -> 0; all wrong: T -> infinity), where it stops.
MIN_TEMPERATURE = 0.05
MAX_TEMPERATURE = 20.0


@dataclass(frozen=True, slots=True)
class ReliabilityBin:
    """One bin of a reliability table: the rows whose top probability lies in (lower, upper]."""

    lower: float
    upper: float
    n: int
    confidence: float  # mean top probability of the bin's rows
    accuracy: float  # share of them whose top class is the gold one

    def as_dict(self) -> dict[str, Any]:
        return {"lower": round(self.lower, 4), "upper": round(self.upper, 4), "n": self.n,
                "confidence": round(self.confidence, 4), "accuracy": round(self.accuracy, 4)}


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of `logits / temperature`."""
    if not temperature > 0:
        raise ValueError(f"temperature must be above 0, got {temperature}")
    z = np.asarray(logits, dtype=float) / temperature
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _checked(values: np.ndarray, gold: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    v = np.asarray(values, dtype=float)
    y = np.asarray(gold, dtype=int)
    if v.ndim != 2:
        raise ValueError(f"expected an (n, classes) array, got shape {v.shape}")
    if y.shape != (v.shape[0],):
        raise ValueError(f"expected {v.shape[0]} gold labels, got shape {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= v.shape[1]):
        raise ValueError(f"gold labels must be class indices 0..{v.shape[1] - 1}")
    return v, y


def nll(logits: np.ndarray, gold: Sequence[int] | np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of the gold classes under softmax(logits / temperature)."""
    z, y = _checked(logits, gold)
    if not len(y):
        return 0.0
    z = z / temperature
    top = z.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(z - top).sum(axis=1)) + top[:, 0]
    return float(np.mean(log_norm - z[np.arange(len(y)), y]))


def fit_temperature(logits: np.ndarray, gold: Sequence[int] | np.ndarray) -> float:
    """The T in [MIN_TEMPERATURE, MAX_TEMPERATURE] minimising `nll(logits, gold, T)`; 1 for no rows.

    The NLL is convex in 1/T (a log-sum-exp of a linear function minus a linear one), so a bounded
    scalar search over 1/T finds the global minimum."""
    from scipy.optimize import minimize_scalar

    z, y = _checked(logits, gold)
    if not len(y):
        return 1.0
    found = minimize_scalar(lambda inverse: nll(z, y, 1.0 / inverse), bounds=(1.0 / MAX_TEMPERATURE, 1.0 / MIN_TEMPERATURE),
                            method="bounded", options={"xatol": 1e-6})
    return float(1.0 / found.x)


def _bin_of(values: np.ndarray, bins: int) -> np.ndarray:
    """Bin index of each value in [0, 1]: bin b holds (b / bins, (b + 1) / bins], bin 0 also 0."""
    return np.clip(np.ceil(values * bins).astype(int) - 1, 0, bins - 1)


def reliability(probabilities: np.ndarray, gold: Sequence[int] | np.ndarray, bins: int = BINS) -> list[ReliabilityBin]:
    """The non-empty bins of the top probability, with their mean confidence and accuracy."""
    p, y = _checked(probabilities, gold)
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    confidence = p.max(axis=1) if len(y) else np.zeros(0)
    correct = (p.argmax(axis=1) == y).astype(float) if len(y) else np.zeros(0)
    which = _bin_of(confidence, bins)
    table = []
    for b in range(bins):
        rows = which == b
        if rows.any():
            table.append(ReliabilityBin(b / bins, (b + 1) / bins, int(rows.sum()), float(confidence[rows].mean()),
                                        float(correct[rows].mean())))
    return table


def expected_calibration_error(probabilities: np.ndarray, gold: Sequence[int] | np.ndarray, bins: int = BINS) -> float:
    """ECE of the top probability over `bins` equal-width bins (module docstring); 0 for no rows."""
    table = reliability(probabilities, gold, bins)
    n = sum(b.n for b in table)
    return float(sum(b.n * abs(b.accuracy - b.confidence) for b in table) / n) if n else 0.0


def classwise_calibration_error(probabilities: np.ndarray, gold: Sequence[int] | np.ndarray, bins: int = BINS) -> float:
    """Classwise ECE: per class, each row's probability of that class binned against how often the
    class is the gold one; the mean over classes (module docstring). 0 for no rows."""
    p, y = _checked(probabilities, gold)
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    if not len(y):
        return 0.0
    errors = []
    for k in range(p.shape[1]):
        which = _bin_of(p[:, k], bins)
        is_k = (y == k).astype(float)
        gap = 0.0
        for b in np.unique(which):
            rows = which == b
            gap += rows.sum() * abs(is_k[rows].mean() - p[rows, k].mean())
        errors.append(gap / len(y))
    return float(np.mean(errors))


def calibration_figures(probabilities: np.ndarray, gold: Sequence[int] | np.ndarray, bins: int = BINS,
                        logits: np.ndarray | None = None, temperature: float = 1.0) -> dict[str, Any]:
    """ECE, classwise ECE, the reliability table and (with `logits`, of which `probabilities` are
    softmax(logits / temperature)) the NLL, as plain data for JSON."""
    figures: dict[str, Any] = {
        "ece": round(expected_calibration_error(probabilities, gold, bins), 4),
        "classwise_ece": round(classwise_calibration_error(probabilities, gold, bins), 4),
        "reliability": [b.as_dict() for b in reliability(probabilities, gold, bins)],
    }
    if logits is not None:
        figures["nll"] = round(nll(logits, gold, temperature), 4)
    return figures


def before_and_after(logits: np.ndarray, gold: Sequence[int] | np.ndarray, temperature: float,
                     bins: int = BINS) -> dict[str, Any]:
    """The figures of softmax(logits) ("before") and softmax(logits / temperature) ("after")."""
    return {
        "temperature": round(float(temperature), 6), "bins": bins,
        "binning": f"{bins} equal-width bins of the top probability (classwise: of each class's probability)",
        "before": calibration_figures(softmax(logits), gold, bins, logits, 1.0),
        "after": calibration_figures(softmax(logits, temperature), gold, bins, logits, temperature),
    }
