"""How much the SemEval tweets should weigh in the sentiment heads, and the shipped heads against others.

    python bench/tweet_mix.py mix [--weights 0,0.25,0.35,0.5,1] [--mixes 0.5,0.6,0.7,0.8] [--cache DIR]
    python bench/tweet_mix.py compare HEADS.npz [HEADS.npz ...] [--cache DIR]

`mix`: for each tweet weight (what one SemEval tweet counts in the loss against one VADER-rated
example; 0: no tweets) the heads are fitted as `earful train` fits them (sentiment.train.fit_heads on
torch fp32 embeddings), then scored with each MLP share of the mixed probabilities (`Heads.mix`):
macro-F1 on every held-out split (the four VADER corpora and the SemEval 10 %) and TweetEval test
macro-recall. `compare`: the given heads files on the shipped CPU path (ONNX Runtime int8): the
same held-out macro-F1, and on TweetEval test macro-recall, macro-F1, accuracy, and each class's
recall and row of the confusion matrix.

The corpora folders come from config.yaml (`sentiment.corpora`); embeddings of the torch encoder are
cached under `--cache`/embeddings (the first run encodes about 90k texts: most of an hour on 2 cores).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.config import load_config  # noqa: E402
from sentiment import features  # noqa: E402
from sentiment.calibration import softmax  # noqa: E402
from sentiment.data import default_cache_dir, load_corpora, split  # noqa: E402
from sentiment.heads import Heads, load_heads  # noqa: E402
from sentiment.job import EVAL_CHUNK  # noqa: E402
from sentiment.metrics import classification_report  # noqa: E402
from sentiment.postprocess import LABELS  # noqa: E402
from sentiment.train import TWEET_WEIGHT, Labelled, dense_features, embed, fit_heads  # noqa: E402
from sentiment.tweets import load_tweeteval, training_tweets  # noqa: E402


def splits(cache: Path) -> tuple[list, list, dict[str, list], object]:
    """(rated training examples, training tweets, held-out splits by corpus, TweetEval test)."""
    conf = load_config(ROOT / "config.yaml").sentiment
    rated, held = [], {}
    for corpus, examples in load_corpora(cache).items():
        train, held[corpus] = split(examples)
        rated += train
    found = training_tweets(conf.corpora)
    if found.corpus is None:
        raise SystemExit(found.weaker)
    held["semeval"] = found.heldout
    return rated, found.train, held, load_tweeteval(Path(conf.corpora.tweeteval), "test")  # type: ignore[arg-type]


def labels_of(heads: Heads, dense: np.ndarray, texts: list[str]) -> list[str]:
    bow = features.tfidf(features.hashed_counts(texts), heads.idf)
    return [LABELS[i] for i in heads.sentiment_logits(dense, bow).argmax(axis=1)]


def mix(args: argparse.Namespace) -> None:
    from sentiment.encoder import Encoder

    encoder, cache = Encoder(), args.cache / "embeddings"
    rated, tweets, held, bench = splits(args.cache)
    inputs = {name: (dense_features(embed(encoder, [e.text for e in items], cache), [e.text for e in items]),
                     [e.text for e in items], [e.label for e in items]) for name, items in held.items()}
    inputs["tweeteval"] = (dense_features(embed(encoder, bench.texts, cache), bench.texts), bench.texts, bench.labels)
    print("weight  mlp   " + " ".join(f"{name:>8}" for name in held) + "  tweeteval-recall  fit-s")
    for weight in args.weights:
        used = tweets if weight > 0 else []
        items = [Labelled(e.text, e.label, e.mean) for e in rated] + [Labelled(t.text, t.label, loss_weight=weight)
                                                                      for t in used]
        texts = [i.text for i in items]
        vectors = np.vstack([embed(encoder, [e.text for e in rated], cache)]
                            + ([embed(encoder, [t.text for t in used], cache)] if used else []))
        started = time.perf_counter()
        heads = fit_heads(dense_features(vectors, texts), texts, items, version="bench", encoder_name=encoder.name)
        seconds = time.perf_counter() - started
        for share in args.mixes:
            heads.mix = share
            f1 = {name: classification_report(gold, labels_of(heads, dense, tx))["macro_f1"]
                  for name, (dense, tx, gold) in inputs.items() if name != "tweeteval"}
            dense, tx, gold = inputs["tweeteval"]
            recall = classification_report(gold, labels_of(heads, dense, tx))["macro_recall"]
            print(f"{weight:<7} {share:<5} " + " ".join(f"{v:>8.4f}" for v in f1.values())
                  + f"  {recall:>16.4f}  {seconds:>5.0f}", flush=True)


def compare(args: argparse.Namespace) -> None:
    from sentiment.onnx_encoder import OnnxEncoder

    encoder = OnnxEncoder(quantize="int8")
    rated, tweets, held, bench = splits(args.cache)
    # Each held-out corpus weighs what its training rows weigh: the class priors the heads assume
    # should show as their mean probability over data like the training data they never saw.
    weights = {name: sum(1 for e in rated if e.corpus == name) for name in held} | {
        "semeval": len(tweets) * TWEET_WEIGHT}
    vectors = {name: encoder.encode([e.text for e in items]) for name, items in held.items()}
    # In `earful eval`'s chunks: int8 activations are quantised per batch, so the chunking shows in the last digits.
    tweeteval = np.vstack([encoder.encode(bench.texts[i:i + EVAL_CHUNK]) for i in range(0, len(bench.texts), EVAL_CHUNK)])
    for path in args.heads:
        heads = load_heads(path.stem, folder=path.parent)
        print(f"{heads.version} (ONNX int8)")
        mean = np.zeros(len(LABELS))
        for name, items in held.items():
            texts = [e.text for e in items]
            dense, bow = dense_features(vectors[name], texts), features.tfidf(features.hashed_counts(texts), heads.idf)
            probabilities = softmax(heads.sentiment_logits(dense, bow), heads.temperature)  # as the scorer returns them
            mean += weights[name] * probabilities.mean(axis=0)
            report = classification_report([e.label for e in items], [LABELS[i] for i in probabilities.argmax(axis=1)])
            print(f"  {name:<9} n {len(items):<5} macro-F1 {report['macro_f1']:.4f}")
        mean /= mean.sum()
        print("  mean probability on the held-out splits, weighted like training: "
              + " / ".join(f"{p:.3f}" for p in mean) + f"  (meta.class_priors: {heads.meta.get('class_priors')})")
        report = classification_report(bench.labels, labels_of(heads, dense_features(tweeteval, bench.texts), bench.texts))
        print(f"  TweetEval test n {len(bench.texts)}: macro-recall {report['macro_recall']:.4f}, "
              f"macro-F1 {report['macro_f1']:.4f}, accuracy {report['accuracy']:.4f}")
        for gold in LABELS:
            row = report["confusion"][gold]
            print(f"    {gold:<9} recall {report['per_class'][gold]['recall']:.4f}  predicted "
                  + " / ".join(f"{row[p]} {p}" for p in LABELS), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=default_cache_dir())
    sub = parser.add_subparsers(dest="command", required=True)
    numbers = lambda text: [float(x) for x in text.split(",")]  # noqa: E731
    one = sub.add_parser("mix")
    one.add_argument("--weights", type=numbers, default=[0.0, 0.25, 0.35, 0.5, 1.0])
    one.add_argument("--mixes", type=numbers, default=[0.5, 0.6, 0.7, 0.8])
    two = sub.add_parser("compare")
    two.add_argument("heads", type=Path, nargs="+")
    args = parser.parse_args()
    mix(args) if args.command == "mix" else compare(args)


if __name__ == "__main__":
    main()
