"""Scoring throughput: the same texts several ways in one process.

    python bench/score.py [--n 5000] [--batch-size 64] [--runtime auto|onnx|torch] [--repeat 1]

1. Earful's scorer as configured (`sentiment.runtime`, default auto: ONNX Runtime int8 on CPU):
   length-sorted batches, all cores, encoder + heads + postprocess,
2. the same scorer with torch's dynamic int8 encoder (the other CPU runtime), unless --runtime torch,
3. a naive loop calling the torch fp32 encoder on one text at a time (embeddings only),
4. VADER (the lexicon baseline).

Texts are the human-rated corpora of sentiment.data, cycled to --n. Prints texts/s, the ratios, and
the peak resident memory of this process: once after the configured scorer alone, once at the end.
With --repeat N each timing is the best of N runs (for a machine that other work shares).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.config import SentimentConfig  # noqa: E402
from sentiment import features  # noqa: E402
from sentiment.data import load_corpora  # noqa: E402
from sentiment.encoder import Encoder, encoder_from_settings  # noqa: E402
from sentiment.heads import load_heads  # noqa: E402
from sentiment.scorer import ScoreInput, Scorer  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rate(n: int, run: Callable[[], object], repeat: int) -> float:
    """Texts per second of the best of `repeat` runs."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return n / best


def describe(encoder: object) -> str:
    return f"{getattr(encoder, 'runtime', 'torch')} {'int8' if getattr(encoder, 'quantized', False) else 'fp32'}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=SentimentConfig().batch_size)
    parser.add_argument("--runtime", choices=("auto", "onnx", "torch"), default=SentimentConfig().runtime)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    corpora = load_corpora()
    pool = [e.text for examples in corpora.values() for e in examples]
    texts = [pool[(i * 7919) % len(pool)] for i in range(args.n)]  # a fixed mix of all four corpora
    items = [ScoreInput(t, i) for i, t in enumerate(texts)]
    conf = SentimentConfig(batch_size=args.batch_size, runtime=args.runtime)
    heads = load_heads()

    fast = encoder_from_settings(conf)
    scorer = Scorer.with_heads(fast, heads, conf)
    scorer.score([ScoreInput("warm up")])
    rates = {describe(fast): rate(args.n, lambda: scorer.score(items), args.repeat)}
    scorer_rss = peak_rss_mb()
    exported = " (exported to ONNX in this run)" if getattr(fast, "exported", False) else ""

    if fast.runtime != "torch":
        torch_int8 = Encoder(conf.model, max_length=conf.max_length, batch_size=conf.batch_size, quantize="int8")
        other = Scorer.with_heads(torch_int8, heads, conf)
        other.score([ScoreInput("warm up")])
        rates[describe(torch_int8)] = rate(args.n, lambda: other.score(items), args.repeat)

    encoder = Encoder(conf.model, max_length=conf.max_length, batch_size=conf.batch_size)  # fp32, for the naive loop
    encoder.encode(["warm up"])
    naive = rate(args.n, lambda: [encoder.encode([t]) for t in texts], args.repeat)
    vader = rate(args.n, lambda: features.vader_features(texts), args.repeat)

    earful = next(iter(rates.values()))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, device {encoder.device}")
    print(f"texts: {args.n}, mean {sum(map(len, texts)) / len(texts):.0f} characters, batch size {args.batch_size}, "
          f"best of {args.repeat}")
    for i, (name, value) in enumerate(rates.items()):
        label = "earful scorer" if i == 0 else "  same, encoder"
        print(f"{label:<16}: {value:8.1f} texts/s   ({name}; {value / naive:.1f}x naive)")
    print(f"{'naive loop':<16}: {naive:8.1f} texts/s   (torch fp32, one text at a time)")
    print(f"{'vader':<16}: {vader:8.1f} texts/s   (vader is {vader / earful:.1f}x earful)")
    print(f"{'peak RSS':<16}: {scorer_rss:8.0f} MB with Earful's scorer alone{exported}; {peak_rss_mb():.0f} MB at the end")


if __name__ == "__main__":
    main()
