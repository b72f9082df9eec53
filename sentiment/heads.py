"""The trained heads on top of the frozen encoder, and how they are stored.

Sentiment is the average of two probability estimates: a small ensemble of one-hidden-layer MLPs on
[sentence embedding, VADER lexicon features], and a logistic regression on a hashed tf-idf bag of
uni/bigrams. Valence is a ridge regression on the MLP's input. Everything is plain numpy at scoring
time; the heads live in one compressed `.npz` per version in a folder whose file `CURRENT` names the
version in use: the data directory's `models/` (core.paths) once `earful train` has written one there,
else the read-only default committed in `sentiment/heads/` (`heads_in_effect`), never written by the product. A version also carries the staff-labelled
intent and topic examples it was trained with (sentiment.examples), and the temperature that
calibrates its sentiment probabilities (`meta["calibration"]`, sentiment.calibration).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from core.errors import ConfigError
from sentiment.examples import Examples

HEADS_DIR = Path(__file__).with_name("heads")
CURRENT = "CURRENT"


@dataclass
class Heads:
    version: str
    encoder: str  # the encoder the heads were trained on; scoring with another one is refused
    mlps: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]  # (W1, b1, W2, b2) each
    bow_coef: np.ndarray  # (3, HASH_FEATURES)
    bow_intercept: np.ndarray  # (3,)
    idf: np.ndarray  # (HASH_FEATURES,)
    valence_coef: np.ndarray  # (dim + 4,)
    valence_intercept: float
    mix: float = 0.5  # weight of the MLP ensemble against the bag of words
    meta: dict[str, Any] = field(default_factory=dict)
    examples: Examples | None = None  # staff-labelled intent and topic examples (sentiment.examples)

    def sentiment_logits(self, dense: np.ndarray, bow: sp.csr_matrix) -> np.ndarray:
        """Log of the mixed class probabilities, columns (negative, neutral, positive)."""
        p_mlp = np.mean([_softmax(np.maximum(dense @ w1 + b1, 0.0) @ w2 + b2) for w1, b1, w2, b2 in self.mlps], axis=0)
        p_bow = _softmax(np.asarray(bow @ self.bow_coef.T.astype(np.float32)) + self.bow_intercept)
        return np.log(np.clip(self.mix * p_mlp + (1.0 - self.mix) * p_bow, 1e-9, 1.0))

    @property
    def temperature(self) -> float:
        """What the sentiment logits are divided by before the softmax (sentiment.calibration),
        fitted on the held-out split by `earful train`; 1 for heads trained before calibration."""
        fitted = (self.meta.get("calibration") or {}).get("temperature")
        return float(fitted) if fitted else 1.0

    def calibrated_logits(self, dense: np.ndarray, bow: sp.csr_matrix) -> np.ndarray:
        """`sentiment_logits` divided by the temperature: their softmax is the calibrated probabilities."""
        return self.sentiment_logits(dense, bow) / self.temperature

    def valence_raw(self, dense: np.ndarray) -> np.ndarray:
        """Predicted rater mean on -4..+4 (postprocess scales and clips it)."""
        return dense @ self.valence_coef + self.valence_intercept

    def save(self, folder: Path, *, make_current: bool = True) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {
            "bow_coef": self.bow_coef.astype(np.float16),
            "bow_intercept": self.bow_intercept.astype(np.float32),
            "idf": self.idf.astype(np.float16),
            "valence_coef": self.valence_coef.astype(np.float32),
        }
        for i, (w1, b1, w2, b2) in enumerate(self.mlps):
            arrays |= {f"mlp{i}_w1": w1.astype(np.float16), f"mlp{i}_b1": b1, f"mlp{i}_w2": w2, f"mlp{i}_b2": b2}
        labelled: dict[str, Any] | None = None
        if self.examples is not None and len(self.examples):
            arrays["example_vectors"] = self.examples.vectors.astype(np.float32)
            labelled = {"intents": list(self.examples.intents), "topics": [list(t) for t in self.examples.topics],
                        "not_topics": [list(t) for t in self.examples.not_topics]}
        info = {
            "version": self.version,
            "encoder": self.encoder,
            "mlps": len(self.mlps),
            "mix": self.mix,
            "valence_intercept": self.valence_intercept,
            "meta": self.meta,
            "labelled_examples": labelled,
        }
        path = folder / f"{self.version}.npz"
        np.savez_compressed(path, info=np.array(json.dumps(info)), **arrays)
        if make_current:
            (folder / CURRENT).write_text(self.version + "\n")
        return path


def heads_in_effect(models_dir: Path | None) -> Path:
    """The folder whose `CURRENT` is in effect: `models_dir` (the data directory's, where `earful
    train` writes) once it has one, else the packaged read-only default `HEADS_DIR`."""
    if models_dir is not None and (models_dir / CURRENT).exists():
        return models_dir
    return HEADS_DIR


def current_version(folder: Path = HEADS_DIR) -> str | None:
    """The version `CURRENT` names, or None when there is none yet."""
    try:
        return (folder / CURRENT).read_text().strip() or None
    except FileNotFoundError:
        return None


def load_heads(version: str | None = None, folder: Path = HEADS_DIR) -> Heads:
    if version is None:
        pointer = folder / CURRENT
        if not pointer.exists():
            raise ConfigError(f"{pointer} is missing; run `earful train` to build a model", key="sentiment")
        version = pointer.read_text().strip()
    path = folder / f"{version}.npz"
    if not path.exists():
        raise ConfigError(f"{path} is missing; run `earful train` or restore it from git", key="sentiment")
    with np.load(path) as z:
        info = json.loads(str(z["info"]))
        f32 = lambda name: z[name].astype(np.float32)  # noqa: E731
        mlps = [(f32(f"mlp{i}_w1"), f32(f"mlp{i}_b1"), f32(f"mlp{i}_w2"), f32(f"mlp{i}_b2")) for i in range(info["mlps"])]
        labelled = info.get("labelled_examples")  # absent from heads trained before corrections taught intent
        examples = None
        if labelled:
            examples = Examples(
                vectors=f32("example_vectors"), intents=tuple(labelled["intents"]),
                topics=tuple(tuple(t) for t in labelled["topics"]),
                not_topics=tuple(tuple(t) for t in labelled["not_topics"]),
            )
        return Heads(
            version=info["version"],
            encoder=info["encoder"],
            mlps=mlps,
            bow_coef=f32("bow_coef"),
            bow_intercept=f32("bow_intercept"),
            idf=f32("idf"),
            valence_coef=f32("valence_coef"),
            valence_intercept=float(info["valence_intercept"]),
            mix=float(info["mix"]),
            meta=info.get("meta", {}),
            examples=examples,
        )


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
