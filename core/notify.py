"""Notifications: alert events and reports, sent to Slack, a JSON webhook or email.

Why it is built this way:
- **Detection never waits for a channel.** Detection only writes `Notification` rows (an outbox) in
  the same transaction as the alert change it announces; the separate notify job delivers them. A
  slow SMTP server or a webhook that answers 500 delays that job, never the next detection run.
- **Retries with backoff, failures visible.** A transient failure (5xx, 408/429, a refused or dropped
  connection, an SMTP 4xx) is retried after `backoff_seconds * 2**(attempts-1)` (capped at
  `backoff_max_seconds`) until `max_attempts`; a permanent one (another 4xx, SMTP authentication or
  recipients refused) fails at once. Either way the reason stays on the row, is logged, and is
  listed by `earful alerts`.
- **Routing is config.** `alerts.rules` map an alert's kind, brand, severity and event to channel
  names; `route` is pure.
- **Clients are injected.** `Notifier` takes an `httpx.Client` (tests hand in one pointed at a local
  server) and an SMTP factory; no module-level clients. Library exceptions are translated once, here,
  into the error tree: `Unavailable` (retry), `Rejected` / `AuthFailed` (give up).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, Callable, Sequence

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.config import AlertsConfig, AlertRule, EmailChannel, NotifyConfig, SeverityLevel
from core.db import Database
from core.errors import AuthFailed, PlatformError, Rejected, Unavailable
from core.models import Alert, DeliveryState, Notification

log = logging.getLogger(__name__)

# --- routing and messages (pure) -------------------------------------------------------------------


def route(rules: Sequence[AlertRule], levels: Sequence[SeverityLevel], *, kind: str, brand: str | None,
          severity: str, event: str) -> tuple[str, ...]:
    """The channels (each once, in rule order) of every rule the alert event matches."""
    rank = {lvl.name: i for i, lvl in enumerate(levels)}
    found: list[str] = []
    for rule in rules:
        if rule.kinds and kind not in rule.kinds:
            continue
        if rule.brands and brand not in rule.brands:
            continue
        if event not in rule.events:
            continue
        if rule.min_severity is not None and rank.get(severity, -1) < rank[rule.min_severity]:
            continue
        found += [c for c in rule.channels if c not in found]
    return tuple(found)


KIND_TITLES = {"volume_spike": "Mention spike", "negative_spike": "Negative sentiment spike"}


def alert_message(alert: Alert, event: str, brand: str | None) -> tuple[str, str, dict[str, Any]]:
    """Subject, plain text and JSON payload announcing one alert event."""
    what = KIND_TITLES.get(alert.kind, alert.kind)
    about = brand or "all brands"
    if alert.topic:
        about += f", topic {alert.topic!r}"
    subject = f"[Earful {alert.severity}] {what} {event}: {about} (alert {alert.id})"
    details = alert.details or {}
    body = "\n".join([
        subject,
        alert.summary,
        f"observed {details.get('observed')} in the last {details.get('window_minutes')} min, "
        f"expected {details.get('expected')} (ratio {details.get('ratio')}, p = {details.get('p_value')})",
        f"opened {alert.opened_at.isoformat()}" + (f", resolved {alert.resolved_at.isoformat()}" if alert.resolved_at else ""),
        f"acknowledge with: earful alerts ack {alert.id} --as USER",
    ])
    payload = {
        "event": event,
        "subject": subject,
        "alert": {
            "id": alert.id, "kind": alert.kind, "severity": alert.severity, "status": alert.status.value,
            "brand": brand, "topic": alert.topic, "summary": alert.summary,
            "opened_at": alert.opened_at.isoformat(),
            "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
            "details": details,
        },
    }
    return subject, body, payload


def enqueue(session: Session, channels: Sequence[str], *, event: str, subject: str, body: str,
            payload: dict[str, Any], now: datetime, alert_id: int | None = None) -> list[Notification]:
    """Queue one message per channel, in the caller's transaction."""
    rows = [Notification(alert_id=alert_id, channel=c, event=event, subject=subject, body=body, payload=payload,
                         state=DeliveryState.pending, next_attempt_at=now, created_at=now) for c in channels]
    session.add_all(rows)
    return rows


def enqueue_alert_event(session: Session, config: AlertsConfig, alert: Alert, event: str, brand: str | None,
                        now: datetime) -> list[Notification]:
    channels = route(config.rules, config.severities, kind=alert.kind, brand=brand, severity=alert.severity, event=event)
    if not channels:
        return []
    session.flush()  # the alert needs its id in the message
    subject, body, payload = alert_message(alert, event, brand)
    return enqueue(session, channels, event=event, subject=subject, body=body, payload=payload, now=now, alert_id=alert.id)


def backoff(attempts: int, config: NotifyConfig) -> timedelta:
    """The wait after the `attempts`-th failed attempt: doubling from backoff_seconds, capped."""
    return timedelta(seconds=min(config.backoff_max_seconds, config.backoff_seconds * 2 ** max(attempts - 1, 0)))


# --- sending (I/O) ---------------------------------------------------------------------------------

SmtpFactory = Callable[[EmailChannel, float], smtplib.SMTP]


def tls_context(channel: EmailChannel) -> ssl.SSLContext:
    """Verifies the server's certificate and name: against the system's CAs, or only the channel's `ca_file`."""
    return ssl.create_default_context(cafile=channel.ca_file)


def default_smtp(channel: EmailChannel, timeout: float) -> smtplib.SMTP:
    if channel.security == "ssl":
        return smtplib.SMTP_SSL(channel.host, channel.port, timeout=timeout, context=tls_context(channel))
    return smtplib.SMTP(channel.host, channel.port, timeout=timeout)


class Notifier:
    """Sends one message to one configured channel; raises the error tree on failure."""

    def __init__(self, config: AlertsConfig, *, http: httpx.Client | None = None,
                 smtp_factory: SmtpFactory = default_smtp) -> None:
        self.config = config
        self.channels = {c.name: c for c in config.channels}
        self._own_http = http is None
        self.http = http or httpx.Client(timeout=config.notify.timeout_seconds)
        self.smtp_factory = smtp_factory

    def send(self, channel_name: str, subject: str, body: str, payload: dict[str, Any]) -> None:
        channel = self.channels.get(channel_name)
        if channel is None:
            raise Rejected(channel_name, "no such channel in alerts.channels any more; add it back or ignore this message")
        if channel.type == "email":
            self._send_email(channel, subject, body)
        elif channel.type == "slack":
            self._post(channel_name, channel.webhook_url.get_secret_value(), {"text": body})
        else:
            self._post(channel_name, channel.webhook_url.get_secret_value(), {**payload, "text": body})

    def _post(self, name: str, url: str, data: dict[str, Any]) -> None:
        try:
            response = self.http.post(url, json=data, timeout=self.config.notify.timeout_seconds)
        except httpx.HTTPError as exc:
            raise Unavailable(name, f"could not reach the webhook: {type(exc).__name__}: {exc}") from None
        status = response.status_code
        if status < 300:
            return
        text = response.text[:200]
        if status >= 500 or status in (408, 429):
            raise Unavailable(name, f"the webhook answered {text!r}; will retry", status=status)
        raise Rejected(name, f"the webhook refused the message ({text!r}); check the channel's webhook_url", status=status)

    def _send_email(self, channel: EmailChannel, subject: str, body: str) -> None:
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = channel.sender
        message["To"] = ", ".join(channel.recipients)
        message.set_content(body)
        try:
            with self.smtp_factory(channel, self.config.notify.timeout_seconds) as smtp:
                if channel.security == "starttls":
                    smtp.starttls(context=tls_context(channel))
                if channel.username:
                    password = channel.password.get_secret_value() if channel.password else ""
                    smtp.login(channel.username, password)
                smtp.send_message(message)
        except smtplib.SMTPAuthenticationError as exc:
            raise AuthFailed(channel.name, f"the SMTP server refused the login ({exc.smtp_code}); check username "
                             "and password of the channel", status=exc.smtp_code) from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise Rejected(channel.name, f"the SMTP server refused the recipients {sorted(exc.recipients)}; "
                           "check the channel's recipients") from None
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:
                raise Unavailable(channel.name, f"SMTP {exc.smtp_code} {exc.smtp_error!r}; will retry",
                                  status=exc.smtp_code) from None
            raise Rejected(channel.name, f"SMTP {exc.smtp_code} {exc.smtp_error!r}", status=exc.smtp_code) from None
        except ssl.SSLCertVerificationError as exc:  # retrying would not help: the configuration must change
            raise Rejected(channel.name, f"the certificate of {channel.host}:{channel.port} is not trusted "
                           f"({exc.verify_message}); if a private CA signed it, set the channel's ca_file to "
                           "that CA's PEM file") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise Unavailable(channel.name, f"could not talk to {channel.host}:{channel.port}: "
                              f"{type(exc).__name__}: {exc}") from None

    def close(self) -> None:
        if self._own_http:
            self.http.close()


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    notification_id: int
    channel: str
    state: DeliveryState
    error: str | None = None


def deliver_due(db: Database, notifier: Notifier, config: NotifyConfig, *, now: datetime,
                limit: int = 50) -> list[DeliveryOutcome]:
    """Send every pending message that is due; each result is committed on its own."""
    with db.session() as session:
        due = session.execute(
            sa.select(Notification.id, Notification.channel, Notification.subject, Notification.body, Notification.payload)
            .where(Notification.state == DeliveryState.pending, Notification.next_attempt_at <= now)
            .order_by(Notification.next_attempt_at, Notification.id).limit(limit)
        ).all()
    outcomes = []
    for row in due:
        if not _claim(db, row.id, now):
            continue  # another sender (a second `earful alerts check`, another node) took it
        error: PlatformError | None = None
        try:
            notifier.send(row.channel, row.subject, row.body, row.payload)
        except PlatformError as exc:
            error = exc
        outcomes.append(_record(db, row.id, row.channel, error, config, now))
    return outcomes


# How long a claimed message is left alone; a sender that died mid-send is retried after it.
CLAIM_LEASE = timedelta(minutes=5)


def _claim(db: Database, notification_id: int, now: datetime) -> bool:
    """Move the due time past the lease in one conditional UPDATE: exactly one sender wins a message."""
    with db.session() as session:
        return bool(session.execute(
            sa.update(Notification)
            .where(Notification.id == notification_id, Notification.state == DeliveryState.pending,
                   Notification.next_attempt_at <= now)
            .values(next_attempt_at=now + CLAIM_LEASE)
            .execution_options(synchronize_session=False)
        ).rowcount)


def _record(db: Database, notification_id: int, channel: str, error: PlatformError | None, config: NotifyConfig,
            now: datetime) -> DeliveryOutcome:
    with db.session() as session:
        note = session.get(Notification, notification_id)
        assert note is not None
        note.attempts += 1
        if error is None:
            note.state, note.sent_at, note.next_attempt_at = DeliveryState.sent, now, None
            return DeliveryOutcome(notification_id, channel, DeliveryState.sent)
        note.last_error = str(error)
        if isinstance(error, Unavailable) and note.attempts < config.max_attempts:
            note.next_attempt_at = now + backoff(note.attempts, config)
            log.warning("notification %s to %s failed (attempt %d of %d), retrying at %s: %s", notification_id,
                        channel, note.attempts, config.max_attempts, note.next_attempt_at.isoformat(), error)
        else:
            note.state, note.next_attempt_at = DeliveryState.failed, None
            log.error("notification %s to %s failed for good after %d attempts: %s", notification_id, channel,
                      note.attempts, error)
        return DeliveryOutcome(notification_id, channel, note.state, str(error))
