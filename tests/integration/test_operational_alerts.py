"""Operational alerts end to end: a real Mastodon.py source against the sandbox, the real poller and
outbox, the notify job posting to a local webhook, `earful alerts` and the Alerts page. Time is an
injected clock; nothing sleeps."""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from core import ops_alerts
from core.alert_jobs import AlertsRuntime
from core.alerts import list_alerts
from core.config import AlertsConfig, Settings, load_config
from core.db import Database
from core.errors import AuthFailed, Rejected, Unavailable
from core.models import Alert, AlertStatus, DeliveryState, Notification, Source, utcnow
from listener.base import Batch
from listener.jobs import Runtime
from listener.poller import poll
from listener.sandbox import Sandbox
from responder import outbox
from tests.fakes import responder as fx
from tests.fakes.apptest import app_database, page
from tests.fakes.polling import DEMO_MATCHER
from tests.fakes.sandbox_fixtures import FrozenClock, clock, sandbox  # noqa: F401  (fixtures)
from tests.fakes.sources import ScriptedSource
from tests.fakes.webhook import Receiver, receiver  # noqa: F401  (fixture)
from tests.integration.test_cli import earful


def site(folder: Path, sb: Sandbox) -> Path:
    """Skylark Air heard on the sandbox's Mastodon; one webhook channel and no routing rule at all."""
    path = folder / "config.yaml"
    path.write_text(f"""
database: {{url: 'sqlite:///{folder / "earful.db"}'}}
logging: {{level: WARNING}}
brands:
  - {{name: Skylark Air, queries: [{{keywords: [skylark]}}]}}
sources:
  - {{name: masto, platform: mastodon, sandbox: true, base_url: "{sb.base_urls['mastodon']}"}}
alerts:
  channels: [{{name: ops, type: webhook, webhook_url: "${{OPS_WEBHOOK_URL}}"}}]
""")
    return path


def unpause(db: Database, name: str) -> None:
    """The scheduler's next turn for a source that backs off (the test does not wait for it)."""
    with db.session() as s:
        s.scalars(sa.select(Source).where(Source.name == name)).one().paused_until = None


def operational(received: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(r["json"]["event"], r["json"]["alert"]["kind"], r["json"]["alert"]["subject"]) for r in received
            if r["json"].get("alert", {}).get("category") == "operational"]


def test_a_revoked_token_alerts_the_webhook_once_and_its_recovery_is_announced(
        tmp_path: Path, sandbox: Sandbox, clock: FrozenClock, receiver: Receiver,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPS_WEBHOOK_URL", f"{receiver.url}/ops")  # read by the CLI and the page below too
    config = site(tmp_path, sandbox)
    settings = load_config(config)
    db = Database.open(settings.database.url)
    listener, alerts = Runtime(settings, db, clock=clock), AlertsRuntime(settings, db, clock=clock)
    api = sandbox.apis["mastodon"]
    working = api.creds
    try:
        assert listener.poll("masto").status == "ok"
        api.creds = dataclasses.replace(working, access_token="rotated-by-the-brand-admin")  # the old token is revoked
        clock.advance(minutes=5)
        assert listener.poll("masto").status == "auth_failed"
        alerts.deliver()
        assert operational(receiver.received) == [("opened", "auth_failed", "source:masto")]
        sent = receiver.received[0]["json"]
        assert receiver.received[0]["path"] == "/ops"
        assert "refused its credentials" in sent["text"] and "what to do: renew the credentials" in sent["text"]
        assert working.access_token not in json.dumps(receiver.received)

        # the scheduler's later turns fail the same way: still one alert, no second message
        for _ in range(2):
            clock.advance(minutes=15)
            unpause(db, "masto")
            assert listener.poll("masto").status == "auth_failed"
            alerts.deliver()
        assert len(receiver.received) == 1
        with db.session() as s:
            assert list_alerts(s, category="reputation") == []
            [row] = list_alerts(s, category="operational")
        assert (row["kind"], row["status"], row["subject"]) == ("auth_failed", "open", "source:masto")
        assert row["notifications"][0]["state"] == "sent"

        # listed apart from spikes by the CLI, and on the Alerts page's Operational tab
        listed = earful("alerts", "--category", "operational", "--json", cwd=tmp_path)
        assert listed.returncode == 0, listed.stderr
        assert [(a["kind"], a["subject"]) for a in json.loads(listed.stdout)] == [("auth_failed", "source:masto")]
        with app_database(tmp_path, (tmp_path / "config.yaml").read_text().replace("{", "{{").replace("}", "}}"),
                          monkeypatch) as (_, page_db):
            at = page(page_db, "alerts_page", "pam")
            assert not at.exception, [e.value for e in at.exception]
            assert [t.label for t in at.tabs] == ["Reputation", "Operational (1 active)"]
            assert list(at.tabs[1].dataframe[0].value["about"]) == ["source:masto"]
            assert any("renew the credentials" in t.value for t in at.tabs[1].text)

        # the admin puts a working token back: the next poll resolves the alert, and says so
        api.creds = working
        clock.advance(minutes=15)
        unpause(db, "masto")
        assert listener.poll("masto").status == "ok"
        alerts.deliver()
        assert operational(receiver.received) == [("opened", "auth_failed", "source:masto"),
                                                  ("resolved", "auth_failed", "source:masto")]
    finally:
        listener.close()
        alerts.close()
        db.dispose()


def hook_config(receiver: Receiver, **operational: Any) -> AlertsConfig:  # noqa: F811
    return AlertsConfig.model_validate({
        "channels": [{"name": "ops", "type": "webhook", "webhook_url": f"{receiver.url}/ops"},
                     {"name": "care", "type": "webhook", "webhook_url": f"{receiver.url}/care"}],
        "notify": {"max_attempts": 2, "backoff_seconds": 30},
        "operational": operational,
    })


def scripted(db: Database, script: list[Batch | Exception]) -> tuple[ScriptedSource, int]:
    source = ScriptedSource(name="bird", platform="x", script=script)
    with db.session() as s:
        row = Source(name="bird", platform="x")
        s.add(row)
        s.flush()
        return source, row.id


def active(db: Database) -> list[tuple[str, str | None, str]]:
    with db.session() as s:
        return [(a.kind, a.subject, a.status.value) for a in s.scalars(sa.select(Alert).order_by(Alert.id))]


def test_a_source_failing_longer_than_configured_alerts_then_resolves(db: Database, receiver: Receiver,  # noqa: F811
                                                                      clock: FrozenClock) -> None:  # noqa: F811
    conf = hook_config(receiver, source_failing_minutes=30, channels=["ops"])
    source, source_id = scripted(db, [Unavailable("x", "503 from the API")] * 4 + [Batch([])])

    def turn() -> str:
        outcome = poll(db, source, source_id, DEMO_MATCHER, clock=clock, rand=random.Random(2), alerts=conf)
        unpause(db, "bird")
        clock.advance(minutes=12)
        return outcome.status

    assert [turn(), turn(), turn()] == ["unavailable"] * 3  # at 0, 12 and 24 minutes: not yet
    assert active(db) == []
    assert turn() == "unavailable"  # 36 minutes since the first failure
    assert active(db) == [("source_failing", "source:bird", "open")]
    with db.session() as s:
        alert = s.scalars(sa.select(Alert)).one()
        assert "no successful poll for 36 min" in alert.summary and "503 from the API" in alert.summary
        assert [n.channel for n in s.scalars(sa.select(Notification))] == ["ops"]  # operational.channels
    assert turn() == "ok"
    assert active(db) == [("source_failing", "source:bird", "resolved")]
    with db.session() as s:
        assert s.get(Source, source_id).failing_since is None


def test_a_budget_pause_is_one_delivered_alert_resolved_after_midnight(db: Database, receiver: Receiver,  # noqa: F811
                                                                      clock: FrozenClock) -> None:  # noqa: F811
    conf = hook_config(receiver)
    source, source_id = scripted(db, [Batch([], cost_usd=0.6), Batch([], cost_usd=0.6), Batch([], cost_usd=0.1)])
    settings = Settings(alerts=conf)
    runtime = AlertsRuntime(settings, db, clock=clock)

    def turn() -> str:
        return poll(db, source, source_id, DEMO_MATCHER, clock=clock, rand=random.Random(2), daily_budget_usd=1.0,
                    alerts=conf).status

    try:
        assert turn() == "ok"
        assert turn() == "over_budget"
        clock.advance(minutes=5)
        assert turn() == "paused"
        runtime.deliver()
        assert sorted(r["path"] for r in receiver.received) == ["/care", "/ops"]  # no channels named: every channel
        assert {r["json"]["alert"]["kind"] for r in receiver.received} == {"over_budget"}
        assert "daily API budget of $1.00 reached" in receiver.received[0]["json"]["alert"]["summary"]
        clock.now = clock.now.replace(hour=0, minute=1) + timedelta(days=1)
        assert turn() == "ok"
        assert active(db) == [("over_budget", "source:bird", "resolved")]
        runtime.deliver()
        assert [r["json"]["event"] for r in receiver.received].count("resolved") == 2
    finally:
        runtime.close()


def test_a_sender_whose_replies_keep_failing_alerts_and_a_sent_reply_resolves_it(db: Database) -> None:
    conf = fx.settings().model_copy(update={"alerts": AlertsConfig.model_validate({"operational": {"sender_failures": 2}})})
    refused = Rejected("mastodon", "422 Validation failed: Text character limit of 500 exceeded")
    publisher = fx.ScriptedPublisher(script=[refused, refused, None, AuthFailed("mastodon", "401 The access token is invalid")])
    publishers = outbox.Publishers(conf, build=lambda config, timeout: publisher)
    now = utcnow()
    with db.session() as s:
        ids = fx.sync(s, conf)
        agent = fx.user(s, "ann")
        made = fx.triaged(s, conf, ids, [(f"skylark lost bag {i}", "complaint", (), 0.5) for i in range(4)], now=now)
        case_ids = [m.case_id for m in made]

    def send(case_id: int) -> str:
        with db.session() as s:
            fx.approve(s, conf, agent, case_id, "Sorry about this, we are on it.")
        [outcome] = outbox.send_due(db, publishers, clock=utcnow)
        return outcome.state.value

    assert send(case_ids[0]) == "failed"
    assert active(db) == []  # one failure is not "keeps failing"
    assert send(case_ids[1]) == "failed"
    assert active(db) == [("sender_failing", "sender:masto", "open")]
    assert send(case_ids[2]) == "sent"
    assert active(db) == [("sender_failing", "sender:masto", "resolved")]
    assert send(case_ids[3]) == "failed"  # refused credentials alert at once
    assert active(db)[-1] == ("auth_failed", "sender:masto", "open")


def test_a_failing_channel_is_announced_through_the_others_and_never_loops(db: Database, receiver: Receiver,  # noqa: F811
                                                                          clock: FrozenClock) -> None:  # noqa: F811
    conf = hook_config(receiver)
    runtime = AlertsRuntime(Settings(alerts=conf), db, clock=clock)
    with db.session() as s:
        ops_alerts.open_alert(s, conf, "source_failing", "source:bird", "source bird: failing", now=clock())
    # ops refuses for good (a deleted webhook); care takes the alert, then refuses the message about ops
    receiver.statuses = [404, 200, 404]
    try:
        outcomes = runtime.deliver()
        assert [(r["path"], r["json"]["alert"]["kind"]) for r in receiver.received] == [
            ("/ops", "source_failing"), ("/care", "source_failing"), ("/care", "channel_failing")]
        assert [o.state for o in outcomes] == [DeliveryState.failed, DeliveryState.sent, DeliveryState.failed]
        with db.session() as s:
            failing = s.scalars(sa.select(Alert).where(Alert.kind == "channel_failing")).all()
            about = s.scalars(sa.select(Notification.channel).where(Notification.alert_id == failing[0].id)).all()
        # one alert, about ops, announced at once and only through care; care's failure to deliver a
        # message about failures opened nothing more
        assert [(a.subject, a.status) for a in failing] == [("channel:ops", AlertStatus.open)]
        assert about == ["care"]
        assert "the webhook refused the message" in failing[0].summary

        # ops delivers again: its alert resolves, and care hears so on the next run
        with db.session() as s:
            ops_alerts.open_alert(s, conf, "sender_failing", "sender:masto", "sender masto: failing", now=clock())
        runtime.deliver()
        assert ("channel_failing", "channel:ops", "resolved") in active(db)
        runtime.deliver()
        assert receiver.received[-1]["path"] == "/care"
        assert (receiver.received[-1]["json"]["event"], receiver.received[-1]["json"]["alert"]["kind"]) == (
            "resolved", "channel_failing")
    finally:
        runtime.close()
