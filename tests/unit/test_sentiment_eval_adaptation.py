"""`earful eval FILE` adapts the way production adapts one brand's stream: over the file's rows, or
per `--group-col` group, with the small-group guard; `--no-adapt` leaves the model's own labels."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pytest

from core.config import AdaptationConfig
from core.errors import InvalidInput
from sentiment.adaptation import BasePriors
from sentiment.job import evaluate_csv

# The model's own probabilities (negative, neutral, positive) per kind of text.
KINDS = {"clear": (0.80, 0.15, 0.05), "factual": (0.40, 0.45, 0.15), "calm": (0.10, 0.70, 0.20),
         "glad": (0.05, 0.15, 0.80)}


class FakeScorer:
    version = "fake-1"
    base_priors = BasePriors((1 / 3, 1 / 3, 1 / 3), "uniform, by hand")

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([KINDS[t.split()[0]] for t in texts])

    def labels(self, texts: Sequence[str]) -> list[str]:
        return [("negative", "neutral", "positive")[int(np.argmax(KINDS[t.split()[0]]))] for t in texts]


def write(tmp_path: Path, rows: list[tuple[str, str, str]]) -> Path:
    path = tmp_path / "labelled.csv"
    path.write_text("text,label,brand\n" + "".join(f"{t},{label},{b}\n" for t, label, b in rows))
    return path


def care_and_calm(tmp_path: Path) -> Path:
    # Brand "care": complaints, many of them factual (the model reads those as neutral);
    # brand "calm": mostly neutral chatter, and its factual-looking texts are neutral too.
    return write(tmp_path, [("clear x", "negative", "care")] * 60 + [("factual x", "negative", "care")] * 30
                 + [("glad x", "positive", "care")] * 10
                 + [("calm x", "neutral", "calm")] * 60 + [("factual x", "neutral", "calm")] * 20
                 + [("glad x", "positive", "calm")] * 20)


def test_adapting_per_group_finds_the_factual_complaints_of_the_care_brand_only(tmp_path: Path) -> None:
    result = evaluate_csv(care_and_calm(tmp_path), "text", "label", FakeScorer(), group_col="brand",
                          adaptation=AdaptationConfig(min_mentions=50))
    own, adapted = result["model"], result["adapted"]
    # Own: the 30 factual complaints read neutral. Adapted: care's are negative, calm's stay neutral.
    assert own["confusion"]["negative"]["neutral"] == 30 and own["confusion"]["neutral"]["negative"] == 0
    assert adapted["confusion"]["negative"]["negative"] == 90 and adapted["confusion"]["neutral"]["negative"] == 0
    assert adapted["macro_f1"] > own["macro_f1"]
    groups = {g["name"]: g for g in result["adaptation"]["groups"]}
    assert groups["care"]["adapted"] and groups["care"]["n"] == 100 and groups["care"]["mix"][0] > 0.5
    assert groups["calm"]["mix"][1] > 0.5


def test_the_whole_file_is_one_stream_without_group_col_and_the_guard_applies(tmp_path: Path) -> None:
    path = care_and_calm(tmp_path)
    whole = evaluate_csv(path, "text", "label", FakeScorer(), adaptation=AdaptationConfig(min_mentions=50))
    assert [(g["name"], g["n"]) for g in whole["adaptation"]["groups"]] == [("all rows", 200)]
    small = evaluate_csv(path, "text", "label", FakeScorer(), group_col="brand",
                         adaptation=AdaptationConfig(min_mentions=150, max_mentions=20_000))
    assert not small["adaptation"]["applied"] and small["adapted"]["confusion"] == small["model"]["confusion"]


def test_no_adapt_gives_the_models_own_labels_only(tmp_path: Path) -> None:
    result = evaluate_csv(care_and_calm(tmp_path), "text", "label", FakeScorer())
    assert "adapted" not in result and result["model"]["confusion"]["negative"]["neutral"] == 30


def test_a_missing_group_column_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no column 'segment'"):
        evaluate_csv(care_and_calm(tmp_path), "text", "label", FakeScorer(), group_col="segment",
                     adaptation=AdaptationConfig())


def test_heads_without_a_training_mix_say_why_they_were_not_adapted(tmp_path: Path) -> None:
    scorer = FakeScorer()
    scorer.base_priors = None  # type: ignore[assignment]
    result = evaluate_csv(care_and_calm(tmp_path), "text", "label", scorer, adaptation=AdaptationConfig())
    assert result["adapted"] is None and "unknown" in result["adaptation"]["why"]
