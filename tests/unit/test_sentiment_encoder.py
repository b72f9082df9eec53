"""The encoder's pure parts with hand-made numbers: pooling, padding, length batching, cache naming."""

from __future__ import annotations

import numpy as np
import pytest

from sentiment import onnx_encoder
from sentiment.encoder import batch_order, mean_pool, pad_batch


def test_mean_pool_averages_real_tokens_only_and_normalises() -> None:
    hidden = np.array(
        [
            [[3.0, 0.0], [0.0, 4.0], [100.0, 100.0]],  # the last token is padding
            [[1.0, 1.0], [3.0, 3.0], [2.0, 2.0]],
        ],
        dtype=np.float32,
    )
    mask = np.array([[1, 1, 0], [1, 1, 1]], dtype=np.int64)
    pooled = mean_pool(hidden, mask)
    assert pooled.dtype == np.float32 and pooled.shape == (2, 2)
    np.testing.assert_allclose(pooled[0], [0.6, 0.8], rtol=1e-6)  # mean (1.5, 2) scaled to length 1
    np.testing.assert_allclose(pooled[1], [2**-0.5, 2**-0.5], rtol=1e-6)


def test_mean_pool_leaves_an_all_padding_row_at_zero() -> None:
    pooled = mean_pool(np.ones((1, 2, 3), np.float32), np.zeros((1, 2), np.int64))
    assert np.all(np.isfinite(pooled)) and not pooled.any()


def test_pad_batch_right_pads_with_the_pad_id() -> None:
    batch = pad_batch([[101, 7, 102], [101, 102]], pad_id=0)
    assert batch["input_ids"].dtype == np.int64
    assert batch["input_ids"].tolist() == [[101, 7, 102], [101, 102, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    assert pad_batch([[5]], pad_id=1)["input_ids"].tolist() == [[5]]


def test_batch_order_groups_similar_lengths_and_keeps_every_index_once() -> None:
    lengths = [9, 2, 7, 3, 8, 1]
    batches = batch_order(lengths, 2)
    assert batches == [[5, 1], [3, 2], [4, 0]]
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))


def test_cached_file_name_changes_with_quantisation_and_library_versions(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    int8 = onnx_encoder.cached_model_path("all-MiniLM-L6-v2", "int8", tmp_path)
    fp32 = onnx_encoder.cached_model_path("all-MiniLM-L6-v2", "none", tmp_path)
    assert int8.parent == tmp_path and int8.name.startswith("all-MiniLM-L6-v2-int8-") and int8.suffix == ".onnx"
    assert fp32.name.startswith("all-MiniLM-L6-v2-fp32-") and fp32 != int8
    assert onnx_encoder.cached_model_path("all-MiniLM-L6-v2", "int8", tmp_path) == int8  # stable
    monkeypatch.setattr(onnx_encoder, "_version", lambda package: "0.0-other")
    assert onnx_encoder.cached_model_path("all-MiniLM-L6-v2", "int8", tmp_path) != int8
