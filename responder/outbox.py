"""The outbox: every public reply is a row with an idempotency key and a state machine.

    draft ──submit──▶ (needs approval? waits for pr/manager/admin: approve / reject back to draft)
      │                    │
      └──────submit───────▶ approved ──claim──▶ sending ──▶ sent
                               ▲                  │   └──▶ failed   (the platform refused for good)
                               └──retry/backoff───┘   └──▶ verify   (it may have landed: a human checks)

Why it is built this way:
- **Never post twice.** A sender *claims* a reply with one conditional UPDATE (approved → sending)
  and commits that before it calls the platform, so two senders, a double click or two agents can
  never both post it. A crash after the platform accepted the reply but before the database recorded
  it leaves the row in `sending`; the next sender run reconciles it after `sender.lease_seconds` by
  looking the reply up on the platform (`Publisher.find`). Found: sent. Not found or no way to look:
  `verify`, for a human, never an automatic resend.
- **Never lose one.** Transient errors (rate limits, 5xx, connection refused) go back to approved with
  exponential backoff; permanent ones (403, parent deleted, text refused) fail with the platform's
  own reason kept on the row for the agent. Nothing is deleted.
- **Per-source dry run.** A reply through a source with `dry_run: true` is recorded and shown as sent
  (dry run) without calling the platform.

Functions that act on behalf of a person take the acting `User` and check the role themselves.

No silent failure: a reply refused for the sender's credentials, or the sender's last
`alerts.operational.sender_failures` replies all failing, opens an operational alert
(`core.ops_alerts`) in the transaction that records the failure; the sender's next sent reply
resolves it.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit, ops_alerts
from core.config import AlertsConfig, ResponderConfig, Settings
from core.db import Database
from core.errors import (
    AuthFailed,
    Conflict,
    EarfulError,
    InvalidInput,
    OutcomeUnknown,
    PlatformError,
    RateLimited,
    Rejected,
    Unavailable,
)
from core.models import Case, Mention, Reply, ReplyState, Role, Source, User, utcnow
from core.users import has_role, require
from responder import assignment, cases
from responder.limits import check_reply
from responder.publishers import REPLY_PLATFORMS, build_publisher, target_of
from responder.publishers.base import LookupUnsupported, Publisher, Published
from responder.rules import any_holds

log = logging.getLogger(__name__)


class NoReplyApi(InvalidInput):
    """The platform has no reply API: answer on the site through the link, then mark the case handled."""


# --------------------------------------------------------------------------- composing


def _mention_to_answer(session: Session, case: Case, in_reply_to: int | None) -> Mention:
    if in_reply_to is not None:
        mention = session.get(Mention, in_reply_to)
        if mention is None or mention.case_id != case.id:
            raise InvalidInput(f"mention {in_reply_to} is not part of case #{case.id}")
        return mention
    mention = session.scalars(
        sa.select(Mention).where(Mention.case_id == case.id).order_by(Mention.created_at.desc(), Mention.id.desc()).limit(1)
    ).first()
    if mention is None:
        raise InvalidInput(f"case #{case.id} has no mention to reply to")
    return mention


def save_draft(
    session: Session,
    actor: User,
    case_id: int,
    text: str,
    *,
    config: ResponderConfig,
    now: datetime,
    in_reply_to: int | None = None,
    idempotency_key: str | None = None,
) -> Reply:
    """Write (or, for the same idempotency key, return) a draft reply. The author must hold the case.

    The dashboard makes one key per compose box, so a double click, a re-run of the page or a retry
    after a timeout finds the same row instead of writing a second reply.
    """
    require(actor, Role.agent, "write replies")
    if idempotency_key:
        existing = session.scalar(sa.select(Reply).where(Reply.idempotency_key == idempotency_key))
        if existing is not None:
            return existing
    case = cases.get_case(session, case_id)
    mention = _mention_to_answer(session, case, in_reply_to)
    if mention.platform not in REPLY_PLATFORMS:
        raise NoReplyApi(
            f"{mention.platform} has no reply API; answer on the site ({mention.url or 'no link stored'}) "
            "and then mark the case handled"
        )
    check_reply(mention.platform, text)
    assignment.hold(session, actor, case.id, now=now, minutes=config.cases.hold_minutes)
    reply = Reply(
        case_id=case.id,
        in_reply_to_id=mention.id,
        platform=mention.platform,
        source_id=mention.source_id,
        text=text.strip(),
        state=ReplyState.draft,
        idempotency_key=idempotency_key or uuid.uuid4().hex,
        author_user_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    session.add(reply)
    session.flush()
    audit.record(session, actor.username, "reply.draft", target_type="reply", target_id=reply.id,
                 details={"case_id": case.id}, at=now)
    return reply


def edit_draft(session: Session, actor: User, reply_id: int, text: str, *, config: ResponderConfig, now: datetime) -> Reply:
    reply = _reply(session, reply_id)
    _require_author_or_approver(actor, reply, "edit this reply")
    if reply.state != ReplyState.draft:
        raise Conflict(f"reply {reply.id} is {reply.state.value}; only a draft can be edited")
    check_reply(reply.platform, text)
    assignment.hold(session, actor, reply.case_id, now=now, minutes=config.cases.hold_minutes)
    old = reply.text
    reply.text = text.strip()
    reply.updated_at = now
    audit.record(session, actor.username, "reply.edit", target_type="reply", target_id=reply.id,
                 details={"from": old, "to": reply.text}, at=now)
    return reply


def needs_approval(session: Session, reply: Reply, author: User, config: ResponderConfig) -> bool:
    """Config's approval rules, read against the mention answered and the author's team."""
    if not config.approval.rules:
        return False
    mention = session.get(Mention, reply.in_reply_to_id)
    assert mention is not None
    facts = cases.mention_facts(session, [mention])[mention.id]
    facts = dataclasses.replace(facts, agent_team=author.team)
    return any_holds(config.approval.rules, facts)


def submit(session: Session, actor: User, reply_id: int, *, config: ResponderConfig, now: datetime) -> Reply:
    """The agent pressed Send: queue the reply, or put it before an approver when the rules say so.

    A reply written by an approver (pr and above) is approved by its author; the approval is recorded.
    """
    reply = _reply(session, reply_id)
    _require_author_or_approver(actor, reply, "send this reply")
    if reply.state != ReplyState.draft:
        raise Conflict(f"reply {reply.id} is already {reply.state.value}")
    check_reply(reply.platform, reply.text)
    assignment.hold(session, actor, reply.case_id, now=now, minutes=config.cases.hold_minutes)
    author = session.get(User, reply.author_user_id) if reply.author_user_id else actor
    reply.needs_approval = needs_approval(session, reply, author or actor, config)
    reply.updated_at = now
    if reply.needs_approval and not has_role(actor, Role.pr):
        reply.submitted_at = now
        reply.review_note = None
        audit.record(session, actor.username, "reply.submit", target_type="reply", target_id=reply.id, at=now)
        return reply
    _approve(reply, actor, now)
    audit.record(session, actor.username, "reply.queue", target_type="reply", target_id=reply.id,
                 details={"self_approved": reply.needs_approval}, at=now)
    return reply


def approve(session: Session, approver: User, reply_id: int, *, now: datetime, text: str | None = None) -> Reply:
    """An approver lets a reply go out, optionally after editing it (the edit is recorded)."""
    require(approver, Role.pr, "approve replies")
    reply = _reply(session, reply_id)
    if reply.state != ReplyState.draft or reply.submitted_at is None:
        raise Conflict(f"reply {reply.id} is not waiting for approval (it is {reply.state.value})")
    details: dict[str, object] = {}
    if text is not None and text.strip() != reply.text:
        check_reply(reply.platform, text)
        details = {"edited_from": reply.text, "edited_to": text.strip()}
        reply.text = text.strip()
    _approve(reply, approver, now)
    audit.record(session, approver.username, "reply.approve", target_type="reply", target_id=reply.id,
                 details=details, at=now)
    return reply


def reject(session: Session, approver: User, reply_id: int, reason: str, *, now: datetime) -> Reply:
    """Send a reply back to its author as a draft, with the approver's reason."""
    require(approver, Role.pr, "reject replies")
    reason = reason.strip()
    if not reason:
        raise InvalidInput("say why the reply is rejected, so its author can fix it")
    reply = _reply(session, reply_id)
    if reply.state != ReplyState.draft or reply.submitted_at is None:
        raise Conflict(f"reply {reply.id} is not waiting for approval (it is {reply.state.value})")
    reply.submitted_at = None
    reply.review_note = reason
    reply.updated_at = now
    audit.record(session, approver.username, "reply.reject", target_type="reply", target_id=reply.id,
                 details={"reason": reason}, at=now)
    return reply


def awaiting_approval(session: Session) -> list[Reply]:
    return list(session.scalars(
        sa.select(Reply).where(Reply.state == ReplyState.draft, Reply.submitted_at.is_not(None))
        .order_by(Reply.submitted_at)
    ))


def _approve(reply: Reply, approver: User, now: datetime) -> None:
    reply.state = ReplyState.approved
    reply.approved_by_id = approver.id
    reply.approved_at = now
    reply.submitted_at = reply.submitted_at or now
    reply.next_attempt_at = None
    reply.error = None


def _require_author_or_approver(actor: User, reply: Reply, action: str) -> None:
    require(actor, Role.agent, action)
    if reply.author_user_id != actor.id:
        require(actor, Role.pr, f"{action} (written by someone else)")


def _reply(session: Session, reply_id: int) -> Reply:
    reply = session.get(Reply, reply_id)
    if reply is None:
        raise InvalidInput(f"no reply {reply_id}")
    return reply


# --------------------------------------------------------------------------- after a failure


def retry(session: Session, actor: User, reply_id: int, *, now: datetime) -> Reply:
    """Queue a failed reply again (the agent judged the cause fixed)."""
    require(actor, Role.agent, "retry replies")
    reply = _reply(session, reply_id)
    if reply.state != ReplyState.failed:
        raise Conflict(f"reply {reply.id} is {reply.state.value}; only a failed reply can be retried")
    reply.state = ReplyState.approved
    reply.attempts = 0
    reply.next_attempt_at = None
    reply.updated_at = now
    audit.record(session, actor.username, "reply.retry", target_type="reply", target_id=reply.id,
                 details={"previous_error": reply.error}, at=now)
    return reply


def resolve_verify(
    session: Session, actor: User, reply_id: int, *, posted: bool, now: datetime, url: str | None = None
) -> Reply:
    """A human checked the platform for a reply in `verify`: it is there (sent) or not (send again)."""
    require(actor, Role.agent, "resolve replies to verify")
    reply = _reply(session, reply_id)
    if reply.state != ReplyState.verify:
        raise Conflict(f"reply {reply.id} is {reply.state.value}, not waiting for verification")
    if posted:
        reply.state = ReplyState.sent
        reply.sent_at = now
        reply.platform_url = url or reply.platform_url
        case = session.get(Case, reply.case_id)
        if case is not None:
            cases.record_response(case, now)
    else:
        reply.state = ReplyState.approved
        reply.next_attempt_at = None
    reply.updated_at = now
    audit.record(session, actor.username, "reply.verified", target_type="reply", target_id=reply.id,
                 details={"posted": posted, "url": url}, at=now)
    return reply


# --------------------------------------------------------------------------- sending


class Publishers:
    """Publishers by source name, built on first use from the source's configuration."""

    def __init__(self, settings: Settings, build: Callable[..., Publisher | None] = build_publisher) -> None:
        self.settings = settings
        self._build = build
        self._cache: dict[str, Publisher | None] = {}

    def for_source(self, name: str) -> Publisher | None:
        if name not in self._cache:
            config = self.settings.source(name)
            self._cache[name] = self._build(config, timeout=self.settings.responder.sender.timeout_seconds)
        return self._cache[name]

    def is_dry_run(self, name: str) -> bool:
        return bool(self.settings.source(name).dry_run)

    def close(self) -> None:
        for publisher in self._cache.values():
            if publisher is not None:
                try:
                    publisher.close()
                except Exception:  # closing must never stop a shutdown
                    log.exception("closing publisher failed")
        self._cache.clear()


@dataclass(frozen=True, slots=True)
class Outcome:
    reply_id: int
    state: ReplyState
    detail: str = ""


@dataclass(frozen=True, slots=True)
class _Job:
    reply_id: int
    source: str
    text: str
    since: datetime
    target: object


def claim(session: Session, reply_id: int, *, now: datetime) -> bool:
    """approved → sending, atomically; True for exactly one of any number of concurrent callers."""
    won = session.execute(
        sa.update(Reply)
        .where(Reply.id == reply_id, Reply.state == ReplyState.approved,
               sa.or_(Reply.next_attempt_at.is_(None), Reply.next_attempt_at <= now))
        .values(state=ReplyState.sending, sending_at=now, attempts=Reply.attempts + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    return bool(won)


def deliver(db: Database, reply_id: int, publishers: Publishers, *, clock: Callable[[], datetime] = utcnow) -> Outcome:
    """Send one approved reply: claim it (committed), call the platform, record the result."""
    config = publishers.settings.responder.sender
    with db.session() as session:
        if not claim(session, reply_id, now=clock()):
            reply = session.get(Reply, reply_id)
            return Outcome(reply_id, reply.state if reply else ReplyState.failed, "not claimable")
        job = _job(session, reply_id)
    if isinstance(job, Outcome):
        return job
    alerts = publishers.settings.alerts
    if publishers.is_dry_run(job.source):
        return _record_sent(db, reply_id, None, clock(), dry_run=True)
    try:
        publisher = publishers.for_source(job.source)
        if publisher is None:
            raise Rejected("earful", f"source {job.source} cannot post replies")
        published = publisher.publish(job.target, job.text)  # type: ignore[arg-type]
    except OutcomeUnknown as exc:
        return _reconcile_one(db, reply_id, publisher, job, clock(), cause=str(exc), alerts=alerts)
    except (RateLimited, Unavailable) as exc:
        return _back_off(db, reply_id, exc, clock(), max_attempts=config.max_attempts, cap=config.backoff_max_seconds,
                         alerts=alerts)
    except (Rejected, AuthFailed, PlatformError, EarfulError) as exc:
        return _fail(db, reply_id, str(exc), clock(), alerts=alerts, auth=isinstance(exc, AuthFailed))
    return _record_sent(db, reply_id, published, clock(), alerts=alerts)


def _job(session: Session, reply_id: int) -> _Job | Outcome:
    reply = session.get(Reply, reply_id)
    assert reply is not None
    mention = session.get(Mention, reply.in_reply_to_id)
    source = session.get(Source, reply.source_id) if reply.source_id else None
    if mention is None or source is None:
        reason = "the mention it answers is gone" if mention is None else "it has no source account to post from"
        _set_failed(session, reply, f"cannot send: {reason}", reply.sending_at or utcnow())
        return Outcome(reply_id, ReplyState.failed, reason)
    return _Job(reply_id, source.name, reply.text, reply.sending_at or utcnow(), target_of(mention))


def _record_sent(db: Database, reply_id: int, published: Published | None, now: datetime, *, dry_run: bool = False,
                 alerts: AlertsConfig | None = None) -> Outcome:
    with db.session() as session:
        reply = session.get(Reply, reply_id)
        assert reply is not None
        reply.state = ReplyState.sent
        reply.sent_at = (published.posted_at if published and published.posted_at else None) or now
        reply.platform_reply_id = published.platform_id if published else None
        reply.platform_url = published.url if published else None
        reply.dry_run = dry_run
        reply.error = None
        reply.updated_at = now
        case = session.get(Case, reply.case_id)
        if case is not None:
            cases.record_response(case, reply.sent_at)
            case.held_by_id = case.hold_expires_at = None
        audit.record(session, "system", "reply.sent", target_type="reply", target_id=reply.id,
                     details={"platform_id": reply.platform_reply_id, "dry_run": dry_run}, at=now)
        sender = session.get(Source, reply.source_id) if reply.source_id else None
        if alerts is not None and sender is not None and not dry_run:  # a dry run proves nothing about the account
            ops_alerts.reply_sent(session, alerts, sender.name, now=now)
    return Outcome(reply_id, ReplyState.sent, "dry run: not sent" if dry_run else (published.platform_id if published else ""))


def _fail(db: Database, reply_id: int, reason: str, now: datetime, *, alerts: AlertsConfig | None = None,
          auth: bool = False) -> Outcome:
    with db.session() as session:
        reply = session.get(Reply, reply_id)
        assert reply is not None
        _set_failed(session, reply, reason, now, alerts=alerts, auth=auth)
    return Outcome(reply_id, ReplyState.failed, reason)


def _set_failed(session: Session, reply: Reply, reason: str, now: datetime, *, alerts: AlertsConfig | None = None,
                auth: bool = False) -> None:
    reply.state = ReplyState.failed
    reply.error = reason
    reply.updated_at = now
    audit.record(session, "system", "reply.failed", target_type="reply", target_id=reply.id,
                 details={"reason": reason}, at=now)
    log.warning("reply %s failed: %s", reply.id, reason)
    sender = session.get(Source, reply.source_id) if reply.source_id else None
    if alerts is not None and sender is not None:
        session.flush()  # the failure counts among the sender's last replies
        ops_alerts.reply_failed(session, alerts, sender.id, sender.name, auth=auth, error=reason, now=now)


def _back_off(db: Database, reply_id: int, exc: PlatformError, now: datetime, *, max_attempts: int, cap: int,
              alerts: AlertsConfig | None = None) -> Outcome:
    with db.session() as session:
        reply = session.get(Reply, reply_id)
        assert reply is not None
        if reply.attempts >= max_attempts:
            _set_failed(session, reply, f"gave up after {reply.attempts} attempts: {exc}", now, alerts=alerts)
            return Outcome(reply_id, ReplyState.failed, str(exc))
        wait = min(float(cap), 15.0 * 2 ** (reply.attempts - 1))
        if exc.retry_after is not None:
            wait = max(wait, float(exc.retry_after))
        reply.state = ReplyState.approved
        reply.next_attempt_at = now + timedelta(seconds=wait)
        reply.error = f"attempt {reply.attempts} failed, retrying: {exc}"
        reply.updated_at = now
    return Outcome(reply_id, ReplyState.approved, str(exc))


def _reconcile_one(db: Database, reply_id: int, publisher: Publisher | None, job: _Job, now: datetime, *, cause: str,
                   alerts: AlertsConfig | None = None) -> Outcome:
    """The platform may have the reply: look it up; what cannot be settled goes to a human."""
    found: Published | None = None
    why = cause
    if publisher is not None:
        try:
            found = publisher.find(job.target, job.text, job.since)  # type: ignore[arg-type]
            if found is None:
                why = f"{cause}; the platform shows no such reply yet"
        except LookupUnsupported:
            why = f"{cause}; the platform offers no way to look it up"
        except EarfulError as exc:
            why = f"{cause}; looking it up failed: {exc}"
    if found is not None:
        return _record_sent(db, reply_id, found, now, alerts=alerts)
    with db.session() as session:
        reply = session.get(Reply, reply_id)
        assert reply is not None
        reply.state = ReplyState.verify
        reply.error = f"sent? verify on the platform before sending again ({why})"
        reply.updated_at = now
        audit.record(session, "system", "reply.verify", target_type="reply", target_id=reply.id,
                     details={"reason": why}, at=now)
    return Outcome(reply_id, ReplyState.verify, why)


def reconcile_stale(db: Database, publishers: Publishers, *, clock: Callable[[], datetime] = utcnow) -> list[Outcome]:
    """Replies left in `sending` by a sender that stopped (crash, kill, power cut) are looked up."""
    lease = timedelta(seconds=publishers.settings.responder.sender.lease_seconds)
    now = clock()
    with db.session() as session:
        stale = list(session.scalars(
            sa.select(Reply.id).where(Reply.state == ReplyState.sending, Reply.sending_at < now - lease)
        ))
    outcomes = []
    for reply_id in stale:
        with db.session() as session:
            # Take it over atomically, so two reconcilers never both settle one reply.
            taken = session.execute(
                sa.update(Reply)
                .where(Reply.id == reply_id, Reply.state == ReplyState.sending, Reply.sending_at < now - lease)
                .values(updated_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
            job = _job(session, reply_id) if taken else None
        if job is None or isinstance(job, Outcome):
            continue
        try:
            publisher = publishers.for_source(job.source)
        except EarfulError:
            publisher = None
        outcomes.append(_reconcile_one(db, reply_id, publisher, job, now, alerts=publishers.settings.alerts,
                                       cause="the sender stopped while posting this reply"))
    return outcomes


def send_due(db: Database, publishers: Publishers, *, clock: Callable[[], datetime] = utcnow, limit: int = 50) -> list[Outcome]:
    """One sender run: settle abandoned sends, then send what is approved and due."""
    outcomes = reconcile_stale(db, publishers, clock=clock)
    now = clock()
    with db.session() as session:
        due = list(session.scalars(
            sa.select(Reply.id)
            .where(Reply.state == ReplyState.approved, sa.or_(Reply.next_attempt_at.is_(None), Reply.next_attempt_at <= now))
            .order_by(Reply.approved_at, Reply.id)
            .limit(limit)
        ))
    for reply_id in due:
        outcomes.append(deliver(db, reply_id, publishers, clock=clock))
    return outcomes
