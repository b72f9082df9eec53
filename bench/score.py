"""Scoring throughput: the same texts several ways in one process.

    python bench/score.py [--n 5000] [--batch-size 64] [--runtime auto|onnx|torch] [--repeat 1] [--spin-wait]
                          [--baseline 1857969 | --baseline-dir DIR | --baseline none]

1. Earful's scorer as configured (`sentiment.runtime`, default auto: ONNX Runtime int8 on CPU):
   length-sorted batches, all cores, encoder + heads + postprocess,
2. the previous scorer on the same texts, with the same encoder object, in this process: the
   `sentiment` and `core` packages and the heads of git revision --baseline (default 1857969, the
   tree issue 14 started from: VADER-only heads 3a8531, zero-shot intent and topics, no adaptation),
   extracted with `git archive` and imported under their own names beside today's (or a folder
   holding such a tree, --baseline-dir); its ratio to today's is the "within 10 %" figure,
3. the same scorer with torch's dynamic int8 encoder (the other CPU runtime), unless --runtime torch,
4. a naive loop calling the torch fp32 encoder on one text at a time (embeddings only),
5. VADER (the lexicon baseline).

The previous scorer and today's are timed alternately, --repeat times each, so that a host that
slows down during the run slows both.

Texts are the human-rated corpora of sentiment.data, cycled to --n. Prints texts/s, the ratios, and
the peak resident memory of this process: once after the two scorers (sharing one encoder), once at the end.
With --repeat N each timing is the best of N runs (for a machine that other work shares).
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import resource
import subprocess
import sys
import tempfile
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


PACKAGES = ("sentiment", "core")
BASELINE = "1857969"


def _ours(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in PACKAGES)


def previous_scorer(tree: Path, encoder: object) -> tuple[object, type, str]:
    """(scorer, its ScoreInput class, heads version) of the `sentiment` and `core` packages in `tree`.

    Today's modules step aside in sys.modules while the old ones import, then come back; the old
    modules keep their own names in their globals, so each scorer runs its own code.
    """
    today = {name: module for name, module in sys.modules.items() if _ours(name)}
    for name in today:
        del sys.modules[name]
    sys.path.insert(0, str(tree))
    try:
        config = importlib.import_module("core.config")
        heads = importlib.import_module("sentiment.heads")
        scorer = importlib.import_module("sentiment.scorer")
        loaded = heads.load_heads(folder=Path(heads.HEADS_DIR))
        built = scorer.Scorer.with_heads(encoder, loaded, config.SentimentConfig())
        return built, scorer.ScoreInput, loaded.version
    finally:
        sys.path.remove(str(tree))
        for name in [n for n in sys.modules if _ours(n)]:
            del sys.modules[name]
        sys.modules.update(today)


def baseline_tree(revision: str, into: Path) -> Path:
    """The `sentiment` and `core` packages of git `revision`, extracted into `into`."""
    root = Path(__file__).resolve().parents[1]
    archive = subprocess.run(["git", "-C", str(root), "archive", revision, *PACKAGES], capture_output=True, check=False)
    if archive.returncode != 0:
        sys.exit(f"bench/score.py: cannot read revision {revision!r} from git ({archive.stderr.decode().strip()}); "
                 "pass --baseline-dir with a checkout of it, or --baseline none")
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def alternate(n: int, runs: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Texts per second of each run's best, the runs taking turns `repeat` times."""
    best = {name: float("inf") for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - started)
    return {name: n / seconds for name, seconds in best.items()}


def describe(encoder: object) -> str:
    return f"{getattr(encoder, 'runtime', 'torch')} {'int8' if getattr(encoder, 'quantized', False) else 'fp32'}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=SentimentConfig().batch_size)
    parser.add_argument("--runtime", choices=("auto", "onnx", "torch"), default=SentimentConfig().runtime)
    parser.add_argument("--spin-wait", action="store_true",
                        help="sentiment.spin_wait: ONNX Runtime's idle threads spin before sleeping (default off)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--baseline", default=BASELINE,
                        help="git revision of the previous scorer to compare with, or 'none'")
    parser.add_argument("--baseline-dir", type=Path, help="a folder holding the previous scorer's core/ and sentiment/")
    args = parser.parse_args()

    corpora = load_corpora()
    pool = [e.text for examples in corpora.values() for e in examples]
    texts = [pool[(i * 7919) % len(pool)] for i in range(args.n)]  # a fixed mix of all four corpora
    items = [ScoreInput(t, i) for i, t in enumerate(texts)]
    conf = SentimentConfig(batch_size=args.batch_size, runtime=args.runtime, spin_wait=args.spin_wait)
    heads = load_heads()

    fast = encoder_from_settings(conf)
    scorer = Scorer.with_heads(fast, heads, conf)
    scorer.score([ScoreInput("warm up")])
    runs: dict[str, Callable[[], object]] = {"today": lambda: scorer.score(items)}
    previous_version = None
    with tempfile.TemporaryDirectory(prefix="earful-baseline-") as scratch:
        if args.baseline_dir or args.baseline != "none":
            tree = args.baseline_dir or baseline_tree(args.baseline, Path(scratch))
            old, old_input, previous_version = previous_scorer(tree, fast)
            old_items = [old_input(t, i) for i, t in enumerate(texts)]
            old.score([old_input("warm up")])  # type: ignore[attr-defined]
            runs["previous"] = lambda: old.score(old_items)  # type: ignore[attr-defined]
        timed = alternate(args.n, runs, args.repeat)
    rates = {describe(fast): timed["today"]}
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
    if previous_version is not None:
        before = timed["previous"]
        where = args.baseline_dir or f"revision {args.baseline}"
        print(f"{'previous scorer':<16}: {before:8.1f} texts/s   ({where}, heads {previous_version}, same encoder; "
              f"today's is {earful / before:.2f}x it, {before / naive:.1f}x naive)")
    print(f"{'naive loop':<16}: {naive:8.1f} texts/s   (torch fp32, one text at a time)")
    print(f"{'vader':<16}: {vader:8.1f} texts/s   (vader is {vader / earful:.1f}x earful)")
    print(f"{'peak RSS':<16}: {scorer_rss:8.0f} MB with the two scorers (one encoder){exported}; {peak_rss_mb():.0f} MB at the end")


if __name__ == "__main__":
    main()
