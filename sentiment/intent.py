"""The complaint intent, learnt from real brand-directed tweets.

Zero-shot intent (cosine to a description of "a complaint") called only about one real complaint in
six a complaint: care-desk complaints are mostly factual ("my bag has been missing for 3 days").
This module trains a class-balanced logistic regression on [sentence embedding, VADER features,
cheap cues] from the complaints corpus of Preoţiuc-Pietro, Găman & Aletras (ACL 2019): 3,449
tweets, 1,974 of them addressed to brands' care accounts in nine domains, labelled complaint or not.
The texts are not part of Earful; what is trained from them is, in `sentiment/heads/complaint.npz`.

The head depends only on the encoder (not on the sentiment heads), so it lives in its own file next
to the heads: a nightly retrain of the sentiment heads keeps it, and a scorer given another encoder
ignores it (and says so) rather than reading embeddings it was not trained on.

    python -m sentiment.intent train ../shared/data/complaints   # fit, measure, write the head

`leave_one_domain_out` is the paper's cross-domain protocol: train on every other domain (and the
random tweets), test on the held-out one; bench/intent.py prints it.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from core.errors import ConfigError
from sentiment.features import VADER_KEYS, vader_features
from sentiment.postprocess import COMPLAINT_THRESHOLD  # the head is class-balanced: at 0.5 both errors weigh alike

log = logging.getLogger(__name__)

COMPLAINTS_FILE = "complaints-data.csv"
COMPLAINTS_SHA256 = "ae687761af2ba2785ee4b92fe50dd14a0f12e0b4c7397c931b7fbd468cbf63ef"
HEAD_FILE = "complaint.npz"
RANDOM_DOMAINS = ("random_reply", "random_tweet")  # not addressed to a brand: always training, never a test domain
REGULARISATION_C = 1.0  # sklearn's default
CUES_VERSION = "cues-v1"
# Surface cues mean pooling blurs: a question, an exclamation, a figure (times, amounts, order
# numbers), negation, and "still/again/yet" (an expectation breached more than once). Each is 0/1,
# plus the length in tweets (140 characters). bench/intent.py prints what they add (docs/model.md).
_CUES = (
    re.compile(r"\?"),
    re.compile(r"!"),
    re.compile(r"\d"),
    re.compile(r"\b(not|no|never|nothing|cannot|can't|won't|doesn't|didn't|isn't|n't)\b", re.I),
    re.compile(r"\b(still|again|yet|already)\b", re.I),
)


def cue_features(texts: Sequence[str]) -> np.ndarray:
    """(n, len(_CUES) + 1): each cue present or not, and the length in 140-character units (capped at 2)."""
    return np.array([[1.0 if p.search(t) else 0.0 for p in _CUES] + [min(len(t), 280) / 140] for t in texts],
                    dtype=np.float32).reshape(len(texts), len(_CUES) + 1)


def head_inputs(embeddings: np.ndarray, texts: Sequence[str], vader: np.ndarray | None = None) -> np.ndarray:
    """What the head reads: [embedding, VADER features (sentiment.features), cues]; `vader` when
    the caller has them already (the scorer computes them for the sentiment heads)."""
    vader = vader_features(texts) if vader is None else vader
    return np.hstack([embeddings, vader, cue_features(texts)]).astype(np.float32)


@dataclass(frozen=True)
class ComplaintHead:
    encoder: str  # the encoder whose embeddings it was trained on
    coef: np.ndarray  # (dim + 4 + cues,)
    intercept: float
    threshold: float = COMPLAINT_THRESHOLD
    meta: dict[str, Any] = field(default_factory=dict)

    def probability(self, embeddings: np.ndarray, texts: Sequence[str], vader: np.ndarray | None = None) -> np.ndarray:
        """p(complaint) per text, from its embedding (the scorer's) and its text."""
        z = head_inputs(embeddings, texts, vader) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))

    def save(self, path: Path) -> Path:
        info = {"encoder": self.encoder, "intercept": self.intercept, "threshold": self.threshold,
                "cues": CUES_VERSION, "meta": self.meta}
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, info=np.array(json.dumps(info)), coef=self.coef.astype(np.float32))
        return path


def default_head_path() -> Path:
    from sentiment.heads import HEADS_DIR

    return HEADS_DIR / HEAD_FILE


def load_complaint_head(encoder: str, path: Path | None = None, *, dim: int | None = None) -> ComplaintHead | None:
    """The shipped complaint head if it was trained on `encoder`'s embeddings (of width `dim`, when
    given); None (and a warning) when there is none or it belongs to another encoder: the scorer
    then falls back to zero-shot intent."""
    path = path or default_head_path()
    if not path.exists():
        log.warning("%s is missing: the complaint intent is zero-shot; run `python -m sentiment.intent train "
                    "DATA_DIR` or restore the file from git", path)
        return None
    with np.load(path) as z:
        info = json.loads(str(z["info"]))
        coef = z["coef"].astype(np.float32)
    if info["cues"] != CUES_VERSION:
        raise ConfigError(f"{path} was trained with cues {info['cues']!r}, this Earful computes {CUES_VERSION!r}; "
                          "retrain it with `python -m sentiment.intent train DATA_DIR`", key="sentiment")
    width = len(coef) - len(VADER_KEYS) - len(_CUES) - 1  # the embedding's share of the inputs
    if info["encoder"] != encoder or (dim is not None and width != dim):
        log.warning("%s was trained on %r, the scorer runs %r: the complaint intent is zero-shot until it is "
                    "retrained (`python -m sentiment.intent train DATA_DIR`)", path, info["encoder"], encoder)
        return None
    return ComplaintHead(encoder=info["encoder"], coef=coef, intercept=float(info["intercept"]),
                         threshold=float(info["threshold"]), meta=info.get("meta", {}))


# -- data ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Complaints:
    texts: tuple[str, ...]
    labels: np.ndarray  # 1 complaint, 0 not
    domains: tuple[str, ...]
    sha256: str

    def brand_domains(self) -> list[str]:
        return sorted({d for d in self.domains if d not in RANDOM_DOMAINS})


def load_complaints(folder: Path) -> Complaints:
    """The corpus of `folder`, checked against its pinned sha256 (a changed file would silently
    change the model and every figure beside it)."""
    path = Path(folder) / COMPLAINTS_FILE
    if not path.exists():
        raise ConfigError(f"{path} is missing; the complaints corpus is danielpreotiuc/complaints-social-media "
                          "on GitHub (docs/model.md, Complaint intent)", key="sentiment")
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != COMPLAINTS_SHA256:
        raise ConfigError(f"{path}: sha256 {digest} is not the pinned {COMPLAINTS_SHA256}", key="sentiment")
    rows = list(csv.reader(raw.decode("utf-8").splitlines()))
    return Complaints(texts=tuple(r[1] for r in rows), labels=np.array([int(r[2]) for r in rows], dtype=np.int64),
                      domains=tuple(r[3] for r in rows), sha256=digest)


def cached_embeddings(encoder: Any, texts: Sequence[str], cache_dir: Path | None) -> np.ndarray:
    """Embeddings of `texts`, cached by encoder, runtime, precision and content (the bench compares
    the fp32 encoder with the ONNX int8 one on the same texts, so the key must tell them apart)."""
    if cache_dir is None:
        return encoder.encode(texts)
    tag = f"{encoder.name}:{encoder.max_length}:{getattr(encoder, 'runtime', 'torch')}:{getattr(encoder, 'quantized', False)}"
    key = hashlib.sha256("\x00".join([tag, *texts]).encode()).hexdigest()[:24]
    path = cache_dir / f"complaints-{key}.npy"
    if path.exists():
        return np.load(path)
    vectors = encoder.encode(texts)
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


# -- fitting and measuring -------------------------------------------------------------------------

def fit_complaint_head(inputs: np.ndarray, labels: np.ndarray, *, encoder: str, c: float = REGULARISATION_C,
                       meta: dict[str, Any] | None = None) -> ComplaintHead:
    """A class-balanced logistic regression on `head_inputs` rows."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced").fit(inputs, labels)
    return ComplaintHead(encoder=encoder, coef=model.coef_[0].astype(np.float32), intercept=float(model.intercept_[0]),
                         meta=meta or {})


def binary_scores(gold: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Complaint precision, recall, F1, and the macro-F1 of both classes."""
    def f1(positive: int) -> tuple[float, float, float]:
        tp = int(np.sum((predicted == positive) & (gold == positive)))
        p = tp / max(int(np.sum(predicted == positive)), 1)
        r = tp / max(int(np.sum(gold == positive)), 1)
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)

    precision, recall, complaint_f1 = f1(1)
    return {"n": int(len(gold)), "complaints": int(gold.sum()), "precision": round(precision, 4),
            "recall": round(recall, 4), "f1": round(complaint_f1, 4),
            "macro_f1": round((complaint_f1 + f1(0)[2]) / 2, 4), "accuracy": round(float(np.mean(gold == predicted)), 4)}


def leave_one_domain_out(train_inputs: np.ndarray, data: Complaints, test_inputs: np.ndarray | None = None,
                         *, c: float = REGULARISATION_C) -> dict[str, Any]:
    """Per brand domain: a head trained on every other row (the other domains and the random tweets)
    scores that domain. Returns each domain's figures, the figures pooled over every brand tweet
    (each predicted once, by the head that never saw its domain) and the mean over domains.
    `test_inputs` (same rows, another encoder's embeddings) scores what `train_inputs` trained."""
    test_inputs = train_inputs if test_inputs is None else test_inputs
    domains = np.array(data.domains)
    predicted = np.zeros(len(domains), dtype=np.int64)
    for domain in data.brand_domains():
        held = domains == domain
        head = fit_complaint_head(train_inputs[~held], data.labels[~held], encoder="", c=c)
        z = test_inputs[held] @ head.coef + head.intercept
        predicted[held] = (1.0 / (1.0 + np.exp(-z)) >= head.threshold).astype(np.int64)
    per = {d: binary_scores(data.labels[domains == d], predicted[domains == d]) for d in data.brand_domains()}
    brand = ~np.isin(domains, RANDOM_DOMAINS)
    return {"domains": per, "pooled": binary_scores(data.labels[brand], predicted[brand]),
            "mean_f1": round(float(np.mean([s["f1"] for s in per.values()])), 4),
            "mean_macro_f1": round(float(np.mean([s["macro_f1"] for s in per.values()])), 4)}


def train_complaint_head(encoder: Any, folder: Path, *, cache_dir: Path | None = None,
                         path: Path | None = None, now: datetime | None = None) -> tuple[ComplaintHead, dict[str, Any]]:
    """Fit the head on every row of the corpus in `folder`, measure it leave-one-domain-out, and
    write it (with the figures and the data's sha256 in its metadata) to `path`. Whatever changes the
    encoder (a fine-tuned one) must call this, or the scorer falls back to zero-shot intent."""
    data = load_complaints(folder)
    inputs = head_inputs(cached_embeddings(encoder, data.texts, cache_dir), data.texts)
    lodo = leave_one_domain_out(inputs, data)
    meta = {"data": {"file": COMPLAINTS_FILE, "sha256": data.sha256, "rows": len(data.texts),
                     "complaints": int(data.labels.sum())},
            "c": REGULARISATION_C, "trained_at": (now or datetime.now(timezone.utc)).isoformat(timespec="seconds"),
            "leave_one_domain_out": {"pooled": lodo["pooled"], "mean_f1": lodo["mean_f1"]}}
    head = fit_complaint_head(inputs, data.labels, encoder=encoder.name, meta=meta)
    head.save(path or default_head_path())
    return head, lodo


def format_lodo(lodo: dict[str, Any]) -> str:
    lines = ["domain        n     compl  precision recall  F1      macro-F1"]
    rows = list(lodo["domains"].items()) + [("pooled", lodo["pooled"])]
    for name, s in rows:
        lines.append(f"{name:<13} {s['n']:<5} {s['complaints']:<6} {s['precision']:.4f}    {s['recall']:.4f}  "
                     f"{s['f1']:.4f}  {s['macro_f1']:.4f}")
    lines.append(f"mean over domains: F1 {lodo['mean_f1']:.4f}  macro-F1 {lodo['mean_macro_f1']:.4f}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sentiment.intent", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="fit the complaint head on the corpus and write sentiment/heads/complaint.npz")
    train.add_argument("folder", type=Path, help="the folder holding complaints-data.csv")
    train.add_argument("--cache", type=Path, default=None, help="embeddings cache (default ~/.cache/earful/embeddings)")
    train.add_argument("--out", type=Path, default=None, help="where to write the head (default the shipped file)")
    args = parser.parse_args(argv)
    from sentiment.data import default_cache_dir
    from sentiment.encoder import Encoder

    head, lodo = train_complaint_head(Encoder(), args.folder, cache_dir=args.cache or default_cache_dir() / "embeddings",
                                      path=args.out)
    print(format_lodo(lodo))
    print(f"wrote {args.out or default_head_path()} (encoder {head.encoder})")


if __name__ == "__main__":
    main()
