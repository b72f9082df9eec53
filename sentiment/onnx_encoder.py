"""The encoder run by ONNX Runtime: the CPU scoring path (`sentiment.runtime: onnx`, or `auto` on CPU).

The same weights as `sentiment.encoder.Encoder`, exported once to ONNX and, with
`sentiment.quantize: int8`, given dynamic int8 weights (per output channel) by
`onnxruntime.quantization`. On the project's 2-core machine this encodes faster than torch's own
dynamic int8 and stays closer to fp32 (docs/model.md has both figures). Training never uses it.

The exported file lives in the per-user cache (`~/.cache/earful/onnx/`), named by the model and a
hash of everything that changes the export: the weights on disk, the torch, transformers, onnx and
onnxruntime versions, the quantisation and this module's recipe. The first scorer to need a file
exports it (a few seconds; written to a temporary file and renamed, so two processes racing do no
harm); later ones load it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ConfigError
from sentiment.encoder import DEFAULT_MODEL, BatchedEncoder, load_pretrained, resolve_model

log = logging.getLogger(__name__)
# Bump when the export or quantisation below changes, so cached files are rebuilt.
RECIPE = 1
OPSET = 17
INPUTS = ("input_ids", "attention_mask")
OUTPUT = "last_hidden_state"
_VERSIONED = ("torch", "transformers", "onnx", "onnxruntime")


def default_onnx_cache() -> Path:
    from sentiment.data import default_cache_dir

    return default_cache_dir() / "onnx"


def export_key(model: str, quantize: str) -> str:
    """Everything the exported file depends on, as one short hash."""
    source, local = resolve_model(model)
    weights: list[tuple[str, int, int]] = []
    if local and Path(source).is_dir():
        weights = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in Path(source).iterdir() if p.is_file())
    versions = {name: _version(name) for name in _VERSIONED}
    blob = json.dumps([RECIPE, OPSET, model, source, weights, versions, quantize], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def cached_model_path(model: str, quantize: str, cache_dir: Path) -> Path:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(model).name or model).strip("_") or "model"
    return cache_dir / f"{slug}-{'int8' if quantize == 'int8' else 'fp32'}-{export_key(model, quantize)}.onnx"


def ensure_onnx_model(model: str, quantize: str, cache_dir: Path | None = None) -> tuple[Path, bool]:
    """(path of the ONNX file for `model`, whether it was exported now rather than found in the cache)."""
    path = cached_model_path(model, quantize, cache_dir or default_onnx_cache())
    if path.exists():
        return path, False
    path.parent.mkdir(parents=True, exist_ok=True)
    log.info("exporting %s to ONNX (%s), once, into %s", model, "int8" if quantize == "int8" else "fp32", path)
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=path.parent))
    try:
        fp32 = work / "fp32.onnx"
        export_onnx(model, fp32)
        done = fp32
        if quantize == "int8":
            done = work / "int8.onnx"
            quantize_int8(fp32, done)
        os.replace(done, path)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return path, True


def export_onnx(model: str, target: Path) -> None:
    """The torch model's last hidden state as an ONNX graph with dynamic batch and sequence axes.

    The TorchScript exporter (`dynamo=False`) needs nothing beyond torch and works offline. Eager
    attention exports as plain MatMul/Softmax, which ONNX Runtime fuses and runs faster than the
    exported scaled-dot-product attention.
    """
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = load_pretrained(model, AutoTokenizer)
    network = load_pretrained(model, AutoModel, attn_implementation="eager").eval().float()  # fp16 folders too
    sample = tokenizer(["a short text", "a somewhat longer text to export the encoder with"], padding=True, return_tensors="pt")
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, OUTPUT)}
    try:
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
            torch.onnx.export(
                _last_hidden_state(network), tuple(sample[name] for name in INPUTS), str(target),
                input_names=list(INPUTS), output_names=[OUTPUT], dynamic_axes=axes, opset_version=OPSET,
                dynamo=False,
            )
    except Exception as exc:  # any exporter failure means the same thing to the user
        raise ConfigError(
            f"cannot export model {model!r} to ONNX ({type(exc).__name__}: {exc}); "
            "set sentiment.runtime to torch to score with torch instead",
            key="sentiment.runtime",
        ) from exc


def quantize_int8(source: Path, target: Path) -> None:
    """Dynamic int8 weights for every MatMul with a constant weight, one scale per output channel.

    Per-tensor scales lose too much on this encoder (cosine to fp32 as low as 0.83); per channel it
    stays above 0.96 on every text of the benchmark mix. No optimiser pass before it: ONNX Runtime's
    own graph optimisations at load time are faster here than an offline-fused graph.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(source, target, weight_type=QuantType.QInt8, per_channel=True)


class OnnxEncoder(BatchedEncoder):
    """Mean-pooled, L2-normalised sentence embeddings from the exported encoder, on CPU."""

    runtime = "onnx"

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        max_length: int = 128,
        batch_size: int = 64,
        threads: int | None = None,
        quantize: str = "int8",
        cache_dir: Path | None = None,
        spin_wait: bool = False,
    ) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise ConfigError(
                "sentiment.runtime onnx needs the onnxruntime package; reinstall Earful "
                "(`pip install -e .`) or set sentiment.runtime to torch",
                key="sentiment.runtime",
            ) from None
        from transformers import AutoTokenizer

        self.tokenizer = load_pretrained(model, AutoTokenizer)
        self.path, self.exported = ensure_onnx_model(model, quantize, cache_dir)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only; its warnings are about fusions it chose not to do
        # With spin_wait (sentiment.spin_wait) the intra-op threads spin briefly for the next parallel
        # section before they sleep: 8-12 % more texts/s for the scorer alone on 2 cores (bench/score.py).
        # Off (the default), they sleep at once and leave the cores between batches to PostgreSQL and
        # the job's own Python work: the scoring job on PostgreSQL ran 5 % faster so (bench/scaleout.py).
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin_wait else "0")
        self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        self.name = model
        self.max_length = max_length
        self.batch_size = batch_size
        self.quantized = quantize == "int8"
        self.spin_wait = spin_wait
        self.dim = _hidden_size(self.session, model)

    def hidden_states(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        return self.session.run([OUTPUT], {name: batch[name] for name in INPUTS})[0]


def _last_hidden_state(network: Any) -> Any:
    """The model as the exporter wants it: positional tensors in, one tensor out."""
    import torch

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.network = network

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            return self.network(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    return LastHiddenState().eval()


def _hidden_size(session: Any, model: str) -> int:
    width = session.get_outputs()[0].shape[-1]
    if isinstance(width, int):
        return width
    from transformers import AutoConfig

    return int(load_pretrained(model, AutoConfig).hidden_size)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "-"
