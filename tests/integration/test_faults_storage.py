"""Fault suite: an SQLite file that is read-only or on a full disk.

- `earful stats`, `earful import` and `earful run` on a read-only database exit 1 with one line naming
  the file and what to do, never a traceback; the database is intact once permissions are back.
- `earful import` on a full disk stops with the same kind of message; the database stays intact, and
  the import rerun with space restored lands every row exactly once.
- `earful run --role listener` on a full disk logs the failure and keeps running; with space restored
  the next run collects everything exactly once (no half-written batch, no cursor ahead of its rows).

A full disk is simulated with `PRAGMA max_page_count` in the child process (SQLite answers exactly as
on a full disk: SQLITE_FULL); a read-only file with file modes, or as root a read-only bind mount.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from core.config import load_config
from core.db import Database
from listener.jobs import Runtime
from listener.sandbox import Sandbox
from listener.sandbox.world import World
from tests.fakes import faults as ff

SOURCES = ("mastodon", "hackernews", "bluesky")


def write_config(folder: Path, body: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text(f'database: {{url: "sqlite:///{folder / "earful.db"}"}}\nlogging: {{level: INFO}}\n'
                    f"alerts: {{enabled: false}}\n{ff.BRANDS}{body}")
    return path


def export_file(folder: Path, rows: int) -> Path:
    start = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
    path = folder / "export.jsonl"
    with path.open("w") as out:
        for i in range(rows):
            out.write(json.dumps({"id": f"row-{i}", "text": f"Skylark Air flight {i}: the crew were lovely " * 3,
                                  "created_at": (start + timedelta(minutes=i)).isoformat(), "author": f"@fan{i % 40}",
                                  "url": f"https://example.com/{i}"}) + "\n")
    return path


def mention_count(config: Path) -> int:
    code, out = ff.run_earful(config, "stats", "--json")
    assert code == 0, out
    return int(json.loads(out.strip().splitlines()[-1])["mentions"])


def assert_clear_error(code: int, out: str, *words: str) -> None:
    assert code == 1, out
    assert "Traceback" not in out, out
    error = [line for line in out.splitlines() if line.startswith("error:")]
    assert len(error) == 1, out
    for word in words:
        assert word in error[0], error[0]


@pytest.mark.timeout(90)
def test_a_read_only_database_gives_a_clear_error_and_stays_intact(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    config = write_config(folder)
    export = export_file(tmp_path, 20)
    code, out = ff.run_earful(config, "import", str(export), "--json")
    assert code == 0, out
    database = folder / "earful.db"
    with ff.read_only_folder(folder):
        for args in (("stats",), ("import", str(export)), ("run", "--role", "listener")):
            code, out = ff.run_earful(config, *args, timeout=60)
            assert_clear_error(code, out, str(database), "read-only", "permission")
    assert ff.integrity(database) == "ok"
    assert mention_count(config) == 20


@pytest.mark.timeout(90)
def test_an_import_on_a_full_disk_stops_clearly_and_resumes_when_there_is_room(tmp_path: Path) -> None:
    config = write_config(tmp_path / "full")
    database = tmp_path / "full" / "earful.db"
    assert mention_count(config) == 0  # migrated: the schema fits, the rows will not
    export = export_file(tmp_path, 400)
    code, out = ff.run_earful(config, "import", str(export), prelude=ff.disk_full_prelude(extra_pages=8))
    assert_clear_error(code, out, f"the disk holding {database} is full", "free space")
    assert ff.integrity(database) == "ok"
    partial = mention_count(config)
    assert partial < 400

    code, out = ff.run_earful(config, "import", str(export), "--json")
    assert code == 0, out
    report = json.loads(out.strip().splitlines()[-1])
    assert report["inserted"] == 400 - partial and not report["rejected"], report
    assert ff.integrity(database) == "ok"
    assert mention_count(config) == 400


@pytest.mark.timeout(120)
def test_a_poller_on_a_full_disk_logs_keeps_running_and_resumes(tmp_path: Path) -> None:
    world = World(seed=7, rate_per_min=3, backlog=timedelta(hours=3))
    with Sandbox(world, port=0) as sb:
        sources = ff.sources_yaml(sb, SOURCES, interval_s=5)
        config = write_config(tmp_path / "full", sources)
        database = tmp_path / "full" / "earful.db"
        db = Database.open(f"sqlite:///{database}")
        try:
            Runtime(load_config(config), db).close()  # migrated, sources in the catalog: nothing left to grow but rows
        finally:
            db.dispose()
        log = tmp_path / "listener.log"
        proc = ff.earful(config, "run", "--role", "listener", log=log, prelude=ff.disk_full_prelude(extra_pages=2))
        try:
            # Every source fails on its first poll, and again on its next turn: the node goes on polling.
            failures = len(SOURCES) + 1
            ff.wait_for("failed polls in the log", lambda: log.read_text().count("database or disk is full") >= failures,
                        deadline_s=60, alive=lambda: _alive(proc, log))
        finally:
            assert ff.stop(proc) == 0, log.read_text()[-3000:]
        assert ff.integrity(database) == "ok"

        proc = ff.earful(config, "run", "--role", "listener", log=tmp_path / "resumed.log")
        expected = ff.reference_items(ff.BRANDS + sources, tmp_path / "reference")
        db = Database.open(f"sqlite:///{database}", migrate=False)
        try:
            got = ff.wait_for("every item collected after the disk has room",
                              lambda: (lambda items: items if set(items) >= expected else None)(ff.stored_items(db)),
                              deadline_s=60, alive=lambda: _alive(proc, tmp_path / "resumed.log"))
        finally:
            ff.stop(proc)
            db.dispose()
    assert len(got) == len(set(got)), "an item was stored twice"
    assert set(got) == expected
    assert ff.integrity(database) == "ok"


def _alive(proc: object, log: Path) -> None:
    assert proc.poll() is None, f"the listener exited: {log.read_text()[-3000:]}"  # type: ignore[attr-defined]
