"""Scorer scale-out on PostgreSQL: a backlog scored by one and by two `earful run --role scorer` processes.

    python bench/scaleout.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--n 6000]

Seeds --n unscored mentions (texts of the human-rated corpora) in a fresh schema, then scores the
same backlog three times, each from scratch, with real `earful run --role scorer` processes:

1. one scorer with one thread (`sentiment.threads: 1`): the baseline, one core's worth;
2. one scorer with every core (`sentiment.threads: 0`): the single-node default;
3. two scorers with one thread each, sharing the backlog through `FOR UPDATE SKIP LOCKED`.

Throughput is the backlog over the time from the first to the last score written (model loading is
not counted). Each run checks that every mention got exactly one score and that the scorers' own
logs add up to the backlog (no mention scored twice). The schema is dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.config import SentimentConfig  # noqa: E402
from core.db import Database, normalise_url  # noqa: E402
from core.mention import AuthorIn, MentionIn  # noqa: E402
from core.models import Mention, Score, utcnow  # noqa: E402
from core.store import store_batch  # noqa: E402
from sentiment.data import load_corpora  # noqa: E402
from sentiment.job import chunk_size  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def seed(db: Database, n: int) -> None:
    pool = [e.text for examples in load_corpora().values() for e in examples]
    now = utcnow()
    items = [MentionIn(platform="import", native_id=f"bench-{i}", created_at=now - timedelta(seconds=i),
                       text=pool[(i * 7919) % len(pool)], brands=("Skylark Air",),
                       author=AuthorIn(platform="import", handle=f"@p{i % 500}", native_id=f"p{i % 500}"))
             for i in range(n)]
    with db.session() as s:
        for start in range(0, n, 1000):
            store_batch(s, items[start:start + 1000], source_id=None, now=now)


def reset(db: Database) -> None:
    with db.session() as s:
        s.execute(sa.delete(Score))
        s.execute(sa.update(Mention).values(scored_at=None, sentiment=None, urgency=None, topics=None))


def write_config(folder: Path, url: str, threads: int) -> Path:
    path = folder / f"config-{threads}.yaml"
    path.write_text(f"""
database: {{url: "{url}"}}
logging: {{level: INFO}}
brands:
  - name: Skylark Air
    queries: [{{expression: 'skylark'}}]
sources: []
sentiment: {{threads: {threads}, interval_seconds: 1}}
alerts: {{enabled: false}}
""")
    return path


def run_scorers(db: Database, config: Path, processes: int, n: int, folder: Path) -> tuple[float, list[int]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EARFUL_")}
    logs = [folder / f"scorer-{processes}-{i}-{config.stem}.log" for i in range(processes)]
    procs = [subprocess.Popen([sys.executable, "-m", "core.cli", "--config", str(config), "run", "--role", "scorer"],
                              cwd=ROOT, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT) for log in logs]
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            with db.session() as s:
                left = s.scalar(sa.select(sa.func.count()).select_from(Mention).where(Mention.scored_at.is_(None)))
            if left == 0:
                break
            if any(p.poll() is not None for p in procs):
                raise SystemExit(f"a scorer exited: {[log.read_text()[-1500:] for log in logs]}")
            time.sleep(0.2)
        else:
            raise SystemExit("the backlog was not scored within 10 minutes")
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=60)
    with db.session() as s:
        first, last, count = s.execute(sa.select(sa.func.min(Score.created_at), sa.func.max(Score.created_at),
                                                 sa.func.count())).one()
    if count != n:
        raise SystemExit(f"{count} scores for {n} mentions")
    done = [sum(int(x) for x in re.findall(r"scored (\d+) mentions", log.read_text())) for log in logs]
    if sum(done) != n:
        raise SystemExit(f"the scorers' logs add up to {sum(done)} for {n} mentions: {done}")
    return (last - first).total_seconds(), done


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default=os.environ.get("EARFUL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--n", type=int, default=6000)
    args = parser.parse_args()

    base = normalise_url(args.url)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    try:
        db = Database.open(url)
        seed(db, args.n)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            runs = [("1 scorer, 1 thread", 1, 1), ("1 scorer, all cores", 0, 1), ("2 scorers, 1 thread each", 1, 2)]
            results = []
            for label, threads, processes in runs:
                reset(db)
                span, done = run_scorers(db, write_config(folder, url, threads), processes, args.n, folder)
                # Scores are timestamped when each chunk is written, so the span misses the first
                # chunk's own scoring time; counting from the first write, the first chunk is left out.
                results.append((label, (args.n - chunk_size(SentimentConfig())) / span, done))
        baseline = results[0][1]
        print(f"PostgreSQL, {args.n} mentions backlog, {os.cpu_count()} cores, ONNX Runtime int8 (sentiment.runtime: auto)")
        print(f"{'run':<28}{'mentions/s':>12}{'vs 1 thread':>13}   mentions per process")
        for label, rate, done in results:
            print(f"{label:<28}{rate:>12.1f}{rate / baseline:>12.2f}x   {done}")
        print("every run: one score per mention, the scorers' logs add up to the backlog (none scored twice)")
        db.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
