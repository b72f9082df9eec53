"""`earful train` fits the heads' temperature on the held-out splits and stores it; the scorer
returns softmax(logits / T) everywhere (the model's own and the adapted probabilities, and
`probabilities` for eval); the class priors adaptation divides out are those of the calibrated
probabilities; `earful eval` reports the ECE at T = 1 and at T. Tiny corpora, a hashing encoder."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import sentiment.scorer
import sentiment.train
from core.cli import app
from core.config import CorporaConfig, SentimentConfig
from sentiment import features
from sentiment.calibration import fit_temperature, softmax
from sentiment.data import split
from sentiment.heads import Heads, load_heads
from sentiment.job import evaluate_labelled, train_command
from sentiment.postprocess import LABELS
from sentiment.priors import adjust
from sentiment.scorer import ScoreInput, Scorer
from sentiment.train import MIN_CALIBRATION_TEXTS, TWEET_WEIGHT, DevSplit, calibrate, dense_features, effective_priors
from sentiment.tweets import training_tweets
from tests.fakes.corpora import RATED
from tests.fakes.encoder import HashingEncoder

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tweet-sentiment"
T = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)
CONF = SentimentConfig(corpora=CorporaConfig(semeval=str(FIXTURE / "semeval2013-2016"),
                                             tweeteval=str(FIXTURE / "tweeteval-2017")))
TEXTS = ["terrible, I hate it", "it is a blue box", "great service, thank you", "broke after a day, useless"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Heads, Path]:
    # The five held-out texts of the tiny corpora are too few for the product's guard: lower it, so
    # a temperature is fitted (the guard itself is tested below).
    tmp = tmp_path_factory.mktemp("calibration")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sentiment.train, "MIN_CALIBRATION_TEXTS", 1)
        result = train_command(CONF, None, now=T, cache_dir=tmp / "cache", heads_dir=tmp / "heads",
                               encoder=HashingEncoder(), corpora=RATED, rescore_days=0)
    return result, load_heads(folder=tmp / "heads"), tmp / "heads"


def heads_logits(heads: Heads, texts: list[str]) -> np.ndarray:
    dense = dense_features(HashingEncoder().encode(texts), texts)
    return heads.sentiment_logits(dense, features.tfidf(features.hashed_counts(texts), heads.idf))


def heldout() -> tuple[list[str], np.ndarray]:
    """The development split train_command makes: each corpus's held-out texts, then SemEval's."""
    rows = [e for examples in RATED.values() for e in split(examples)[1]] + list(training_tweets(CONF.corpora).heldout)
    return [r.text for r in rows], np.array([LABELS.index(r.label) for r in rows])


def test_training_stores_the_temperature_fitted_on_the_heldout_splits(trained: tuple[dict[str, Any], Heads, Path]) -> None:
    result, heads, _ = trained
    stored = heads.meta["calibration"]
    assert result["calibration"] == stored and stored["fitted"]
    assert stored["fitted_on"] == {"split": "held-out", "corpora": {"tweets": 2, "amazon": 2, "semeval": 1}, "n": 5}
    texts, gold = heldout()
    assert heads.temperature == stored["temperature"] != 1.0
    assert heads.temperature == pytest.approx(fit_temperature(heads_logits(heads, texts), gold), rel=1e-4)
    assert stored["ece_after"] <= stored["ece_before"] and stored["bins"] == 15


def test_the_scorer_returns_softmax_of_the_logits_over_the_temperature(trained: tuple[dict[str, Any], Heads, Path]) -> None:
    _, heads, _ = trained
    scorer = Scorer.with_heads(HashingEncoder(), heads, CONF)
    calibrated = softmax(heads_logits(heads, TEXTS), heads.temperature)
    assert not np.allclose(calibrated, softmax(heads_logits(heads, TEXTS)), atol=1e-3)  # the temperature matters
    assert scorer.probabilities(TEXTS) == pytest.approx(calibrated, abs=1e-6)
    results = scorer.score([ScoreInput(t) for t in TEXTS])
    own = np.array([[r.raw_p_negative, r.raw_p_neutral, r.raw_p_positive] for r in results])
    used = np.array([[r.p_negative, r.p_neutral, r.p_positive] for r in results])
    assert own == pytest.approx(calibrated, abs=1e-6) and used == pytest.approx(calibrated, abs=1e-6)
    # Adapted to a brand's mix: Bayes' rule from the calibrated probabilities and the calibrated priors.
    mix = (0.6, 0.25, 0.15)
    adapted = scorer.score([ScoreInput(t, priors=mix) for t in TEXTS])
    expected = adjust(calibrated, heads.meta["class_priors"], mix)
    assert np.array([[r.p_negative, r.p_neutral, r.p_positive] for r in adapted]) == pytest.approx(expected, abs=1e-6)
    assert [r.raw_p_negative for r in adapted] == pytest.approx(calibrated[:, 0].tolist(), abs=1e-6)


def test_the_class_priors_are_the_mean_calibrated_probability_over_the_training_rows(
        trained: tuple[dict[str, Any], Heads, Path]) -> None:
    _, heads, _ = trained
    rated = [e for examples in RATED.values() for e in split(examples)[0]]
    tweets = training_tweets(CONF.corpora).train
    texts = [e.text for e in rated] + [t.text for t in tweets]
    weights = np.array([1.0] * len(rated) + [TWEET_WEIGHT] * len(tweets))
    logits = heads_logits(heads, texts)
    assert heads.meta["class_priors"] == pytest.approx(effective_priors(softmax(logits, heads.temperature), weights),
                                                       abs=1e-5)
    assert heads.meta["class_priors"] != pytest.approx(effective_priors(softmax(logits), weights), abs=1e-3)


def test_heads_without_a_temperature_score_at_one(trained: tuple[dict[str, Any], Heads, Path]) -> None:
    _, heads, _ = trained
    older = replace(heads, meta={k: v for k, v in heads.meta.items() if k != "calibration"})
    assert older.temperature == 1.0
    scorer = Scorer.with_heads(HashingEncoder(), older, CONF)
    assert scorer.probabilities(TEXTS) == pytest.approx(softmax(heads_logits(heads, TEXTS)), abs=1e-6)


def test_too_few_heldout_texts_leave_the_temperature_at_one(trained: tuple[dict[str, Any], Heads, Path]) -> None:
    _, heads, _ = trained
    texts, gold = heldout()
    dev = DevSplit(dense_features(HashingEncoder().encode(texts), texts), texts, [LABELS[i] for i in gold], {"all": 5})
    assert MIN_CALIBRATION_TEXTS > len(texts)
    found = calibrate(heads, dev)
    assert not found["fitted"] and found["temperature"] == 1.0 and found["ece_after"] == found["ece_before"]
    assert replace(heads, meta=heads.meta | {"calibration": found}).temperature == 1.0


def test_eval_reports_the_calibration_before_and_after_the_temperature(trained: tuple[dict[str, Any], Heads, Path]) -> None:
    _, heads, _ = trained
    texts, gold = heldout()
    labels = [LABELS[i] for i in gold]
    figures = evaluate_labelled(texts, labels, Scorer.with_heads(HashingEncoder(), heads, CONF))["calibration"]
    assert figures["temperature"] == heads.temperature and figures["fitted_on"]["n"] == 5
    # On the split it was fitted on, eval's figures are the ones training stored.
    stored = heads.meta["calibration"]
    assert (figures["before"]["ece"], figures["after"]["ece"]) == (stored["ece_before"], stored["ece_after"])
    assert figures["after"]["nll"] == stored["nll_after"] < figures["before"]["nll"]


def test_earful_eval_heads_reads_the_given_file_and_prints_the_calibration(
        trained: tuple[dict[str, Any], Heads, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, heads, folder = trained
    monkeypatch.setattr(sentiment.scorer, "encoder_from_settings", lambda conf, cache_dir=None: HashingEncoder())
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({"database": {"url": f"sqlite:///{tmp_path / 'e.db'}"},
                                  "sentiment": {"corpora": {"tweeteval": str(FIXTURE / "tweeteval-2017")}}}))
    path = folder / f"{heads.version}.npz"
    as_json = CliRunner().invoke(app, ["--config", str(config), "eval", "--tweeteval", "--heads", str(path), "--json"])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    assert data["model_version"] == heads.version and data["calibration"]["temperature"] == heads.temperature
    assert set(data["calibration"]["before"]) == {"ece", "classwise_ece", "nll", "reliability"}
    shown = CliRunner().invoke(app, ["--config", str(config), "eval", "--tweeteval", "--heads", str(path)])
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.output.split())
    assert f"ECE {data['calibration']['before']['ece']:.4f} before (T = 1), {data['calibration']['after']['ece']:.4f} after" in text
    assert "fitted by earful train on the held-out split, 5 texts" in text and "reliability" in text
    missing = CliRunner().invoke(app, ["--config", str(config), "eval", "--tweeteval", "--heads", str(tmp_path / "x.npz")])
    assert missing.exit_code == 2 and "no such heads file" in missing.output
