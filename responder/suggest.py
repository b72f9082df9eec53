"""Reply suggestions: what the team already said, publicly, to the mentions most like this one.

A team answers the same few dozen situations over and over (a lost bag, a late refund, a login
loop). Its own past replies are the best template library it has: already in its voice and already
accepted by the platforms. So each sent reply keeps the sentence embedding of the mention it
answered (`Reply.context_embedding`), and a new mention is matched against those contexts, not
against the reply texts: "sorry, DM us your booking reference" looks nothing like "my suitcase never
arrived", but the mention it answered does.

Only replies that really went out are candidates (state `sent`, not a dry run). A draft, a failed
or a rejected text was never seen by a customer and may be exactly what a platform refused. Nothing
here sends anything: a suggestion is text an agent edits in the reply box.

The embeddings come from the sentiment encoder (`sentiment.encoder.Encoder.encode`), injected as a
plain callable so tests and the dashboard decide when the model loads; stored and query vectors
must come from the same model. Stored vectors of another width (the model was changed) are
skipped; set `replies.context_embedding` to NULL to have them recomputed.

`rank` is the pure part, tested with hand-made vectors. `backfill_embeddings` and `suggest` do the
I/O inside the caller's session; the caller commits (backfilled embeddings are written there).
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Sequence

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from core.models import Mention, Reply, ReplyState

Embed = Callable[[Sequence[str]], np.ndarray]
"""Texts in, one row per text out (the sentiment encoder's `encode`)."""

# all-MiniLM-L6-v2 gives paraphrases of one customer-care situation 0.45-0.70 and different
# situations of the same brand mostly below 0.35; off-topic chatter stayed below 0.38 in our
# samples. 0.45 keeps most true matches while a stray match needs to beat every unrelated text
# seen. A wrong suggestion costs an agent a glance, not a sent reply, so the cut leans to recall.
DEFAULT_MIN_SIMILARITY = 0.45
# A reply the team chose often is a slightly safer template: +0.01 similarity per doubling of its
# uses, at most +0.03, so it only reorders suggestions that are nearly as close as each other.
USAGE_BONUS_PER_DOUBLING = 0.01
USAGE_BONUS_CAP = 0.03

_LEADING_HANDLES = re.compile(r"^(?:\s*[@＠][\w.\-]+(?:@[\w.\-]+)?[\s,:;]*)+")
_SIGNOFF = re.compile(r"\s*\^\s*[A-Za-z]{1,4}\s*$")  # an agent's initials: "... DM us ^JS"
_SPACE = re.compile(r"\s+")
_TRAILING_MARKS = re.compile(r"[\W_]+$")


@dataclass(frozen=True, slots=True)
class Candidate:
    """A past sent reply and the mention it answered (the matrix row of the same index is its context)."""

    reply_id: int
    text: str
    mention_text: str
    sent_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Suggestion:
    text: str  # ready to edit: another customer's @handle and another agent's ^initials removed
    similarity: float  # cosine between this mention and the closest mention the text answered
    uses: int  # how many sent replies in the pool said the same thing
    example_mention_text: str  # that closest mention, so the agent sees why it was suggested
    reply_id: int  # the reply that answered it


def reusable_text(text: str) -> str:
    """The reply as a template: it was addressed to someone else and signed by someone else."""
    text = _LEADING_HANDLES.sub("", unicodedata.normalize("NFKC", text))
    return _SPACE.sub(" ", _SIGNOFF.sub("", text)).strip()


def duplicate_key(text: str) -> str:
    """Texts that differ only in case, spacing, handles, sign-off or closing marks count as one."""
    return _TRAILING_MARKS.sub("", reusable_text(text).casefold())


def usage_bonus(uses: int) -> float:
    return min(USAGE_BONUS_CAP, USAGE_BONUS_PER_DOUBLING * math.log2(max(uses, 1)))


def cosine_similarities(query: np.ndarray, contexts: np.ndarray) -> np.ndarray:
    """Cosine of `query` with each row; a zero or non-finite vector matches nothing (0.0)."""
    q = np.asarray(query, dtype=np.float64)
    m = np.asarray(contexts, dtype=np.float64)
    if q.ndim != 1 or m.ndim != 2 or m.shape[1] != q.shape[0]:
        raise ValueError(f"need a 1-D query and rows of its width; got {q.shape} and {m.shape}")
    norms = np.linalg.norm(m, axis=1) * np.linalg.norm(q)
    with np.errstate(invalid="ignore", divide="ignore"):
        sims = (m @ q) / norms
    return np.where(np.isfinite(sims) & (norms > 0), sims, 0.0)


def rank(
    query: np.ndarray,
    contexts: np.ndarray,
    candidates: Sequence[Candidate],
    *,
    k: int = 3,
    min_similarity: float = DEFAULT_MIN_SIMILARITY,
) -> list[Suggestion]:
    """The `k` best distinct reply texts whose closest context is at least `min_similarity` away.

    Duplicates keep their closest context (ties: the newest reply) and count their uses. The order
    is similarity plus `usage_bonus`; the threshold looks at similarity alone, so a popular text
    cannot be pushed into a conversation it does not fit.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    if len(contexts) != len(candidates):
        raise ValueError(f"{len(contexts)} context rows for {len(candidates)} candidates")
    if not candidates:
        return []
    sims = cosine_similarities(query, contexts)
    best: dict[str, tuple[float, Candidate]] = {}
    uses: dict[str, int] = {}
    for candidate, sim in zip(candidates, sims.tolist()):
        key = duplicate_key(candidate.text)
        if not key:
            continue
        uses[key] = uses.get(key, 0) + 1
        held = best.get(key)
        if held is None or (sim, _newness(candidate)) > (held[0], _newness(held[1])):
            best[key] = (sim, candidate)
    kept = [(key, sim, c) for key, (sim, c) in best.items() if sim >= min_similarity]
    kept.sort(key=lambda t: (t[1] + usage_bonus(uses[t[0]]), t[1], uses[t[0]], t[2].reply_id), reverse=True)
    return [
        Suggestion(reusable_text(c.text), sim, uses[key], c.mention_text, c.reply_id) for key, sim, c in kept[:k]
    ]


def _newness(candidate: Candidate) -> tuple[float, int]:
    return (candidate.sent_at.timestamp() if candidate.sent_at else float("-inf"), candidate.reply_id)


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, np.float32).tobytes()


def from_bytes(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32)


def context_text(text: str, title: str | None) -> str:
    """What a mention is about: its text, or its title where the text is empty (a Reddit link post)."""
    return text if text.strip() else (title or "")


# -- I/O -----------------------------------------------------------------------------------------
def _went_out() -> sa.ColumnElement[bool]:
    return sa.and_(Reply.state == ReplyState.sent, Reply.dry_run.is_(False))


_NEWEST_FIRST = (Reply.sent_at.desc().nulls_last(), Reply.id.desc())


def backfill_embeddings(session: Session, embed: Embed, *, limit: int = 500, batch_size: int = 64) -> int:
    """Store the context embedding of up to `limit` sent replies lacking one, newest first.

    Newest first because `suggest` reads the newest replies; returns how many were stored.
    """
    rows = session.execute(
        sa.select(Reply.id, Mention.text, Mention.title)
        .join(Mention, Mention.id == Reply.in_reply_to_id)
        .where(_went_out(), Reply.context_embedding.is_(None))
        .order_by(*_NEWEST_FIRST)
        .limit(limit)
    ).all()
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        vectors = np.asarray(embed([context_text(text, title) for _, text, title in chunk]))
        if vectors.ndim != 2 or len(vectors) != len(chunk):
            raise ValueError(f"embed returned shape {vectors.shape} for {len(chunk)} texts; expected one row each")
        session.execute(
            sa.update(Reply),
            [{"id": reply_id, "context_embedding": to_bytes(v)} for (reply_id, _, _), v in zip(chunk, vectors)],
        )
    return len(rows)


def indexed_counts(session: Session) -> tuple[int, int]:
    """(sent replies, how many of them have their context embedding): why there may be no suggestion."""
    sent, embedded = session.execute(
        sa.select(sa.func.count(), sa.func.count(Reply.context_embedding)).where(_went_out())
    ).one()
    return int(sent), int(embedded)


def suggest(
    session: Session,
    mention_id: int,
    embed: Embed,
    *,
    k: int = 3,
    pool: int = 5000,
    min_similarity: float = DEFAULT_MIN_SIMILARITY,
    backfill_limit: int = 500,
) -> list[Suggestion]:
    """Up to `k` past replies worth starting from when answering mention `mention_id`.

    The pool is the `pool` newest sent replies on any platform (a good answer on X is a good answer
    on Mastodon), except replies to this very mention: what was already said to this customer is on
    the case, not a suggestion.
    """
    row = session.execute(sa.select(Mention.text, Mention.title).where(Mention.id == mention_id)).first()
    if row is None:
        raise InvalidInput(f"no mention with id {mention_id}")
    query_text = context_text(row.text, row.title)
    backfill_embeddings(session, embed, limit=backfill_limit)
    if not query_text.strip():
        return []
    past = session.execute(
        sa.select(Reply.id, Reply.text, Reply.sent_at, Reply.context_embedding, Mention.text, Mention.title)
        .join(Mention, Mention.id == Reply.in_reply_to_id)
        .where(_went_out(), Reply.context_embedding.is_not(None), Reply.in_reply_to_id != mention_id)
        .order_by(*_NEWEST_FIRST)
        .limit(pool)
    ).all()
    if not past:
        return []
    query = np.asarray(embed([query_text]), dtype=np.float32)[0]
    candidates: list[Candidate] = []
    vectors: list[np.ndarray] = []
    for reply_id, text, sent_at, blob, mention_text, title in past:
        vector = from_bytes(blob)
        if vector.shape != query.shape:
            continue  # embedded by another model; see the module docstring
        candidates.append(Candidate(reply_id, text, context_text(mention_text, title), sent_at))
        vectors.append(vector)
    if not candidates:
        return []
    return rank(query, np.vstack(vectors), candidates, k=k, min_similarity=min_similarity)
