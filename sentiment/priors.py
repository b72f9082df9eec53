"""Prior-shift adaptation: a brand's own class mix, estimated from its unlabeled mentions.

A classifier's posteriors carry the class mix of its training data: trained on roughly balanced
tweets, it under-calls negatives on a care account, where most mentions are complaints. If only the
mix differs between training and a brand's stream (p(x|c) unchanged, p(c) shifted), Bayes' rule
gives the posterior under the brand's mix from the raw one:

    p'(c|x) = p(c|x) * pi'(c) / pi(c), renormalised over c

where pi is the training mix and pi' the brand's. pi' is unknown, since a brand's mentions carry no
labels; Saerens, Latinne & Decaestecker (Neural Computation 14(1), 2002, "Adjusting the outputs of
a classifier to new a priori probabilities: a simple procedure") estimate it by EM over the
unlabeled posteriors: start at pi' = pi, adjust every posterior with the current pi' (E step), set
pi' to the mean adjusted posterior (M step), until pi' moves less than a tolerance. Each step
raises the likelihood of the unlabeled set under the shifted mix. Pure numpy: the scoring job and
`earful eval` supply the posteriors and store or print what comes back (docs/model.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TOLERANCE = 1e-6  # largest change of any class prior between two EM steps that counts as converged
MAX_ITERATIONS = 1000
# No estimated prior falls below this: a class that is rare in one window must stay possible in the
# next, and the adjustment divides by nothing smaller.
MIN_PRIOR = 1e-4


@dataclass(frozen=True, slots=True)
class PriorEstimate:
    """The EM result for one set of posteriors."""

    priors: tuple[float, ...]  # the estimated class mix of the set, in the posteriors' column order
    iterations: int
    converged: bool
    n: int  # how many posteriors it was estimated from


def check_priors(priors: np.ndarray | tuple[float, ...] | list[float], k: int | None = None) -> np.ndarray:
    """`priors` as a float array after checking it is a distribution over `k` classes (each > 0)."""
    p = np.asarray(priors, dtype=float)
    if p.ndim != 1 or (k is not None and p.shape[0] != k):
        raise ValueError(f"expected {k or 'a vector of'} class priors, got shape {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p <= 0):
        raise ValueError(f"class priors must be finite and above 0, got {p.tolist()}")
    if abs(p.sum() - 1.0) > 1e-3:
        raise ValueError(f"class priors must sum to 1, got {p.tolist()} (sum {p.sum():.4f})")
    return p / p.sum()


def check_posteriors(posteriors: np.ndarray) -> np.ndarray:
    """`posteriors` as an (n, k) float array of rows summing to 1 (within rounding); n may be 0."""
    p = np.asarray(posteriors, dtype=float)
    if p.ndim != 2:
        raise ValueError(f"expected posteriors of shape (n, classes), got shape {p.shape}")
    if p.size and (not np.all(np.isfinite(p)) or np.any(p < 0)):
        raise ValueError("posteriors must be finite and not negative")
    sums = p.sum(axis=1)
    if p.size and np.any(np.abs(sums - 1.0) > 1e-3):
        worst = int(np.argmax(np.abs(sums - 1.0)))
        raise ValueError(f"posterior row {worst} sums to {sums[worst]:.4f}, not 1")
    return p / sums[:, None] if p.size else p  # every sum is within rounding of 1 here


def adjust(posteriors: np.ndarray, train_priors: np.ndarray | tuple[float, ...],
           target_priors: np.ndarray | tuple[float, ...]) -> np.ndarray:
    """Posteriors under `target_priors` from posteriors under `train_priors` (Bayes' rule, above).

    `target_priors` is one mix for every row, or an (n, k) array of one mix per row (a batch of
    mentions of several brands)."""
    p = check_posteriors(posteriors)
    k = p.shape[1]
    target = np.asarray(target_priors, dtype=float)
    if target.ndim == 2:
        if target.shape != p.shape:
            raise ValueError(f"expected one mix per row, shape {p.shape}, got shape {target.shape}")
        if target.size and (not np.all(np.isfinite(target)) or np.any(target <= 0)
                            or np.any(np.abs(target.sum(axis=1) - 1.0) > 1e-3)):
            raise ValueError("every row's class priors must be finite, above 0 and sum to 1")
    else:
        target = check_priors(target, k)
    weighted = p * (target / check_priors(train_priors, k))
    return weighted / weighted.sum(axis=1, keepdims=True)  # every weight is > 0 and every row sums to 1


def estimate_priors(
    posteriors: np.ndarray,
    train_priors: np.ndarray | tuple[float, ...],
    *,
    tolerance: float = TOLERANCE,
    max_iterations: int = MAX_ITERATIONS,
    min_prior: float = MIN_PRIOR,
) -> PriorEstimate:
    """The class mix of an unlabeled set, by the EM of Saerens et al. (2002), from its posteriors
    under `train_priors`. An empty set keeps `train_priors` (nothing to learn from)."""
    if tolerance <= 0:
        raise ValueError(f"tolerance must be above 0, got {tolerance}")
    if max_iterations < 1:
        raise ValueError(f"max_iterations must be at least 1, got {max_iterations}")
    p = check_posteriors(posteriors)
    train = check_priors(train_priors, p.shape[1] if p.size else None)
    if p.shape[0] == 0:
        return PriorEstimate(tuple(train.tolist()), 0, True, 0)
    ratio = p / train  # p(c|x) / pi(c): the E step is this times pi', renormalised
    current = train
    for iteration in range(1, max_iterations + 1):
        weighted = ratio * current
        adjusted = weighted / weighted.sum(axis=1, keepdims=True)
        new = np.maximum(adjusted.mean(axis=0), min_prior)
        new /= new.sum()
        moved = float(np.max(np.abs(new - current)))
        current = new
        if moved < tolerance:
            return PriorEstimate(tuple(current.tolist()), iteration, True, p.shape[0])
    return PriorEstimate(tuple(current.tolist()), max_iterations, False, p.shape[0])
