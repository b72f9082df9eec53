"""Training the heads on frozen embeddings, and deciding whether a new model may replace the current one.

Reproducible by construction: the held-out split is seeded (sentiment.data), the heads are fitted
with fixed seeds, and the embeddings of the corpora are cached under the cache folder keyed by the
encoder and the texts, so a second `earful train` skips the slow encoding.

Staff corrections enter the training set as extra examples repeated `correction_weight` times, so
one correction outweighs the crowd-rated examples near it.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from sentiment import features
from sentiment.data import Example
from sentiment.encoder import Encoder
from sentiment.heads import Heads
from sentiment.metrics import macro_f1
from sentiment.postprocess import LABELS

log = logging.getLogger(__name__)
SEEDS = ((0, 0.01), (1, 0.03), (2, 0.01))  # (random_state, L2 alpha) of the MLP ensemble
HIDDEN = 256
BOW_C = 4.0
RIDGE_ALPHA = 1.0


@dataclass(frozen=True, slots=True)
class Labelled:
    text: str
    label: str
    mean: float | None = None  # rater mean on -4..+4 when known (valence target)
    weight: int = 1


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


def fit_heads(
    dense: np.ndarray, texts: Sequence[str], items: Sequence[Labelled], *, version: str, encoder_name: str
) -> Heads:
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    repeat = np.array([max(1, i.weight) for i in items])
    rows = np.repeat(np.arange(len(items)), repeat)
    y = np.array([LABELS.index(i.label) for i in items])[rows]
    x = dense[rows]
    counts = features.hashed_counts(texts)
    idf = features.fit_idf(counts)
    bow = features.tfidf(counts, idf)[rows]

    mlps = []
    early = len(rows) >= 1000  # early stopping needs a validation slice worth having
    for seed, alpha in SEEDS:
        mlp = MLPClassifier(
            hidden_layer_sizes=(HIDDEN,), alpha=alpha, max_iter=200, early_stopping=early, random_state=seed
        ).fit(x, y)
        w1, w2 = mlp.coefs_
        b1, b2 = mlp.intercepts_
        mlps.append((w1, b1, _full_classes(w2, mlp.classes_, axis=1), _full_classes(b2, mlp.classes_, axis=0)))
    bow_model = LogisticRegression(C=BOW_C, max_iter=3000, class_weight="balanced").fit(bow, y)
    bow_coef = _full_classes(bow_model.coef_.T, bow_model.classes_, axis=1).T
    bow_intercept = _full_classes(bow_model.intercept_, bow_model.classes_, axis=0)

    known = [k for k, i in enumerate(rows) if items[i].mean is not None]
    target = np.array([items[rows[k]].mean for k in known], dtype=np.float64)
    xv = x[known].astype(np.float64)
    mu = xv.mean(axis=0)
    coef = np.linalg.solve((xv - mu).T @ (xv - mu) + RIDGE_ALPHA * np.eye(xv.shape[1]), (xv - mu).T @ (target - target.mean()))
    return Heads(
        version=version, encoder=encoder_name, mlps=mlps, bow_coef=bow_coef, bow_intercept=bow_intercept, idf=idf,
        valence_coef=coef.astype(np.float32), valence_intercept=float(target.mean() - mu @ coef),
        meta={"examples": len(items), "rows": int(len(rows))},
    )


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


def heldout_scores(heads: Heads, encoder: Encoder, heldout: dict[str, list[Example]], cache_dir: Path | None) -> dict[str, dict[str, float]]:
    """Per corpus: the model's and VADER's macro-F1 on the held-out split."""
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
    version: str,
    cache_dir: Path | None,
) -> Heads:
    items = [Labelled(e.text, e.label, e.mean) for e in train] + list(corrections)
    texts = [i.text for i in items]
    base = embed(encoder, [e.text for e in train], cache_dir)
    extra = encoder.encode([c.text for c in corrections]) if corrections else np.zeros((0, base.shape[1]), np.float32)
    dense = dense_features(np.vstack([base, extra]), texts)
    log.info("training on %d examples (%d corrections)", len(items), len(corrections))
    return fit_heads(dense, texts, items, version=version, encoder_name=encoder.name)


def summary(scores: dict[str, Any]) -> str:
    lines = ["corpus   n      model  vader"]
    for corpus, s in scores.items():
        lines.append(f"{corpus:<8} {s['n']:<6} {s['model']:.4f} {s['vader']:.4f}")
    return "\n".join(lines)
