"""Operational alerts: part of Earful's own machinery needs a human.

Reputation alerts (`core.alerts`) are about a brand; these are about a thing Earful runs, named by
`Alert.subject`: a source (`source:NAME`) whose credentials were refused, that is over its API budget
or has been failing for longer than `alerts.operational.source_failing_minutes`; a sender
(`sender:NAME`, the source account replies are posted from) whose replies keep failing or whose
credentials were refused; a notification channel (`channel:NAME`) whose messages keep failing.

Why it is built this way:
- **One alert per episode.** `open_alert` opens one only when no alert of that (kind, subject) is
  active; a repeat of the failure refreshes it silently. `resolve` ends the episode when the thing
  works again (a poll, a reply, a delivery succeeds) and announces that too.
- **In the caller's transaction.** The poller, the sender and the notify job call these functions
  with the session that records the failure, so the alert and its notifications commit with it.
- **Delivered like every alert, never in a loop.** Messages go through the notification outbox
  (`core.notify`) to `alerts.operational.channels`, or to every channel when that is empty. A
  `channel_failing` alert never goes to the channel it is about, and a failed message announcing a
  `channel_failing` alert opens no further alert (`announces_channel_failure`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import notify
from core.config import AlertsConfig
from core.models import Alert, AlertStatus, DeliveryState, Notification, Reply, ReplyState

log = logging.getLogger(__name__)

ACTIVE = (AlertStatus.open, AlertStatus.escalated, AlertStatus.acknowledged)


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    title: str
    severity: str


KINDS = {k.name: k for k in (
    Kind("auth_failed", "Credentials refused", "critical"),
    Kind("over_budget", "API budget reached", "warning"),
    Kind("source_failing", "Source failing", "major"),
    Kind("sender_failing", "Replies failing", "major"),
    Kind("channel_failing", "Notifications failing", "major"),
)}
SOURCE_KINDS = ("auth_failed", "over_budget", "source_failing")
SENDER_KINDS = ("auth_failed", "sender_failing")
CATEGORIES = ("reputation", "operational")


def category_of(kind: str) -> str:
    return "operational" if kind in KINDS else "reputation"


def source_subject(name: str) -> str:
    return f"source:{name}"


def sender_subject(name: str) -> str:
    return f"sender:{name}"


def channel_subject(name: str) -> str:
    return f"channel:{name}"


# --- routing and messages (pure) -------------------------------------------------------------------


def channels_for(config: AlertsConfig, kind: str, subject: str) -> tuple[str, ...]:
    """The configured operational channels (all channels when none is named), less the one a
    channel alert is about: telling a broken channel that it is broken reaches nobody."""
    names = config.operational.channels or tuple(c.name for c in config.channels)
    if kind == "channel_failing":
        names = tuple(n for n in names if channel_subject(n) != subject)
    return names


def message(alert: Alert, event: str) -> tuple[str, str, dict[str, Any]]:
    """Subject, plain text and JSON payload announcing one operational alert event."""
    kind = KINDS[alert.kind]
    subject = f"[Earful operational] {kind.title} {event}: {alert.subject} (alert {alert.id})"
    details = alert.details or {}
    lines = [subject, alert.summary]
    if details.get("fix") and event != "resolved":
        lines.append(f"what to do: {details['fix']}")
    lines.append(f"opened {alert.opened_at.isoformat()}"
                 + (f", resolved {alert.resolved_at.isoformat()}" if alert.resolved_at else ""))
    if event != "resolved":
        lines.append(f"acknowledge with: earful alerts ack {alert.id} --as USER")
    payload = {
        "event": event,
        "subject": subject,
        "alert": {
            "id": alert.id, "category": "operational", "kind": alert.kind, "subject": alert.subject,
            "severity": alert.severity, "status": alert.status.value, "summary": alert.summary,
            "opened_at": alert.opened_at.isoformat(),
            "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
            "details": details,
        },
    }
    return subject, "\n".join(lines), payload


# --- episodes (database) ---------------------------------------------------------------------------


def active_alert(session: Session, kind: str, subject: str) -> Alert | None:
    return session.scalars(
        sa.select(Alert).where(Alert.kind == kind, Alert.subject == subject, Alert.status.in_(ACTIVE))
        .order_by(Alert.id).limit(1)
    ).first()


def open_alert(session: Session, config: AlertsConfig, kind: str, subject: str, summary: str, *,
               now: datetime, fix: str = "", details: dict[str, Any] | None = None) -> Alert | None:
    """Open the episode's alert and queue its messages, or refresh the one already open (no message).
    None when operational alerts are turned off."""
    if not config.operational.enabled:
        return None
    facts = {**(details or {}), "fix": fix, "last_seen_at": now.isoformat()}
    alert = active_alert(session, kind, subject)
    if alert is not None:
        alert.summary, alert.details, alert.updated_at = summary, {**alert.details, **facts}, now
        return alert
    alert = Alert(kind=kind, subject=subject, severity=KINDS[kind].severity, status=AlertStatus.open,
                  summary=summary, details=facts, opened_at=now, updated_at=now)
    session.add(alert)
    session.flush()
    channels = _announce(session, config, alert, "opened", now)
    log.error("operational alert %s opened (%s): %s; notifying %s", alert.id, kind, summary,
              ", ".join(channels) or "no channel (configure alerts.channels)")
    return alert


def resolve(session: Session, config: AlertsConfig, subject: str, kinds: Iterable[str], *, now: datetime,
            why: str) -> list[Alert]:
    """End every active episode of `kinds` about `subject` (it works again), announcing each."""
    found = list(session.scalars(
        sa.select(Alert).where(Alert.subject == subject, Alert.kind.in_(list(kinds)), Alert.status.in_(ACTIVE))))
    for alert in found:
        alert.status, alert.resolved_at, alert.updated_at = AlertStatus.resolved, now, now
        alert.details = {**alert.details, "resolved_because": why}
        _announce(session, config, alert, "resolved", now)
        log.warning("operational alert %s resolved (%s %s): %s", alert.id, alert.kind, subject, why)
    return found


def _announce(session: Session, config: AlertsConfig, alert: Alert, event: str, now: datetime) -> tuple[str, ...]:
    channels = channels_for(config, alert.kind, alert.subject or "")
    if channels:
        title, body, payload = message(alert, event)
        notify.enqueue(session, channels, event=event, subject=title, body=body, payload=payload, now=now,
                       alert_id=alert.id)
    return channels


# --- the three watchers: called where the failure or the recovery is recorded ----------------------


def source_failed(session: Session, config: AlertsConfig, name: str, *, auth: bool, error: str,
                  failing_since: datetime, now: datetime) -> Alert | None:
    """A poll failed: refused credentials alert at once; anything else once it has lasted too long."""
    subject = source_subject(name)
    if auth:
        return open_alert(session, config, "auth_failed", subject,
                          f"source {name}: the platform refused its credentials: {error}", now=now,
                          fix=f"renew the credentials of source {name} in config.yaml (their ${{VAR}}s) and restart "
                              "`earful run`; until then it is retried only every scheduler.backoff_max_seconds",
                          details={"source": name, "error": error})
    minutes = (now - failing_since).total_seconds() / 60
    if minutes < config.operational.source_failing_minutes:
        return None
    return open_alert(session, config, "source_failing", subject,
                      f"source {name}: no successful poll for {minutes:.0f} min; last error: {error}", now=now,
                      fix=f"see `earful sources` for source {name}'s errors; check the platform's status and the "
                          "network from this host",
                      details={"source": name, "error": error, "failing_since": failing_since.isoformat()})


def source_over_budget(session: Session, config: AlertsConfig, name: str, reason: str, *, spend_today_usd: float,
                       now: datetime) -> Alert | None:
    return open_alert(session, config, "over_budget", source_subject(name), f"source {name}: {reason}", now=now,
                      fix=f"raise sources.{name}.daily_budget_usd if the spend is expected; otherwise narrow the "
                          "brand's query so fewer reads are billed",
                      details={"source": name, "spend_today_usd": spend_today_usd})


def source_recovered(session: Session, config: AlertsConfig, name: str, *, now: datetime,
                     still_over_budget: bool) -> list[Alert]:
    kinds = [k for k in SOURCE_KINDS if not (still_over_budget and k == "over_budget")]
    return resolve(session, config, source_subject(name), kinds, now=now, why="a poll succeeded")


def _last_all_failed(session: Session, newest_first: sa.Select[Any], wanted: int, failed: object) -> bool:
    """Whether the `wanted` newest finished outcomes (states, newest first) are all `failed`."""
    last = list(session.scalars(newest_first.limit(wanted)))
    return len(last) == wanted and all(state == failed for state in last)


def reply_failed(session: Session, config: AlertsConfig, source_id: int, name: str, *, auth: bool,
                 error: str, now: datetime) -> Alert | None:
    """A reply failed for good. Refused credentials alert at once; otherwise when the sender's last
    `sender_failures` replies (sent or failed) all failed. Call after the failure is flushed."""
    subject = sender_subject(name)
    if auth:
        return open_alert(session, config, "auth_failed", subject,
                          f"sender {name}: the platform refused its credentials for posting: {error}", now=now,
                          fix=f"renew the credentials (with the scope to post) of source {name} and retry the failed "
                              "replies from their cases",
                          details={"sender": name, "error": error})
    wanted = config.operational.sender_failures
    if not _last_all_failed(session, sa.select(Reply.state).where(
            Reply.source_id == source_id, Reply.state.in_([ReplyState.sent, ReplyState.failed]))
            .order_by(Reply.updated_at.desc(), Reply.id.desc()), wanted, ReplyState.failed):
        return None
    return open_alert(session, config, "sender_failing", subject,
                      f"sender {name}: the last {wanted} replies failed; the latest: {error}", now=now,
                      fix="open the failed replies (Cases, or `earful outbox --state failed`) for the platform's "
                          "reasons; fix the cause, then retry them",
                      details={"sender": name, "error": error})


def reply_sent(session: Session, config: AlertsConfig, name: str, *, now: datetime) -> list[Alert]:
    return resolve(session, config, sender_subject(name), SENDER_KINDS, now=now, why="a reply was sent")


def announces_channel_failure(session: Session, notification: Notification) -> bool:
    if notification.alert_id is None:
        return False
    return session.scalar(sa.select(Alert.kind).where(Alert.id == notification.alert_id)) == "channel_failing"


def notification_failed(session: Session, config: AlertsConfig, notification: Notification, *,
                        now: datetime) -> Alert | None:
    """A message failed for good: when the channel's last `channel_failures` finished messages all
    failed, alert the other channels. Call after the failure is flushed."""
    if announces_channel_failure(session, notification):
        return None  # the loop guard: a failure about failures opens nothing
    if notification.channel not in {c.name for c in config.channels}:
        return None  # a message left for a channel since removed from the config: nothing to fix there
    wanted = config.operational.channel_failures
    if not _last_all_failed(session, sa.select(Notification.state).where(
            Notification.channel == notification.channel,
            Notification.state.in_([DeliveryState.sent, DeliveryState.failed]))
            .order_by(sa.func.coalesce(Notification.sent_at, Notification.created_at).desc(), Notification.id.desc()),
            wanted, DeliveryState.failed):
        return None
    name = notification.channel
    return open_alert(session, config, "channel_failing", channel_subject(name),
                      f"channel {name}: the last {wanted} message(s) failed for good; the latest: "
                      f"{notification.last_error}", now=now,
                      fix=f"check alerts.channels entry {name} (its URL or SMTP login) and the endpoint; "
                          "`earful alerts` lists each message's error",
                      details={"channel": name, "error": notification.last_error})


def notification_sent(session: Session, config: AlertsConfig, channel: str, *, now: datetime) -> list[Alert]:
    return resolve(session, config, channel_subject(channel), ("channel_failing",), now=now,
                   why="a message was delivered")


def watch_deliveries(session: Session, config: AlertsConfig, outcomes: Iterable[notify.DeliveryOutcome], *,
                     now: datetime) -> list[Alert]:
    """After a delivery run: a channel that failed for good may open its alert; one that delivered
    resolves it. Returns the alerts opened."""
    opened: list[Alert] = []
    for outcome in outcomes:
        if outcome.state == DeliveryState.sent:
            notification_sent(session, config, outcome.channel, now=now)
        elif outcome.state == DeliveryState.failed:
            note = session.get(Notification, outcome.notification_id)
            alert = notification_failed(session, config, note, now=now) if note is not None else None
            if alert is not None:
                opened.append(alert)
    return opened
