"""The pure parts of fine-tuning (sentiment.fine_tune): each epoch's batches, the schedule, the plan,
the weights' dtype, and the frozen-vs-fine-tuned verdict, with hand-made numbers."""

from __future__ import annotations

import pytest

from core.config import FineTuneConfig

torch = pytest.importorskip("torch")
from sentiment.fine_tune import (  # noqa: E402
    CHUNK_BATCHES, MAX_FILE_BYTES, compare, epoch_batches, linear_schedule, planned_steps, weights_dtype,
)


def test_an_epoch_takes_every_text_once_in_batches_of_similar_length() -> None:
    lengths = [(i * 37) % 60 + 3 for i in range(1000)]
    batches = epoch_batches(lengths, 8, seed=0, epoch=0)
    assert sorted(i for b in batches for i in b) == list(range(1000))
    assert sum(len(b) < 8 for b in batches) <= 3  # one short batch per chunk of CHUNK_BATCHES at most
    assert all(lengths[b[0]] <= lengths[b[-1]] for b in batches)  # each sorted by token count
    chunk = 8 * CHUNK_BATCHES  # a batch spans at most a sliver of the length range
    assert max(lengths[b[-1]] - lengths[b[0]] for b in batches) < 60 * 16 / chunk + 2


def test_an_epochs_batches_are_a_function_of_seed_and_epoch() -> None:
    lengths = list(range(200))
    assert epoch_batches(lengths, 8, seed=3, epoch=1) == epoch_batches(lengths, 8, seed=3, epoch=1)
    assert epoch_batches(lengths, 8, seed=3, epoch=1) != epoch_batches(lengths, 8, seed=3, epoch=2)
    assert epoch_batches(lengths, 8, seed=3, epoch=1) != epoch_batches(lengths, 8, seed=4, epoch=1)


def test_the_schedule_warms_up_then_decays_to_zero() -> None:
    factor = linear_schedule(100, 0.1)
    assert factor(0) == pytest.approx(1 / 11) and factor(9) == pytest.approx(10 / 11)
    assert factor(10) == 1.0 and factor(55) == pytest.approx(0.5) and factor(100) == 0.0
    assert linear_schedule(10, 0.0)(0) == 1.0


def test_the_plan_is_epochs_or_max_steps() -> None:
    assert planned_steps(100, FineTuneConfig(batch_size=32, epochs=2)) == (8, 4)
    assert planned_steps(100, FineTuneConfig(batch_size=32, epochs=2, max_steps=5)) == (5, 4)
    assert planned_steps(100, FineTuneConfig(batch_size=32, epochs=2, max_steps=500)) == (8, 4)


def test_weights_over_the_file_limit_are_saved_in_fp16() -> None:
    minilm_fp32 = 22_713_216 * 4  # all-MiniLM-L6-v2's parameters: 90.9 MB in fp32, 45.4 MB in fp16
    assert weights_dtype(minilm_fp32) is torch.float16 and minilm_fp32 // 2 < MAX_FILE_BYTES
    assert weights_dtype(4_000_000) is torch.float32


FROZEN = {"tweets": {"model": 0.76, "n": 840}, "movies": {"model": 0.55, "n": 2121}, "semeval": {"model": 0.68, "n": 4785},
          "mean": {"model": 0.6633, "n": 7746}}


def test_the_verdict_needs_both_means_higher() -> None:
    better_tweets = {"tweets": {"model": 0.70, "n": 840}, "movies": {"model": 0.50, "n": 2121},
                     "semeval": {"model": 0.80, "n": 4785}, "mean": {"model": 0.6667, "n": 7746}}
    result = compare(better_tweets, FROZEN)
    rows = {r["corpus"]: r for r in result["rows"]}
    assert rows["mean (all)"]["fine_tuned"] == pytest.approx(0.6667, abs=1e-4) and rows["mean (all)"]["n"] == 7746
    assert rows["mean (vader)"] == {"corpus": "mean (vader)", "n": 2961, "frozen": 0.655, "fine_tuned": 0.6,
                                    "difference": -0.055}
    assert not result["beats"] and "mean (vader)" in result["why"] and "mean (all)" not in result["why"]
    better = {c: {"model": v["model"] + 0.01, "n": v["n"]} for c, v in FROZEN.items()}
    assert compare(better, FROZEN)["beats"]
    assert rows["tweets"]["difference"] == -0.06


def test_no_frozen_heads_no_verdict() -> None:
    assert compare(FROZEN, None) == {"rows": [], "beats": False, "why": "no frozen heads on this encoder to compare with"}
