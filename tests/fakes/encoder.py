"""A sentence encoder stand-in: hashed bags of words, so training and scoring run in milliseconds.

Texts that share words get similar vectors (enough for tiny training sets to be learnable), and
the same text always gets the same vector, as with the real encoder.
"""

from __future__ import annotations

import hashlib
from typing import Sequence

import numpy as np


class HashingEncoder:
    name = "hashing-fake"
    max_length = 64
    batch_size = 16
    dim = 64
    runtime = "fake"
    quantized = False

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, int(hashlib.md5(word.strip(".,!?").encode()).hexdigest(), 16) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-9)
