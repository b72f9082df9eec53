"""Helpers of the fault suite (tests/integration/test_faults*.py): `earful` child processes, waiting
on conditions with deadlines, the clean reference poll, and the disk and permission faults.

Everything waits on a condition with a deadline and fails with what it last saw; nothing sleeps a
fixed time to "let things settle".
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, TypeVar

import pytest
import sqlalchemy as sa

from core.config import load_config
from core.db import Database
from core.models import Mention, Source
from listener.jobs import Runtime
from listener.sandbox import Sandbox

REPO = Path(__file__).resolve().parents[2]
T = TypeVar("T")

BRANDS = """
brands:
  - name: Skylark Air
    queries:
      - expression: '"skylark air" OR skylarkair OR #flyskylark OR (skylark AND (flight OR flights OR baggage OR luggage OR app OR refund OR crew))'
        handles: ["@skylarkair"]
  - name: Nimbus Airways
    competitor: true
    queries: [{expression: '"nimbus airways" OR nimbusair OR #flynimbus', handles: ["@nimbusair"]}]
"""


def sources_yaml(sb: Sandbox, names: tuple[str, ...], interval_s: int = 5, timeout_s: float = 20.0) -> str:
    """Sandbox sources for `names` (platform names of the sandbox; discourse is called forum)."""
    urls = sb.base_urls
    owned = sb.accounts()
    entries = {
        "x": f'{{name: x, platform: x, sandbox: true, base_url: "{urls["x"]}", owned_user_ids: ["{owned["x"]["id"]}"]',
        "reddit": f'{{name: reddit, platform: reddit, sandbox: true, base_url: "{urls["reddit"]}", '
                  f'auth_url: "{urls["reddit"]}", subreddits: [travel, flying, SkylarkAir]',
        "mastodon": f'{{name: mastodon, platform: mastodon, sandbox: true, base_url: "{urls["mastodon"]}", '
                    'owned_accounts: ["@skylarkair"]',
        "bluesky": f'{{name: bluesky, platform: bluesky, sandbox: true, base_url: "{urls["bluesky"]}"',
        "youtube": f'{{name: youtube, platform: youtube, sandbox: true, base_url: "{urls["youtube"]}", '
                   f'channel_ids: ["{owned["youtube"]["id"]}"]',
        "hackernews": f'{{name: hackernews, platform: hackernews, sandbox: true, base_url: "{urls["hackernews"]}"',
        "forum": f'{{name: forum, platform: discourse, sandbox: true, base_url: "{urls["discourse"]}"',
        "rss": f'{{name: rss, platform: rss, sandbox: true, feeds: [{", ".join(map(repr, sb.rss_feeds.values()))}]',
    }
    return "sources:\n" + "".join(f"  - {entries[n]}, interval_seconds: {interval_s}, timeout_seconds: {timeout_s}}}\n"
                                   for n in names)


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("EARFUL_")}


def earful(config: Path, *args: str, log: Path | None = None, prelude: str = "",
           env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """`earful --config CONFIG ARGS` as a child process (output to `log`, or a pipe), with `env` added
    to the environment.

    `prelude` is Python run in the child before the CLI starts: a fault to install (see
    `disk_full_prelude`)."""
    command = [sys.executable, "-m", "core.cli"] if not prelude else [
        sys.executable, "-c", f"{prelude}\nimport sys\nfrom core.cli import main\nsys.argv[0] = 'earful'\nmain()"]
    out = open(log, "ab") if log else subprocess.PIPE
    try:
        return subprocess.Popen([*command, "--config", str(config), *args], cwd=config.parent,
                                env={**clean_env(), **(env or {})}, stdout=out, stderr=subprocess.STDOUT)
    finally:
        if log:
            out.close()  # type: ignore[union-attr]


def run_earful(config: Path, *args: str, prelude: str = "", timeout: float = 60) -> tuple[int, str]:
    """Run a short `earful` command to its end: (exit status, stdout and stderr together)."""
    proc = earful(config, *args, prelude=prelude)
    out, _ = proc.communicate(timeout=timeout)
    return proc.returncode, out.decode(errors="replace")


def stop(proc: subprocess.Popen[bytes], timeout: float = 30) -> int:
    """SIGTERM (a graceful stop), then SIGKILL if it does not end in time."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    return proc.returncode


def kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


def wait_for(what: str, check: Callable[[], T], *, deadline_s: float, every_s: float = 0.3,
             alive: Callable[[], None] = lambda: None) -> T:
    """Poll `check` until it returns something truthy; `alive` raises if a process died meanwhile."""
    deadline = time.monotonic() + deadline_s
    last: T = check()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {deadline_s:.0f} s (last seen: {last!r})")
        alive()
        time.sleep(every_s)
        last = check()
    return last


class WebhookReceiver:
    """A local JSON webhook (the alerts' `webhook` channel) that keeps every body it is sent."""

    def __init__(self) -> None:
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        bodies = self.bodies = []  # type: list[dict[str, object]]

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the http.server name)
                bodies.append(json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0)))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a sender SIGKILLed mid-request resets the connection: expected here

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def stored_items(db: Database) -> list[tuple[str, str]]:
    """(platform, native id) of every stored mention, duplicates kept."""
    with db.session() as s:
        return [(p, n) for p, n in s.execute(sa.select(Mention.platform, Mention.native_id))]


def source_rows(db: Database) -> dict[str, Source]:
    with db.session() as s:
        return {row.name: row for row in s.scalars(sa.select(Source))}


def reference_items(config_text: str, folder: Path, max_polls: int = 10) -> set[tuple[str, str]]:
    """What an uninterrupted listener stores from the same sandbox: every source polled in process
    until a poll brings nothing new, into a fresh SQLite file (`config_text` plus its database.url)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text(config_text + f'\ndatabase: {{url: "sqlite:///{folder / "reference.db"}"}}\n')
    settings = load_config(path)
    db = Database.open(settings.database.url)
    try:
        runtime = Runtime(settings, db)
        try:
            for source in settings.sources:
                for _ in range(max_polls):
                    outcome = runtime.poll(source.name)
                    assert outcome.status == "ok", (source.name, outcome)
                    if outcome.inserted == 0:
                        break
        finally:
            runtime.close()
        items = stored_items(db)
    finally:
        db.dispose()
    assert len(items) == len(set(items))
    return set(items)


# -- disk and permission faults ---------------------------------------------------------------------

def disk_full_prelude(extra_pages: int) -> str:
    """Child-process code that makes every SQLite connection see a disk with room for `extra_pages`
    more pages than the file has now (`PRAGMA max_page_count`): SQLite then fails the write that
    would grow past it with SQLITE_FULL, "database or disk is full", exactly as on a full disk."""
    return textwrap.dedent(f"""
        import core.db
        _pragmas = core.db._sqlite_pragmas
        def _full_disk(connection, record):
            _pragmas(connection, record)
            cursor = connection.cursor()
            pages = cursor.execute("PRAGMA page_count").fetchone()[0]
            cursor.execute(f"PRAGMA max_page_count={{pages + {extra_pages}}}")
            cursor.close()
        core.db._sqlite_pragmas = _full_disk
    """)


@contextmanager
def read_only_folder(folder: Path) -> Iterator[None]:
    """Make `folder` and the files in it read-only for Earful, then restore them.

    A normal user gets chmod 0444/0555; root ignores file modes, so as root the folder is bind-mounted
    read-only onto itself (EROFS, as on a read-only volume), or the test is skipped where that is not
    allowed.
    """
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in (folder, *folder.iterdir())}
        for path in folder.iterdir():
            path.chmod(0o444)
        folder.chmod(0o555)
        try:
            yield
        finally:
            for path, mode in modes.items():
                path.chmod(mode)
        return
    bind = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True)
    if bind.returncode != 0:
        pytest.skip(f"running as root and cannot bind-mount {folder} read-only: {bind.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], check=True, capture_output=True)
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=True, capture_output=True)


def integrity(path: Path) -> str:
    import sqlite3

    with sqlite3.connect(path) as connection:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])
