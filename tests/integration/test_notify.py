"""Notifications against real local servers: an HTTP webhook receiver and an SMTP server (aiosmtpd).
Retries run on an injected clock; nothing sleeps."""

from __future__ import annotations

import socket
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pydantic import ValidationError

from core import notify
from core.alert_jobs import AlertsRuntime
from core.config import AlertsConfig, Settings
from core.db import Database
from core.models import Alert, DeliveryState, Notification
from tests.fakes.tls import LocalCA, make_ca
from tests.fakes.webhook import Receiver, receiver  # noqa: F401  (fixture)
from tests.integration.test_alerts import T0, brand, every, mentions, weekly_history


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd API
        self.messages.append(envelope)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_login(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"earful", b"s3cret-pass")
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, auth_require_tls=False,
                            authenticator=check_login, auth_exclude_mechanism=["LOGIN"])
    controller.start()
    yield box, port
    controller.stop()


def config(receiver: Receiver, smtp_port: int = 9, password: str = "s3cret-pass") -> AlertsConfig:
    return AlertsConfig.model_validate({
        "channels": [
            {"name": "slack", "type": "slack", "webhook_url": f"{receiver.url}/slack"},
            {"name": "hook", "type": "webhook", "webhook_url": f"{receiver.url}/hook"},
            {"name": "mail", "type": "email", "host": "127.0.0.1", "port": smtp_port, "security": "none",
             "username": "earful", "password": password, "sender": "earful@example.com",
             "recipients": ["comms@example.com"]},
        ],
        "rules": [{"channels": ["slack", "hook"]}, {"min_severity": "major", "channels": ["mail"]}],
        "notify": {"backoff_seconds": 30, "max_attempts": 3, "timeout_seconds": 5},
    })


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def runtime(db: Database, conf: AlertsConfig, clock: Clock) -> AlertsRuntime:
    return AlertsRuntime(Settings(alerts=conf), db, clock=clock)


def spike(db: Database) -> None:
    acme = brand(db)
    weekly_history(db, acme, per_hour=4)
    mentions(db, acme, every(T0 - timedelta(minutes=5), T0, timedelta(seconds=30)))  # 10 against 2 expected


def states(db: Database) -> dict[str, tuple[str, int]]:
    with db.session() as session:
        return {n.channel: (n.state.value, n.attempts) for n in session.scalars(sa.select(Notification))}


def test_alert_reaches_slack_webhook_and_smtp(sqlite_db: Database, receiver: Receiver, smtp: tuple[Mailbox, int]) -> None:
    box, port = smtp
    clock = Clock(T0)
    spike(sqlite_db)
    rt = runtime(sqlite_db, config(receiver, port), clock)
    [alert_id] = rt.detect().opened
    outcomes = rt.deliver()
    assert {o.state for o in outcomes} == {DeliveryState.sent}
    by_path = {r["path"]: r["json"] for r in receiver.received}
    assert set(by_path) == {"/slack", "/hook"}
    assert by_path["/slack"]["text"].startswith("[Earful major] Mention spike opened: Acme")
    assert by_path["/hook"]["event"] == "opened"
    assert by_path["/hook"]["alert"]["id"] == alert_id and by_path["/hook"]["alert"]["kind"] == "volume_spike"
    assert by_path["/hook"]["alert"]["details"]["observed"] == 10
    [mail] = box.messages
    assert mail.mail_from == "earful@example.com" and mail.rcpt_tos == ["comms@example.com"]
    assert b"Subject: [Earful major] Mention spike opened: Acme" in mail.content
    assert rt.deliver() == []  # nothing is sent twice
    rt.close()


def test_failing_webhook_is_retried_with_backoff_and_never_stops_detection(sqlite_db: Database, receiver: Receiver) -> None:
    receiver.statuses = [500, 503]
    clock = Clock(T0)
    conf = config(receiver).model_copy(update={"rules": (config(receiver).rules[1].model_copy(
        update={"channels": ("hook",), "min_severity": None}),)})
    rt = runtime(sqlite_db, conf, clock)
    spike(sqlite_db)
    assert len(rt.detect().opened) == 1
    [failed] = rt.deliver()
    assert failed.state == DeliveryState.pending and "HTTP 500" in (failed.error or "")
    with sqlite_db.session() as session:
        note = session.scalar(sa.select(Notification))
        assert note.next_attempt_at == T0 + timedelta(seconds=30) and "HTTP 500" in note.last_error

    clock.now = T0 + timedelta(seconds=10)
    assert rt.deliver() == []  # not due yet
    # Detection goes on while the channel fails: the spike grows and the alert escalates.
    mentions(sqlite_db, 1, every(T0, T0 + timedelta(seconds=10), timedelta(seconds=1)))
    assert len(rt.detect().escalated) == 1

    clock.now = T0 + timedelta(seconds=30)
    outcomes = rt.deliver()  # oldest due first: the escalation meets the 503, the retried opening goes through
    assert [(o.channel, o.state.value) for o in outcomes] == [("hook", "pending"), ("hook", "sent")]
    clock.now = T0 + timedelta(seconds=60)  # the escalation's first backoff: 30 s
    assert [o.state for o in rt.deliver()] == [DeliveryState.sent]
    assert [r["json"]["event"] for r in receiver.received] == ["opened", "escalated", "opened", "escalated"]
    with sqlite_db.session() as session:
        assert [(n.event, n.state, n.attempts) for n in session.scalars(sa.select(Notification).order_by(Notification.id))] == [
            ("opened", DeliveryState.sent, 2), ("escalated", DeliveryState.sent, 2)]
    rt.close()


def test_refused_and_exhausted_deliveries_fail_visibly(sqlite_db: Database, receiver: Receiver) -> None:
    receiver.statuses = [404]
    clock = Clock(T0)
    conf = config(receiver)
    with sqlite_db.session() as session:
        notify.enqueue(session, ["hook"], event="report", subject="s", body="b", payload={}, now=T0)
        notify.enqueue(session, ["nowhere"], event="report", subject="s", body="b", payload={}, now=T0)
    rt = runtime(sqlite_db, conf, clock)
    outcomes: dict[str, notify.DeliveryOutcome] = {}
    for o in rt.deliver():  # then the operational alert about hook, delivered through slack and mail
        outcomes.setdefault(o.channel, o)
    assert outcomes["hook"].state == DeliveryState.failed and "webhook_url" in (outcomes["hook"].error or "")
    assert outcomes["nowhere"].state == DeliveryState.failed
    with sqlite_db.session() as session:  # a channel since removed from the config opens no alert
        assert session.scalars(sa.select(Alert.subject).where(Alert.kind == "channel_failing")).all() == ["channel:hook"]

    # An endpoint that never answers: max_attempts (3) tries, then failed.
    dead = conf.model_copy(update={"channels": tuple(
        c.model_copy(update={"webhook_url": conf.channels[1].webhook_url.__class__("http://127.0.0.1:9/x")})
        if c.name == "hook" else c for c in conf.channels)})
    with sqlite_db.session() as session:
        [row] = notify.enqueue(session, ["hook"], event="report", subject="s", body="b", payload={}, now=T0)
    rt_dead = runtime(sqlite_db, dead, clock)
    for wait in (0, 30, 60):
        clock.now += timedelta(seconds=wait)
        rt_dead.deliver()
    with sqlite_db.session() as session:
        note = session.get(Notification, row.id)
        assert (note.state, note.attempts) == (DeliveryState.failed, 3)
        assert "could not reach the webhook" in note.last_error
    rt.close()
    rt_dead.close()


def test_smtp_login_refused_fails_without_retry(sqlite_db: Database, receiver: Receiver, smtp: tuple[Mailbox, int]) -> None:
    box, port = smtp
    conf = config(receiver, port, password="wrong-pass")
    with sqlite_db.session() as session:
        notify.enqueue(session, ["mail"], event="report", subject="s", body="b", payload={}, now=T0)
    rt = runtime(sqlite_db, conf, Clock(T0))
    outcome, *announced = rt.deliver()
    assert outcome.state == DeliveryState.failed and "refused the login" in (outcome.error or "")
    assert sorted(o.channel for o in announced) == ["hook", "slack"]  # the operational alert about mail
    assert box.messages == []
    rt.close()


def test_weekly_report_is_emailed(sqlite_db: Database, receiver: Receiver, smtp: tuple[Mailbox, int]) -> None:
    box, port = smtp
    conf = config(receiver, port).model_copy(update={"weekly_report": config(receiver).weekly_report.model_copy(
        update={"enabled": True, "channels": ("mail",)})})
    spike(sqlite_db)
    rt = runtime(sqlite_db, conf, Clock(T0 + timedelta(minutes=30)))
    assert rt.weekly_report() == 1
    [outcome] = rt.deliver()
    assert outcome.state == DeliveryState.sent
    [mail] = box.messages
    assert b"Subject: Earful weekly report 2026-03-16 to 2026-03-23" in mail.content
    assert b"# Earful report" in mail.content
    rt.close()


def test_routing_is_pure_config() -> None:
    conf = AlertsConfig.model_validate({
        "channels": [{"name": "a", "type": "webhook", "webhook_url": "http://x.example/a"},
                     {"name": "b", "type": "slack", "webhook_url": "http://x.example/b"}],
        "rules": [{"kinds": ["negative_spike"], "channels": ["a"]},
                  {"brands": ["Acme"], "min_severity": "critical", "events": ["opened"], "channels": ["b", "a"]}],
    })
    r = lambda **kw: notify.route(conf.rules, conf.severities, **kw)  # noqa: E731
    assert r(kind="volume_spike", brand="Acme", severity="major", event="opened") == ()
    assert r(kind="volume_spike", brand="Acme", severity="critical", event="opened") == ("b", "a")
    assert r(kind="volume_spike", brand="Acme", severity="critical", event="resolved") == ()
    assert r(kind="negative_spike", brand="Other", severity="warning", event="resolved") == ("a",)


# ------------------------------------------------------------------- SMTP over TLS (a throwaway CA)


class TlsMailbox(Mailbox):
    """Also records whether each message came over TLS, as the server saw it."""

    def __init__(self) -> None:
        super().__init__()
        self.over_tls: list[bool] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd API
        self.over_tls.append(server.transport.get_extra_info("ssl_object") is not None)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def ca(tmp_path: Path) -> LocalCA:
    return make_ca(tmp_path)


@contextmanager
def tls_server(ca: LocalCA, security: str) -> Iterator[tuple[TlsMailbox, int]]:
    """STARTTLS required before login and mail, or TLS from the first byte (implicit TLS, port 465 style)."""
    box, port = TlsMailbox(), free_port()
    # aiosmtpd's auth_require_tls knows only STARTTLS; with implicit TLS every byte is encrypted anyway
    tls = {"tls_context": ca.server_context(), "require_starttls": True, "auth_require_tls": True} \
        if security == "starttls" else {"ssl_context": ca.server_context(), "auth_require_tls": False}
    controller = Controller(box, hostname="127.0.0.1", port=port, authenticator=check_login,
                            auth_exclude_mechanism=["LOGIN"], **tls)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def tls_config(port: int, security: str, ca_file: Path | None) -> AlertsConfig:
    return AlertsConfig.model_validate({
        "channels": [{"name": "mail", "type": "email", "host": "127.0.0.1", "port": port, "security": security,
                      "username": "earful", "password": "s3cret-pass", "sender": "earful@example.com",
                      "recipients": ["comms@example.com"], "ca_file": str(ca_file) if ca_file else None}],
        "notify": {"max_attempts": 3, "timeout_seconds": 5},
    })


def deliver_one(db: Database, conf: AlertsConfig) -> Any:
    with db.session() as session:
        notify.enqueue(session, ["mail"], event="report", subject="over tls", body="hello", payload={}, now=T0)
    rt = runtime(db, conf, Clock(T0))
    try:
        [outcome] = rt.deliver()
    finally:
        rt.close()
    return outcome


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_email_goes_over_tls_to_a_server_signed_by_the_configured_ca(sqlite_db: Database, ca: LocalCA,
                                                                      security: str) -> None:
    with tls_server(ca, security) as (box, port):
        outcome = deliver_one(sqlite_db, tls_config(port, security, ca.ca_file))
    assert outcome.state == DeliveryState.sent, outcome.error
    [mail] = box.messages
    assert b"Subject: over tls" in mail.content and box.over_tls == [True]


def test_a_starttls_server_refuses_a_plain_client(sqlite_db: Database, ca: LocalCA) -> None:
    """The server above really insists on TLS: without it there is no login and no mail."""
    with tls_server(ca, "starttls") as (box, port):
        outcome = deliver_one(sqlite_db, tls_config(port, "none", None))
    assert outcome.state != DeliveryState.sent and box.messages == []


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_an_untrusted_certificate_fails_for_good_and_names_ca_file(sqlite_db: Database, ca: LocalCA,
                                                                    security: str) -> None:
    with tls_server(ca, security) as (box, port):
        outcome = deliver_one(sqlite_db, tls_config(port, security, None))  # the system's CAs never signed it
    assert outcome.state == DeliveryState.failed and box.messages == []
    assert "not trusted" in (outcome.error or "") and "ca_file" in (outcome.error or "")
    assert states(sqlite_db)["mail"] == ("failed", 1)  # no retries: only a configuration change helps


def test_ca_file_must_exist_and_needs_tls(ca: LocalCA, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="is not a file"):
        tls_config(587, "starttls", tmp_path / "missing.pem")
    with pytest.raises(ValidationError, match="security is none"):
        tls_config(25, "none", ca.ca_file)
