"""`earful train --fine-tune` on the tiny rated corpus: a run stopped part way resumes from its
checkpoint at the same data position and ends with the same weights as a run never stopped; the
wall-time bound stops a run with a checkpoint; the saved folder (fp16 when over the size limit)
loads as `sentiment.model` and exports to ONNX.

The encoder is a small BERT (2 layers, width 32) with all-MiniLM-L6-v2's tokenizer, built with a
fixed seed into a model folder: the same code path as the real encoder (a local folder named by
`sentiment.model`), at a few milliseconds a step.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from core.config import FineTuneConfig, SentimentConfig
from sentiment.data import split
from sentiment.postprocess import LABELS
from tests.fakes.corpora import RATED

torch = pytest.importorskip("torch")
from sentiment import fine_tune as ft  # noqa: E402

SETTINGS = FineTuneConfig(epochs=2, batch_size=4, max_length=16, checkpoint_every=3, learning_rate=1e-3,
                          head_learning_rate=1e-2)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    from transformers import AutoTokenizer, BertConfig, BertModel

    from sentiment.encoder import packaged_model_dir

    folder = tmp_path_factory.mktemp("tiny-bert")
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=64)).save_pretrained(folder)
    AutoTokenizer.from_pretrained(packaged_model_dir()).save_pretrained(folder)
    return str(folder)


def training_texts() -> list[ft.TrainingText]:
    train = [e for examples in RATED.values() for e in split(examples)[0]]
    return [ft.TrainingText(e.text, LABELS.index(e.label), 1.0 if i % 3 else 0.35) for i, e in enumerate(train)]


def weights(classifier: ft.Classifier) -> dict[str, Any]:
    return {k: v.detach().clone() for k, v in classifier.state_dict().items()}


@pytest.fixture(scope="module")
def uninterrupted(tiny_model: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[ft.Outcome, dict[str, Any]]:
    outcome, classifier, _ = ft.fine_tune(tiny_model, training_texts(), SETTINGS, threads=1,
                                          checkpoint_dir=tmp_path_factory.mktemp("whole"))
    return outcome, weights(classifier)


def test_a_stopped_run_resumes_to_the_same_weights(tiny_model: str, uninterrupted: Any, tmp_path: Path) -> None:
    whole, whole_weights = uninterrupted
    assert whole.finished and whole.step == whole.total_steps == 8 and whole.steps_per_epoch == 4  # 16 texts by 4
    stop = threading.Event()
    seen: list[tuple[int, int]] = []

    def on_step(done: int, total: int, loss: float) -> None:
        seen.append((done, total))
        if done == 5:  # mid second epoch, between two periodic checkpoints (3 and 6)
            stop.set()

    first, _, _ = ft.fine_tune(tiny_model, training_texts(), SETTINGS, threads=1, checkpoint_dir=tmp_path,
                               stop=stop, on_step=on_step)
    assert (first.finished, first.stopped_by, first.step) == (False, "stop", 5)
    assert first.checkpoint is not None and first.checkpoint.name == "step-00000005.pt"
    assert [p.name for p in first.checkpoint.parent.iterdir()] == [first.checkpoint.name]  # older ones removed
    assert first.losses == whole.losses[:5]

    second, classifier, _ = ft.fine_tune(tiny_model, training_texts(), SETTINGS, threads=1, checkpoint_dir=tmp_path,
                                         on_step=on_step)
    assert second.resumed_from == 5 and second.finished and second.step == 8
    assert seen == [(n, 8) for n in range(1, 9)]  # steps 6 to 8 only, after the first five
    assert second.losses == whole.losses  # the same batches in the same order, the same dropout
    resumed = weights(classifier)
    assert resumed.keys() == whole_weights.keys()
    for name, tensor in whole_weights.items():
        assert torch.equal(resumed[name], tensor), name
    moved = [k for k, v in resumed.items() if k.startswith("encoder.") and not torch.equal(v, _initial(tiny_model)[k])]
    assert moved, "the encoder's weights did not change: it was not fine-tuned"


def _initial(model: str) -> dict[str, Any]:
    from transformers import AutoModel

    return {f"encoder.{k}": v for k, v in AutoModel.from_pretrained(model).state_dict().items()}


def test_the_wall_time_bound_stops_the_run_with_a_checkpoint(tiny_model: str, uninterrupted: Any, tmp_path: Path) -> None:
    ticks = iter(range(0, 10_000, 20))  # each reading of the clock is 20 s after the previous one
    bounded = SETTINGS.model_copy(update={"max_minutes": 2.0})
    first, _, _ = ft.fine_tune(tiny_model, training_texts(), bounded, threads=1, checkpoint_dir=tmp_path,
                               clock=lambda: float(next(ticks)))
    assert first.stopped_by == "max_minutes" and not first.finished and 0 < first.step < 8
    assert first.checkpoint is not None and first.checkpoint.exists()
    rest, classifier, _ = ft.fine_tune(tiny_model, training_texts(), SETTINGS, threads=1, checkpoint_dir=tmp_path)
    assert rest.resumed_from == first.step and rest.finished  # max_minutes is not part of the run's fingerprint
    assert rest.losses == uninterrupted[0].losses


def test_another_seed_is_another_run(tiny_model: str, uninterrupted: Any, tmp_path: Path) -> None:
    other = SETTINGS.model_copy(update={"seed": 1, "max_steps": 2})
    outcome, _, _ = ft.fine_tune(tiny_model, training_texts(), other, threads=1, checkpoint_dir=tmp_path)
    assert outcome.total_steps == 2 and outcome.resumed_from is None
    assert outcome.fingerprint != uninterrupted[0].fingerprint
    assert outcome.losses != uninterrupted[0].losses[:2]


def test_the_bar_shows_steps_loss_and_time_left() -> None:
    from rich.console import Console

    from core.cli import training_bar

    screen = io.StringIO()
    with training_bar(Console(file=screen, force_terminal=True, width=160)) as report:
        for done in range(1, 5):
            report(done, 8, 1.0 / done)
    drawn = screen.getvalue()
    assert "fine-tuning" in drawn and "4/8" in drawn and "loss 0.2500" in drawn and "ETA" in drawn


def test_earful_train_fine_tune_saves_a_model_folder_that_loads_and_exports(
        tiny_model: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.cli import app
    from sentiment.encoder import Encoder
    from sentiment.onnx_encoder import OnnxEncoder

    monkeypatch.setattr("sentiment.data.load_corpora", lambda cache_dir=None: RATED)
    monkeypatch.setattr(ft, "MAX_FILE_BYTES", 1024 * 1024)  # the tiny encoder is 4 MB: saved in fp16, as MiniLM is
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({
        "database": {"url": f"sqlite:///{tmp_path / 'e.db'}"},
        "sentiment": {"model": tiny_model, "threads": 1, "fine_tune": {
            **SETTINGS.model_dump(exclude={"checkpoint_dir", "output_dir"}),
            "checkpoint_dir": "checkpoints", "output_dir": "models"}}}))
    run = CliRunner().invoke(app, ["--config", str(config), "train", "--fine-tune"])
    assert run.exit_code == 0, run.output
    assert f"on cpu (1 CPU threads): 16 texts, 8 steps of 4 (2.00 epochs)" in run.output  # the device, said
    assert "held-out macro-F1" in run.output and "does not beat the frozen heads" in run.output
    folder = next((tmp_path / "models").iterdir())  # relative to the config file's folder
    meta = ft.read_meta(folder)
    assert meta["weights_dtype"] == "float16" and meta["run"]["step"] == 8 and meta["run"]["device"] == "cpu"
    assert set(meta["heldout"]) == {"tweets", "amazon", "mean"} and meta["heldout"]["tweets"]["n"] == 2
    assert not meta["comparison"]["beats"]  # the committed heads are on another encoder: nothing to compare
    from safetensors import safe_open

    with safe_open(str(folder / "model.safetensors"), "pt") as weights_file:
        assert {weights_file.get_tensor(k).dtype for k in weights_file.keys()} == {torch.float16}

    texts = [e.text for e in RATED["tweets"]]
    as_model = Encoder(str(folder), max_length=16, batch_size=4, threads=1)  # what sentiment.model: <folder> loads
    assert as_model.model.dtype == torch.float32
    reference = as_model.encode(texts)
    exported = OnnxEncoder(str(folder), max_length=16, batch_size=4, threads=1, quantize="none",
                           cache_dir=tmp_path / "onnx")
    assert exported.exported
    np.testing.assert_allclose(exported.encode(texts), reference, atol=1e-4)
    int8 = OnnxEncoder(str(folder), max_length=16, batch_size=4, threads=1, quantize="int8", cache_dir=tmp_path / "onnx")
    assert ((int8.encode(texts) * reference).sum(axis=1) > 0.9).all()
    tuned = ft.FineTunedClassifier(folder, exported)
    assert tuned.labels(texts) == ft.FineTunedClassifier(folder, as_model).labels(texts)

    again = CliRunner().invoke(app, ["--config", str(config), "train", "--fine-tune"])  # finished: only measured again
    assert again.exit_code == 0 and "resuming at step 8" in again.output, again.output


def test_a_bad_fine_tune_key_names_itself(tmp_path: Path) -> None:
    from core.config import load_config
    from core.errors import ConfigError

    config = tmp_path / "config.yaml"
    config.write_text("sentiment:\n  fine_tune:\n    max_minutes: 0\n")
    with pytest.raises(ConfigError, match=r"sentiment\.fine_tune\.max_minutes"):
        load_config(config)
    config.write_text("sentiment:\n  fine_tune:\n    checkpoint_dir: ' '\n")
    with pytest.raises(ConfigError, match=r"sentiment\.fine_tune\.checkpoint_dir"):
        load_config(config)
    assert SentimentConfig().fine_tune.max_length == 64


def test_out_of_time_the_model_as_it_stands_is_saved_and_measured(tiny_model: str, tmp_path: Path) -> None:
    from datetime import datetime, timezone

    from sentiment.job import fine_tune_command

    ticks = iter(range(0, 10_000, 20))
    conf = SentimentConfig(model=tiny_model, threads=1, fine_tune=SETTINGS.model_copy(update={
        "max_minutes": 1.0, "checkpoint_dir": str(tmp_path / "checkpoints"), "output_dir": str(tmp_path / "models")}))
    result = fine_tune_command(conf, now=datetime(2026, 12, 3, 19, tzinfo=timezone.utc), cache_dir=tmp_path,
                               heads_dir=tmp_path / "no-heads", corpora=RATED, clock=lambda: float(next(ticks)))
    assert result["partial"] and result["stopped_by"] == "max_minutes" and 0 < result["step"] < 8
    assert result["version"].endswith(f"-step{result['step']}") and Path(result["checkpoint"]).exists()
    assert ft.read_meta(Path(result["model_dir"]))["run"]["partial"] is True
    assert result["heldout"]["mean"]["n"] == 4 and result["frozen_heldout"] is None
