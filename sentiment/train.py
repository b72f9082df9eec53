"""Training the heads on frozen embeddings, and deciding whether a new model may replace the current one.

Reproducible by construction: the held-out split is seeded (sentiment.data), the heads are fitted
with fixed seeds, and the embeddings of the corpora are cached under the cache folder keyed by the
encoder and the texts, so a second `earful train` skips the slow encoding.

Staff corrections enter the training set as extra examples repeated `correction_weight` times, so
one correction outweighs the crowd-rated examples near it. The SemEval tweets (sentiment.tweets),
when configured, join the rated corpora as labelled examples without a valence, each counting
`TWEET_WEIGHT` of a rated example in the loss: at full weight their 43k tweets pulled the heads away
from the review and editorial corpora (docs/model.md, "Choosing the mix").

The mixed probabilities are over-confident, so a temperature is fitted on the development split
(the held-out splits `earful train` already makes, never TweetEval) by minimising its NLL, and
stored with the expected calibration error before and after as `calibration` in the heads file
(sentiment.calibration); the scorer divides the logits by it.

The MLP ensemble learns the training mix of classes; the bag-of-words model is class-balanced. What
the calibrated probabilities (the temperature applied) assume about the class priors is measured
after fitting, as their mean over the training rows, and stored as `class_priors` in the heads
file: prior adaptation to a brand's own mix starts from it.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping, Protocol, Sequence

import numpy as np

from sentiment import calibration, features
from sentiment.data import Example
from sentiment.encoder import Encoder
from sentiment.heads import Heads
from sentiment.metrics import macro_f1
from sentiment.postprocess import LABELS

log = logging.getLogger(__name__)
SEEDS = ((0, 0.01), (1, 0.03), (2, 0.01))  # (random_state, L2 alpha) of the MLP ensemble
HIDDEN = 256
MIX = 0.7  # weight of the MLP ensemble against the bag of words in the heads trained here
TWEET_WEIGHT = 0.35  # what one SemEval tweet counts in the loss, against one rated example
BOW_C = 4.0
RIDGE_ALPHA = 1.0
# Fewer held-out texts than this leave the temperature at 1: on a handful of texts the NLL minimum
# runs to an end of the search (a split the model gets all right sends T towards 0).
MIN_CALIBRATION_TEXTS = 100


class Rated(Protocol):
    """A held-out text with its gold label (sentiment.data.Example, sentiment.tweets.Tweet)."""

    @property
    def text(self) -> str: ...

    @property
    def label(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Labelled:
    text: str
    label: str
    mean: float | None = None  # rater mean on -4..+4 when known (valence target)
    weight: int = 1  # rows it takes in the training set (corrections: sentiment.correction_weight)
    loss_weight: float = 1.0  # what each of its rows counts in the loss (SemEval tweets: TWEET_WEIGHT)


@dataclass(frozen=True, slots=True)
class DevSplit:
    """The development split the temperature is fitted on: the held-out texts of every corpus."""

    dense: np.ndarray  # dense_features of the texts
    texts: list[str]
    labels: list[str]
    corpora: dict[str, int]  # texts per held-out corpus, in order


def embed(encoder: Encoder, texts: Sequence[str], cache_dir: Path | None) -> np.ndarray:
    """Embeddings of `texts`, cached on disk by encoder name and content."""
    if cache_dir is None:
        return encoder.encode(texts)
    key = hashlib.sha256(("\x00".join([encoder.name, str(encoder.max_length), *texts])).encode()).hexdigest()[:24]
    path = cache_dir / f"emb-{key}.npy"
    if path.exists():
        return np.load(path)
    cache_dir.mkdir(parents=True, exist_ok=True)
    vectors = encoder.encode(texts)
    np.save(path, vectors)
    return vectors


def dense_features(embeddings: np.ndarray, texts: Sequence[str]) -> np.ndarray:
    return np.hstack([embeddings, features.vader_features(texts)]).astype(np.float32)


def balanced_weights(y: np.ndarray) -> np.ndarray:
    """Row weights under which every class present weighs the same in total (sklearn's "balanced")."""
    counts = np.bincount(y, minlength=len(LABELS)).astype(np.float64)
    present = counts > 0
    per_class = np.where(present, len(y) / (present.sum() * np.maximum(counts, 1.0)), 0.0)
    return per_class[y]


def distribution(y: np.ndarray, weights: np.ndarray | None = None) -> list[float]:
    """The (weighted) share of each label (negative, neutral, positive) among the rows."""
    counts = np.bincount(y, weights=weights, minlength=len(LABELS)).astype(np.float64)
    return [round(float(c), 6) for c in counts / max(counts.sum(), 1e-12)]


def effective_priors(probabilities: np.ndarray, weights: np.ndarray) -> list[float]:
    """The class priors a model's probabilities reflect: their weighted mean over its training rows.

    For calibrated probabilities this is the training mix; for heads that mix a model of the
    training mix with a class-balanced one it lies between that mix and equal priors.
    """
    mean = (probabilities * weights[:, None]).sum(axis=0) / max(float(weights.sum()), 1e-12)
    return [round(float(p), 6) for p in mean / mean.sum()]


def fit_heads(
    dense: np.ndarray, texts: Sequence[str], items: Sequence[Labelled], *, version: str, encoder_name: str,
    dev: DevSplit | None = None,
) -> Heads:
    """Heads fitted on `items`; with `dev`, calibrated on it (`calibrate`), else at temperature 1."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    repeat = np.array([max(1, i.weight) for i in items])
    rows = np.repeat(np.arange(len(items)), repeat)
    y = np.array([LABELS.index(i.label) for i in items])[rows]
    x = dense[rows]
    loss = np.array([i.loss_weight for i in items], dtype=np.float64)[rows]
    loss /= loss.mean()
    bow_loss = loss * balanced_weights(y)
    bow_loss /= bow_loss.mean()
    counts = features.hashed_counts(texts)
    idf = features.fit_idf(counts)
    bow = features.tfidf(counts, idf)[rows]

    mlps = []
    early = len(rows) >= 1000  # early stopping needs a validation slice worth having
    for seed, alpha in SEEDS:
        mlp = MLPClassifier(
            hidden_layer_sizes=(HIDDEN,), alpha=alpha, max_iter=200, early_stopping=early, random_state=seed
        ).fit(x, y, sample_weight=loss)
        w1, w2 = mlp.coefs_
        b1, b2 = mlp.intercepts_
        mlps.append((w1, b1, _full_classes(w2, mlp.classes_, axis=1), _full_classes(b2, mlp.classes_, axis=0)))
    bow_model = LogisticRegression(C=BOW_C, max_iter=3000).fit(bow, y, sample_weight=bow_loss)  # class-balanced
    bow_coef = _full_classes(bow_model.coef_.T, bow_model.classes_, axis=1).T
    bow_intercept = _full_classes(bow_model.intercept_, bow_model.classes_, axis=0)

    known = [k for k, i in enumerate(rows) if items[i].mean is not None]
    target = np.array([items[rows[k]].mean for k in known], dtype=np.float64)
    xv = x[known].astype(np.float64)
    mu = xv.mean(axis=0)
    coef = np.linalg.solve((xv - mu).T @ (xv - mu) + RIDGE_ALPHA * np.eye(xv.shape[1]), (xv - mu).T @ (target - target.mean()))
    heads = Heads(
        version=version, encoder=encoder_name, mlps=mlps, bow_coef=bow_coef, bow_intercept=bow_intercept, idf=idf,
        valence_coef=coef.astype(np.float32), valence_intercept=float(target.mean() - mu @ coef), mix=MIX,
    )
    heads.meta = {"calibration": calibrate(heads, dev) if dev is not None and dev.texts else None}
    # After the temperature: the priors must be those of the probabilities the scorer returns.
    probabilities = calibration.softmax(heads.sentiment_logits(x, bow), heads.temperature)
    heads.meta |= {"examples": len(items), "rows": int(len(rows)), "class_balanced": False,
                   # What the probabilities assume (prior adaptation divides them out), and the mix they learnt from.
                   "class_priors": effective_priors(probabilities, loss), "training_distribution": distribution(y, loss),
                   "class_priors_note": "mean of the heads' calibrated probabilities (the temperature applied) over the "
                                        "loss-weighted training rows: the MLP ensemble learns the training mix, the bag "
                                        "of words is class-balanced",
                   "tweet_weight": TWEET_WEIGHT}
    return heads


def calibrate(heads: Heads, dev: DevSplit) -> dict[str, Any]:
    """The temperature minimising the NLL of `dev`'s gold labels, with the ECE, classwise ECE and
    NLL at temperature 1 and at it (sentiment.calibration), for `meta["calibration"]`. Below
    `MIN_CALIBRATION_TEXTS` the temperature stays 1 and "fitted" is False."""
    bow = features.tfidf(features.hashed_counts(dev.texts), heads.idf)
    logits = heads.sentiment_logits(dev.dense, bow)
    gold = np.array([LABELS.index(label) for label in dev.labels])
    fitted = len(gold) >= MIN_CALIBRATION_TEXTS
    temperature = round(calibration.fit_temperature(logits, gold), 6) if fitted else 1.0
    if not fitted:
        log.warning("only %d held-out texts: the temperature stays 1 (at least %d are needed to fit it)", len(gold),
                    MIN_CALIBRATION_TEXTS)
    figures = calibration.before_and_after(logits, gold, temperature)
    before, after = figures["before"], figures["after"]
    return {
        "method": "temperature scaling (Guo et al. 2017): softmax(logits / T), T minimising the NLL of the "
                  "development split",
        "temperature": temperature, "fitted": fitted, "min_texts": MIN_CALIBRATION_TEXTS,
        "fitted_on": {"split": "held-out", "corpora": dict(dev.corpora), "n": len(dev.texts)},
        "bins": figures["bins"], "binning": figures["binning"],
        "ece_before": before["ece"], "ece_after": after["ece"],
        "classwise_ece_before": before["classwise_ece"], "classwise_ece_after": after["classwise_ece"],
        "nll_before": before["nll"], "nll_after": after["nll"],
        "reliability_before": before["reliability"], "reliability_after": after["reliability"],
    }


def _full_classes(values: np.ndarray, classes: np.ndarray, axis: int) -> np.ndarray:
    """Expand per-class outputs to all three labels (a tiny training set may lack a class).

    sklearn's two-class models keep one output z with p(second class) = sigmoid(z) = softmax([0, z]);
    a class never seen gets zero weights and a very negative bias.
    """
    values = np.asarray(values, dtype=np.float32)
    if len(classes) == 2 and values.shape[axis] == 1:
        values = np.concatenate([np.zeros_like(values), values], axis=axis)
    shape = list(values.shape)
    shape[axis] = len(LABELS)
    full = np.full(shape, -30.0 if values.ndim == 1 else 0.0, dtype=np.float32)
    for j, cls in enumerate(classes):
        index = [slice(None)] * values.ndim
        source = [slice(None)] * values.ndim
        index[axis], source[axis] = int(cls), j
        full[tuple(index)] = values[tuple(source)]
    return full


def heldout_scores(heads: Heads, encoder: Encoder, heldout: dict[str, Sequence[Rated]], cache_dir: Path | None) -> dict[str, dict[str, float]]:
    """Per corpus: the model's and VADER's macro-F1 on the held-out split (and their mean)."""
    out: dict[str, dict[str, float]] = {}
    for corpus, examples in heldout.items():
        texts = [e.text for e in examples]
        gold = [e.label for e in examples]
        dense = dense_features(embed(encoder, texts, cache_dir), texts)
        bow = features.tfidf(features.hashed_counts(texts), heads.idf)
        pred = [LABELS[i] for i in heads.sentiment_logits(dense, bow).argmax(axis=1)]
        vader = [features.vader_label(c) for c in dense[:, -4]]
        out[corpus] = {"model": round(macro_f1(gold, pred), 4), "vader": round(macro_f1(gold, vader), 4), "n": len(examples)}
    out["mean"] = {
        "model": round(float(np.mean([v["model"] for v in out.values()])), 4),
        "vader": round(float(np.mean([v["vader"] for k, v in out.items() if k != "mean"])), 4),
        "n": sum(v["n"] for v in out.values()),
    }
    return out


def new_version(now: datetime, heads_seed: str) -> str:
    return f"minilm-mlpbow-{now:%Y%m%d%H%M}-{hashlib.sha256(heads_seed.encode()).hexdigest()[:6]}"


def train_heads(
    encoder: Encoder,
    train: Sequence[Example],
    corrections: Sequence[Labelled] = (),
    *,
    tweets: Sequence[Rated] = (),
    dev: Mapping[str, Sequence[Rated]] | None = None,
    version: str,
    cache_dir: Path | None,
) -> Heads:
    """Heads fitted on the rated corpora, the labelled `tweets` (SemEval) and the staff corrections,
    and calibrated on `dev` (held-out texts by corpus; None or empty: temperature 1). The corpora's,
    the tweets' and the held-out texts' embeddings are cached, the corrections' (few, changing) are not."""
    items = ([Labelled(e.text, e.label, e.mean) for e in train]
             + [Labelled(t.text, t.label, loss_weight=TWEET_WEIGHT) for t in tweets] + list(corrections))
    texts = [i.text for i in items]
    base = embed(encoder, [e.text for e in train], cache_dir)
    parts = [base]
    if tweets:
        parts.append(embed(encoder, [t.text for t in tweets], cache_dir))
    if corrections:
        parts.append(encoder.encode([c.text for c in corrections]))
    dense = dense_features(np.vstack(parts), texts)
    log.info("training on %d examples (%d rated, %d tweets, %d corrections)", len(items), len(train), len(tweets),
             len(corrections))
    heads = fit_heads(dense, texts, items, version=version, encoder_name=encoder.name,
                      dev=dev_split(encoder, dev or {}, cache_dir))
    heads.meta |= {"sources": {"rated": len(train), "tweets": len(tweets), "corrections": len(corrections)}}
    return heads


def dev_split(encoder: Encoder, heldout: Mapping[str, Sequence[Rated]], cache_dir: Path | None) -> DevSplit:
    """The held-out texts of every corpus as one development split, embedded per corpus (the cache
    keys `heldout_scores` reads too, so the held-out texts are encoded once)."""
    parts, texts, labels, corpora = [], [], [], {}
    for corpus, examples in heldout.items():
        if not examples:
            continue
        corpus_texts = [e.text for e in examples]
        parts.append(embed(encoder, corpus_texts, cache_dir))
        texts += corpus_texts
        labels += [e.label for e in examples]
        corpora[corpus] = len(examples)
    dense = dense_features(np.vstack(parts), texts) if parts else np.zeros((0, 0), np.float32)
    return DevSplit(dense, texts, labels, corpora)


def summary(scores: dict[str, Any]) -> str:
    lines = ["corpus   n      model  vader"]
    for corpus, s in scores.items():
        lines.append(f"{corpus:<8} {s['n']:<6} {s['model']:.4f} {s['vader']:.4f}")
    return "\n".join(lines)
