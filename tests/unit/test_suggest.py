"""Ranking past replies, with hand-made vectors: no model, no database."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from responder.suggest import (
    USAGE_BONUS_CAP,
    Candidate,
    cosine_similarities,
    duplicate_key,
    from_bytes,
    rank,
    reusable_text,
    to_bytes,
    usage_bonus,
)

T = datetime(2026, 3, 2, 12, tzinfo=timezone.utc)
QUERY = np.array([1.0, 0.0, 0.0])


def unit(*xs: float) -> np.ndarray:
    v = np.array(xs, dtype=np.float64)
    return v / np.linalg.norm(v)


def at_similarity(s: float) -> np.ndarray:
    """A unit vector whose cosine with QUERY is exactly `s`."""
    return np.array([s, np.sqrt(1 - s * s), 0.0])


def cand(reply_id: int, text: str, mention: str = "", minutes: int = 0) -> Candidate:
    return Candidate(reply_id, text, mention or f"mention {reply_id}", T + timedelta(minutes=minutes))


def test_best_match_first_and_fields_filled() -> None:
    candidates = [cand(1, "Sorry about your bag", "lost my bag"), cand(2, "Refunds take 7 days", "refund?"),
                  cand(3, "Try resetting your password", "cannot log in")]
    contexts = np.vstack([at_similarity(0.9), at_similarity(0.6), at_similarity(0.7)])
    out = rank(QUERY, contexts, candidates, k=3, min_similarity=0.5)
    assert [s.reply_id for s in out] == [1, 3, 2]
    first = out[0]
    assert (first.text, first.uses, first.example_mention_text) == ("Sorry about your bag", 1, "lost my bag")
    assert first.similarity == pytest.approx(0.9)


def test_k_limits_and_threshold_filters() -> None:
    candidates = [cand(i, f"reply {i}") for i in range(1, 6)]
    contexts = np.vstack([at_similarity(s) for s in (0.95, 0.8, 0.7, 0.49, 0.1)])
    assert [s.reply_id for s in rank(QUERY, contexts, candidates, k=2, min_similarity=0.5)] == [1, 2]
    assert [s.reply_id for s in rank(QUERY, contexts, candidates, k=10, min_similarity=0.5)] == [1, 2, 3]
    assert rank(QUERY, contexts, candidates, k=3, min_similarity=0.96) == []


def test_threshold_is_inclusive() -> None:
    out = rank(QUERY, np.vstack([at_similarity(0.5)]), [cand(1, "ok")], min_similarity=0.5)
    assert [s.reply_id for s in out] == [1]


def test_duplicates_collapse_keeping_the_best_score_and_counting_uses() -> None:
    candidates = [
        cand(1, "@ann Sorry! Please DM us your booking reference. ^JS", "bag gone"),
        cand(2, "@bob sorry! please DM us your booking reference ^AB", "suitcase missing"),
        cand(3, "Sorry!  Please DM us your booking reference", "hello"),
        cand(4, "Something else entirely", "x"),
    ]
    contexts = np.vstack([at_similarity(0.7), at_similarity(0.9), at_similarity(0.2), at_similarity(0.8)])
    out = rank(QUERY, contexts, candidates, k=5, min_similarity=0.5)
    assert [s.reply_id for s in out] == [2, 4]
    top = out[0]
    assert top.uses == 3  # every sent use counts, including one below the threshold
    assert top.similarity == pytest.approx(0.9)
    assert top.example_mention_text == "suitcase missing"
    assert top.text == "sorry! please DM us your booking reference"  # no other customer's handle, no initials


def test_equal_scores_within_a_duplicate_keep_the_newest_example() -> None:
    candidates = [cand(1, "Same text", "old", minutes=0), cand(2, "same text", "new", minutes=5)]
    contexts = np.vstack([at_similarity(0.8), at_similarity(0.8)])
    (only,) = rank(QUERY, contexts, candidates)
    assert (only.reply_id, only.example_mention_text, only.uses) == (2, "new", 2)


def test_usage_breaks_near_ties() -> None:
    popular = [cand(i, "Popular answer") for i in range(1, 9)]  # used 8 times
    candidates = [cand(100, "Rare answer"), *popular]
    contexts = np.vstack([at_similarity(0.80)] + [at_similarity(0.79)] * 8)
    out = rank(QUERY, contexts, candidates, k=2, min_similarity=0.5)
    assert [s.text for s in out] == ["Popular answer", "Rare answer"]
    assert out[0].uses == 8


def test_usage_does_not_override_a_clearly_better_match() -> None:
    popular = [cand(i, "Popular answer") for i in range(1, 101)]
    candidates = [cand(1000, "Fitting answer"), *popular]
    contexts = np.vstack([at_similarity(0.85)] + [at_similarity(0.75)] * 100)
    out = rank(QUERY, contexts, candidates, k=2, min_similarity=0.5)
    assert [s.text for s in out] == ["Fitting answer", "Popular answer"]


def test_usage_cannot_lift_a_reply_over_the_threshold() -> None:
    candidates = [cand(i, "Popular answer") for i in range(1, 65)]
    contexts = np.vstack([at_similarity(0.49)] * 64)
    assert rank(QUERY, contexts, candidates, min_similarity=0.5) == []


def test_exact_ties_prefer_more_uses() -> None:
    candidates = [cand(1, "One"), cand(2, "Two"), cand(3, "Two")]
    contexts = np.vstack([at_similarity(0.7), at_similarity(0.7), at_similarity(0.7)])
    assert [s.text for s in rank(QUERY, contexts, candidates)] == ["Two", "One"]


def test_usage_bonus_is_mild_and_capped() -> None:
    assert usage_bonus(1) == 0.0
    assert usage_bonus(0) == 0.0
    assert usage_bonus(2) == pytest.approx(0.01)
    assert usage_bonus(4) == pytest.approx(0.02)
    assert usage_bonus(10_000) == USAGE_BONUS_CAP


def test_unnormalised_and_zero_vectors() -> None:
    contexts = np.array([[10.0, 0.0], [0.0, 0.0], [3.0, 3.0], [np.nan, 1.0]])
    sims = cosine_similarities(np.array([2.0, 0.0]), contexts)
    assert sims.tolist() == pytest.approx([1.0, 0.0, unit(1, 1)[0], 0.0])
    assert cosine_similarities(np.zeros(2), contexts).tolist() == [0.0, 0.0, 0.0, 0.0]


def test_replies_that_are_only_a_handle_are_skipped() -> None:
    assert rank(QUERY, np.vstack([QUERY]), [cand(1, "@ann ")]) == []


def test_empty_pool() -> None:
    assert rank(QUERY, np.zeros((0, 3)), []) == []


@pytest.mark.parametrize(
    ("query", "contexts", "candidates", "k", "message"),
    [
        (QUERY, np.vstack([QUERY]), [cand(1, "a")], 0, "k must be at least 1"),
        (QUERY, np.vstack([QUERY, QUERY]), [cand(1, "a")], 3, "2 context rows for 1 candidates"),
        (np.vstack([QUERY]), np.vstack([QUERY]), [cand(1, "a")], 3, "1-D query"),
        (QUERY, np.ones((1, 4)), [cand(1, "a")], 3, "rows of its width"),
    ],
)
def test_bad_shapes_are_refused(query: np.ndarray, contexts: np.ndarray, candidates: list[Candidate], k: int,
                                message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rank(query, contexts, candidates, k=k)


@pytest.mark.parametrize(
    ("raw", "reusable", "key"),
    [
        ("@ann Sorry to hear that! ^JS", "Sorry to hear that!", "sorry to hear that"),
        ("@ann@mastodon.social, @acme: Thanks  for\nwaiting.", "Thanks for waiting.", "thanks for waiting"),
        ("@ann.bsky.social We're on it 🙏", "We're on it 🙏", "we're on it"),
        ("Email us at help@acme.com ^ab", "Email us at help@acme.com", "email us at help@acme.com"),
        ("Ｆｕｌｌｗｉｄｔｈ text", "Fullwidth text", "fullwidth text"),
        ("Mid-text @mentions stay", "Mid-text @mentions stay", "mid-text @mentions stay"),
    ],
)
def test_reply_text_normalisation(raw: str, reusable: str, key: str) -> None:
    assert reusable_text(raw) == reusable
    assert duplicate_key(raw) == key


def test_embedding_bytes_round_trip() -> None:
    v = np.array([0.25, -1.5, 3.0], dtype=np.float64)
    blob = to_bytes(v)
    assert blob == np.array([0.25, -1.5, 3.0], dtype=np.float32).tobytes()
    assert from_bytes(blob).tolist() == [0.25, -1.5, 3.0]
