"""Stage 3 of the scorer: numbers in, decisions and explanations out. Pure functions, no I/O.

Everything here is tested with hand-made numbers (tests/unit/test_sentiment_postprocess.py): the
logits, similarities and reach figures come from stage 2 or from the database, never from here.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Mapping, Sequence

LABELS = ("negative", "neutral", "positive")
INTENTS = ("complaint", "question", "request", "praise", "other")
# Zero-shot intent descriptions; the encoder embeds them once per scorer.
INTENT_DESCRIPTIONS = {
    "complaint": "a complaint: something is broken, bad, wrong, late or disappointing and the customer is unhappy",
    "question": "a question asking how, why, when or where something works",
    "request": "a request asking the company to do something: please help, fix, refund, contact me, send",
    "praise": "praise and thanks: love it, great service, awesome, well done",
}
INTENT_MIN_SIMILARITY = 0.15  # below this for every intent, the text is "other" (zero-shot only)
COMPLAINT_THRESHOLD = 0.5  # p(complaint) from the trained head (sentiment.intent) at which a text is a complaint
PRAISE_MIN_POSITIVE = 0.5  # p_positive at which a text that is nothing else is praise
# A tweet to a brand starts with its handle ("@JetBlue how do I..."): cues look past it.
_LEADING_HANDLES = re.compile(r"^(\s*\.?@\w+[:,]?)+")
_QUESTION_START = re.compile(
    r"^\s*((hi|hey|hello)\b[\s,!.]*)?(how|why|when|where|what|who|which|is|are|am|can|could|does|do|did|will|would|"
    r"should|has|have)\b", re.I)
# "refund" alone is no request ("thanks for the refund"); asking for one is.
_REQUEST_CUE = re.compile(r"\b(please|pls|plz|can you|could you|would you|can someone|could someone|"
                          r"need (you|someone) to|dm me|refund me|(want|need|like) a refund)\b", re.I)


@dataclass(frozen=True, slots=True)
class UrgencyPolicy:
    """How much each signal adds to urgency (0..1 after clipping)."""

    risk_topics: frozenset[str] = frozenset()
    reach_followers: int = 10_000
    velocity_per_hour: float = 20.0
    negative_weight: float = 0.45
    action_weight: float = 0.15
    risk_weight: float = 0.3
    reach_weight: float = 0.1
    velocity_weight: float = 0.1


@dataclass(frozen=True, slots=True)
class ScoreResult:
    mention_id: int | None
    model_version: str
    sentiment: str
    p_negative: float
    p_neutral: float
    p_positive: float
    valence: float
    intent: str
    topics: tuple[str, ...]
    urgency: float
    urgency_reasons: tuple[str, ...] = field(default=())
    # The model's own probabilities when p_* above were adapted to the brand's class mix
    # (sentiment.priors); None: p_* are the model's own.
    raw_p_negative: float | None = None
    raw_p_neutral: float | None = None
    raw_p_positive: float | None = None


def softmax(logits: Sequence[float]) -> list[float]:
    top = max(logits)
    exps = [math.exp(x - top) for x in logits]
    total = sum(exps)
    return [e / total for e in exps]


def sentiment_from_logits(logits: Sequence[float]) -> tuple[str, tuple[float, float, float]]:
    """(label, (p_negative, p_neutral, p_positive)) from logits in LABELS order."""
    if len(logits) != 3:
        raise ValueError(f"expected 3 logits (negative, neutral, positive), got {len(logits)}")
    p = softmax(logits)
    best = max(range(3), key=lambda i: p[i])
    return LABELS[best], (p[0], p[1], p[2])


def sentiment_from_probabilities(p: Sequence[float]) -> tuple[str, tuple[float, float, float]]:
    """(label, (p_negative, p_neutral, p_positive)) from probabilities in LABELS order (adapted ones)."""
    if len(p) != 3:
        raise ValueError(f"expected 3 probabilities (negative, neutral, positive), got {len(p)}")
    best = max(range(3), key=lambda i: p[i])
    return LABELS[best], (p[0], p[1], p[2])


def valence(raw_mean: float) -> float:
    """Rater scale -4..+4 to -1..1."""
    return max(-1.0, min(1.0, raw_mean / 4.0))


def addressed_body(text: str) -> str:
    """The text after the handles it opens with."""
    return _LEADING_HANDLES.sub("", text, count=1)


def intent(
    similarities: Mapping[str, float],
    text: str,
    *,
    p_complaint: float | None = None,
    p_positive: float | None = None,
    corrected: str | None = None,
    complaint_threshold: float = COMPLAINT_THRESHOLD,
) -> str:
    """The intent of one text, first rule that holds:

    1. `corrected`: staff labelled a near-paraphrase of this text (sentiment.examples);
    2. complaint: the trained head's `p_complaint` reaches `complaint_threshold` (a complaint that
       also asks something is still a complaint: it is what needs the reply);
    3. request: it asks the brand to do something ("please", "can you", "dm me");
    4. question: a question mark, or a question word first;
    5. praise: nothing of the above and `p_positive` at least PRAISE_MIN_POSITIVE;
    6. other.
    Without a head (`p_complaint` None) the zero-shot rule decides (`zero_shot_intent`).
    """
    if corrected is not None:
        return corrected
    if p_complaint is None:
        return zero_shot_intent(similarities, text)
    if p_complaint >= complaint_threshold:
        return "complaint"
    body = addressed_body(text)
    if _REQUEST_CUE.search(body):
        return "request"
    if "?" in body or _QUESTION_START.match(body):
        return "question"
    if p_positive is not None and p_positive >= PRAISE_MIN_POSITIVE:
        return "praise"
    return "other"


def zero_shot_intent(similarities: Mapping[str, float], text: str) -> str:
    """Cosine similarity to the intent descriptions (and staff examples), nudged by surface cues."""
    scores = dict(similarities)
    body = addressed_body(text)
    if "?" in body or _QUESTION_START.match(body):
        scores["question"] = scores.get("question", 0.0) + 0.1
    if _REQUEST_CUE.search(body):
        scores["request"] = scores.get("request", 0.0) + 0.1
    if not scores:
        return "other"
    best = max(scores, key=lambda k: scores[k])
    return best if scores[best] >= INTENT_MIN_SIMILARITY else "other"


def topics(similarities: Mapping[str, float], threshold: float | Mapping[str, float], limit: int = 5) -> tuple[str, ...]:
    """Topics scoring at least their threshold (one for all, or each topic's own), highest first,
    at most `limit`."""
    cut = threshold if isinstance(threshold, Mapping) else dict.fromkeys(similarities, threshold)
    hits = [(s, name) for name, s in similarities.items() if s >= cut[name]]
    return tuple(name for _, name in sorted(hits, key=lambda h: (-h[0], h[1]))[:limit])


def engagement_velocity(likes: int, reposts: int, replies: int, age_hours: float) -> float:
    """Interactions per hour since posting; the first quarter hour counts as a quarter hour."""
    return (likes + reposts + replies) / max(age_hours, 0.25)


def urgency(
    *,
    p_negative: float,
    valence: float,
    intent: str,
    topics: Sequence[str],
    followers: int | None,
    velocity: float,
    policy: UrgencyPolicy,
    raw_p_negative: float | None = None,
) -> tuple[float, tuple[str, ...]]:
    """Urgency in 0..1 and the reasons that raised it, strongest first.

    `p_negative` is the probability adapted to the brand's class mix when there is one; the reason
    then names the model's own (`raw_p_negative`) too, so staff see why a mild text ranks high. Both
    are calibrated (the scorer divides the logits by the heads' temperature, sentiment.calibration),
    so negativity counting from p_negative >= 0.5 means from an even chance that the text is negative."""
    parts: list[tuple[float, str]] = []
    negativity = p_negative * max(0.25, -valence) if valence < 0 else p_negative * 0.25
    negativity = min(1.0, p_negative * 0.5 + negativity)
    if p_negative >= 0.5:
        shown = f"p={p_negative:.2f}"
        if raw_p_negative is not None and round(raw_p_negative, 2) != round(p_negative, 2):
            shown += f" for this brand's mix, {raw_p_negative:.2f} before"
        parts.append((policy.negative_weight * negativity, f"negative sentiment ({shown}, valence {valence:+.2f})"))
    if intent in ("complaint", "request", "question"):
        parts.append((policy.action_weight, f"{intent} needs a reply"))
    risky = [t for t in topics if t in policy.risk_topics]
    if risky:
        parts.append((policy.risk_weight, "risk topic: " + ", ".join(risky)))
    if followers is not None and followers >= policy.reach_followers:
        parts.append((policy.reach_weight * min(2.0, followers / policy.reach_followers) / 2 + policy.reach_weight / 2,
                      f"author reach: {followers:,} followers"))
    if velocity >= policy.velocity_per_hour:
        parts.append((policy.velocity_weight, f"spreading fast: {velocity:.0f} interactions/hour"))
    total = min(1.0, sum(w for w, _ in parts))
    reasons = tuple(r for _, r in sorted(parts, key=lambda p: -p[0]))
    return round(total, 4), reasons
