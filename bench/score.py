"""Scoring throughput: the same texts three ways in one process.

    python bench/score.py [--n 5000] [--batch-size 64]

1. Earful's scorer (length-sorted batches, inference_mode, all cores; encoder + heads + postprocess),
2. a naive loop calling the same encoder on one text at a time (embeddings only),
3. VADER (the lexicon baseline).

Texts are the human-rated corpora of sentiment.data, cycled to --n. Prints texts/s, the ratios, and
the peak resident memory of this process.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.config import SentimentConfig  # noqa: E402
from sentiment import features  # noqa: E402
from sentiment.data import load_corpora  # noqa: E402
from sentiment.encoder import Encoder  # noqa: E402
from sentiment.heads import load_heads  # noqa: E402
from sentiment.scorer import ScoreInput, Scorer  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    corpora = load_corpora()
    pool = [e.text for examples in corpora.values() for e in examples]
    texts = [pool[(i * 7919) % len(pool)] for i in range(args.n)]  # a fixed mix of all four corpora
    conf = SentimentConfig(batch_size=args.batch_size)
    encoder = Encoder(conf.model, max_length=conf.max_length, batch_size=conf.batch_size)  # fp32, for the naive loop
    fast = Encoder(conf.model, max_length=conf.max_length, batch_size=conf.batch_size, quantize=conf.quantize)
    scorer = Scorer.with_heads(fast, load_heads(), conf)
    scorer.score([ScoreInput("warm up")])

    started = time.perf_counter()
    scorer.score([ScoreInput(t, i) for i, t in enumerate(texts)])
    earful = args.n / (time.perf_counter() - started)

    started = time.perf_counter()
    for t in texts:
        encoder.encode([t])
    naive = args.n / (time.perf_counter() - started)

    started = time.perf_counter()
    features.vader_features(texts)
    vader = args.n / (time.perf_counter() - started)

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, device {encoder.device}")
    print(f"texts: {args.n}, mean {sum(map(len, texts)) / len(texts):.0f} characters, batch size {args.batch_size}")
    print(f"earful scorer : {earful:8.1f} texts/s   (encoder weights: {'int8' if fast.quantized else 'fp32'})")
    print(f"naive loop    : {naive:8.1f} texts/s   (earful is {earful / naive:.1f}x)")
    print(f"vader         : {vader:8.1f} texts/s   (vader is {vader / earful:.1f}x earful)")
    print(f"peak RSS      : {peak_rss_mb():8.0f} MB")


if __name__ == "__main__":
    main()
