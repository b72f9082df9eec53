"""Progress of the long commands: `score`, `eval`, `train` and `retention apply` report advancing
counts through a callback (sentiment.job, core.privacy), and the CLI draws them as rich bars on
stderr while `--json` keeps stdout one JSON document."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from core.config import SentimentConfig
from core.db import Database
from core.mention import MentionIn
from core.privacy import run_retention
from core.store import store_batch
from sentiment.job import EVAL_CHUNK, evaluate_csv, score_pending, train_command
from tests.integration.test_sentiment_scoring import FakeScorer

T = datetime(2026, 3, 2, 12, tzinfo=timezone.utc)
Reports = list[tuple[str, int, "int | None"]]


def recorder() -> tuple[Reports, Any]:
    reports: Reports = []
    return reports, lambda step, done, total: reports.append((step, done, total))


def advancing(reports: Reports, step: str) -> list[int]:
    counts = [done for name, done, _ in reports if name == step]
    assert counts == sorted(counts), f"{step} went backwards: {counts}"
    return counts


def store(db: Database, n: int, at: datetime) -> None:
    with db.session() as s:
        store_batch(s, [MentionIn("mastodon", f"m{i}", f"flight {i} is late", at) for i in range(n)], now=at)


def test_scoring_reports_each_batch_against_the_backlog(db: Database) -> None:
    store(db, 5, T)
    reports, report = recorder()
    assert score_pending(db, FakeScorer(), batch_size=2, clock=lambda: T, on_progress=report) == 5
    assert reports == [("scoring", 0, 5), ("scoring", 2, 5), ("scoring", 4, 5), ("scoring", 5, 5)]
    reports.clear()
    with db.session() as s:
        store_batch(s, [MentionIn("mastodon", f"n{i}", "late again", T) for i in range(4)], now=T)
    score_pending(db, FakeScorer(), batch_size=2, limit=3, clock=lambda: T, on_progress=report)
    assert reports == [("scoring", 0, 3), ("scoring", 2, 3), ("scoring", 3, 3)]  # the limit is the total


def test_evaluation_reports_in_chunks(tmp_path: Path) -> None:
    n = 2 * EVAL_CHUNK + 10
    path = tmp_path / "labelled.csv"
    path.write_text("text,label\n" + "".join(f"text {i} is {'bad' if i % 2 else 'fine'},"
                                            f"{'negative' if i % 2 else 'positive'}\n" for i in range(n)))

    class Counting:
        version = "fake-1"
        calls = 0

        def labels(self, texts: list[str]) -> list[str]:
            self.calls += 1
            return ["negative" if "bad" in t else "positive" for t in texts]

    reports, report = recorder()
    scorer = Counting()
    result = evaluate_csv(path, "text", "label", scorer, on_progress=report)
    assert result["n"] == n and result["model"]["accuracy"] == 1.0  # chunking lost no text and no order
    assert reports == [("scoring", EVAL_CHUNK, n), ("scoring", 2 * EVAL_CHUNK, n), ("scoring", n, n)]
    assert scorer.calls == 3


def test_retention_reports_each_transaction(db: Database) -> None:
    store(db, 1200, T - timedelta(days=40))
    with db.session() as s:
        store_batch(s, [MentionIn("rss", f"r{i}", "recent", T - timedelta(days=1)) for i in range(3)], now=T)
    reports, report = recorder()
    result = run_retention(db, 30, T, per_transaction=500, on_progress=report)  # 500 per transaction
    assert result.mentions == 1200
    counts = advancing(reports, "deleting")
    assert counts[0] == 0 and counts[-1] == 1200 and {500, 1000} <= set(counts)
    assert {total for _, _, total in reports} == {1200}  # the old mentions counted when it started


def test_training_reports_its_steps_and_the_rescoring(db: Database, tmp_path: Path) -> None:
    encoder_mod = pytest.importorskip("sentiment.encoder")
    from tests.integration.test_corrections import RATED

    store(db, 3, T - timedelta(hours=1))
    reports, report = recorder()
    conf = SentimentConfig(max_length=32, batch_size=2)
    train_command(conf, db, now=T, cache_dir=tmp_path / "cache", heads_dir=tmp_path / "heads",
                  encoder=encoder_mod.Encoder(max_length=32, batch_size=2), corpora=RATED, rescore_days=1,
                  on_progress=report)
    steps = list(dict.fromkeys(step for step, _, _ in reports))
    assert steps == ["training the heads", "held-out scores", "re-scoring"]
    for step in ("training the heads", "held-out scores"):
        assert [(d, t) for s, d, t in reports if s == step] == [(0, 1), (1, 1)]
    assert advancing(reports, "re-scoring") == [0, 2, 3]


def earful(*args: str, cwd: Path, terminal: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EARFUL_")}
    if terminal:  # what rich sees on a real terminal: it draws the bars
        env |= {"TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1"}
    return subprocess.run([sys.executable, "-m", "core.cli", "--config", str(cwd / "config.yaml"), *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_the_bar_is_drawn_on_stderr_and_json_stays_json(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(f"database: {{url: 'sqlite:///{tmp_path / 'e.db'}'}}\n")
    db = Database.open(f"sqlite:///{tmp_path / 'e.db'}")
    store(db, 3, datetime.now(timezone.utc) - timedelta(days=60))  # the command uses the real clock
    db.dispose()
    drawn = earful("retention", "apply", "--days", "30", "--json", cwd=tmp_path, terminal=True)
    assert drawn.returncode == 0, drawn.stderr
    assert json.loads(drawn.stdout)["mentions"] == 3
    assert "deleting" in drawn.stderr and "\x1b[" in drawn.stderr  # a live bar, on stderr only
    piped = earful("retention", "apply", "--days", "30", cwd=tmp_path, terminal=False)
    assert piped.returncode == 0 and "deleting" not in piped.stderr  # no terminal: no bar in logs
    assert "deleted 0 mentions" in piped.stdout
