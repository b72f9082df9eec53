"""Learning from staff corrections: a learning curve on a domain the model was never trained on.

    python bench/corrections.py [--config config.yaml] [--domain sms|livejournal] [--steps 0,50,100,300]
                                [--seed 14] [--seeds 2] [--json PATH]

1. The domain: the SMS (SemEval 2013, 2,080 messages after deduplication) or LiveJournal
   (SemEval 2014, 1,138 posts) test set beside the SemEval training tweets (the folder of
   `sentiment.corpora.semeval`, read by `sentiment.tweets.load_out_of_domain`). Training never
   reads them, so the shipped heads and the nightly retraining learn nothing from them but what
   the corrections bring.
2. Per seed the domain is shuffled (`random.Random(seed)`, in tweet id order first): its first
   max(steps) texts are the pool the corrections come from, the rest is the test set, the same
   for every step of that seed (the steps are nested: the 100 corrected include the 50).
3. Per step N: a fresh SQLite database (`core.db.Database.open`, migrated) stores the pool's first
   N texts as mentions; the shipped scorer scores them (so every correction records what the
   model said, as the case page shows it); an agent records each gold label as a sentiment
   correction through `core.corrections.record_correction`, the function the case page calls.
   Then `train_command` runs as the nightly job (`sentiment.job.train_job`) runs it: the
   config's `sentiment` section, the default embedding cache, no `force`, so the held-out gate
   decides; its heads folder is a scratch copy of the shipped one (sentiment/heads, CURRENT and
   its file), so the gate compares with the heads in use today and the shipped folder is never
   written. `rescore_days=0`: the nightly re-scoring would only re-score the bench's own
   corrected mentions, with the training encoder; the test set is scored below instead.
   N=0 has an empty database, so its training is the same for every seed and runs once.
4. The test set is scored through the shipped scoring path: `Scorer.with_heads` on
   `encoder_from_settings` (ONNX Runtime int8 on CPU), with the heads the gate put in use. Where
   the gate kept the new heads aside (the shipped heads stay in use), `train_command` runs again
   with `force` into another scratch folder and the trained heads are scored too, so both curves
   show. Printed per seed and step: whether the gate accepted, the held-out means (new, current),
   the retraining's wall time, and macro-F1, macro-averaged recall and per-class recall.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.config import load_config  # noqa: E402
from core.corrections import record_correction  # noqa: E402
from core.db import Database  # noqa: E402
from core.mention import MentionIn  # noqa: E402
from core.store import store_batch  # noqa: E402
from core.users import add_user, operator, parse_role  # noqa: E402
from sentiment.encoder import encoder_from_settings  # noqa: E402
from sentiment.heads import HEADS_DIR, CURRENT, load_heads  # noqa: E402
from sentiment.job import chunk_size, score_pending, train_command  # noqa: E402
from sentiment.metrics import classification_report  # noqa: E402
from sentiment.postprocess import LABELS  # noqa: E402
from sentiment.scorer import ScoreInput, Scorer  # noqa: E402
from sentiment.tweets import Tweet, load_out_of_domain  # noqa: E402

NOW = datetime(2026, 12, 4, 2, 0, tzinfo=timezone.utc)  # the night of the retraining (fixed: versions repeat)
SCORE_CHUNK = 256


def draw(domain: Sequence[Tweet], pool_size: int, seed: int) -> tuple[list[Tweet], list[Tweet]]:
    """(pool, test): a seeded shuffle of the domain, its first `pool_size` texts and the rest."""
    order = sorted(domain, key=lambda t: t.id)
    random.Random(seed).shuffle(order)
    return order[:pool_size], order[pool_size:]


def copy_heads(source: Path, target: Path) -> None:
    """The heads `source/CURRENT` names (and their saved class mix, if any) into `target`, made current."""
    version = (source / CURRENT).read_text().strip()
    target.mkdir(parents=True)
    for path in source.glob(f"{version}.*"):
        shutil.copy2(path, target / path.name)
    (target / CURRENT).write_text(version + "\n")


def correct(db: Database, texts: Sequence[Tweet], scorer: Scorer, conf: Any) -> int:
    """Store `texts` as mentions, score them, and record their gold labels as an agent's sentiment
    corrections; return how many corrections disagreed with the model's label."""
    with db.session() as session:
        ids = store_batch(session, [MentionIn("x", f"bench-{t.id}", t.text, NOW - timedelta(days=1)) for t in texts],
                          now=NOW - timedelta(days=1)).inserted_ids
        agent = add_user(session, operator("bench"), "agent", "bench corrections", parse_role("agent"))
    score_pending(db, scorer, batch_size=chunk_size(conf))
    with db.session() as session:
        disagreed = 0
        for mention_id, tweet in zip(ids, texts):
            correction = record_correction(session, agent, mention_id, "sentiment", tweet.label, now=NOW - timedelta(hours=12))
            disagreed += correction.old_value.get("label") != tweet.label
    return disagreed


def retrain(conf: Any, texts: Sequence[Tweet], scorer: Scorer, shipped: Path, *, force: bool = False) -> dict[str, Any]:
    """`train_command` as the nightly job calls it, on a fresh database holding `texts` corrected,
    into a scratch copy of the shipped heads folder; the heads it put in use come back loaded."""
    with tempfile.TemporaryDirectory(prefix="earful-bench-corrections-") as scratch:
        folder = Path(scratch)
        copy_heads(shipped, folder / "heads")
        db = Database.open(f"sqlite:///{folder / 'bench.db'}")
        try:
            disagreed = correct(db, texts, scorer, conf) if texts else 0
            started = time.perf_counter()
            result = train_command(conf, db, now=NOW, heads_dir=folder / "heads", rescore_days=0, force=force)
            wall = time.perf_counter() - started
        finally:
            db.dispose()
        in_use = load_heads(folder=folder / "heads")
    return result | {"wall_s": round(wall, 1), "disagreed": disagreed, "heads": in_use}


def figures(scorer: Scorer, test: Sequence[Tweet]) -> dict[str, Any]:
    """macro-F1, macro recall, accuracy and per-class recall of the scorer's labels on `test`."""
    predicted: list[str] = []
    for start in range(0, len(test), SCORE_CHUNK):
        predicted += [r.sentiment for r in scorer.score([ScoreInput(t.text) for t in test[start:start + SCORE_CHUNK]])]
    report = classification_report([t.label for t in test], predicted)
    return {"macro_f1": report["macro_f1"], "macro_recall": report["macro_recall"], "accuracy": report["accuracy"],
            "recall": {label: report["per_class"][label]["recall"] for label in LABELS}}


def show(f: dict[str, Any]) -> str:
    return (f"{f['macro_f1']:.4f}  {f['macro_recall']:.4f}  " + " ".join(f"{f['recall'][label]:.3f}" for label in LABELS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config.yaml")
    parser.add_argument("--domain", choices=("sms", "livejournal"), default="sms")
    parser.add_argument("--steps", default="0,50,100,300", help="Numbers of corrections, e.g. 0,50,100,300.")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--seeds", type=int, default=2, help="Draws: seed, seed+1, ...")
    parser.add_argument("--json", type=Path, help="Also write every figure here (JSON), after each step.")
    args = parser.parse_args()

    conf = load_config(str(args.config)).sentiment
    if not conf.corpora.semeval:
        sys.exit("sentiment.corpora.semeval is not set: the out-of-domain sets live in that folder")
    domain = load_out_of_domain(Path(conf.corpora.semeval)).get(args.domain)
    if not domain:
        sys.exit(f"{conf.corpora.semeval} holds no {args.domain} test set")
    steps = sorted({int(s) for s in args.steps.split(",") if s.strip()})
    if steps[-1] >= len(domain):
        sys.exit(f"--steps: {steps[-1]} corrections leave no test set of {len(domain)} {args.domain} texts")
    seeds = list(range(args.seed, args.seed + args.seeds))
    shipped = load_heads(folder=HEADS_DIR)
    scoring_encoder = encoder_from_settings(conf)
    shipped_scorer = Scorer.with_heads(scoring_encoder, shipped, conf)
    mix = "/".join(str(sum(t.label == label for t in domain)) for label in LABELS)
    print(f"domain {args.domain}: {len(domain)} texts (negative/neutral/positive {mix}); test set {len(domain) - steps[-1]} "
          f"per seed; seeds {seeds}; heads in use {shipped.version}; scoring encoder {scoring_encoder.runtime}"
          f"{' int8' if getattr(scoring_encoder, 'quantized', False) else ''}; correction_weight {conf.correction_weight}")

    draws = {seed: draw(domain, steps[-1], seed) for seed in seeds}
    scored: dict[tuple[str, int], dict[str, Any]] = {}  # (heads version, seed) -> figures

    def measure(heads: Any, seed: int) -> dict[str, Any]:
        if (heads.version, seed) not in scored:
            scored[(heads.version, seed)] = figures(Scorer.with_heads(scoring_encoder, heads, conf), draws[seed][1])
        return scored[(heads.version, seed)]

    rows: list[dict[str, Any]] = []
    print("seed  N    gate      held-out new/current  disagreed  wall s   in use: macro-F1  macro-R  recall neg neu pos"
          "   trained: macro-F1  macro-R  recall neg neu pos")
    zero: dict[str, Any] | None = None
    for seed in seeds:
        pool, _ = draws[seed]
        print(f"{seed:<5} the shipped heads, before any retraining: {show(measure(shipped, seed))}", flush=True)
        for n in steps:
            if n == 0 and zero is not None:
                run = zero  # an empty database: the same training for every seed
            else:
                run = retrain(conf, pool[:n], shipped_scorer, HEADS_DIR)
                if n == 0:
                    zero = run
            trained = run
            if not run["accepted"]:
                trained = retrain(conf, pool[:n], shipped_scorer, HEADS_DIR, force=True)
                assert trained["version"] == run["version"], "the forced run trains on the same data"
            in_use, new = measure(run["heads"], seed), measure(trained["heads"], seed)
            current = run["current_heldout"]["mean"]["model"] if run["current_heldout"] else float("nan")
            row = {"seed": seed, "corrections": n, "accepted": run["accepted"], "in_use": run["in_use"],
                   "trained": run["version"], "heldout_new": run["heldout"]["mean"]["model"], "heldout_current": current,
                   "heldout": run["heldout"], "disagreed": run["disagreed"], "wall_s": run["wall_s"],
                   "wall_s_forced": None if trained is run else trained["wall_s"],
                   "figures_in_use": in_use, "figures_trained": new}
            rows.append(row)
            print(f"{seed:<5} {n:<4} {'accepted' if run['accepted'] else 'kept aside':<10}"
                  f"{row['heldout_new']:.4f}/{current:.4f}         {run['disagreed']:<10} {run['wall_s']:<8} "
                  f"{show(in_use)}          {show(new)}", flush=True)
            if args.json:
                args.json.write_text(json.dumps({"domain": args.domain, "seeds": seeds, "steps": steps,
                                                 "shipped": shipped.version, "rows": rows}, indent=1) + "\n")
    print("mean over seeds (in use | trained): N  macro-F1  macro-R | macro-F1  macro-R")
    for n in steps:
        at = [r for r in rows if r["corrections"] == n]
        means = [float(np.mean([r[key][m] for r in at])) for key in ("figures_in_use", "figures_trained")
                 for m in ("macro_f1", "macro_recall")]
        print(f"  {n:<4} {means[0]:.4f}  {means[1]:.4f} | {means[2]:.4f}  {means[3]:.4f}  "
              f"(accepted {sum(r['accepted'] for r in at)} of {len(at)})")


if __name__ == "__main__":
    main()
