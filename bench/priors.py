"""Prior-shift adaptation on public data: the TweetEval test set resampled to a care-like mix.

    python bench/priors.py [--data DIR] [--split test|val|heldout] [--n 5000] [--mix 0.60,0.25,0.15] [--seed 2002]
                           [--seeds 10] [--steps 1,2,3,5,1000] [--fixture PATH] [--save-base]

1. Scores the TweetEval sentiment test set (12,284 tweets, `sentiment.tweets.load_tweeteval`, default
   folder `../shared/data/tweet-sentiment/tweeteval-2017`) once with the shipped scorer (the
   `sentiment` defaults: ONNX Runtime int8 on CPU and the heads `sentiment/heads/CURRENT` names) and
   caches the model's own probabilities under `~/.cache/earful/bench/`.
2. Draws `--n` tweets without replacement in the proportions of `--mix` (negative, neutral,
   positive; seeded), the way a care account's mentions are mostly complaints.
3. Prints macro-F1, negative recall, macro-averaged recall and accuracy: the model's own labels;
   adapted as production adapts one brand's stream (`sentiment.adaptation` defaults, the mix
   estimated from the drawn tweets' probabilities alone, no labels); and the EM run to convergence,
   for comparison. `--seeds K` adds the mean and the worst change over K draws, and `--steps`
   the same for each listed number of EM steps (how `sentiment.adaptation.max_iterations` was
   chosen: on `--split val`, TweetEval's validation set, not on the test set). `--split heldout`
   draws from the VADER corpora's held-out split instead (sentiment.data), the committed heads'
   own domain, where only the class mix differs from their training data.

`--fixture PATH` writes the draw's probabilities and gold labels (numbers only, never the
tweets) as JSON for `tests/unit/test_sentiment_priors_fixture.py`. `--save-base` writes, for heads
whose metadata lack `class_priors`, the class mix of their training data beside them
(`sentiment/heads/<version>.priors.json`, sentiment.adaptation): the label shares of the VADER
corpora's training split (sentiment.data), after checking that split has exactly as many texts
as the heads say they were trained on.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.config import SentimentConfig  # noqa: E402
from sentiment.adaptation import base_priors, sidecar_path  # noqa: E402
from sentiment.data import default_cache_dir  # noqa: E402
from sentiment.heads import load_heads  # noqa: E402
from sentiment.metrics import classification_report  # noqa: E402
from sentiment.postprocess import LABELS  # noqa: E402
from sentiment.priors import adjust, estimate_priors  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "tweet-sentiment" / "tweeteval-2017"
CONVERGED = 100_000  # max_iterations for "the EM run to convergence"


def figures(gold: np.ndarray, probs: np.ndarray) -> dict[str, float]:
    report = classification_report([LABELS[g] for g in gold], [LABELS[p] for p in probs.argmax(axis=1)])
    recall = {label: c["recall"] for label, c in report["per_class"].items()}
    return {"macro_f1": report["macro_f1"], "negative_recall": recall["negative"],
            "macro_recall": round(sum(recall.values()) / len(recall), 4), "accuracy": report["accuracy"]}


def scored_split(folder: Path, split: str, cache: Path) -> tuple[np.ndarray, np.ndarray, str]:
    """(model probabilities (n, 3), gold label indices (n,), model version), cached by version and data."""
    from sentiment.scorer import Scorer
    from sentiment.tweets import load_tweeteval

    if split == "heldout":
        from sentiment.data import load_corpora
        from sentiment.data import split as split_corpus

        held = [e for examples in load_corpora(cache.parent).values() for e in split_corpus(examples)[1]]
        texts, labels = [e.text for e in held], [e.label for e in held]
    else:
        data = load_tweeteval(folder, split)
        texts, labels = data.texts, data.labels
    gold = np.array([LABELS.index(label) for label in labels])
    conf = SentimentConfig()
    version = load_heads().version
    key = hashlib.sha256("\x00".join([version, conf.model, conf.runtime, conf.quantize, *texts]).encode()).hexdigest()[:16]
    path = cache / f"{'vader' if split == 'heldout' else 'tweeteval'}-{split}-{version}-{key}.npy"
    if path.exists():
        return np.load(path), gold, version
    scorer = Scorer.from_settings(conf)
    probs = np.vstack([scorer.probabilities(texts[i:i + 512]) for i in range(0, len(texts), 512)])
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, probs)
    return probs, gold, scorer.version


def draw(gold: np.ndarray, mix: tuple[float, ...], n: int, seed: int) -> np.ndarray:
    """Indices of `n` rows in the proportions of `mix`, without replacement."""
    rng = np.random.default_rng(seed)
    picked = []
    for label, share in enumerate(mix):
        pool = np.flatnonzero(gold == label)
        want = int(round(share * n))
        if want > len(pool):
            sys.exit(f"--n {n}: the mix needs {want} {LABELS[label]} tweets, the test set has {len(pool)}")
        picked.append(rng.choice(pool, want, replace=False))
    return np.concatenate(picked)


def compare(probs: np.ndarray, gold: np.ndarray, base: tuple[float, ...], conf: Any,
            steps: tuple[int, ...] = ()) -> dict[str, Any]:
    """The figures without adaptation, adapted as production does, with the EM run to convergence,
    and with each number of EM steps in `steps`."""
    out: dict[str, Any] = {"without": figures(gold, probs)}
    runs = [("adapted", conf.max_iterations), ("em_converged", CONVERGED)] + [(f"{k} steps", k) for k in steps]
    for name, iterations in runs:
        found = estimate_priors(probs, base, tolerance=conf.tolerance, max_iterations=iterations)
        out[name] = figures(gold, adjust(probs, base, found.priors)) | {
            "estimated_mix": [round(p, 4) for p in found.priors], "iterations": found.iterations}
    return out


def save_base(cache: Path) -> None:
    from sentiment.data import load_corpora, split

    heads = load_heads()
    if heads.meta.get("class_priors") is not None:
        sys.exit(f"heads {heads.version} carry class_priors in their metadata already; nothing to save")
    if heads.meta.get("corrections") or heads.meta.get("tweets"):
        sys.exit(f"heads {heads.version} learnt from corrections or tweets too: their training mix is not "
                 "the VADER corpora's; retrain with `earful train`, which records it")
    counts = np.zeros(len(LABELS))
    for examples in load_corpora(cache).values():
        for example in split(examples)[0]:
            counts[LABELS.index(example.label)] += 1
    if int(counts.sum()) != heads.meta.get("examples"):
        sys.exit(f"the VADER training split has {int(counts.sum())} texts, heads {heads.version} say "
                 f"{heads.meta.get('examples')}: they were trained on something else")
    shares = counts / counts.sum()
    path = sidecar_path(heads.version)
    path.write_text(json.dumps({
        "version": heads.version, "labels": list(LABELS), "class_priors": [round(float(s), 6) for s in shares],
        "how": (f"label shares of the {int(counts.sum()):,} training texts of these heads (the VADER corpora's "
                "training split, sentiment.data.split), written by `python bench/priors.py --save-base`"),
    }, indent=1) + "\n")
    print(f"wrote {path}: {', '.join(f'{label} {s:.4f}' for label, s in zip(LABELS, shares))}")


def show(name: str, f: dict[str, Any]) -> str:
    extra = (f"  estimated mix {'/'.join(f'{p:.3f}' for p in f['estimated_mix'])} after {f['iterations']} "
             f"EM step{'s' * (f['iterations'] != 1)}") if "estimated_mix" in f else ""
    return (f"{name:<34} macro-F1 {f['macro_f1']:.4f}  negative recall {f['negative_recall']:.4f}  "
            f"macro recall {f['macro_recall']:.4f}  accuracy {f['accuracy']:.4f}{extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--split", choices=("test", "val", "heldout"), default="test")
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--mix", default="0.60,0.25,0.15")
    parser.add_argument("--seed", type=int, default=2002)
    parser.add_argument("--seeds", type=int, default=10, help="Also summarise this many draws (seed, seed+1, ...).")
    parser.add_argument("--steps", default="", help="Numbers of EM steps to compare over the draws, e.g. 1,2,3,1000.")
    parser.add_argument("--fixture", type=Path, help="Write the draw's probabilities and gold labels here (JSON).")
    parser.add_argument("--save-base", action="store_true", help="Save the heads' training mix beside them.")
    args = parser.parse_args()
    cache = default_cache_dir()
    if args.save_base:
        save_base(cache)
        return
    heads = load_heads()
    base = base_priors(heads)
    if base is None:
        sys.exit(f"heads {heads.version} have no class_priors and no saved estimate; run with --save-base first")
    mix = tuple(float(x) for x in args.mix.split(","))
    if len(mix) != 3 or abs(sum(mix) - 1) > 1e-6:
        sys.exit("--mix takes three shares (negative, neutral, positive) summing to 1")
    conf = SentimentConfig().adaptation
    steps = tuple(int(k) for k in args.steps.split(",") if k.strip())
    probs, gold, version = scored_split(args.data, args.split, cache / "bench")
    print(f"model {version}; training mix {'/'.join(f'{p:.4f}' for p in base.priors)} ({base.source})")
    print(f"{'VADER corpora' if args.split == 'heldout' else 'TweetEval'} {args.split}, {len(gold)} texts, mix {'/'.join(f'{s:.3f}' for s in np.bincount(gold, minlength=3) / len(gold))}:"
          f" macro-F1 {figures(gold, probs)['macro_f1']:.4f}")
    print(f"resampled to {'/'.join(f'{s:.2f}' for s in mix)}, n {args.n}, seed {args.seed}; adaptation: "
          f"sentiment.adaptation defaults (max_iterations {conf.max_iterations}, tolerance {conf.tolerance:g})")
    picked = draw(gold, mix, args.n, args.seed)
    result = compare(probs[picked], gold[picked], base.priors, conf)
    print(show("without adaptation", result["without"]))
    print(show("adapted (production)", result["adapted"]))
    print(show("EM run to convergence", result["em_converged"]))
    if args.seeds > 1:
        changes: dict[str, list[np.ndarray]] = {name: [] for name in ("adapted", "em_converged",
                                                                      *(f"{k} steps" for k in steps))}
        for seed in range(args.seed, args.seed + args.seeds):
            picked = draw(gold, mix, args.n, seed)
            r = compare(probs[picked], gold[picked], base.priors, conf, steps)
            for name in changes:
                changes[name].append(np.array([r[name]["macro_f1"] - r["without"]["macro_f1"],
                                               r[name]["negative_recall"] - r["without"]["negative_recall"]]))
        for name, rows in changes.items():
            arr = np.array(rows)
            print(f"{name} over {args.seeds} draws: macro-F1 change mean {arr[:, 0].mean():+.4f} "
                  f"(worst {arr[:, 0].min():+.4f}), negative recall change mean {arr[:, 1].mean():+.4f} "
                  f"(worst {arr[:, 1].min():+.4f})")
    if args.fixture:
        picked = draw(gold, mix, args.n, args.seed)
        args.fixture.parent.mkdir(parents=True, exist_ok=True)
        args.fixture.write_text(json.dumps({
            "about": (f"The shipped scorer's own probabilities on {args.n:,} TweetEval {args.split} texts drawn at the mix below "
                      "(numbers and gold labels only, no tweets); written by `python bench/priors.py --fixture`"),
            "model_version": version, "base_priors": list(base.priors), "mix": list(mix), "seed": args.seed,
            "labels": list(LABELS), "gold": gold[picked].tolist(),
            "probabilities": np.round(probs[picked], 4).tolist(),
        }) + "\n")
        print(f"wrote {args.fixture}")


if __name__ == "__main__":
    main()
