"""Fault suite: the sandbox platforms answer badly while a real `earful run --role listener` polls them.

Each platform fails in its own way on its first answers: a 429 with a reset header (Mastodon), a 429
with none (Reddit), 500s (Hacker News), an answer slower than the client's timeout (Bluesky), a body
cut in half (the Discourse forum) and a dropped connection (RSS). The node must not crash; each
source's health records the error (`earful sources --json`); and once the faults are spent every item
is collected exactly once, the same set an uninterrupted poll of the same sandbox stores.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from core.db import Database
from listener.sandbox import FaultKind, Sandbox
from listener.sandbox.world import World
from tests.fakes import faults as ff

SOURCES = ("mastodon", "reddit", "hackernews", "bluesky", "forum", "rss")
# source -> (sandbox platform, fault, options, what its last_error says)
FAULTS = {
    "mastodon": ("mastodon", FaultKind.RATE_LIMIT, {"times": 2, "with_reset": True, "retry_after_s": 2}, "HTTP 429"),
    "reddit": ("reddit", FaultKind.RATE_LIMIT, {"times": 1, "with_reset": False}, "HTTP 429"),
    "hackernews": ("hackernews", FaultKind.SERVER_ERROR, {"times": 2, "status": 500}, "HTTP 500"),
    "bluesky": ("bluesky", FaultKind.DELAY, {"times": 1, "delay_s": 4.0}, "timed out"),
    "forum": ("discourse", FaultKind.MALFORMED, {"times": 2}, "not valid JSON"),
    "rss": ("rss", FaultKind.DISCONNECT, {"times": 2}, "connection failed"),
}
@pytest.mark.timeout(150)
def test_the_listener_rides_out_429_500_timeouts_and_bad_payloads_and_loses_nothing(tmp_path: Path) -> None:
    world = World(seed=7, rate_per_min=3, backlog=timedelta(hours=3))
    with Sandbox(world, port=0) as sb:
        sources = ff.sources_yaml(sb, SOURCES, timeout_s=2.0)  # a slow answer times out within the test
        folder = tmp_path / "faulty"
        folder.mkdir()
        config = folder / "config.yaml"
        # Backoff (and a 429 without a reset) capped at 3 s so the retries come within the test.
        config.write_text(f'database: {{url: "sqlite:///{folder / "earful.db"}"}}\nlogging: {{level: INFO}}\n'
                          f"scheduler: {{backoff_max_seconds: 3}}\nalerts: {{enabled: false}}\n{ff.BRANDS}{sources}")
        for platform, kind, options, _ in FAULTS.values():
            sb.inject(platform, kind, **options)
        log = tmp_path / "listener.log"
        proc = ff.earful(config, "run", "--role", "listener", log=log)
        db = Database.open(f"sqlite:///{folder / 'earful.db'}")
        errors: dict[str, str] = {}

        def alive() -> None:
            assert proc.poll() is None, f"the listener exited: {log.read_text()[-3000:]}"

        def recovered() -> bool:
            for name, row in ff.source_rows(db).items():
                if row.last_error:
                    errors[name] = row.last_error
            pending = {p: len(sb.servers[p].faults.pending()) for p, *_ in FAULTS.values()}
            rows = ff.source_rows(db)
            return (not any(pending.values()) and set(errors) == set(FAULTS)
                    and all(r.health.value == "ok" and r.last_success_at and r.last_error_at
                            and r.last_success_at > r.last_error_at for r in rows.values()))

        try:
            ff.wait_for("every source failed, then recovered", recovered, deadline_s=90, alive=alive)
            code, out = ff.run_earful(config, "sources", "--json")
            assert code == 0, out
            health = {row["name"]: row for row in json.loads(out)}
            expected = ff.reference_items(ff.BRANDS + sources, tmp_path / "reference")
            got = ff.wait_for("every item collected",
                              lambda: (lambda items: items if set(items) >= expected else None)(ff.stored_items(db)),
                              deadline_s=30, alive=alive)
        finally:
            assert ff.stop(proc) == 0, log.read_text()[-3000:]
            db.dispose()
        assert sb.handler_errors() == {}

    for name, (_, kind, _, says) in FAULTS.items():
        row = health[name]
        assert row["health"] == "ok" and row["last_error"], (name, row)
        assert says in row["last_error"], (name, kind, row["last_error"])
    assert len(got) == len(set(got)), "an item was stored twice"
    assert set(got) == expected, f"lost {len(expected - set(got))}, extra {len(set(got) - expected)}"
