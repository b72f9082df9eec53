"""`earful eval --tweeteval` and `earful train` as a user runs them, with stand-ins for the slow parts
(the encoder, the downloaded corpora) so the commands' own output is what is tested."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import sentiment.data
import sentiment.encoder
import sentiment.heads
import sentiment.scorer
from core.cli import app
from tests.fakes.encoder import HashingEncoder
from tests.integration.test_sentiment_training import RATED

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tweet-sentiment"


class KeywordScorer:
    """Negative on complaint words, positive on praise, else neutral: a known confusion matrix."""

    version = "keyword-1"

    def labels(self, texts: list[str]) -> list[str]:
        def one(text: str) -> str:
            lower = text.lower()
            if any(w in lower for w in ("crash", "nobody", "waiting")):
                return "negative"
            return "positive" if any(w in lower for w in ("best", "brilliant", "thank")) else "neutral"
        return [one(t) for t in texts]


def write_config(tmp_path: Path, tweeteval: Path | str | None, semeval: Path | str | None = None) -> Path:
    config = tmp_path / "config.yaml"
    corpora = {k: str(v) for k, v in (("tweeteval", tweeteval), ("semeval", semeval)) if v is not None}
    config.write_text(json.dumps({"database": {"url": f"sqlite:///{tmp_path / 'e.db'}"},
                                  "sentiment": {"corpora": corpora}}))
    return config


def test_eval_on_tweeteval_prints_recall_per_class_and_the_confusion_matrix(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sentiment.scorer.Scorer, "from_settings", classmethod(lambda cls, conf, *args, **kwargs: KeywordScorer()))
    result = CliRunner().invoke(app, ["--config", str(write_config(tmp_path, FIXTURE / "tweeteval-2017")),
                                      "eval", "--tweeteval"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "TweetEval sentiment test" in out and "macro-recall" in out
    assert "TimeLMs-2021 (published)" in out and "0.737" in out
    # gold: neutral, positive, negative, neutral, negative, positive; the first (neutral) is called negative
    model = out[out.index("keyword-1): per class"):out.index("VADER (compound ±0.05): per class")]
    per_class, confusion = (cells(part) for part in model.split("confusion matrix"))
    assert per_class["negative"][:2] == ["0.6667", "1.0000"]  # precision, recall
    assert per_class["neutral"][1] == "0.5000" and per_class["positive"][1] == "1.0000"
    assert confusion["neutral"] == ["1", "1", "0"]  # gold neutral: one called negative, one neutral
    assert confusion["negative"] == ["2", "0", "0"] and confusion["positive"] == ["0", "0", "2"]


def cells(table: str) -> dict[str, list[str]]:
    """A rich table's body rows: first cell -> the others."""
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in table.splitlines() if line.count("│") >= 3]
    return {row[0]: row[1:] for row in rows}


def test_eval_of_a_csv_prints_the_same_tables_without_a_leaderboard(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sentiment.scorer.Scorer, "from_settings", classmethod(lambda cls, conf, *args, **kwargs: KeywordScorer()))
    labelled = tmp_path / "mine.csv"
    labelled.write_text("text,label\nthe app keeps crashing,negative\nbest crew ever,positive\nstill waiting,neutral\n")
    result = CliRunner().invoke(app, ["--config", str(write_config(tmp_path, None)), "eval", str(labelled)])
    assert result.exit_code == 0, result.output
    assert "published" not in result.output and "n = 3" in result.output
    out = result.output
    model = out[out.index("keyword-1): per class"):out.index("VADER (compound ±0.05): per class")]
    per_class, confusion = (cells(part) for part in model.split("confusion matrix"))
    assert per_class["neutral"][1] == "0.0000" and confusion["neutral"] == ["1", "0", "0"]


def test_eval_json_carries_the_official_metric(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sentiment.scorer.Scorer, "from_settings", classmethod(lambda cls, conf, *args, **kwargs: KeywordScorer()))
    result = CliRunner().invoke(app, ["--config", str(write_config(tmp_path, FIXTURE / "tweeteval-2017")),
                                      "eval", "--tweeteval", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["benchmark"]["metric"] == "macro_recall" and data["n"] == 6
    assert data["model"]["macro_recall"] == pytest.approx((1.0 + 0.5 + 1.0) / 3, abs=1e-4)


def test_eval_without_the_tweeteval_folder_says_where_to_obtain_it(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--config", str(write_config(tmp_path, tmp_path / "absent")),
                                      "eval", "--tweeteval"])
    assert result.exit_code == 2
    assert "sentiment.corpora.tweeteval" in result.output and "cardiffnlp/tweeteval" in result.output
    both = CliRunner().invoke(app, ["--config", str(write_config(tmp_path, None)), "eval"])
    assert both.exit_code == 2 and "either a FILE or --tweeteval" in both.output


def test_train_without_the_semeval_folder_says_the_model_is_weaker(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sentiment.encoder, "Encoder", lambda *args, **kwargs: HashingEncoder())
    monkeypatch.setattr(sentiment.data, "load_corpora", lambda cache_dir=None: RATED)
    monkeypatch.setattr(sentiment.data, "default_cache_dir", lambda: tmp_path / "cache")
    monkeypatch.setattr(sentiment.heads, "HEADS_DIR", tmp_path / "heads")
    result = CliRunner().invoke(app, ["--config", str(write_config(tmp_path, None, "no-tweets-here")), "train"])
    assert result.exit_code == 0, result.output
    assert "training without the SemEval tweets" in result.output and "weaker on real tweets" in result.output
    assert str(tmp_path / "no-tweets-here") in result.output.replace("\n", "")  # relative to the config file
    assert "now in use" in result.output
    # Written into the data directory beside the config file; the (stand-in) package folder is left alone.
    assert (tmp_path / "earful-data" / "models" / "CURRENT").exists() and not (tmp_path / "heads").exists()


def test_train_with_the_semeval_folder_reports_what_it_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sentiment.encoder, "Encoder", lambda *args, **kwargs: HashingEncoder())
    monkeypatch.setattr(sentiment.data, "load_corpora", lambda cache_dir=None: RATED)
    monkeypatch.setattr(sentiment.data, "default_cache_dir", lambda: tmp_path / "cache")
    monkeypatch.setattr(sentiment.heads, "HEADS_DIR", tmp_path / "heads")
    config = write_config(tmp_path, FIXTURE / "tweeteval-2017", FIXTURE / "semeval2013-2016")
    result = CliRunner().invoke(app, ["--config", str(config), "train"])
    assert result.exit_code == 0, result.output
    assert "weaker" not in result.output
    assert "SemEval tweets: 16 read, 11 kept" in result.output
    assert "semeval" in result.output.split("SemEval tweets:")[1]  # its held-out row
