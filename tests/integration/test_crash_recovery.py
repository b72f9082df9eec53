"""Kill the poller process (SIGKILL) at arbitrary moments, restart it, and find every item exactly once.

The sandbox runs in the test process so it outlives the poller; `earful run` runs as a real child
process against a SQLite file. The expected set of items comes from a clean, uninterrupted run
against the same sandbox into a second database.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.db import Database
from core.models import Mention, Source
from listener.sandbox import Sandbox
from listener.sandbox.world import World

REPO = Path(__file__).resolve().parents[2]
PLATFORMS = ("x", "reddit", "mastodon", "bluesky", "youtube", "hackernews", "forum", "rss")


def write_config(folder: Path, sb: Sandbox) -> Path:
    """The repo's demo config with every sandbox URL pointed at this sandbox and short intervals."""
    text = (REPO / "config.yaml").read_text().replace("http://127.0.0.1:8700", sb.base_url)
    text = text.replace("database:\n  url: sqlite:///earful.db", "database:\n  url: sqlite:///earful.db")
    text = text.replace("level: INFO", "level: WARNING").replace("daily_budget_usd: 25.0", "daily_budget_usd: null")
    text = re.sub(r"interval_seconds: \d+", "interval_seconds: 5", text)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text(text)
    return path


def start_poller(config: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EARFUL_")}
    return subprocess.Popen(
        [sys.executable, "-m", "core.cli", "--config", str(config), "run"],
        cwd=config.parent, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


def stored(config: Path) -> tuple[list[tuple[str, str]], dict[str, int]]:
    db = Database.open(f"sqlite:///{config.parent / 'earful.db'}")
    try:
        with db.session() as s:
            rows = [tuple(r) for r in s.execute(sa.select(Mention.platform, Mention.native_id))]
            successes = {name: 1 for name, at in s.execute(sa.select(Source.name, Source.last_success_at)) if at}
        return rows, successes
    finally:
        db.dispose()


def wait_until_all_polled(config: Path, proc: subprocess.Popen[bytes], deadline_s: float) -> None:
    """Until every source has succeeded at least once since its cursors settled (bounded)."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        rows, successes = stored(config)
        if len(successes) == len(PLATFORMS):
            return
        time.sleep(0.3)
    raise AssertionError("the poller did not complete a poll of every source in time")


@pytest.mark.timeout(240)
def test_sigkill_at_any_moment_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    # seed 7: the ids in the repo config (owned X user, YouTube channel) exist in this world; never ticked
    world = World(seed=7, rate_per_min=2, backlog=timedelta(hours=30))
    with Sandbox(world, port=0) as sb:
        crashed = write_config(tmp_path / "crashed", sb)
        kill_after = [0.4, 0.9, 1.3, 1.8, 2.6, 3.5]  # seconds after start: during start-up, fetches and writes
        for delay in kill_after:
            proc = start_poller(crashed)
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        proc = start_poller(crashed)
        try:
            wait_until_all_polled(crashed, proc, 90)
            time.sleep(6)  # one more interval: every source polls again from its stored cursor
            wait_until_all_polled(crashed, proc, 30)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        got, _ = stored(crashed)

        clean = write_config(tmp_path / "clean", sb)
        proc = start_poller(clean)
        try:
            wait_until_all_polled(clean, proc, 90)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        expected, _ = stored(clean)

    assert len(got) == len(set(got)), "an item was stored twice"
    assert expected, "the clean run collected nothing"
    assert set(got) == set(expected), f"lost: {len(set(expected) - set(got))}, extra: {len(set(got) - set(expected))}"
