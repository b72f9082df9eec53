"""Secrets never leave: the real listener polls the sandbox with credentials given as ${VAR}s, at DEBUG
log level, through refused credentials (401) and server errors; the secret values must not appear in
the captured logs, the stored source errors, `earful config check`, `earful sources --json`, CSV
exports (the dashboard's functions and `earful report --format csv`) or any error message."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa

from core.config import load_config
from core.db import Database
from core.inbox import InboxFilters, export_inbox_csv
from core.metrics import Filters, export_mentions_csv
from core.models import Role, Source
from core.users import add_user, operator
from listener.jobs import Runtime
from listener.sandbox import Sandbox
from listener.sandbox.faults import FaultKind
from listener.sandbox.world import World

# The sandbox accepts its own public credentials only: the good tokens are those, the bad ones are
# refused with the platform's 401. Every value below must stay secret.
SECRETS = {
    "MASTODON_TOKEN": "sandbox-mastodon-token",
    "MASTODON_BAD_TOKEN": "SECRET-mastodon-revoked-8c1f",
    "X_BEARER_TOKEN": "SECRET-x-bearer-5d2a",
    "REDDIT_CLIENT_SECRET": "SECRET-reddit-client-77aa",
    "REDDIT_PASSWORD": "SECRET-reddit-password-19bc",
    "DISCOURSE_API_KEY": "SECRET-discourse-key-4e0f",
    "YOUTUBE_API_KEY": "SECRET-youtube-key-a9d3",
    "BLUESKY_APP_PASSWORD": "SECRET-bsky-app-pass-6b7e",
    "SLACK_WEBHOOK_URL": "https://hooks.slack.example/services/SECRET-HOOK-0f3c",
    "SMTP_PASSWORD": "SECRET-smtp-password-2d4e",
}


def leaked(text: str) -> list[str]:
    return [name for name, value in SECRETS.items() if value in text]


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Sandbox]]:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    world = World(seed=7, rate_per_min=2, backlog=timedelta(hours=2))
    with Sandbox(world, port=0) as sb:
        u = sb.base_urls
        config = tmp_path / "config.yaml"
        config.write_text(f"""
database: {{url: "sqlite:///{tmp_path / 'e.db'}"}}
logging: {{level: DEBUG}}
brands:
  - name: Skylark Air
    queries: [{{expression: 'skylark OR skylarkair', handles: ["@skylarkair"]}}]
sources:
  - {{name: masto, platform: mastodon, base_url: "{u['mastodon']}", access_token: "${{MASTODON_TOKEN}}"}}
  - {{name: masto-revoked, platform: mastodon, base_url: "{u['mastodon']}", access_token: "${{MASTODON_BAD_TOKEN}}"}}
  - {{name: bird, platform: x, base_url: "{u['x']}", bearer_token: "${{X_BEARER_TOKEN}}"}}
  - {{name: reddit, platform: reddit, base_url: "{u['reddit']}", auth_url: "{u['reddit']}", client_id: sandbox-reddit-client,
      client_secret: "${{REDDIT_CLIENT_SECRET}}", username: skylarkair, password: "${{REDDIT_PASSWORD}}"}}
  - {{name: forum, platform: discourse, base_url: "{u['discourse']}", api_key: "${{DISCOURSE_API_KEY}}",
      api_username: skylark_support}}
  - {{name: tube, platform: youtube, base_url: "{u['youtube']}", api_key: "${{YOUTUBE_API_KEY}}",
      channel_ids: ["UCsruvs5cyZuAvwGdHisQGDh"]}}
  - {{name: sky, platform: bluesky, base_url: "{u['bluesky']}", handle: skylarkair.bsky.social,
      app_password: "${{BLUESKY_APP_PASSWORD}}"}}
alerts:
  channels:
    - {{name: ops, type: slack, webhook_url: "${{SLACK_WEBHOOK_URL}}"}}
    - {{name: mail, type: email, host: 127.0.0.1, port: 9, username: earful, password: "${{SMTP_PASSWORD}}",
        sender: earful@example.com, recipients: [ops@example.com]}}
""")
        yield config, sb


def earful(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EARFUL_")}
    return subprocess.run([sys.executable, "-m", "core.cli", "--config", str(config), "--log-level", "DEBUG", *args],
                          cwd=config.parent, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.timeout(120)
def test_secrets_stay_out_of_logs_errors_and_exports(site: tuple[Path, Sandbox], caplog: pytest.LogCaptureFixture) -> None:
    config, sb = site
    caplog.set_level(logging.DEBUG)  # every logger, the client libraries' included
    settings = load_config(config)
    db = Database.open(settings.database.url)
    runtime = Runtime(settings, db)
    outcomes = {}
    for source in settings.sources:
        outcomes[source.name] = runtime.poll(source.name).status
    # a server error, then a revoked token, on the working source
    sb.inject("mastodon", FaultKind.SERVER_ERROR, status=503)
    outcomes["masto 503"] = runtime.poll("masto").status
    sb.inject("mastodon", FaultKind.UNAUTHORIZED)
    outcomes["masto 401"] = runtime.poll("masto").status
    runtime.close()
    assert outcomes["masto"] == "ok", outcomes
    assert {outcomes[n] for n in ("masto-revoked", "bird", "reddit", "forum", "tube", "sky")} - {"ok"}, outcomes

    log_text = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert any(r.levelno == logging.DEBUG for r in caplog.records)
    assert leaked(log_text) == [], "secrets in the logs"
    with db.session() as s:
        errors = "\n".join(e or "" for e in s.scalars(sa.select(Source.last_error)))
        assert errors.strip(), "the refused sources should say why"
        assert leaked(errors) == [], "secrets in the stored source errors"
        admin = add_user(s, operator("test"), "root", "correct horse", Role.admin)
        now = datetime.now(timezone.utc)
        exports = export_inbox_csv(s, InboxFilters(), actor=admin) + export_mentions_csv(
            s, Filters(start=now - timedelta(days=2), end=now + timedelta(hours=1)), actor=admin)
        assert "skylark" in exports.lower() and leaked(exports) == []
    db.dispose()

    for args in (("config", "check"), ("config", "check", "--json"), ("sources", "--json"),
                 ("report", "--from", "2020-01-01", "--to", "2099-12-31", "--format", "csv"),
                 ("report", "--from", "2020-01-01", "--to", "2099-12-31", "--format", "json"),
                 ("outbox", "--json"), ("alerts", "--json"), ("stats", "--json")):
        result = earful(config, *args)
        assert result.returncode == 0, (args, result.stderr[-2000:])
        assert leaked(result.stdout + result.stderr) == [], args


def test_error_messages_never_echo_secrets(site: tuple[Path, Sandbox], tmp_path: Path) -> None:
    config, _ = site
    broken = tmp_path / "broken.yaml"
    # a wrong type next to a secret, an unknown key, a literal secret: each message names the key only
    broken.write_text(config.read_text().replace("alerts:\n  channels:", "alerts:\n  interval_seconds: soon\n  channels:"))
    result = earful(broken, "config", "check")
    assert result.returncode == 2 and "alerts.interval_seconds" in result.stderr
    assert leaked(result.stdout + result.stderr) == []
    literal = tmp_path / "literal.yaml"
    literal.write_text(f"sources:\n  - {{name: m, platform: mastodon, access_token: {SECRETS['MASTODON_BAD_TOKEN']}}}\n")
    result = earful(literal, "config", "check")
    assert result.returncode == 2 and "sources[0].access_token" in result.stderr
    assert leaked(result.stdout + result.stderr) == []
    bad_url = tmp_path / "url.yaml"
    bad_url.write_text("database: {url: 'postgresql+psycopg://earful:${SMTP_PASSWORD}@127.0.0.1:9/earful'}\n")
    result = earful(bad_url, "stats")  # nothing listens there: the connection error, even as a traceback
    assert result.returncode != 0
    assert leaked(result.stdout + result.stderr) == []
