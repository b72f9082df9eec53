"""The ONNX Runtime path with the real encoder: exported and quantised once into a temporary cache,
close to torch fp32, reused from the cache, and scoring obvious examples like the torch path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.config import SentimentConfig
from sentiment.encoder import Encoder, encoder_from_settings
from sentiment.heads import load_heads
from sentiment.scorer import ScoreInput, Scorer

pytest.importorskip("onnxruntime")
from sentiment.onnx_encoder import OnnxEncoder  # noqa: E402

TEXTS = [
    "I love this airline, the crew was wonderful and the flight was perfect!",
    "Worst service ever. They lost my bag, cancelled my flight and nobody helps.",
    "The flight departs from terminal 2 at 10:40.",
    "Does anyone know what time the lounge opens?",
    "The app is down again, I cannot log in to check in",
    "Thanks for sorting out my refund so quickly, really appreciated.",
]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def onnx_int8(cache: Path) -> OnnxEncoder:
    return OnnxEncoder(max_length=64, batch_size=4, quantize="int8", cache_dir=cache)


def test_int8_embeddings_are_close_to_torch_fp32(onnx_int8: OnnxEncoder) -> None:
    assert onnx_int8.exported and onnx_int8.quantized and onnx_int8.path.exists()
    reference = Encoder(max_length=64, batch_size=4).encode(TEXTS)
    vectors = onnx_int8.encode(TEXTS)
    assert vectors.shape == reference.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    cosine = (vectors * reference).sum(axis=1)
    assert cosine.min() > 0.98, cosine


def test_a_second_encoder_loads_the_cached_file(onnx_int8: OnnxEncoder, cache: Path) -> None:
    again = OnnxEncoder(max_length=64, batch_size=4, quantize="int8", cache_dir=cache)
    assert not again.exported and again.path == onnx_int8.path
    assert [p.name for p in cache.iterdir()] == [onnx_int8.path.name]  # no temporary files left behind
    np.testing.assert_allclose(again.encode(TEXTS[:2]), onnx_int8.encode(TEXTS[:2]), atol=1e-6)


def test_the_scorer_on_the_onnx_path_labels_obvious_examples(onnx_int8: OnnxEncoder) -> None:
    scorer = Scorer.with_heads(onnx_int8, load_heads(), SentimentConfig())
    happy, angry, flat, question, outage, _ = scorer.score([ScoreInput(t, i) for i, t in enumerate(TEXTS)])
    assert happy.sentiment == "positive" and happy.valence > 0.2
    assert angry.sentiment == "negative" and angry.valence < -0.2
    assert flat.sentiment == "neutral"
    assert question.intent == "question"
    assert "outage" in outage.topics
    assert angry.urgency > happy.urgency


def test_runtime_setting_picks_the_encoder(monkeypatch: pytest.MonkeyPatch, onnx_int8: OnnxEncoder, cache: Path) -> None:
    monkeypatch.setattr("sentiment.onnx_encoder.default_onnx_cache", lambda: cache)
    onnx = encoder_from_settings(SentimentConfig(runtime="onnx", max_length=64))
    assert isinstance(onnx, OnnxEncoder) and onnx.path == onnx_int8.path
    assert type(encoder_from_settings(SentimentConfig(runtime="torch", max_length=64))) is Encoder
    import torch

    auto = encoder_from_settings(SentimentConfig(runtime="auto", max_length=64))
    assert auto.runtime == ("torch" if torch.cuda.is_available() else "onnx")
