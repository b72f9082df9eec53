"""The inbox: collected mentions, most urgent first, for people to triage.

The dashboard's Inbox page calls these functions and renders what they return; the filters, the
order, the page arithmetic, the age labels and the CSV rules live here, so the CLI or a future API
give the same answers and all of it is tested without Streamlit. Everything reads, except the CSV
export, which records who exported what in the audit log.

Speed at millions of rows: a page is found in two steps (the ids of one page, filtered, ordered and
limited, then the authors, cases and brands of those ids only); the total is counted only up to
`COUNT_CAP`, and pagination stops there, which bounds every OFFSET. Time, sentiment and brand
filters use the indexes on mentions(created_at), mentions(sentiment, created_at) and
mention_brands(brand_id, created_at). The intent and topic filters test each candidate the scan
meets: the intent by probing its current score through scores(mention_id), the topic in the
mention's own topics (a copy of that score's), so they narrow the time-bounded scan rather than
start one of their own. The order (`INBOX_ORDER`) is read off the expression index
ix_mentions_urgency_time, so it must stay exactly the index's expressions: coalesce puts unscored
mentions last on SQLite and PostgreSQL alike (SQLite indexes cannot say NULLS LAST).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Iterable, Sequence
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit
from core.alerts import has_topic
from core.store import chunks
from core.errors import InvalidInput
from core.mention import PLATFORMS
from core.models import Author, Brand, Case, Mention, MentionBrand, Role, Score, User, utcnow
from core.users import require
from core.corrections import INTENTS

INBOX_ORDER = (sa.func.coalesce(Mention.urgency, -1.0).desc(), Mention.created_at.desc(), Mention.id.desc())

Clock = Callable[[], datetime]

COUNT_CAP = 10_000  # totals above this show as "10,000+"; pages beyond it are not offered
EXPORT_LIMIT = 10_000  # rows in one CSV export
MAX_PAGE_SIZE = 500
LANGUAGE_SAMPLE = 20_000  # newest mentions whose languages the language filter offers
SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive")
UNSCORED = "unscored"  # the sentiment filter value for mentions not scored yet
# Choices for the time-range filter, newest window first; None means any time.
TIME_RANGES: dict[str, timedelta | None] = {
    "Last hour": timedelta(hours=1),
    "Last 24 hours": timedelta(days=1),
    "Last 7 days": timedelta(days=7),
    "Last 30 days": timedelta(days=30),
    "Any time": None,
}
# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class InboxFilters:
    """What the inbox is narrowed to. Empty values mean "no filter"."""

    brand_id: int | None = None
    platform: str | None = None
    sentiment: str | None = None  # one of SENTIMENTS, or UNSCORED
    language: str | None = None
    text: str = ""  # case-insensitive substring of the text or title
    since: datetime | None = None
    intent: str | None = None  # one of core.corrections.INTENTS, as the current score says
    topic: str | None = None  # a topic name (sentiment.topics) among the current score's topics

    def __post_init__(self) -> None:
        if self.sentiment is not None and self.sentiment not in (*SENTIMENTS, UNSCORED):
            raise InvalidInput(f"unknown sentiment {self.sentiment!r}; use one of {', '.join((*SENTIMENTS, UNSCORED))}")
        check_intent(self.intent)
        check_topic(self.topic)
        if self.since is not None and self.since.tzinfo is None:
            raise InvalidInput("since must be a timezone-aware datetime")


@dataclass(frozen=True, slots=True)
class InboxRow:
    mention_id: int
    platform: str
    created_at: datetime
    age: str  # "5 min ago", relative to the clock list_inbox was given
    author_handle: str | None
    author_name: str | None
    author_followers: int | None
    title: str | None
    text: str
    url: str | None
    language: str | None
    brands: tuple[str, ...]
    sentiment: str | None
    urgency: float | None
    case_id: int | None
    case_status: str | None
    intent: str | None = None  # from the current score; None until scored
    topics: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()  # why the scorer found it urgent; shown as plain text, like the post
    first_response_due: datetime | None = None  # the case's SLA, read by responder.queue.sla_clock
    first_response_at: datetime | None = None

    @property
    def openable_url(self) -> str | None:
        """The URL when it is safe to open on a click (http or https), else None."""
        return http_url_or_none(self.url)


@dataclass(frozen=True, slots=True)
class InboxPage:
    rows: tuple[InboxRow, ...]
    total: int  # exact when not total_capped, else COUNT_CAP (there are more)
    total_capped: bool
    page: int
    page_size: int

    @property
    def total_label(self) -> str:
        return f"{self.total:,}+" if self.total_capped else f"{self.total:,}"

    @property
    def page_count(self) -> int:
        """Pages that may be asked for (at least 1); bounded by the count cap."""
        return max(1, -(-self.total // self.page_size))


@dataclass(frozen=True, slots=True)
class BrandOption:
    id: int
    name: str
    is_competitor: bool


@dataclass(frozen=True, slots=True)
class InboxFilterOptions:
    brands: tuple[BrandOption, ...]
    platforms: tuple[str, ...]
    languages: tuple[str, ...]
    sentiments: tuple[str, ...] = (*SENTIMENTS, UNSCORED)
    intents: tuple[str, ...] = INTENTS
    topics: tuple[str, ...] = ()  # the configured topics (sentiment.topics)


def check_intent(intent: str | None) -> None:
    if intent is not None and intent not in INTENTS:
        raise InvalidInput(f"unknown intent {intent!r}; use one of {', '.join(INTENTS)}")


def check_topic(topic: str | None) -> None:
    if topic is not None and not topic.strip():
        raise InvalidInput("topic is empty; give a topic name from sentiment.topics, or None for any topic")


def has_intent(intent: str) -> sa.ColumnElement[bool]:
    """True for a mention whose current score (the one written when it was last scored) has `intent`.

    One probe of scores(mention_id) per candidate, so it narrows a scan without starting one.
    """
    return sa.exists().where(
        Score.mention_id == Mention.id, Score.created_at == Mention.scored_at, Score.intent == intent
    )


def since_for(range_label: str, now: datetime) -> datetime | None:
    """The start of a TIME_RANGES choice, counted back from now."""
    try:
        span = TIME_RANGES[range_label]
    except KeyError:
        raise InvalidInput(f"unknown time range {range_label!r}; use one of {', '.join(TIME_RANGES)}") from None
    return None if span is None else now - span


def format_age(created_at: datetime, now: datetime) -> str:
    """A short relative age: "just now", "5 min ago", "3 h ago", "2 days ago"."""
    seconds = int((now - created_at).total_seconds())
    if seconds < 60:
        return "just now"  # includes clocks slightly ahead of ours
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min ago"
    hours = minutes // 60
    if hours < 24:
        return f"{hours} h ago"
    days = hours // 24
    if days < 60:
        return "1 day ago" if days == 1 else f"{days} days ago"
    return created_at.strftime("%Y-%m-%d")


def http_url_or_none(url: str | None) -> str | None:
    """Return url only when it is an absolute http(s) URL without spaces or control characters."""
    if not url or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def _conditions(session: Session, filters: InboxFilters) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if filters.since is not None:
        conditions.append(Mention.created_at >= filters.since)
    if filters.platform:
        conditions.append(Mention.platform == filters.platform)
    if filters.sentiment == UNSCORED:
        conditions.append(Mention.sentiment.is_(None))
    elif filters.sentiment:
        conditions.append(Mention.sentiment == filters.sentiment)
    if filters.language:
        conditions.append(Mention.language == filters.language)
    if filters.intent:
        conditions.append(has_intent(filters.intent))
    if filters.topic:
        conditions.append(has_topic(session, filters.topic))  # how depends on the database
    needle = filters.text.strip()
    if needle:
        conditions.append(
            sa.or_(Mention.text.icontains(needle, autoescape=True), Mention.title.icontains(needle, autoescape=True))
        )
    if filters.brand_id is not None:
        if filters.since is not None:
            # A bounded window: read the brand's ids from the (brand_id, created_at) index.
            conditions.append(
                Mention.id.in_(
                    sa.select(MentionBrand.mention_id).where(
                        MentionBrand.brand_id == filters.brand_id, MentionBrand.created_at >= filters.since
                    )
                )
            )
        else:
            # Unbounded: probe the (mention_id, brand_id) key per candidate, so the scan in inbox
            # order stops once a page is full instead of first collecting every id of the brand.
            conditions.append(
                sa.exists().where(MentionBrand.mention_id == Mention.id, MentionBrand.brand_id == filters.brand_id)
            )
    return conditions


def _ordered_ids(session: Session, filters: InboxFilters) -> sa.Select[tuple[int]]:
    return (
        sa.select(Mention.id)
        .where(*_conditions(session, filters))
        .order_by(*INBOX_ORDER)
    )


def count_inbox(session: Session, filters: InboxFilters, *, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """How many mentions match, counting no further than cap; returns (count, capped)."""
    limited = sa.select(Mention.id).where(*_conditions(session, filters)).limit(cap + 1).subquery()
    n = session.scalar(sa.select(sa.func.count()).select_from(limited)) or 0
    return (cap, True) if n > cap else (n, False)


def list_inbox(
    session: Session,
    filters: InboxFilters,
    *,
    page: int,
    page_size: int,
    clock: Clock = utcnow,
) -> InboxPage:
    """One page of matching mentions, most urgent first (unscored last), then newest first.

    page counts from 1; a page past the end is clamped to the last one.
    """
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    if page < 1:
        raise InvalidInput("page counts from 1")
    total, capped = count_inbox(session, filters)
    last_page = max(1, -(-total // page_size))
    page = min(page, last_page)
    ids: list[int] = []
    if total:
        ids = list(session.scalars(_ordered_ids(session, filters).limit(page_size).offset((page - 1) * page_size)))
    rows = _load_rows(session, ids, clock())
    return InboxPage(rows=tuple(rows), total=total, total_capped=capped, page=page, page_size=page_size)


def _load_rows(session: Session, ids: Sequence[int], now: datetime) -> list[InboxRow]:
    """The rows of the given mention ids, in the order of ids."""
    found: dict[int, InboxRow] = {}
    for chunk in chunks(ids, 500):
        brands: dict[int, list[str]] = {}
        for mention_id, name in session.execute(
            sa.select(MentionBrand.mention_id, Brand.name)
            .join(Brand, Brand.id == MentionBrand.brand_id)
            .where(MentionBrand.mention_id.in_(chunk))
            .order_by(Brand.name)
        ):
            brands.setdefault(mention_id, []).append(name)
        stmt = (
            sa.select(
                Mention.id,
                Mention.platform,
                Mention.created_at,
                Author.handle,
                Author.name,
                Author.followers,
                Mention.title,
                Mention.text,
                Mention.url,
                Mention.language,
                Mention.sentiment,
                Mention.urgency,
                Mention.case_id,
                Mention.topics,
                Case.status,
                Case.first_response_due,
                Case.first_response_at,
                Score.intent,
                Score.urgency_reasons,
            )
            .outerjoin(Author, Author.id == Mention.author_id)
            .outerjoin(Case, Case.id == Mention.case_id)
            .outerjoin(Score, sa.and_(Score.mention_id == Mention.id, Score.created_at == Mention.scored_at))
            .where(Mention.id.in_(chunk))
        )
        for r in session.execute(stmt):
            found[r.id] = InboxRow(
                mention_id=r.id,
                platform=r.platform,
                created_at=r.created_at,
                age=format_age(r.created_at, now),
                author_handle=r.handle,
                author_name=r.name,
                author_followers=r.followers,
                title=r.title,
                text=r.text,
                url=r.url,
                language=r.language,
                brands=tuple(brands.get(r.id, ())),
                sentiment=r.sentiment,
                urgency=r.urgency,
                case_id=r.case_id,
                case_status=r.status.value if r.status is not None else None,
                intent=r.intent,
                topics=tuple(str(t) for t in r.topics or ()),
                reasons=tuple(str(reason) for reason in r.urgency_reasons or ()),
                first_response_due=r.first_response_due,
                first_response_at=r.first_response_at,
            )
    return [found[i] for i in ids if i in found]


def inbox_filter_options(session: Session, *, topics: Iterable[str] = ()) -> InboxFilterOptions:
    """The brands, platforms and languages there are to filter by; the intents the scorer knows, and
    `topics`, the configured ones (sentiment.topics), passed through.

    Platforms are probed one by one through the (platform, conversation_id) index; languages are
    those of the newest LANGUAGE_SAMPLE mentions, since no index covers the language column.
    """
    brands = tuple(
        BrandOption(id=bid, name=name, is_competitor=competitor)
        for bid, name, competitor in session.execute(
            sa.select(Brand.id, Brand.name, Brand.is_competitor).order_by(Brand.is_competitor, Brand.name)
        )
    )
    present = session.execute(
        sa.select(*(sa.exists().where(Mention.platform == p).label(f"p{i}") for i, p in enumerate(PLATFORMS)))
    ).one()
    platforms = tuple(p for p, found in zip(PLATFORMS, present) if found)
    newest = (
        sa.select(Mention.language).order_by(Mention.created_at.desc()).limit(LANGUAGE_SAMPLE).subquery()
    )
    languages = tuple(
        session.scalars(
            sa.select(newest.c.language).where(newest.c.language.is_not(None)).distinct().order_by(newest.c.language)
        )
    )
    return InboxFilterOptions(brands=brands, platforms=platforms, languages=languages, topics=tuple(topics))


CSV_COLUMNS = (
    "mention_id",
    "created_at",
    "platform",
    "author_handle",
    "author_name",
    "author_followers",
    "title",
    "text",
    "url",
    "language",
    "brands",
    "sentiment",
    "urgency",
    "intent",
    "topics",
    "urgency_reasons",
    "case_id",
    "case_status",
    "first_response_due",
)


def csv_cell(value: object) -> object:
    """A CSV cell a spreadsheet will not run: text starting like a formula gets a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def inbox_csv(rows: Iterable[InboxRow]) -> str:
    """Rows as CSV text (header first), safe to open in a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        values = (
            row.mention_id,
            row.created_at.isoformat(),
            row.platform,
            row.author_handle,
            row.author_name,
            row.author_followers,
            row.title,
            row.text,
            row.url,
            row.language,
            "; ".join(row.brands),
            row.sentiment,
            None if row.urgency is None else round(row.urgency, 4),
            row.intent,
            "; ".join(row.topics),
            "; ".join(row.reasons),
            row.case_id,
            row.case_status,
            row.first_response_due.isoformat() if row.first_response_due else None,
        )
        writer.writerow([csv_cell(v) for v in values])
    return out.getvalue()


def export_inbox_csv(
    session: Session,
    filters: InboxFilters,
    *,
    actor: User,
    limit: int = EXPORT_LIMIT,
    clock: Clock = utcnow,
) -> str:
    """The first `limit` matching mentions in inbox order as CSV; the export is audited.

    Exported data leaves Earful, so the actor's role is checked here and the export is recorded.
    """
    require(actor, Role.viewer, "export the inbox")
    ids = list(session.scalars(_ordered_ids(session, filters).limit(limit)))
    rows = _load_rows(session, ids, clock())
    audit.record(
        session,
        actor.username,
        "inbox.export",
        target_type="mention",
        details={"rows": len(rows), "filters": _describe_filters(filters)},
    )
    return inbox_csv(rows)


def _describe_filters(filters: InboxFilters) -> dict[str, object]:
    return {
        "brand_id": filters.brand_id,
        "platform": filters.platform,
        "sentiment": filters.sentiment,
        "language": filters.language,
        "intent": filters.intent,
        "topic": filters.topic,
        "text": filters.text,
        "since": filters.since.isoformat() if filters.since else None,
    }
