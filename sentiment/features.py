"""Cheap lexical features that sit beside the sentence embedding.

The embedding carries meaning; these carry what mean pooling blurs: VADER's lexicon scores
(negation, "but", intensifiers, emoji) and a hashed, tf-idf-weighted bag of word uni- and bigrams.
Both are stateless apart from the idf vector, which is stored with the heads.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import scipy.sparse as sp

HASH_FEATURES = 2**18
VADER_KEYS = ("compound", "pos", "neg", "neu")

_vader = None


def vader() -> object:
    global _vader  # one lexicon per process: loading it takes ~50 ms
    if _vader is None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        _vader = SentimentIntensityAnalyzer()
    return _vader


def vader_features(texts: Sequence[str]) -> np.ndarray:
    analyzer = vader()
    return np.array(
        [[s[k] for k in VADER_KEYS] for s in (analyzer.polarity_scores(t) for t in texts)],  # type: ignore[attr-defined]
        dtype=np.float32,
    ).reshape(len(texts), len(VADER_KEYS))


def vader_label(compound: float) -> str:
    """VADER's own recommended thresholds."""
    if compound >= 0.05:
        return "positive"
    if compound <= -0.05:
        return "negative"
    return "neutral"


def hashed_counts(texts: Sequence[str]) -> sp.csr_matrix:
    from sklearn.feature_extraction.text import HashingVectorizer

    vec = HashingVectorizer(n_features=HASH_FEATURES, ngram_range=(1, 2), alternate_sign=False, norm=None)
    return vec.transform(list(texts)).tocsr()


def tfidf(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear tf times idf, rows L2-normalised (as sklearn's TfidfTransformer(sublinear_tf=True))."""
    m = counts.astype(np.float32).tocsr(copy=True)
    m.data = 1.0 + np.log(m.data)
    m = m @ sp.diags(idf.astype(np.float32))
    norms = np.sqrt(m.multiply(m).sum(axis=1)).A1
    norms[norms == 0] = 1.0
    return sp.diags(1.0 / norms) @ m


def fit_idf(counts: sp.csr_matrix) -> np.ndarray:
    n = counts.shape[0]
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    return (np.log((1 + n) / (1 + df)) + 1.0).astype(np.float32)
