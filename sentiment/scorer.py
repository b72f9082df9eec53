"""The scorer: preprocess (tokens + lexical features) → forward (encoder + heads) → postprocess.

`Scorer.score` takes plain `ScoreInput`s (the job gathers them from the database) and returns
`ScoreResult`s; anything with the same `version` attribute and `score` method (a fake in tests) can
stand in for it. Beside the sentiment heads it reads the complaint head (sentiment.intent, its own
file next to the heads) and scores topics by their descriptions and examples (sentiment.topics).
The sentiment logits are divided by the heads' temperature before the softmax, so every probability
it returns, the model's own (`raw_p_*`) and the adapted ones (`p_*`), is calibrated.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Protocol, Sequence

import numpy as np

from core.paths import DataPaths
from sentiment import features, postprocess
from sentiment.adaptation import base_priors
from sentiment.encoder import BatchedEncoder, encoder_from_settings
from sentiment.examples import NO_SIMILARITY, Examples, blend
from sentiment.heads import Heads, heads_in_effect, load_heads
from sentiment.intent import ComplaintHead, load_complaint_head
from sentiment.postprocess import INTENT_DESCRIPTIONS, ScoreResult, UrgencyPolicy
from sentiment.priors import adjust
from sentiment.topics import TopicModel

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ScoreInput:
    text: str
    mention_id: int | None = None
    followers: int | None = None
    velocity: float = 0.0  # interactions per hour
    # The class mix (negative, neutral, positive) of the mention's brand's stream (sentiment.adaptation);
    # None: the mention keeps the model's own probabilities.
    priors: tuple[float, float, float] | None = None


@dataclass(frozen=True, slots=True)
class Forward:
    """Stage-2 output for a batch: every number postprocess needs."""

    logits: np.ndarray  # (n, 3) the heads' sentiment logits divided by their temperature (calibrated)
    valence_raw: np.ndarray  # (n,)
    intent_sims: np.ndarray  # (n, len(intents))
    topic_sims: np.ndarray  # (n, len(topics)): scores against descriptions and examples (sentiment.topics)
    p_complaint: np.ndarray | None = None  # (n,) from the complaint head; None: zero-shot intent
    corrected_intents: Sequence[str | None] | None = None  # a near-paraphrase staff example's intent per text


class ScorerLike(Protocol):
    version: str

    def score(self, items: Sequence[ScoreInput]) -> list[ScoreResult]: ...


class Scorer:
    def __init__(
        self,
        encoder: BatchedEncoder,
        heads: Heads,
        *,
        topics: Mapping[str, Any] | None = None,
        topic_threshold: float = 0.35,
        max_topics: int = 5,
        policy: UrgencyPolicy = UrgencyPolicy(),
        adapt: bool = True,
        complaint: ComplaintHead | None = None,
    ) -> None:
        """`topics` maps a name to its description, or to a `TopicConfig` (core.config) with
        examples and a threshold; `complaint` is the trained complaint head (None: zero-shot intent)."""
        self.encoder = encoder
        self.heads = heads
        self.version = heads.version
        # Every probability the scorer returns is softmax(logits / temperature) (sentiment.calibration),
        # and the base priors adaptation divides out were measured with it (sentiment.train).
        self.temperature = heads.temperature
        self.calibration = heads.meta.get("calibration")
        # The class mix the heads' probabilities carry; adapting a mention to its brand's mix needs it.
        self.base_priors = base_priors(heads) if adapt else None
        if adapt and self.base_priors is None:
            log.warning("heads %s carry no class_priors and have no saved estimate: mentions are scored "
                        "without adapting to their brand's mix", heads.version)
        self.adapts = self.base_priors is not None
        self.policy = policy
        self.topic_threshold = topic_threshold
        self.max_topics = max_topics
        self.examples = heads.examples if heads.examples is not None and len(heads.examples) else None
        described = tuple(INTENT_DESCRIPTIONS)
        # "other" has no description; it is a column only when staff labelled examples "other".
        extra = tuple(i for i in (self.examples.intent_names() if self.examples else ()) if i not in described)
        self.intent_names = described + extra
        self._intent_vecs = encoder.encode([INTENT_DESCRIPTIONS[k] for k in described])
        self._intent_extra = len(extra)
        self.complaint = complaint
        self.topic_model = _topic_model(encoder, topics or {}, topic_threshold, self.examples)
        self.topic_names = self.topic_model.names

    @classmethod
    def from_settings(cls, conf: object, heads_version: str | None = None, *, heads_dir: Path | None = None,
                      paths: DataPaths | None = None) -> Scorer:
        """Build from a `SentimentConfig` section (core.config): its runtime, quantisation and heads
        (the version `CURRENT` names, or `heads_version`, in `heads_dir`, else in the folder in effect
        for the data directory `paths`: its models/ once trained, else sentiment/heads/). The ONNX
        export is cached in `paths.cache` (without `paths`: sentiment.data.default_cache_dir)."""
        folder = heads_dir or heads_in_effect(paths.models if paths is not None else None)
        encoder = encoder_from_settings(conf, cache_dir=paths.cache if paths is not None else None)
        return cls.with_heads(encoder, load_heads(heads_version, folder=folder), conf)

    @classmethod
    def with_heads(cls, encoder: BatchedEncoder, heads: Heads, conf: object) -> Scorer:
        policy = UrgencyPolicy(
            risk_topics=frozenset(conf.risk_topics),  # type: ignore[attr-defined]
            reach_followers=conf.reach_followers,  # type: ignore[attr-defined]
            velocity_per_hour=conf.velocity_per_hour,  # type: ignore[attr-defined]
        )
        adaptation = getattr(conf, "adaptation", None)
        return cls(encoder, heads, topics=conf.topics, topic_threshold=conf.topic_threshold,  # type: ignore[attr-defined]
                   max_topics=conf.max_topics, policy=policy,  # type: ignore[attr-defined]
                   adapt=adaptation is None or adaptation.enabled,
                   # It reads the embeddings the sentiment heads read, so it must be for their encoder.
                   complaint=load_complaint_head(heads.encoder, dim=getattr(encoder, "dim", None)))

    def forward(self, texts: Sequence[str]) -> Forward:
        emb = self.encoder.encode(texts)
        dense = np.hstack([emb, features.vader_features(texts)])
        bow = features.tfidf(features.hashed_counts(texts), self.heads.idf)
        intent_sims = emb @ self._intent_vecs.T
        if self._intent_extra:
            intent_sims = np.hstack([intent_sims, np.full((len(texts), self._intent_extra), NO_SIMILARITY)])
        corrected = None
        if self.examples is not None:
            sims = emb @ self.examples.vectors.T
            if self.complaint is None:  # zero-shot: the examples raise the descriptions' similarities
                labels = [(i,) if i else () for i in self.examples.intents]
                intent_sims = blend(intent_sims, self.examples.nearest(sims, self.intent_names, labels))
            else:
                corrected = self.examples.corrected_intents(sims)
        return Forward(
            logits=self.heads.calibrated_logits(dense, bow),
            valence_raw=self.heads.valence_raw(dense),
            intent_sims=intent_sims,
            topic_sims=self.topic_model.scores(emb),
            p_complaint=None if self.complaint is None else self.complaint.probability(emb, texts, dense[:, emb.shape[1]:]),
            corrected_intents=corrected,
        )

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """The heads' sentiment logits (n, 3) before the temperature: `earful eval` measures the
        calibration with and without it from one pass."""
        if not texts:
            return np.zeros((0, len(postprocess.LABELS)))
        emb = self.encoder.encode(texts)
        dense = np.hstack([emb, features.vader_features(texts)])
        bow = features.tfidf(features.hashed_counts(texts), self.heads.idf)
        return self.heads.sentiment_logits(dense, bow)

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """The model's own (calibrated) sentiment probabilities (n, 3), before any adaptation (evaluation)."""
        return _softmax_rows(self.logits(texts) / self.temperature)

    def labels(self, texts: Sequence[str]) -> list[str]:
        """Sentiment labels only (evaluation); the temperature never changes them."""
        return [postprocess.LABELS[i] for i in self.logits(texts).argmax(axis=1)]

    def score(self, items: Sequence[ScoreInput]) -> list[ScoreResult]:
        if not items:
            return []
        out = self.forward([i.text for i in items])
        raw = _softmax_rows(out.logits)
        adapted = self._adapted(raw, items)
        # Plain Python numbers once for the whole batch, not one numpy conversion per row and field.
        p_complaint = [None] * len(items) if out.p_complaint is None else out.p_complaint.tolist()
        corrected = out.corrected_intents or [None] * len(items)
        threshold = self.complaint.threshold if self.complaint is not None else postprocess.COMPLAINT_THRESHOLD
        cuts = dict(zip(self.topic_names, self.topic_model.thresholds))
        rows = zip(items, raw.tolist(), adapted.tolist(), out.valence_raw.tolist(), out.intent_sims.tolist(),
                   out.topic_sims.tolist(), p_complaint, corrected)
        results = []
        for item, own, probs, valence_raw, intent_sims, topic_sims, complaint, staff_said in rows:
            # The label and urgency read the probabilities adapted to the brand's mix (equal to the
            # model's own when the mention has none); both are calibrated, so urgency's p_negative >= 0.5
            # means an even chance (sentiment.calibration).
            label, (p_neg, p_neu, p_pos) = postprocess.sentiment_from_probabilities(probs)
            val = postprocess.valence(valence_raw)
            intent = postprocess.intent(dict(zip(self.intent_names, intent_sims)), item.text, p_complaint=complaint,
                                        p_positive=p_pos, corrected=staff_said, complaint_threshold=threshold)
            topics = postprocess.topics(dict(zip(self.topic_names, topic_sims)), cuts, self.max_topics)
            urgency, reasons = postprocess.urgency(
                p_negative=p_neg, valence=val, intent=intent, topics=topics,
                followers=item.followers, velocity=item.velocity, policy=self.policy, raw_p_negative=own[0],
            )
            results.append(
                ScoreResult(
                    mention_id=item.mention_id, model_version=self.version, sentiment=label,
                    p_negative=p_neg, p_neutral=p_neu, p_positive=p_pos, valence=val, intent=intent,
                    topics=topics, urgency=urgency, urgency_reasons=reasons,
                    raw_p_negative=own[0], raw_p_neutral=own[1], raw_p_positive=own[2],
                )
            )
        return results

    def _adapted(self, raw: np.ndarray, items: Sequence[ScoreInput]) -> np.ndarray:
        """`raw` adapted, row by row, to each item's brand mix (sentiment.priors.adjust)."""
        if self.base_priors is None or all(i.priors is None for i in items):
            return raw
        base = self.base_priors.priors
        return adjust(raw, base, np.array([i.priors or base for i in items], dtype=float))


def _topic_model(encoder: BatchedEncoder, topics: Mapping[str, Any], default_threshold: float,
                 examples: Examples | None) -> TopicModel:
    """Embed each topic's "name: description" and its config examples (a topic given as a bare
    string is a description alone) and build the prototypes with the staff examples."""
    specs = {name: (spec, (), None) if isinstance(spec, str) else (spec.description, tuple(spec.examples), spec.threshold)
             for name, spec in topics.items()}
    names = tuple(specs)
    descriptions = encoder.encode([f"{name}: {description}" for name, (description, _, _) in specs.items()])
    texts = [text for _, given, _ in specs.values() for text in given]
    vectors = encoder.encode(texts) if texts else np.zeros((0, descriptions.shape[1]), np.float32)
    configured: dict[str, np.ndarray] = {}
    start = 0
    for name, (_, given, _) in specs.items():
        configured[name] = vectors[start:start + len(given)]
        start += len(given)
    return TopicModel.build(names, descriptions, configured, {n: t for n, (_, _, t) in specs.items()},
                            default_threshold, staff=examples)


def _softmax_rows(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=float)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
