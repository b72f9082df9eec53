"""Erasing a person (GDPR) and deleting old mentions (retention).

`erase_author` removes everything Earful holds about one platform author: their mentions with all
that hangs off them (scores, brand links, corrections, alert links), drafts never published, the
cases opened for them, notes and survey answers, the author row and the customer profile when no
other account is linked to it, and their handle and name inside audit details and queued
notifications. The brand's own published replies are the brand's public record and stay: the reply
row keeps what the brand said (with the person's handle and name redacted) and points at a tombstone
of the post it answered, a row with the platform id and time only ("[erased]", no author, no text,
no link, no payload). Keeping that platform id also means a later poll that sees the same post
again only refreshes its counts instead of collecting the person's text a second time.
`erase_customer` does the same for every account linked to one customer profile, and the profile,
in one transaction.

`apply_retention` deletes mentions older than N days with their scores and dependent rows, in
set-based batches; `run_retention` spreads that over short transactions so the scheduler's writers
never wait long. A
case is the unit: mentions in a case that is not closed are never touched (someone is still working
on it), and a closed case goes, with its replies and notes, once its newest mention is past the
limit. Authors and customer profiles left with nothing go too.

Both write an audit entry that holds counts and an opaque reference, never the erased data.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable, Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit
from core.store import chunks
from core.config import Settings
from core.db import Database
from core.errors import InvalidInput
from core.mention import PLATFORMS
from core.models import (
    AlertMention, AuditEntry, Author, Case, CaseStatus, Correction, Customer, Mention, MentionBrand, Note,
    Notification, Reply, ReplyState, Role, Score, User, utcnow,
)
from core.runtimes import Runtimes
from core.users import require

log = logging.getLogger(__name__)

BATCH = 500  # ids per IN (...) list and per retention transaction; well under SQLite's variable limit
ERASED = "[erased]"
# Replies the platform has (or may have) published: the brand's record, kept and redacted. Drafts,
# approved-but-unsent and failed replies were never public and go with the person's data.
PUBLISHED = (ReplyState.sent, ReplyState.sending, ReplyState.verify)


def _delete_where_in(session: Session, column: Any, ids: Sequence[int]) -> int:
    """DELETE ... WHERE column IN (ids), chunked; returns the rows deleted."""
    deleted = 0
    for chunk in chunks(ids, BATCH):
        result = session.execute(
            sa.delete(column.class_).where(column.in_(chunk)).execution_options(synchronize_session=False)
        )
        deleted += result.rowcount or 0
    return deleted


def _delete_mention_children(session: Session, mention_ids: Sequence[int]) -> int:
    """Every row that hangs off these mentions except replies; returns the scores deleted.

    Deleted explicitly (not left to ON DELETE CASCADE) so each table is hit once per batch, by index."""
    scores = _delete_where_in(session, Score.mention_id, mention_ids)
    for column in (MentionBrand.mention_id, Correction.mention_id, AlertMention.mention_id):
        _delete_where_in(session, column, mention_ids)
    return scores


# --------------------------------------------------------------------------------------- erasure


@dataclass(frozen=True, slots=True)
class ErasureResult:
    reference: str  # opaque; the audit entry carries it, so a request log outside Earful can cite it
    authors: int
    mentions: int
    scores: int
    cases_deleted: int
    cases_kept: int  # they hold a published brand reply
    replies_kept: int  # published brand replies, redacted
    replies_deleted: int  # drafts and failed replies, never public
    customer_deleted: bool
    linked_authors: tuple[str, ...]  # other accounts of the same customer profile, left alone

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}  # type: ignore[attr-defined]


def find_authors(session: Session, platform: str, key_or_handle: str) -> list[Author]:
    """The platform's author rows known by this handle or native id (one person may have two rows:
    one keyed by the native id, one by the handle from an import that had no id)."""
    wanted = key_or_handle.strip()
    if platform not in PLATFORMS:
        raise InvalidInput(f"unknown platform {platform!r}; use one of {', '.join(PLATFORMS)}")
    if not wanted:
        raise InvalidInput("name the author to erase: PLATFORM:HANDLE or PLATFORM:NATIVE_ID")
    variants = {wanted, wanted.lstrip("@"), "@" + wanted.lstrip("@")}
    return list(session.scalars(
        sa.select(Author).where(Author.platform == platform, sa.or_(Author.handle.in_(variants), Author.key.in_(variants)))
        .order_by(Author.id)
    ))


def redaction_pattern(authors: Sequence[Author], *, names: bool = True,
                      extra_names: Iterable[str] = ()) -> re.Pattern[str] | None:
    """Matches the authors' handles (with or without @, and the local part of user@instance handles)
    and, with `names`, their display names and `extra_names` (a customer profile's), as whole words,
    case-insensitively."""
    needles: set[str] = {n.strip() for n in extra_names if names and n and len(n.strip()) >= 2}
    for author in authors:
        for value in (author.handle, author.key if not author.key.isdigit() else None):
            if not value:
                continue
            bare = value.lstrip("@")
            needles |= {value, bare, "@" + bare}
            if "@" in bare:
                needles.add("@" + bare.split("@", 1)[0])
        if names and author.name and len(author.name.strip()) >= 2:
            needles.add(author.name.strip())
    needles = {n for n in needles if len(n.lstrip("@")) >= 2}
    if not needles:
        return None
    alternatives = "|".join(re.escape(n) for n in sorted(needles, key=len, reverse=True))
    return re.compile(rf"(?<![\w@])(?:{alternatives})(?![\w@.-]*\w)", re.IGNORECASE)


def _redact(value: Any, pattern: re.Pattern[str]) -> Any:
    if isinstance(value, str):
        return pattern.sub(ERASED, value)
    if isinstance(value, list):
        return [_redact(v, pattern) for v in value]
    if isinstance(value, dict):
        return {k: _redact(v, pattern) for k, v in value.items()}
    return value


def _needle_filters(column: Any, authors: Sequence[Author], *, names: bool = False) -> Any:
    """A cheap SQL prefilter (LIKE) for rows that may mention the authors; Python does the exact match.

    JSON is stored as text with \\u escapes on SQLite and as UTF-8 on PostgreSQL: both forms are tried."""
    needles: set[str] = set()
    for author in authors:
        for value in (author.handle.lstrip("@").split("@", 1)[0], author.name if names else None):
            if value and len(value.strip()) >= 2:
                needles |= {value.strip(), json.dumps(value.strip())[1:-1]}
    if not needles:
        return sa.false()
    text = sa.cast(column, sa.Text)
    return sa.or_(*(text.ilike(f"%{n}%", escape="\\") for n in (_like_escape(n) for n in sorted(needles))))


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def erasure_preview(session: Session, actor: User, platform: str, key_or_handle: str) -> int:
    """How many mentions `erase_author` would remove (admins only: the count itself says something)."""
    require(actor, Role.admin, "erase a person's data")
    ids = [a.id for a in find_authors(session, platform, key_or_handle)]
    if not ids:
        raise InvalidInput(f"no author {key_or_handle!r} on {platform} has been collected; nothing to erase")
    return session.scalar(sa.select(sa.func.count()).select_from(Mention).where(Mention.author_id.in_(ids))) or 0


def erase_author(session: Session, actor: User, platform: str, key_or_handle: str, *,
                 now: datetime | None = None) -> ErasureResult:
    """Remove a person's data everywhere (admins only). See the module docstring for what stays."""
    require(actor, Role.admin, "erase a person's data")
    authors = find_authors(session, platform, key_or_handle)
    if not authors:
        raise InvalidInput(f"no author {key_or_handle!r} on {platform} has been collected; nothing to erase")
    return _erase_accounts(session, actor, authors, [], now=now or utcnow(), details={"platform": platform})


def find_customer(session: Session, customer: str | int) -> tuple[Customer, list[Author]]:
    """The customer profile named by its id (as `earful customers link` prints it) or by
    PLATFORM:HANDLE of one of its accounts, with every account linked to it."""
    wanted = str(customer).strip()
    if wanted.isdigit():
        profile = session.get(Customer, int(wanted))
        if profile is None:
            raise InvalidInput(f"no customer {wanted}; `earful customers link` prints a profile's id")
    else:
        platform, sep, handle = wanted.partition(":")
        if not sep:
            raise InvalidInput(f"{wanted!r} is neither a customer id nor PLATFORM:HANDLE of a linked account")
        authors = find_authors(session, platform, handle)
        if not authors:
            raise InvalidInput(f"no author {handle!r} on {platform} has been collected; nothing to erase")
        ids = sorted({a.customer_id for a in authors if a.customer_id is not None})
        if not ids:
            raise InvalidInput(f"{wanted} is not linked to a customer profile; erase that one account with --author")
        if len(ids) > 1:
            raise InvalidInput(f"{wanted} belongs to customers {', '.join(map(str, ids))}; name one by its id")
        profile = session.get(Customer, ids[0])
        assert profile is not None
    accounts = list(session.scalars(sa.select(Author).where(Author.customer_id == profile.id).order_by(Author.id)))
    return profile, accounts


@dataclass(frozen=True, slots=True)
class CustomerPreview:
    customer_id: int
    accounts: tuple[str, ...]  # PLATFORM:HANDLE of every linked account
    mentions: int


def customer_erasure_preview(session: Session, actor: User, customer: str | int) -> CustomerPreview:
    """What `erase_customer` would remove (admins only, like `erasure_preview`)."""
    require(actor, Role.admin, "erase a person's data")
    profile, accounts = find_customer(session, customer)
    ids = [a.id for a in accounts]
    mentions = 0 if not ids else session.scalar(
        sa.select(sa.func.count()).select_from(Mention).where(Mention.author_id.in_(ids))) or 0
    return CustomerPreview(profile.id, tuple(f"{a.platform}:{a.handle}" for a in accounts), mentions)


def erase_customer(session: Session, actor: User, customer: str | int, *,
                   now: datetime | None = None) -> ErasureResult:
    """Erase a customer profile and every platform account linked to it, in the caller's one
    transaction (admins only): `erase_author` for all of them at once, so none is left behind."""
    require(actor, Role.admin, "erase a person's data")
    profile, accounts = find_customer(session, customer)
    return _erase_accounts(session, actor, accounts, [profile.id], now=now or utcnow(),
                           details={"customer": True, "platforms": sorted({a.platform for a in accounts})})


def _erase_accounts(session: Session, actor: User, authors: Sequence[Author], profiles: Sequence[int], *,
                    now: datetime, details: dict[str, Any]) -> ErasureResult:
    """Erase these author rows and, when no other account stays linked, their customer profiles
    (`profiles`: profiles to erase even if no account is left to name them)."""
    author_ids = [a.id for a in authors]
    names = [p.display_name for p in (session.get(Customer, i) for i in profiles) if p is not None]
    pattern = redaction_pattern(authors, extra_names=names)
    customer_ids = sorted({a.customer_id for a in authors if a.customer_id is not None} | set(profiles))
    linked = [] if not customer_ids else list(session.scalars(
        sa.select(Author).where(Author.customer_id.in_(customer_ids), Author.id.not_in(author_ids)).order_by(Author.id)))

    mention_ids = list(session.scalars(sa.select(Mention.id).where(Mention.author_id.in_(author_ids))))
    touched_cases = set(session.scalars(sa.select(Case.id).where(Case.author_id.in_(author_ids))))
    if profiles:
        touched_cases |= set(session.scalars(sa.select(Case.id).where(Case.customer_id.in_(profiles))))
    touched_cases |= {c for c in session.scalars(
        sa.select(Mention.case_id).where(Mention.author_id.in_(author_ids), Mention.case_id.is_not(None)))}

    # Replies to the person's posts: published ones stay (redacted), the rest go.
    replies = [r for chunk in chunks(mention_ids, BATCH)
               for r in session.scalars(sa.select(Reply).where(Reply.in_reply_to_id.in_(chunk)))]
    kept = [r for r in replies if r.state in PUBLISHED]
    dropped_ids = [r.id for r in replies if r.state not in PUBLISHED]
    _delete_where_in(session, Reply.id, dropped_ids)
    for reply in kept:
        reply.context_embedding = None  # an embedding of the person's text
        if pattern is not None:
            reply.text = _redact(reply.text, pattern)
            reply.review_note = _redact(reply.review_note, pattern)
            reply.error = _redact(reply.error, pattern)
    tombstones = sorted({r.in_reply_to_id for r in kept})
    gone = sorted(set(mention_ids) - set(tombstones))

    scores = _delete_mention_children(session, mention_ids)
    _delete_where_in(session, Mention.id, gone)
    for chunk in chunks(tombstones, BATCH):
        session.execute(
            sa.update(Mention).where(Mention.id.in_(chunk)).values(
                text=ERASED, title=None, url=None, raw={}, author_id=None, language=None, likes=0, reposts=0,
                replies=0, sentiment=None, urgency=None, topics=None, scored_at=now, triaged_at=now,
            ).execution_options(synchronize_session=False)
        )

    cases_deleted, cases_kept = _settle_cases(session, sorted(touched_cases), author_ids, customer_ids)
    for chunk in chunks(author_ids, BATCH):  # anything else that still points at them
        session.execute(sa.update(Case).where(Case.author_id.in_(chunk)).values(author_id=None)
                        .execution_options(synchronize_session=False))
    _delete_where_in(session, Author.id, author_ids)
    customer_deleted = False
    for customer_id in customer_ids:
        remaining = [a for a in linked if a.customer_id == customer_id]
        customer = session.get(Customer, customer_id)
        if customer is None:
            continue
        if remaining:
            if pattern is not None and pattern.fullmatch(customer.display_name or ""):
                customer.display_name = remaining[0].name or remaining[0].handle
            continue
        session.execute(sa.update(Case).where(Case.customer_id == customer_id).values(customer_id=None)
                        .execution_options(synchronize_session=False))
        session.delete(customer)
        customer_deleted = True

    if pattern is not None:
        _scrub_text_columns(session, authors, pattern, [r.id for r in replies], customer_ids)
    session.expire_all()

    reference = f"erasure-{uuid.uuid4().hex[:16]}"
    result = ErasureResult(
        reference=reference, authors=len(authors), mentions=len(mention_ids), scores=scores,
        cases_deleted=cases_deleted, cases_kept=cases_kept, replies_kept=len(kept), replies_deleted=len(dropped_ids),
        customer_deleted=customer_deleted, linked_authors=tuple(f"{a.platform}:{a.handle}" for a in linked),
    )
    counts = {k: v for k, v in result.as_dict().items() if k not in ("reference", "linked_authors")}
    audit.record(session, actor.username, "person.erase", target_type="erasure", target_id=reference,
                 details={**counts, **details, "linked_authors": len(linked)}, at=now)
    return result


def _settle_cases(session: Session, case_ids: Sequence[int], author_ids: Sequence[int],
                  customer_ids: Sequence[int]) -> tuple[int, int]:
    """Delete the person's cases left empty; strip the rest (survey answer, notes, links to the person).

    A case survives only when it still holds a tombstone (a published brand reply) or mentions of
    another, not erased account of the same customer."""
    deleted = kept = 0
    for case_id in case_ids:
        case = session.get(Case, case_id)
        if case is None:
            continue
        remaining = session.execute(
            sa.select(Mention.author_id).where(Mention.case_id == case_id)).scalars().all()
        if not remaining:
            _delete_where_in(session, Note.case_id, [case_id])
            _delete_where_in(session, Reply.case_id, [case_id])
            session.delete(case)
            deleted += 1
            continue
        kept += 1
        if case.author_id in author_ids or all(a is None for a in remaining):
            case.author_id = None
            case.csat_score = case.csat_comment = case.csat_answered_at = case.csat_token = None
        if all(a is None for a in remaining):  # only tombstones: nothing of the person may stay
            _delete_where_in(session, Note.case_id, [case_id])
            if case.customer_id in customer_ids:
                case.customer_id = None
    session.flush()
    return deleted, kept


def _scrub_text_columns(session: Session, authors: Sequence[Author], full: re.Pattern[str],
                        reply_ids: Sequence[int], customer_ids: Sequence[int]) -> None:
    """The person's handle or name inside audit details and queued notifications.

    Entries about the person's own replies and customer profile are redacted of handles and names;
    every other entry (an export's search text, a report listing top authors) of handles only, since a
    display name may well be someone else's too."""
    handles = redaction_pattern(authors, names=False)
    own = sa.or_(
        sa.and_(AuditEntry.target_type == "reply", AuditEntry.target_id.in_([str(i) for i in reply_ids])),
        sa.and_(AuditEntry.target_type == "customer", AuditEntry.target_id.in_([str(i) for i in customer_ids])),
    )
    for entry in session.scalars(sa.select(AuditEntry).where(sa.or_(own, _needle_filters(AuditEntry.details, authors)))):
        is_own = (entry.target_type == "reply" and entry.target_id in {str(i) for i in reply_ids}) or (
            entry.target_type == "customer" and entry.target_id in {str(i) for i in customer_ids})
        pattern = full if is_own else handles
        redacted = _redact(entry.details, pattern) if pattern is not None else entry.details
        if redacted != entry.details:
            entry.details = redacted
    if handles is None:
        return
    condition = sa.or_(*(_needle_filters(column, authors) for column in (Notification.subject, Notification.body,
                                                                         Notification.payload)))
    for note in session.scalars(sa.select(Notification).where(condition)):
        note.subject, note.body = _redact(note.subject, handles), _redact(note.body, handles)
        redacted = _redact(note.payload, handles)
        if redacted != note.payload:
            note.payload = redacted
    session.flush()


# --------------------------------------------------------------------------------------- retention


@dataclass(frozen=True, slots=True)
class RetentionResult:
    cutoff: datetime
    mentions: int = 0
    scores: int = 0
    cases: int = 0
    authors: int = 0
    customers: int = 0
    more: bool = False  # stopped at its limit: old rows are left for the next transaction

    def __add__(self, other: RetentionResult) -> RetentionResult:
        return RetentionResult(self.cutoff, self.mentions + other.mentions, self.scores + other.scores,
                               self.cases + other.cases, self.authors + other.authors,
                               self.customers + other.customers, other.more)

    def as_dict(self) -> dict[str, Any]:
        return {"cutoff": self.cutoff.isoformat(), "mentions": self.mentions, "scores": self.scores,
                "cases": self.cases, "authors": self.authors, "customers": self.customers}


def _check_days(days: Any) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise InvalidInput(f"retention days must be a whole number of at least 1, not {days!r}")
    return days


def apply_retention(session: Session, days: int, now: datetime, *, limit: int | None = None,
                    batch_size: int = BATCH, record: bool = True) -> RetentionResult:
    """Delete mentions created more than `days` before `now`, except those in cases not yet closed.

    Works in the caller's transaction, in set-based batches of `batch_size` ids (each table hit once
    per batch, by index). With `limit` it stops after about that many mentions and says `more`:
    `run_retention` uses that to keep each transaction, and so the database's write lock, short."""
    _check_days(days)
    cutoff = now - timedelta(days=days)
    mentions = scores = cases_deleted = 0

    def room() -> bool:
        return limit is None or mentions < limit

    # 1. Closed cases whose every mention is past the limit go whole, with their replies and notes.
    newer = sa.select(Mention.id).where(Mention.case_id == Case.id, Mention.created_at >= cutoff).exists()
    expired = sa.select(Case.id).where(Case.status == CaseStatus.closed, Case.opened_at < cutoff, ~newer)
    while room():
        chunk = list(session.scalars(expired.order_by(Case.id).limit(max(1, batch_size // 10))))
        if not chunk:
            break
        ids = list(session.scalars(sa.select(Mention.id).where(Mention.case_id.in_(chunk))))
        for part in chunks(ids, batch_size):
            scores += _delete_mention_children(session, part)
            _delete_where_in(session, Reply.in_reply_to_id, part)
        _delete_where_in(session, Reply.case_id, chunk)
        _delete_where_in(session, Note.case_id, chunk)
        mentions += _delete_where_in(session, Mention.id, ids)
        cases_deleted += _delete_where_in(session, Case.id, chunk)

    # 2. Old mentions in no case, oldest first; each batch starts where the last one ended, so rows
    # skipped (in a case) are never read twice.
    since: datetime | None = None
    while room():
        # coalesce(): "no case" read from the row, so SQLite walks ix_mentions_created_at, not the case index
        query = sa.select(Mention.id, Mention.created_at).where(Mention.created_at < cutoff,
                                                                sa.func.coalesce(Mention.case_id, 0) == 0)
        if since is not None:
            query = query.where(Mention.created_at >= since)
        rows = session.execute(query.order_by(Mention.created_at).limit(batch_size)).all()
        if not rows:
            break
        since = rows[-1].created_at
        ids = [row.id for row in rows]
        scores += _delete_mention_children(session, ids)
        _delete_where_in(session, Reply.in_reply_to_id, ids)
        mentions += _delete_where_in(session, Mention.id, ids)

    if not room():
        return RetentionResult(cutoff, mentions, scores, cases_deleted, more=True)

    # 3. Authors and customer profiles nothing refers to any more (not seen since the cutoff either).
    postgres = session.get_bind().dialect.name == "postgresql"
    authors = session.execute(sa.delete(Author).where(
        Author.updated_at < cutoff, _unused(Author.id, Mention.author_id, postgres), _unused(Author.id, Case.author_id, postgres),
    ).execution_options(synchronize_session=False)).rowcount or 0
    customers = session.execute(sa.delete(Customer).where(
        Customer.created_at < cutoff, _unused(Customer.id, Author.customer_id, postgres),
        _unused(Customer.id, Case.customer_id, postgres),
    ).execution_options(synchronize_session=False)).rowcount or 0

    result = RetentionResult(cutoff, mentions, scores, cases_deleted, authors, customers)
    if record:
        _record_retention(session, result, days, now)
    return result


def _record_retention(session: Session, result: RetentionResult, days: int, now: datetime) -> None:
    audit.record(session, "system", "retention.apply", target_type="mention",
                 details={**result.as_dict(), "days": days}, at=now)


def run_retention(db: Database, days: int, now: datetime, *, per_transaction: int = 20 * BATCH,
                  on_progress: Callable[[str, int, int | None], None] | None = None) -> RetentionResult:
    """`apply_retention` over as many short transactions as it takes; one audit entry at the end.

    A run stopped halfway keeps what it deleted; the next run carries on. `on_progress` hears
    ("deleting", mentions deleted so far, the mentions older than the cutoff when it started; some of
    those are in open cases and stay) after each transaction."""
    _check_days(days)
    total = RetentionResult(now - timedelta(days=days), more=True)
    older = None
    if on_progress is not None:
        with db.session() as session:
            older = session.scalar(sa.select(sa.func.count()).where(Mention.created_at < total.cutoff)) or 0
        on_progress("deleting", 0, older)
    with _without_fk_actions(db) as connection:
        while total.more:
            with Session(bind=connection) as session, session.begin():
                total = total + apply_retention(session, days, now, limit=per_transaction, record=False)
            if on_progress is not None:
                on_progress("deleting", total.mentions, max(older or 0, total.mentions))
    with db.session() as session:
        _record_retention(session, total, days, now)
    return total


@contextmanager
def _without_fk_actions(db: Database) -> Iterator[sa.Connection]:
    """A connection on which SQLite skips its foreign-key actions.

    SQLite looks for child rows of every deleted parent row, scanning child columns without an index
    (replies.in_reply_to_id, alert_mentions.mention_id) once per row: hours for a million mentions.
    `apply_retention` deletes every child row itself first, so the actions have nothing to do. The
    pragma only takes effect outside a transaction, and is restored before the connection goes back
    to the pool. PostgreSQL keeps its checks (its per-row lookups want those two indexes)."""
    with db.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            yield connection
        finally:
            if sqlite:
                connection.rollback()
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def _unused(key: Any, reference: Any, postgres: bool) -> Any:
    """No row refers to `key` through `reference`. PostgreSQL plans NOT EXISTS as an anti-join (NOT IN
    over a million ids would overflow its hash); SQLite runs NOT IN's subquery once, while a correlated
    NOT EXISTS would scan an unindexed column (cases.author_id) once per row."""
    if postgres:
        return ~sa.select(reference).where(reference == key).exists()
    return key.not_in(sa.select(reference).where(reference.is_not(None)))


class RetentionRuntime:
    """What the scheduled retention job needs: the settings, the database and a clock."""

    def __init__(self, settings: Settings, db: Database, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock

    def apply(self, days: int | None = None) -> RetentionResult | None:
        days = days if days is not None else self.settings.retention.days
        if days is None:
            return None
        result = run_retention(self.db, days, self.clock())
        if result.mentions or result.cases:
            log.info("retention: deleted %d mentions (%d scores), %d cases, %d authors older than %s",
                     result.mentions, result.scores, result.cases, result.authors, result.cutoff.isoformat())
        return result


_runtimes: Runtimes[RetentionRuntime] = Runtimes(RetentionRuntime)


def install_runtime(config_path: str | None, runtime: RetentionRuntime) -> None:
    """Let `earful run` (or a test) hand in the runtime it already built."""
    _runtimes.install(config_path, runtime)


def retention_job(config_path: str | None) -> None:
    _runtimes.get(config_path).apply()
