"""The real APScheduler wiring: one job per source, persisted, and a stuck source delays no other."""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest
import sqlalchemy as sa

from core.config import load_config
from core.db import Database
from core.models import Source
from listener.jobs import Runtime, install_runtime
from listener.sandbox import FaultKind, Sandbox
from listener.scheduler import build_scheduler, schedule_polls


@contextmanager
def paused_scheduler(tmp_path: Path, yaml: str) -> Iterator[tuple[Path, Any, Any]]:
    """(config path, settings, a started but paused scheduler) for `yaml` added to a fresh SQLite site."""
    path = tmp_path / "config.yaml"
    path.write_text(f"database:\n  url: sqlite:///{tmp_path / 'e.db'}\n{yaml}")
    settings = load_config(path, env={})
    Database.open(settings.database.url).dispose()
    scheduler = build_scheduler(settings)
    scheduler.start(paused=True)
    try:
        yield path, settings, scheduler
    finally:
        scheduler.shutdown(wait=False)


def config_for(tmp_path: Path, sb: Sandbox) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        f"database:\n  url: sqlite:///{tmp_path / 'e.db'}\n"
        "brands:\n  - {name: Skylark Air, queries: [{expression: 'skylark OR skylarkair'}]}\n"
        "sources:\n"
        f"  - {{name: slow, platform: mastodon, sandbox: true, base_url: '{sb.base_urls['mastodon']}', interval_seconds: 60}}\n"
        f"  - {{name: hn, platform: hackernews, sandbox: true, base_url: '{sb.base_urls['hackernews']}', interval_seconds: 60}}\n"
    )
    return path


@pytest.mark.timeout(60)
def test_a_hanging_source_does_not_delay_another_and_jobs_persist(tmp_path: Path) -> None:
    with Sandbox(port=0) as sb:
        path = config_for(tmp_path, sb)
        settings = load_config(path, env={})
        db = Database.open(settings.database.url)
        runtime = Runtime(settings, db)
        install_runtime(str(path), runtime)
        # every Mastodon answer hangs for 8 s (the client waits up to 20 s)
        sb.inject("mastodon", FaultKind.DELAY, times=50, delay_s=8)
        scheduler = build_scheduler(settings)
        scheduler.start(paused=True)
        assert schedule_polls(scheduler, settings, str(path)) == ["poll:hn", "poll:slow"]
        started = time.monotonic()
        scheduler.resume()
        try:
            while time.monotonic() - started < 7:  # bounded wait, well inside the hang
                with db.session() as s:
                    hn = s.scalar(sa.select(Source).where(Source.name == "hn"))
                    slow = s.scalar(sa.select(Source).where(Source.name == "slow"))
                    if hn.last_success_at is not None:
                        break
                time.sleep(0.1)
            assert hn.last_success_at is not None, "the hanging source held up the other one"
            assert slow.last_success_at is None
        finally:
            scheduler.shutdown(wait=False)
        # the job store survives a restart of the scheduler
        again = build_scheduler(settings)
        again.start(paused=True)
        try:
            assert sorted(job.id for job in again.get_jobs()) == ["poll:hn", "poll:slow"]
        finally:
            again.shutdown(wait=False)
        runtime.close()
        db.dispose()


def test_nightly_training_is_scheduled_only_when_configured(tmp_path: Path) -> None:
    from listener.scheduler import schedule_training

    with paused_scheduler(tmp_path, "sentiment:\n  train_at: '03:30'\n") as (path, settings, scheduler):
        assert schedule_training(scheduler, settings, str(path)) == "train"
        job = scheduler.get_job("train")
        assert (job.next_run_time.hour, job.next_run_time.minute) == (3, 30)
        off = load_config(path, env={"EARFUL_SENTIMENT__TRAIN_AT": "null"})
        assert schedule_training(scheduler, off, str(path)) is None
        assert scheduler.get_job("train") is None


def test_the_scorer_role_schedules_the_reply_embeddings_at_the_configured_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from apscheduler.schedulers.background import BackgroundScheduler

    from core.services import start_scheduler, stop_scheduler
    from listener.scheduler import EXCLUSIVE, ROLE_JOBS

    path = tmp_path / "config.yaml"
    path.write_text(f"database:\n  url: sqlite:///{tmp_path / 'e.db'}\nresponder:\n  suggestions: {{interval_seconds: 120}}\n")
    settings = load_config(path, env={})
    db = Database.open(settings.database.url)
    # Scheduled, not run: the scoring job would load the real encoder.
    monkeypatch.setattr(BackgroundScheduler, "resume", lambda self: None)
    scheduler, runtime, jobs = start_scheduler(settings, str(path), db, ("scorer",))
    try:
        assert jobs == ["score", "embed_replies", "priors"] and set(jobs) <= set(ROLE_JOBS["scorer"])
        job = scheduler.get_job("embed_replies")
        assert job.trigger.interval == timedelta(seconds=120)
        assert job.func_ref == EXCLUSIVE  # one node at a time: every node would embed the same rows
        assert list(job.args) == ["embed_replies", "responder.jobs:embed_replies_job", str(path)]
        assert scheduler.get_job("send") is None  # the sender role's jobs stay with the sender
    finally:
        stop_scheduler(scheduler, runtime, str(path))
        db.dispose()


def test_the_brands_class_mixes_are_refreshed_on_a_schedule_only_while_adaptation_is_on(tmp_path: Path) -> None:
    from datetime import timedelta

    from listener.scheduler import EXCLUSIVE, schedule_priors

    with paused_scheduler(tmp_path, "sentiment:\n  adaptation: {interval_seconds: 1800}\n") as (path, settings, scheduler):
        assert schedule_priors(scheduler, settings, str(path)) == "priors"
        job = scheduler.get_job("priors")
        assert job.trigger.interval == timedelta(seconds=1800)
        assert job.func_ref == EXCLUSIVE  # one node at a time: every node would estimate the same mixes
        assert list(job.args) == ["priors", "sentiment.adaptation:refresh_priors_job", str(path)]
        off = load_config(path, env={"EARFUL_SENTIMENT__ADAPTATION__ENABLED": "false"})
        assert schedule_priors(scheduler, off, str(path)) is None
        assert scheduler.get_job("priors") is None
