"""`earful train` with and without the SemEval tweets, on tiny corpora and a hashing encoder (real
sklearn fitting, files and checksums): what it learns from, what it says, and what the heads file
records for prior adaptation (`class_priors`)."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from core.config import CorporaConfig, SentimentConfig
from sentiment.data import split
from sentiment.heads import load_heads
from sentiment.job import train_command
from sentiment.train import MIX, TWEET_WEIGHT
from tests.fakes.corpora import RATED
from tests.fakes.encoder import HashingEncoder

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tweet-sentiment"
T = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)


def conf(semeval: Path | None, tweeteval: Path | None = None) -> SentimentConfig:
    return SentimentConfig(corpora=CorporaConfig(semeval=str(semeval) if semeval else None,
                                                 tweeteval=str(tweeteval) if tweeteval else None))


def train(tmp_path: Path, settings: SentimentConfig, *, now: datetime = T, force: bool = False) -> dict[str, Any]:
    return train_command(settings, None, now=now, cache_dir=tmp_path / "cache", heads_dir=tmp_path / "heads",
                         encoder=HashingEncoder(), corpora=RATED, rescore_days=0, force=force)


def test_training_without_the_semeval_folder_works_and_says_it_is_weaker(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="sentiment.tweets"):
        result = train(tmp_path, conf(tmp_path / "no-such-folder"))
    assert result["accepted"] and result["tweets"] is None
    assert "weaker" in str(result["weaker"]) and "no-such-folder" in str(result["weaker"])
    assert any("weaker" in r.getMessage() for r in caplog.records)
    assert set(result["heldout"]) == {"tweets", "amazon", "mean"}
    heads = load_heads(folder=tmp_path / "heads")
    assert heads.meta["sources"] == {"rated": 16, "tweets": 0, "corrections": 0}
    priors = heads.meta["class_priors"]
    assert len(priors) == 3 and sum(priors) == pytest.approx(1.0, abs=1e-5) and min(priors) > 0
    labels = [e.label for examples in RATED.values() for e in split(examples)[0]]
    shares = [labels.count(label) / len(labels) for label in ("negative", "neutral", "positive")]
    assert heads.meta["training_distribution"] == pytest.approx(shares, abs=1e-6)


def test_training_with_the_semeval_folder_learns_from_its_tweets_and_holds_some_out(tmp_path: Path) -> None:
    result = train(tmp_path, conf(FIXTURE / "semeval2013-2016", FIXTURE / "tweeteval-2017"))
    assert result["weaker"] is None
    assert result["tweets"]["kept"] == 11 and result["tweets"]["in_tweeteval"] == 1
    assert result["heldout"]["semeval"]["n"] == 1  # 10 % of 11
    heads = load_heads(folder=tmp_path / "heads")
    assert heads.meta["sources"]["tweets"] == 10
    assert heads.meta["tweets"]["files"]["twitter-2016test-A.txt"] == (
        (FIXTURE / "SHA256SUMS").read_text().split("semeval2013-2016/twitter-2016test-A.txt")[0].split()[-1])
    assert sum(heads.meta["class_priors"]) == pytest.approx(1.0, abs=1e-5) and len(heads.meta["class_priors"]) == 3
    assert heads.meta["tweet_weight"] == TWEET_WEIGHT and heads.mix == MIX


def test_heads_that_learnt_from_tweets_are_not_replaced_by_heads_that_did_not(tmp_path: Path) -> None:
    first = train(tmp_path, conf(FIXTURE / "semeval2013-2016", FIXTURE / "tweeteval-2017"))
    assert first["accepted"]
    later = train(tmp_path, conf(None), now=T.replace(hour=13))
    assert not later["accepted"] and later["kept_for_tweets"]
    assert load_heads(folder=tmp_path / "heads").version == first["version"]
    forced = train(tmp_path, conf(None), now=T.replace(hour=14), force=True)
    assert forced["accepted"] and load_heads(folder=tmp_path / "heads").version == forced["version"]
