"""Complaint intent leave-one-domain-out, and the five intents on a hand-labelled sample.

    python bench/intent.py [--data ../shared/data/complaints] [--cache DIR]

1. The complaints corpus (Preoţiuc-Pietro et al., ACL 2019; sentiment.intent) with the paper's
   cross-domain protocol: for each of the nine brand domains, a complaint head trained on every
   other row (the other domains and the random tweets) scores that domain. Per domain and pooled
   over all 1,974 brand tweets: complaint precision, recall, F1 and the macro-F1 of both classes (the
   paper's F1). Embeddings from the torch fp32 encoder, as training uses; the pooled line is
   repeated with the same heads scoring ONNX Runtime int8 embeddings, as production scores, and
   for the inputs without the cues and without VADER (what each earns).
2. tests/fixtures/intent/brand_messages.csv: 100 brand-directed messages written for Earful and
   labelled by hand with the five intents. The shipped scorer (ONNX int8 on CPU, the committed
   heads and complaint head) against the same scorer without the complaint head (zero-shot intent):
   confusion matrix, per-intent precision / recall / F1, accuracy.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.config import SentimentConfig  # noqa: E402
from sentiment.data import default_cache_dir  # noqa: E402
from sentiment.encoder import Encoder, encoder_from_settings  # noqa: E402
from sentiment.features import vader_features  # noqa: E402
from sentiment.heads import load_heads  # noqa: E402
from sentiment.intent import (  # noqa: E402
    cached_embeddings, cue_features, format_lodo, head_inputs, leave_one_domain_out, load_complaints,
)
from sentiment.postprocess import INTENTS  # noqa: E402
from sentiment.scorer import ScoreInput, Scorer  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "intent" / "brand_messages.csv"


def read_fixture(path: Path = FIXTURE) -> tuple[list[str], list[str]]:
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows], [r["intent"] for r in rows]


def intent_report(gold: Sequence[str], predicted: Sequence[str]) -> str:
    pairs = Counter(zip(gold, predicted))
    lines = ["  gold \\ predicted " + " ".join(f"{p:>9}" for p in INTENTS)]
    for g in INTENTS:
        lines.append(f"  {g:<17} " + " ".join(f"{pairs[(g, p)]:>9}" for p in INTENTS))
    lines.append("  intent     precision recall F1     support")
    f1s = []
    for label in INTENTS:
        tp = pairs[(label, label)]
        precision = tp / max(sum(p == label for p in predicted), 1)
        recall = tp / max(sum(g == label for g in gold), 1)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        f1s.append(f1)
        lines.append(f"  {label:<10} {precision:.4f}    {recall:.4f} {f1:.4f} {sum(g == label for g in gold)}")
    accuracy = float(np.mean([g == p for g, p in zip(gold, predicted)]))
    lines.append(f"  accuracy {accuracy:.4f}  macro-F1 {np.mean(f1s):.4f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "complaints")
    parser.add_argument("--cache", type=Path, default=default_cache_dir() / "embeddings")
    parser.add_argument("--model", default=SentimentConfig().model,
                        help="another encoder (a model folder, e.g. one earful train --fine-tune saved): the "
                             "leave-one-domain-out part only, as the shipped heads are the default encoder's")
    args = parser.parse_args()

    data = load_complaints(args.data)
    conf = SentimentConfig(model=args.model)
    fp32 = Encoder(conf.model, max_length=conf.max_length, batch_size=conf.batch_size)
    scoring = encoder_from_settings(conf)
    train_emb = cached_embeddings(fp32, data.texts, args.cache)
    inputs = head_inputs(train_emb, data.texts)
    lodo = leave_one_domain_out(inputs, data)
    print(f"complaints corpus: {len(data.texts)} tweets, {int(data.labels.sum())} complaints; leave one domain out "
          f"(torch fp32 embeddings)\n{format_lodo(lodo)}")
    scored = leave_one_domain_out(inputs, data, head_inputs(cached_embeddings(scoring, data.texts, args.cache), data.texts))
    width = train_emb.shape[1]
    without_cues = leave_one_domain_out(np.hstack([train_emb, vader_features(data.texts)]), data)
    embedding_only = leave_one_domain_out(inputs[:, :width], data)
    plus_cues_only = leave_one_domain_out(np.hstack([train_emb, cue_features(data.texts)]), data)
    for name, result in ((f"trained fp32, scored {scoring.runtime} {'int8' if scoring.quantized else 'fp32'}", scored),
                         ("embedding + VADER (no cues)", without_cues), ("embedding + cues (no VADER)", plus_cues_only),
                         ("embedding only", embedding_only)):
        pooled = result["pooled"]
        print(f"  {name:<40} pooled F1 {pooled['f1']:.4f}  macro-F1 {pooled['macro_f1']:.4f}  "
              f"mean over domains F1 {result['mean_f1']:.4f}")

    if conf.model != SentimentConfig().model:
        return
    texts, gold = read_fixture()
    shipped = Scorer.with_heads(scoring, load_heads(), conf)
    if shipped.complaint is None:
        raise SystemExit("the shipped complaint head did not load (see the warning above)")
    zero_shot = Scorer(scoring, shipped.heads, topics=conf.topics, topic_threshold=conf.topic_threshold, complaint=None)
    items = [ScoreInput(t) for t in texts]
    print(f"\n{FIXTURE.relative_to(ROOT)}: {len(texts)} hand-labelled messages, "
          + ", ".join(f"{k} {v}" for k, v in Counter(gold).items()))
    print("shipped scorer (complaint head, cues, praise from p_positive):")
    print(intent_report(gold, [r.intent for r in shipped.score(items)]))
    print("zero-shot intent (descriptions and cues, no complaint head):")
    print(intent_report(gold, [r.intent for r in zero_shot.score(items)]))


if __name__ == "__main__":
    main()
