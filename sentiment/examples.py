"""Staff-labelled examples for intent and topics: what intent and topic corrections teach.

`earful train` turns the newest intent and topic correction of each mention into a labelled
example (the corrected text's embedding and its labels) and stores the examples with the heads, so
a model version fixes them as it fixes its weights.

Intent: a text that is a near-paraphrase of an intent-labelled example (cosine at least
EXAMPLE_MIN_SIMILARITY) takes that example's intent, ahead of the complaint head and the cues
(`corrected_intents`, sentiment.postprocess.intent). Near-paraphrase only: text-to-text cosines
run high, and a looser bar would hand one corrected mention's intent to every text about the same
product. Without a complaint head (zero-shot intent), a label's similarity is the higher of its
description's and its nearest near-paraphrase example's (`blend`).

Topics: a topic's examples join its description in its prototype (sentiment.topics), so a
correction moves the scores of similar texts too (the description weighs as much as five
examples); a near-paraphrase of an example still scores at least its cosine to it.

A topic correction that removes a topic the model gave makes its text a counter-example of that
topic: a text at least as near-paraphrase close to it, and closer to it than the topic's score,
does not get the topic. Topics a correction merely did not list are no counter-examples: the
agent said nothing about them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

EXAMPLE_MIN_SIMILARITY = 0.7
NO_SIMILARITY = -1.0  # a label without examples (cosines are never below -1)


@dataclass(frozen=True)
class LabelledText:
    """One corrected text and what staff said about it (None / empty: nothing said)."""

    text: str
    intent: str | None = None
    topics: tuple[str, ...] = ()
    not_topics: tuple[str, ...] = ()


@dataclass(frozen=True)
class Examples:
    vectors: np.ndarray  # (m, dim) float32, the L2-normalised embeddings of the corrected texts
    intents: tuple[str | None, ...]  # per vector: its corrected intent, or None
    topics: tuple[tuple[str, ...], ...]  # per vector: the topics a correction gave it
    not_topics: tuple[tuple[str, ...], ...]  # per vector: the topics a correction took away

    def __len__(self) -> int:
        return len(self.intents)

    @classmethod
    def encode(cls, encoder: object, labelled: Sequence[LabelledText]) -> Examples:
        """Embed the labelled texts (one vector per distinct text; the last label of a text wins)."""
        by_text = {item.text: item for item in labelled}
        items = list(by_text.values())
        vectors = encoder.encode([i.text for i in items]) if items else np.zeros((0, 0), np.float32)  # type: ignore[attr-defined]
        return cls(
            vectors=np.asarray(vectors, dtype=np.float32),
            intents=tuple(i.intent for i in items),
            topics=tuple(tuple(i.topics) for i in items),
            not_topics=tuple(tuple(i.not_topics) for i in items),
        )

    def same_as(self, other: Examples | None) -> bool:
        """The same labels on the same vectors (no examples equals none)."""
        if other is None:
            return not len(self)
        return ((self.intents, self.topics, self.not_topics) == (other.intents, other.topics, other.not_topics)
                and (not len(self) or (self.vectors.shape == other.vectors.shape
                                       and bool(np.allclose(self.vectors, other.vectors, atol=1e-3)))))

    def intent_names(self) -> tuple[str, ...]:
        return tuple(sorted({i for i in self.intents if i}))

    def corrected_intents(self, sims: np.ndarray) -> list[str | None]:
        """Per text (a row of `sims`, texts × examples): the intent of its nearest intent-labelled
        example when that is a near-paraphrase (cosine at least EXAMPLE_MIN_SIMILARITY), else None."""
        labelled = [k for k, i in enumerate(self.intents) if i]
        if not labelled or not sims.shape[0]:
            return [None] * sims.shape[0]
        block = sims[:, labelled]
        best = block.argmax(axis=1)
        return [self.intents[labelled[b]] if block[row, b] >= EXAMPLE_MIN_SIMILARITY else None
                for row, b in enumerate(best.tolist())]

    def nearest(self, sims: np.ndarray, names: Sequence[str], labels: Sequence[Sequence[str]]) -> np.ndarray:
        """(n, len(names)): for each name the highest similarity among the examples labelled with it
        (`sims` is texts × examples, `labels` each example's names), NO_SIMILARITY without one."""
        out = np.full((sims.shape[0], len(names)), NO_SIMILARITY, dtype=np.float32)
        for j, name in enumerate(names):
            columns = [k for k, own in enumerate(labels) if name in own]
            if columns:
                out[:, j] = sims[:, columns].max(axis=1)
        return out


def blend(description: np.ndarray, example: np.ndarray, counter: np.ndarray | None = None) -> np.ndarray:
    """Per text and label: the description's similarity, raised to the nearest example's where that
    is a near-paraphrase, and 0 where a near-paraphrase counter-example is closer still. Pure."""
    out = np.where(example >= EXAMPLE_MIN_SIMILARITY, np.maximum(description, example), description)
    if counter is not None:
        out = np.where((counter >= EXAMPLE_MIN_SIMILARITY) & (counter > out), 0.0, out)
    return out.astype(np.float32)
