"""A fine-tuned model folder (`earful train --fine-tune`) on TweetEval and the held-out splits, per runtime.

    python bench/fine_tune.py FOLDER [--config config.yaml] [--runtimes torch,onnx-int8] [--split test]

Its own head (sentiment.fine_tune.FineTunedClassifier) labels the vectors of each runtime of the
folder's encoder: torch fp32 (what the command measures) and ONNX Runtime int8 (the CPU scoring
path, exported from the folder into ~/.cache/earful/onnx). For each: TweetEval (the official
macro-recall, macro-F1 and accuracy, as `earful eval --tweeteval` reports them; never trained on)
and the macro-F1 on every held-out split `earful train` makes (VADER corpora, SemEval 10 %). One
JSON object per runtime on stdout, after a readable line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.config import load_config  # noqa: E402
from sentiment.data import default_cache_dir  # noqa: E402
from sentiment.fine_tune import FineTunedClassifier, heldout_figures, read_meta  # noqa: E402
from sentiment.job import evaluate_tweeteval, training_splits  # noqa: E402


def encoder_of(folder: Path, runtime: str, max_length: int, batch_size: int, threads: int | None) -> object:
    if runtime == "torch":
        from sentiment.encoder import Encoder

        return Encoder(str(folder), max_length=max_length, batch_size=batch_size, threads=threads)
    from sentiment.onnx_encoder import OnnxEncoder

    return OnnxEncoder(str(folder), max_length=max_length, batch_size=batch_size, threads=threads,
                       quantize="int8" if runtime == "onnx-int8" else "none")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--config", default=str(ROOT / "config.yaml"))
    parser.add_argument("--runtimes", default="torch,onnx-int8", help="any of torch, onnx-int8, onnx-fp32")
    parser.add_argument("--split", default="test", choices=("test", "val"))
    parser.add_argument("--no-heldout", action="store_true", help="TweetEval only")
    args = parser.parse_args()
    conf = load_config(args.config).sentiment
    meta = read_meta(args.folder)
    max_length = meta["settings"]["max_length"]
    splits = None if args.no_heldout else training_splits(conf, default_cache_dir())
    for runtime in args.runtimes.split(","):
        started = time.perf_counter()
        tuned = FineTunedClassifier(args.folder, encoder_of(args.folder, runtime, max_length, conf.batch_size,
                                                            conf.threads or None))
        result = evaluate_tweeteval(Path(conf.corpora.tweeteval), tuned, split=args.split)
        figures = {"runtime": runtime, "max_length": max_length, "version": tuned.version,
                   "tweeteval": {k: result["model"][k] for k in ("macro_recall", "macro_f1", "accuracy")},
                   "per_class_recall": {c: v["recall"] for c, v in result["model"]["per_class"].items()},
                   "confusion": result["model"]["confusion"]}
        if splits is not None:
            figures["heldout"] = heldout_figures(tuned, splits.heldout)
        figures["seconds"] = round(time.perf_counter() - started, 1)
        t = figures["tweeteval"]
        print(f"{runtime}: TweetEval {args.split} macro-recall {t['macro_recall']:.4f}, macro-F1 {t['macro_f1']:.4f}, "
              f"accuracy {t['accuracy']:.4f}" + (f"; held-out mean macro-F1 {figures['heldout']['mean']['model']:.4f}"
                                                 if splits is not None else ""), file=sys.stderr)
        print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
