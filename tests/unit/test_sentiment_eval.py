"""`earful eval`'s CSV reading and JSON shape, with a fake scorer standing in for the model."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import InvalidInput
from sentiment.job import evaluate_csv


class FakeScorer:
    version = "fake-1"

    def labels(self, texts: list[str]) -> list[str]:
        return ["negative" if "bad" in t else "positive" for t in texts]


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "labelled.csv"
    path.write_text(body, encoding="utf-8")
    return path


def test_json_shape_has_both_scorers(tmp_path: Path) -> None:
    path = write(tmp_path, "tweet,gold\nI love this,POSITIVE\nthis is bad,negative\nit is a chair,Neutral\n")
    result = evaluate_csv(path, "tweet", "gold", FakeScorer())
    assert result["n"] == 3
    for name in ("model", "vader"):
        assert set(result[name]) >= {"macro_f1", "macro_recall", "accuracy", "per_class", "texts_per_s", "confusion"}
        assert set(result[name]["per_class"]) == {"negative", "neutral", "positive"}
    assert result["model"]["accuracy"] == pytest.approx(2 / 3, abs=1e-4)
    # "it is a chair" (neutral) is called positive: recall 1, 0, 1 per class
    assert result["model"]["macro_recall"] == pytest.approx(2 / 3, abs=1e-4)


def test_missing_column_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "text,label\nhi,positive\n")
    with pytest.raises(InvalidInput, match=r"no column 'tweet'; the header has 'text', 'label'"):
        evaluate_csv(path, "tweet", "label", FakeScorer())


def test_unknown_label_names_row_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "text,label\nfine,positive\nmeh,mixed\n")
    with pytest.raises(InvalidInput, match=r"row 3, column 'label': unknown label 'mixed'"):
        evaluate_csv(path, "text", "label", FakeScorer())


def test_empty_text_names_row_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, 'text,label\nfine,positive\n"  ",neutral\n')
    with pytest.raises(InvalidInput, match=r"row 3, column 'text': empty text"):
        evaluate_csv(path, "text", "label", FakeScorer())
