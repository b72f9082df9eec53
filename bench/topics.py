"""Topics that learn from examples, measured on a public proxy.

    python bench/topics.py [--data ../shared/data/complaints] [--seeds 10] [--cache DIR]

The proxy: the complaints corpus (sentiment.intent) has the brand domain of each tweet addressed to
a brand; its eight brand domains (apparel, cars, electronics, food, retail, services, software,
transport) become eight topics with the one-line descriptions below (written once, before any
figure, and not tuned). Every tweet of those domains (the `other` domain and the random tweets are
left out) is scored by sentiment.topics as the scorer scores it, with the scorer's encoder (ONNX
Runtime int8 on CPU): top-1 accuracy zero-shot, and with 5 and 20 examples per topic drawn from the
rows (each seed draws again; the drawn rows are not scored), against the majority class. The
thresholds' effect is printed too: of the topics a text gets, the share that is its own
(precision), the share of texts that get their own (recall) and the share that get none, for the
derived per-topic thresholds and for the global `sentiment.topic_threshold`.

Brand handles (`@JetBlue`) give the domain away to a text similar to an example from the same brand,
so the figures are printed twice: on the tweets as written, and with every @handle replaced by
`@user` (and links by `http`); the last line is the ceiling of a logistic regression trained on
four fifths of all rows (5-fold), to show how far any few-shot method could go on each.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.config import SentimentConfig  # noqa: E402
from sentiment.data import default_cache_dir  # noqa: E402
from sentiment.encoder import encoder_from_settings  # noqa: E402
from sentiment.intent import cached_embeddings, load_complaints  # noqa: E402
from sentiment.postprocess import topics as assign_topics  # noqa: E402
from sentiment.topics import DESCRIPTION_WEIGHT, TopicModel  # noqa: E402

DESCRIPTIONS = {
    "apparel": "clothes, shoes and fashion: clothing orders, sizes, fit, returns of garments",
    "cars": "cars: a car maker or dealer, buying a new car, servicing, repairs, recalls, breakdowns",
    "electronics": "electronics: phones, laptops, TVs, cameras and other devices, their faults and repairs",
    "food": "food and drink: restaurants, fast food, coffee shops, meals, food deliveries",
    "retail": "shops and supermarkets: stores, checkouts, stock, online shopping orders and deliveries",
    "services": "services: banks, phone and internet providers, energy and insurance companies, bills and accounts",
    "software": "software and apps: programs, apps, websites, online accounts, updates, bugs, log in problems",
    "transport": "transport and travel: airlines, flights, trains, buses, delays, luggage, bookings",
}
SHOTS = (5, 20)


def mask_handles(text: str) -> str:
    return re.sub(r"https?://\S+", "http", re.sub(r"@\w+", "@user", text))


def threshold_figures(model: TopicModel, scores: np.ndarray, gold: np.ndarray, limit: int) -> tuple[float, float, float]:
    """(precision, recall, share with no topic) of the topics the scorer gives (postprocess.topics)."""
    cuts = dict(zip(model.names, model.thresholds))
    given = [assign_topics(dict(zip(model.names, row)), cuts, limit) for row in scores.tolist()]
    own = [model.names[g] in topics for g, topics in zip(gold, given)]
    total = sum(len(t) for t in given)
    return sum(own) / max(total, 1), float(np.mean(own)), float(np.mean([not t for t in given]))


def measure(vectors: np.ndarray, gold: np.ndarray, descriptions: np.ndarray, seeds: int) -> dict[str, Any]:
    conf = SentimentConfig()
    names = tuple(DESCRIPTIONS)
    out: dict[str, Any] = {"n": len(gold), "majority": float(np.bincount(gold).max() / len(gold))}
    none = {n: None for n in names}
    zero = TopicModel.build(names, descriptions, {}, none, conf.topic_threshold)
    scores = zero.scores(vectors)
    out["zero-shot"] = {"top1": [float(np.mean(scores.argmax(axis=1) == gold))],
                        "global": [threshold_figures(zero, scores, gold, conf.max_topics)]}
    for k in SHOTS:
        runs: dict[str, list[Any]] = {"top1": [], "derived": [], "global": []}
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            drawn = {t: rng.choice(np.flatnonzero(gold == j), k, replace=False) for j, t in enumerate(names)}
            rest = np.ones(len(gold), dtype=bool)
            rest[np.concatenate(list(drawn.values()))] = False
            configured = {t: vectors[rows] for t, rows in drawn.items()}
            derived = TopicModel.build(names, descriptions, configured, none, conf.topic_threshold)
            scores = derived.scores(vectors[rest])
            runs["top1"].append(float(np.mean(scores.argmax(axis=1) == gold[rest])))
            runs["derived"].append(threshold_figures(derived, scores, gold[rest], conf.max_topics))
            fixed = TopicModel.build(names, descriptions, configured, {t: conf.topic_threshold for t in names},
                                     conf.topic_threshold)
            runs["global"].append(threshold_figures(fixed, scores, gold[rest], conf.max_topics))
            for name, top1 in alternatives(vectors, gold, rest, drawn, descriptions).items():
                runs.setdefault(name, []).append(top1)
        out[f"{k} examples"] = runs
    out["supervised ceiling"] = supervised_ceiling(vectors, gold)
    return out


def alternatives(vectors: np.ndarray, gold: np.ndarray, rest: np.ndarray, drawn: dict[str, np.ndarray],
                 descriptions: np.ndarray) -> dict[str, float]:
    """Top-1 of the ways of using the examples that sentiment.topics was chosen against, on the same draw:
    the examples' centroid or the single nearest example in place of the mean of the three nearest,
    and a logistic regression on the examples and the descriptions."""
    from sklearn.linear_model import LogisticRegression

    weight = DESCRIPTION_WEIGHT
    texts = vectors[rest]
    description = texts @ descriptions.T
    centroid, nearest = [], []
    for j, rows in enumerate(drawn.values()):
        k = len(rows)
        mean = vectors[rows].mean(axis=0)
        centroid.append((weight * description[:, j] + k * texts @ (mean / np.linalg.norm(mean))) / (weight + k))
        nearest.append((weight * description[:, j] + k * (texts @ vectors[rows].T).max(axis=1)) / (weight + k))
    x = np.vstack([vectors[np.concatenate(list(drawn.values()))], descriptions])
    y = np.concatenate([np.full(len(rows), j) for j, rows in enumerate(drawn.values())] + [np.arange(len(drawn))])
    regression = LogisticRegression(max_iter=3000).fit(x, y).predict(texts)
    return {"centroid": float(np.mean(np.argmax(np.stack(centroid, 1), 1) == gold[rest])),
            "nearest one": float(np.mean(np.argmax(np.stack(nearest, 1), 1) == gold[rest])),
            "logistic regression": float(np.mean(regression == gold[rest]))}


def supervised_ceiling(vectors: np.ndarray, gold: np.ndarray) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    return float(cross_val_score(LogisticRegression(max_iter=3000), vectors, gold, cv=5).mean())


def report(title: str, result: dict[str, Any]) -> str:
    lines = [f"\n{title} (n = {result['n']}, majority class {result['majority']:.4f})",
             "setting        top-1 mean ± sd   (min..max)        thresholds: precision recall no-topic"]
    for setting in ("zero-shot", *(f"{k} examples" for k in SHOTS)):
        runs = result[setting]
        top1 = np.array(runs["top1"])
        line = f"{setting:<14} {top1.mean():.4f} ± {top1.std():.4f}   ({top1.min():.4f}..{top1.max():.4f})"
        for rule in ("derived", "global"):
            if rule in runs:
                p, r, z = np.mean(np.array(runs[rule]), axis=0)
                line += f"   {rule}: {p:.2f} {r:.2f} {z:.2f}"
        lines.append(line)
        others = [name for name in ("centroid", "nearest one", "logistic regression") if name in runs]
        if others:
            lines.append("    instead of the 3 nearest: " + ", ".join(
                f"{name} {np.mean(runs[name]):.4f} ± {np.std(runs[name]):.4f}" for name in others))
    zero = result["zero-shot"]["top1"][0]
    five = float(np.mean(result["5 examples"]["top1"]))
    lines.append(f"5 examples - zero-shot: {100 * (five - zero):+.1f} points; - majority: "
                 f"{100 * (five - result['majority']):+.1f} points")
    lines.append(f"supervised ceiling (logistic regression, 5-fold over all rows): {result['supervised ceiling']:.4f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "complaints")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--cache", type=Path, default=default_cache_dir() / "embeddings")
    parser.add_argument("--model", default=SentimentConfig().model,
                        help="another encoder (a model folder, e.g. one earful train --fine-tune saved)")
    args = parser.parse_args()
    data = load_complaints(args.data)
    names = tuple(DESCRIPTIONS)
    rows = [i for i, d in enumerate(data.domains) if d in DESCRIPTIONS]
    gold = np.array([names.index(data.domains[i]) for i in rows])
    encoder = encoder_from_settings(SentimentConfig(model=args.model))
    descriptions = encoder.encode([f"{name}: {text}" for name, text in DESCRIPTIONS.items()])
    print(f"encoder: {encoder.name} ({encoder.runtime}, {'int8' if encoder.quantized else 'fp32'}); "
          f"seeds 0..{args.seeds - 1}; examples drawn per topic, the rest scored")
    for title, transform in (("tweets as written", str), ("@handles masked", mask_handles)):
        texts = [transform(data.texts[i]) for i in rows]
        print(report(title, measure(cached_embeddings(encoder, texts, args.cache), gold, descriptions, args.seeds)))


if __name__ == "__main__":
    main()
