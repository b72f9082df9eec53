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

from core.config import SECRET_KEYS, load_config
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


# ------------------------------------------------------------------ every secret key, every error path

def _secret_fields() -> dict[str, list[str]]:
    """For each source platform and channel type: its SecretStr keys, read from core.config itself."""
    from core import config as c

    found: dict[str, list[str]] = {}
    for cls in (*c.SourceBase.__subclasses__(), *c.ChannelBase.__subclasses__()):
        tag = cls.model_fields.get("platform") or cls.model_fields["type"]
        keys = [name for name, field in cls.model_fields.items() if "SecretStr" in str(field.annotation)]
        if keys:
            found[str(tag.annotation.__args__[0])] = keys
    return found


def _every_secret_config(tmp_path: Path, *, database: str, extra: str = "", source_extra: str = "") -> tuple[Path, dict[str, str]]:
    """A config holding a ${VAR} in every secret key of every section, and its variables' values."""
    secrets = {"DB_PASSWORD": "SECRET-db-password-41ac"}
    sources, channels = [], []
    for tag, keys in _secret_fields().items():
        refs = {key: f"SECRET_{tag}_{key}".upper() for key in keys}
        secrets.update({ref: f"SECRET-{tag}-{key}-{len(secrets)}f7" for key, ref in refs.items()})
        values = ", ".join(f"{key}: '${{{ref}}}'" for key, ref in refs.items())
        if tag in ("slack", "webhook", "email"):
            more = ("host: 127.0.0.1, sender: e@example.com, recipients: [o@example.com], username: '${SMTP_USER}'"
                    if tag == "email" else "")
            channels.append(f"    - {{name: {tag}, type: {tag}, {values}{', ' + more if more else ''}}}")
        else:
            base = ", base_url: 'https://forum.example'" if tag == "discourse" else ""
            sources.append(f"  - {{name: {tag}, platform: {tag}{base}, {values}{source_extra}}}")
    secrets["SMTP_USER"] = "SECRET-smtp-user-0c3d"  # not a secret key, but a ${VAR}: shown as the reference
    covered = {key for keys in _secret_fields().values() for key in keys}
    assert covered == SECRET_KEYS, "a key in SECRET_KEYS is not a SecretStr of any section (or the reverse)"
    path = tmp_path / "config.yaml"
    path.write_text(f"database: {{url: '{database}'}}\n{extra}sources:\n" + "\n".join(sources)
                    + "\nalerts:\n  channels:\n" + "\n".join(channels) + "\n")
    return path, secrets


def _run(path: Path, env: dict[str, str], *args: str, block_module: str | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("EARFUL_")} | env
    prelude = f"import sys; sys.modules[{block_module!r}] = None; " if block_module else ""
    code = prelude + "from core.cli import app; app(prog_name='earful')"
    return subprocess.run([sys.executable, "-c", code, "--config", str(path), "--log-level", "DEBUG", *args],
                          cwd=path.parent, env=full, capture_output=True, text=True, timeout=120)


def _page_text(at: object) -> str:
    parts = []
    for kind in ("error", "warning", "info", "code", "text", "markdown", "exception", "caption", "title"):
        parts += [str(getattr(e, "value", e)) for e in getattr(at, kind)]
    return "\n".join(parts)


def _sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'e.db'}"


ERROR_PATHS = {
    # name: (database URL, extra top-level YAML, extra keys in every source, CLI args, expected exit status)
    "valid": (lambda t: _sqlite(t), "", "", ("config", "check"), 0),
    "valid json": (lambda t: _sqlite(t), "", "", ("config", "check", "--json"), 0),
    "bad type beside each secret": (lambda t: _sqlite(t), "", ", timeout_seconds: soon", ("config", "check"), 2),
    "a secret in a typed key": (lambda t: _sqlite(t), "dashboard: {port: '${SECRET_X_BEARER_TOKEN}'}\n", "",
                                ("config", "check", "--json"), 2),
    "failed interpolation": (lambda t: _sqlite(t), "", ", consumer_key: '${NOT_SET_ANYWHERE}'", ("config", "check"), 2),
    "old postgres:// spelling": (lambda t: "postgres://earful:${DB_PASSWORD}@127.0.0.1:9/earful", "", "",
                                 ("config", "check"), 2),
    "unsupported driver": (lambda t: "postgresql+psycopg2://earful:${DB_PASSWORD}@127.0.0.1:9/earful", "", "",
                           ("config", "check", "--json"), 2),
    "connection refused": (lambda t: "postgresql+psycopg://earful:${DB_PASSWORD}@127.0.0.1:9/earful", "", "",
                           ("config", "check", "--connect"), 1),
    "wrong user on a live server": (lambda t: "postgresql+psycopg://nosuchuser:${DB_PASSWORD}@127.0.0.1:5432/earful",
                                    "", "", ("config", "check", "--connect", "--json"), 1),
    "the command after a refused connection": (
        lambda t: "postgresql+psycopg://earful:${DB_PASSWORD}@127.0.0.1:9/earful", "", "", ("stats", "--json"), 1),
}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", list(ERROR_PATHS))
def test_every_secret_key_stays_masked_on_every_error_path(
        name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    database, extra, source_extra, args, status = ERROR_PATHS[name]
    path, secrets = _every_secret_config(tmp_path, database=database(tmp_path), extra=extra, source_extra=source_extra)

    def leaks(text: str) -> list[str]:
        return [ref for ref, value in secrets.items() if value in text]

    result = _run(path, secrets, *args)
    said = result.stdout + result.stderr
    assert result.returncode == status, said[-3000:]
    assert "Traceback" not in said
    assert leaks(said) == [], (name, said[-3000:])
    if status == 0:
        assert "${DB_PASSWORD}" not in said and "${SECRET_REDDIT_PASSWORD}" in said and "${SMTP_USER}" in said

    # the same configuration in the dashboard, before login: one line, and the reason only in the log
    from streamlit.testing.v1 import AppTest
    import streamlit as st

    caplog.set_level(logging.DEBUG)
    for key in [k for k in os.environ if k.startswith("EARFUL_")]:
        monkeypatch.delenv(key)
    for key, value in secrets.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("EARFUL_CONFIG", str(path))
    monkeypatch.chdir(tmp_path)
    st.cache_resource.clear()
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py"), default_timeout=60).run()
    st.cache_resource.clear()
    page = _page_text(at)
    assert leaks(page) == [], (name, page)
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert leaks(logged) == [], (name, logged[-3000:])
    if status == 2:
        assert [e.value for e in at.error] == ["Configuration error, see the server log."]
        assert "the dashboard cannot load its configuration" in logged
    elif status == 1:
        assert [e.value for e in at.error] == ["Database error, see the server log."]


def test_the_driver_missing_path_names_the_fix_and_no_secret(tmp_path: Path) -> None:
    path, secrets = _every_secret_config(tmp_path, database="postgresql+psycopg://earful:${DB_PASSWORD}@127.0.0.1:9/e")
    result = _run(path, secrets, "config", "check", block_module="psycopg")
    assert result.returncode == 2, result.stderr
    assert "cannot be imported" in result.stderr and "pip install 'psycopg[binary]'" in result.stderr
    assert [ref for ref, value in secrets.items() if value in result.stdout + result.stderr] == []
