"""Several `earful run` nodes on one database: job locks, and scorers and senders sharing a backlog.

- `Database.exclusive` is held by one process at a time and released when its holder dies (SIGKILL),
  on an SQLite file and on PostgreSQL.
- `run_exclusive` runs a job only on the node holding its lock.
- Two `earful run --role scorer` and two `earful run --role sender` processes on PostgreSQL work
  through a backlog of collected mentions and approved replies: every mention is scored once (the
  scorers' own logs add up to the backlog exactly, and both took part), and the fake Mastodon holds
  every reply exactly once.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa

from core import runtimes
from core.db import Database
from core.models import Mention, Reply, ReplyState, Score, utcnow
from core.mention import AuthorIn, MentionIn
from core.store import store_batch
from listener.sandbox import Sandbox
from listener.sandbox.world import World
from listener.scheduler import ROLES, parse_roles
from tests.conftest import _postgres_database_url
from tests.fakes import faults as ff
from tests.fakes import responder as fx

HOLDER = textwrap.dedent("""
    import sys, time
    from core.db import Database
    db = Database.open(sys.argv[1], migrate=False)
    with db.exclusive("earful.job:test") as mine:
        print("held" if mine else "busy", flush=True)
        time.sleep(120)
""")


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from _postgres_database_url(None)


def test_roles_parse() -> None:
    assert parse_roles("all") == ROLES
    assert parse_roles("sender,scorer") == ("scorer", "sender")
    assert parse_roles(" alerts ") == ("alerts",)
    with pytest.raises(ValueError, match="unknown role poller"):
        parse_roles("listener,poller")


@pytest.mark.timeout(60)
def test_the_exclusive_lock_is_held_by_one_process_and_released_when_it_dies(db_url: str) -> None:
    db = Database.open(db_url)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, db_url], stdout=subprocess.PIPE, env=ff.clean_env(),
                              cwd=Path(__file__).resolve().parents[2])
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
        with db.exclusive("earful.job:test") as mine:
            assert not mine, "two processes held one lock"
        with db.exclusive("earful.job:other") as mine:
            assert mine  # locks are per name
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        deadline = time.monotonic() + 10
        while True:  # PostgreSQL notices the dead session within moments
            with db.exclusive("earful.job:test") as mine:
                if mine or time.monotonic() > deadline:
                    break
            time.sleep(0.1)
        assert mine, "the lock of a killed process was not released"
    finally:
        if holder.poll() is None:
            holder.kill()
        db.dispose()


def test_run_exclusive_runs_a_job_only_on_the_node_holding_its_lock(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    db = Database.open(db_url)
    runtimes.install_database("cfg-for-test", db)
    calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(sys.modules[__name__], "a_job", lambda *args: calls.append(args), raising=False)
    target = f"{__name__}:a_job"
    try:
        assert runtimes.run_exclusive("poll:x", target, "cfg-for-test", "x") is True
        other = Database.open(db_url, migrate=False)  # another node: its own connections
        try:
            with other.exclusive("earful.job:poll:x") as mine:
                assert mine
                if db.is_postgres:
                    assert runtimes.run_exclusive("poll:x", target, "cfg-for-test", "x") is False
        finally:
            other.dispose()
        assert calls[0] == ("cfg-for-test", "x")
    finally:
        db.dispose()


# -- two scorers and two senders on PostgreSQL ----------------------------------------------------

REPLIES = 12
EXTRA = 400
WORDS = ("Lost my bag again on", "Lovely crew today on", "What time does the lounge open for", "Refund still missing for",
         "The app crashed while checking in for", "Thanks for the upgrade on")


def write_config(folder: Path, url: str, sb: Sandbox) -> Path:
    return fx.mastodon_config(folder, url, sb, """
logging: {level: INFO}
sentiment: {threads: 1, batch_size: 16, interval_seconds: 1}
responder:
  cases: {interval_seconds: 1}
  sender: {interval_seconds: 1, lease_seconds: 30}
alerts: {enabled: false}
""", source_options=", interval_seconds: 3600")


def seed_backlog(config: Path) -> tuple[int, list[str]]:
    """Collect from the fake Mastodon; approve REPLIES replies on cases of the first mentions and
    leave every other mention unscored. Returns (mentions to score, reply texts)."""
    with fx.collected(config) as (settings, db), db.session() as s:
        inbound = s.scalars(sa.select(Mention).where(Mention.is_own.is_(False)).order_by(Mention.id)).all()
        assert len(inbound) > REPLIES * 3, f"the listener collected only {len(inbound)}"
        fx.score_and_triage(s, settings, inbound[: REPLIES * 3])
        texts = fx.approve_replies(s, settings, REPLIES)
        assert len(texts) == REPLIES
        # A larger backlog than one poll brings: an imported export, as `earful import` stores it.
        now = utcnow()
        store_batch(s, [MentionIn(
            platform="import", native_id=f"export-{i}", created_at=now - timedelta(minutes=i),
            text=f"{WORDS[i % len(WORDS)]} skylark flight {i}", url=None,
            author=AuthorIn(platform="import", handle=f"@fan{i % 50}", native_id=f"fan{i % 50}", name=f"Fan {i % 50}"),
            brands=("Skylark Air",)) for i in range(EXTRA)], source_id=None, now=now)
        unscored = s.scalar(sa.select(sa.func.count()).select_from(Mention).where(Mention.scored_at.is_(None)))
        return unscored, texts


@pytest.mark.postgres
@pytest.mark.timeout(240)
def test_two_scorers_and_two_senders_share_a_backlog_without_duplicates(tmp_path: Path, pg_url: str) -> None:
    world = World(seed=11, rate_per_min=30, backlog=timedelta(hours=24))
    with Sandbox(world, port=0) as sb:
        config = write_config(tmp_path, pg_url, sb)
        backlog, texts = seed_backlog(config)
        logs = {f"{role}{n}": tmp_path / f"{role}{n}.log" for role in ("scorer", "sender") for n in (1, 2)}
        procs = {name: ff.earful(config, "run", "--role", name[:-1], log=log) for name, log in logs.items()}
        db = Database.open(pg_url, migrate=False)
        try:
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                with db.session() as s:
                    left = s.scalar(sa.select(sa.func.count()).select_from(Mention).where(Mention.scored_at.is_(None)))
                    unsent = s.scalar(sa.select(sa.func.count()).select_from(Reply).where(Reply.state != ReplyState.sent))
                if left == 0 and unsent == 0:
                    break
                for name, proc in procs.items():
                    assert proc.poll() is None, f"{name} exited: {logs[name].read_text()[-2000:]}"
                time.sleep(0.5)
            assert left == 0 and unsent == 0, f"{left} mentions unscored, {unsent} replies unsent after 180 s"
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in procs.values():
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()

        # Every mention scored by exactly one scorer: their logs add up to the backlog, both worked.
        done = {name: sum(int(n) for n in re.findall(r"scored (\d+) mentions", logs[name].read_text()))
                for name in ("scorer1", "scorer2")}
        assert sum(done.values()) == backlog, (done, backlog)
        assert min(done.values()) > 0, f"one scorer did all the work: {done}"
        with db.session() as s:
            assert s.scalar(sa.select(sa.func.count()).select_from(Score).where(Score.model_version != "test")) == backlog
        db.dispose()
        # Every reply posted exactly once.
        posted = [p.text for p in sb.world.api_posts("mastodon")]
        assert sorted(posted) == sorted(texts), "a reply was posted twice or not at all"
        assert sb.handler_errors() == {}
