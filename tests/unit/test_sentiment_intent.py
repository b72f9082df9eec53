"""The complaint head (sentiment.intent): cues, fitting, leave-one-domain-out, storage, the shipped file."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from core.errors import ConfigError
from sentiment.encoder import DEFAULT_MODEL
from sentiment.features import VADER_KEYS
from sentiment.intent import (
    COMPLAINTS_FILE,
    COMPLAINTS_SHA256,
    ComplaintHead,
    Complaints,
    binary_scores,
    cue_features,
    default_head_path,
    fit_complaint_head,
    leave_one_domain_out,
    load_complaint_head,
    load_complaints,
)

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "complaints"


def test_cues_flag_questions_figures_negation_and_repetition() -> None:
    rows = cue_features(["why is it late?", "still not here after 3 days!", "ok"])
    question, exclamation, figure, negation, again, length = rows.T
    assert question.tolist() == [1, 0, 0] and exclamation.tolist() == [0, 1, 0] and figure.tolist() == [0, 1, 0]
    assert negation.tolist() == [0, 1, 0] and again.tolist() == [0, 1, 0]
    assert length[2] == pytest.approx(2 / 140)


def test_binary_scores_by_hand() -> None:
    gold = np.array([1, 1, 1, 0, 0])
    predicted = np.array([1, 1, 0, 1, 0])
    s = binary_scores(gold, predicted)
    assert (s["precision"], s["recall"], s["f1"]) == (pytest.approx(0.6667), pytest.approx(0.6667), pytest.approx(0.6667))
    assert s["macro_f1"] == pytest.approx((2 / 3 + 0.5) / 2, abs=1e-4) and s["accuracy"] == 0.6


def synthetic(flipped: str | None = None) -> tuple[np.ndarray, Complaints]:
    """Three brand domains and random tweets whose label is the sign of feature 0 (inverted in `flipped`)."""
    rng = np.random.default_rng(0)
    domains = [d for d in ("air", "bank", "shop", "random_tweet") for _ in range(40)]
    x = rng.normal(size=(len(domains), 3)).astype(np.float32)
    labels = (x[:, 0] > 0).astype(np.int64)
    labels[np.array(domains) == "random_tweet"] = 0
    x[np.array(domains) == "random_tweet", 0] = -abs(x[np.array(domains) == "random_tweet", 0])
    if flipped:
        labels[np.array(domains) == flipped] ^= 1
    return x, Complaints(tuple("t" for _ in domains), labels, tuple(domains), "sha")


def test_each_domain_is_scored_by_a_head_that_never_saw_it() -> None:
    x, data = synthetic()
    result = leave_one_domain_out(x, data)
    assert set(result["domains"]) == {"air", "bank", "shop"}, "random tweets are never a test domain"
    assert result["pooled"]["n"] == 120 and result["pooled"]["f1"] > 0.9
    x, data = synthetic(flipped="bank")
    flipped = leave_one_domain_out(x, data)
    assert flipped["domains"]["bank"]["f1"] < 0.2, "had bank been in its own training set, it would score well"


def test_a_head_round_trips_and_is_refused_for_another_encoder(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    dim = 3
    x = np.random.default_rng(1).normal(size=(60, dim + len(VADER_KEYS) + 6)).astype(np.float32)
    head = fit_complaint_head(x, (x[:, 0] > 0).astype(int), encoder="enc", meta={"note": "test"})
    path = head.save(tmp_path / "complaint.npz")
    loaded = load_complaint_head("enc", path, dim=dim)
    assert loaded is not None and np.allclose(loaded.coef, head.coef) and loaded.meta == {"note": "test"}
    with caplog.at_level(logging.WARNING):
        assert load_complaint_head("other-encoder", path) is None
        assert load_complaint_head("enc", path, dim=dim + 1) is None
        assert load_complaint_head("enc", tmp_path / "missing.npz") is None
    assert "zero-shot" in caplog.text


def test_a_changed_corpus_is_refused(tmp_path: Path) -> None:
    (tmp_path / COMPLAINTS_FILE).write_text("1,my bag is lost,1,transport\n")
    with pytest.raises(ConfigError, match="is not the pinned"):
        load_complaints(tmp_path)
    with pytest.raises(ConfigError, match="complaints-social-media"):
        load_complaints(tmp_path / "nowhere")


def test_the_shipped_head_is_for_the_shipped_encoder_and_says_where_it_came_from() -> None:
    head = load_complaint_head(DEFAULT_MODEL, dim=384)
    assert isinstance(head, ComplaintHead)
    assert head.meta["data"]["sha256"] == COMPLAINTS_SHA256 and head.meta["data"]["rows"] == 3449
    assert head.meta["leave_one_domain_out"]["pooled"]["f1"] >= 0.75, "docs/model.md reports it"
    assert default_head_path().stat().st_size < 100_000


@pytest.mark.skipif(not (SHARED / COMPLAINTS_FILE).exists(), reason="needs ../shared/data/complaints")
def test_the_corpus_reads_as_its_readme_says() -> None:
    data = load_complaints(SHARED)
    assert len(data.texts) == 3449 and int(data.labels.sum()) == 1232
    assert len(data.brand_domains()) == 9 and "random_reply" not in data.brand_domains()
