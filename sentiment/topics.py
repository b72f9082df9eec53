"""Topics that learn from examples: a description plus example mentions, scored together.

A topic starts zero-shot: a text's similarity to it is the cosine between the text's embedding and
that of "name: description". Example mentions (from config, `sentiment.topics.<name>.examples`, and
from staff topic corrections, sentiment.examples) join the description as a prototype:

    score = (DESCRIPTION_WEIGHT * cos(text, description) + k * nearest(text)) / (DESCRIPTION_WEIGHT + k)

where k is the number of examples and nearest is the mean cosine to the text's NEAREST_EXAMPLES
nearest examples. The description weighs as much as five examples, so one example nudges a topic
and twenty mostly define it; the mean of the three nearest, not of all, lets a topic have several
kinds of mention (a bag lost, a bag damaged). bench/topics.py compares it, on a public proxy, with
the examples' centroid, the nearest example alone and a logistic regression on the examples: alike
at 5 examples per topic; at 20 ahead on the tweets as written, behind the centroid once brand
handles are masked (docs/model.md).

Each topic has its own threshold, because examples move the scale: texts score higher against a
prototype of tweets than against a one-line description. In order: the topic's `threshold` in
config; with at least MIN_EXAMPLES_FOR_THRESHOLD examples, the THRESHOLD_QUANTILE quantile of its
examples' leave-one-out scores (each example scored against the prototype built without it: a
new text as similar to the topic as four in five of its own examples gets it); otherwise
`sentiment.topic_threshold`.

Two rules of the staff examples stay as sentiment.examples states them: a near-paraphrase of an
example (cosine at least EXAMPLE_MIN_SIMILARITY) scores at least that cosine, and a near-paraphrase
counter-example closer than the topic's score takes the topic away. Pure numpy, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from sentiment.examples import EXAMPLE_MIN_SIMILARITY, Examples

DESCRIPTION_WEIGHT = 5.0
NEAREST_EXAMPLES = 3
MIN_EXAMPLES_FOR_THRESHOLD = 3
THRESHOLD_QUANTILE = 0.2


def nearest_mean(sims: np.ndarray, m: int = NEAREST_EXAMPLES) -> np.ndarray:
    """Per row of `sims` (texts × one topic's examples): the mean of its `m` highest values."""
    if sims.shape[1] <= m:
        return sims.mean(axis=1)
    return np.sort(sims, axis=1)[:, -m:].mean(axis=1)


def prototype_scores(description: np.ndarray, examples: np.ndarray) -> np.ndarray:
    """Scores of texts against one topic from their cosines to its description (n,) and to its
    examples (n, k); with no examples, the description's cosine."""
    k = examples.shape[1]
    if not k:
        return description.astype(np.float32)
    return ((DESCRIPTION_WEIGHT * description + k * nearest_mean(examples)) / (DESCRIPTION_WEIGHT + k)).astype(np.float32)


def leave_one_out_scores(description: np.ndarray, gram: np.ndarray) -> np.ndarray:
    """Each example's score against the prototype of the description and the other examples:
    `description` (k,) the examples' cosines to the description, `gram` (k, k) their cosines to each other."""
    k = len(description)
    return np.array([prototype_scores(description[i:i + 1], np.delete(gram[i:i + 1], i, axis=1))[0] for i in range(k)],
                    dtype=np.float32)


def derived_threshold(description: np.ndarray, gram: np.ndarray, default: float) -> float:
    """THRESHOLD_QUANTILE of the leave-one-out scores, or `default` with too few examples to say."""
    if len(description) < MIN_EXAMPLES_FOR_THRESHOLD:
        return default
    return float(np.quantile(leave_one_out_scores(description, gram), THRESHOLD_QUANTILE))


@dataclass(frozen=True)
class TopicModel:
    """Every configured topic's description and example vectors, and its threshold."""

    names: tuple[str, ...]
    descriptions: np.ndarray  # (topics, dim), L2-normalised
    examples: tuple[np.ndarray, ...]  # per topic: (k, dim) vectors of its config and staff examples
    thresholds: tuple[float, ...]
    staff: Examples | None = None  # the staff-labelled examples, for the paraphrase rules

    @classmethod
    def build(cls, names: Sequence[str], descriptions: np.ndarray, configured: Mapping[str, np.ndarray],
              thresholds: Mapping[str, float | None], default_threshold: float, *,
              staff: Examples | None = None) -> TopicModel:
        """`configured` maps a topic to its config examples' vectors; its staff examples are those of
        `staff` whose topics name it. `thresholds` holds each topic's configured threshold, or None
        to derive one."""
        staff = staff if staff is not None and len(staff) else None
        dim = descriptions.shape[1] if descriptions.ndim == 2 else 0
        per_topic: list[np.ndarray] = []
        cuts: list[float] = []
        for j, name in enumerate(names):
            parts = [np.asarray(configured.get(name, np.zeros((0, dim))), dtype=np.float32).reshape(-1, dim)]
            if staff is not None:
                parts.append(staff.vectors[[i for i, own in enumerate(staff.topics) if name in own]])
            vectors = np.vstack(parts)
            per_topic.append(vectors)
            given = thresholds.get(name)
            cuts.append(float(given) if given is not None else
                        derived_threshold(vectors @ descriptions[j], vectors @ vectors.T, default_threshold))
        return cls(tuple(names), descriptions, tuple(per_topic), tuple(cuts), staff)

    def example_counts(self) -> dict[str, int]:
        return {name: len(v) for name, v in zip(self.names, self.examples)}

    def scores(self, embeddings: np.ndarray) -> np.ndarray:
        """(n, topics): each text's score against each topic, after the staff paraphrase rules."""
        n = embeddings.shape[0]
        if not self.names:
            return np.zeros((n, 0), dtype=np.float32)
        description = embeddings @ self.descriptions.T
        out = np.stack([prototype_scores(description[:, j], embeddings @ v.T) for j, v in enumerate(self.examples)], axis=1)
        if self.staff is not None:
            sims = embeddings @ self.staff.vectors.T
            near = self.staff.nearest(sims, self.names, self.staff.topics)
            out = np.where(near >= EXAMPLE_MIN_SIMILARITY, np.maximum(out, near), out)
            counter = self.staff.nearest(sims, self.names, self.staff.not_topics)
            out = np.where((counter >= EXAMPLE_MIN_SIMILARITY) & (counter > out), 0.0, out)
        return out.astype(np.float32)
