"""core.inbox against a real, migrated database (SQLite always; PostgreSQL with EARFUL_TEST_POSTGRES_URL)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from core.db import Database
from core.errors import InvalidInput, PermissionDenied
from core.inbox import (
    COUNT_CAP,
    CSV_COLUMNS,
    InboxFilters,
    InboxPage,
    count_inbox,
    csv_cell,
    export_inbox_csv,
    format_age,
    http_url_or_none,
    inbox_filter_options,
    list_inbox,
    since_for,
)
from core.mention import AuthorIn, MentionIn
from core.models import AuditEntry, Brand, Case, CaseStatus, Mention, Role
from core.store import store_batch
from core.users import add_user, operator

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)


def clock() -> datetime:
    return NOW


def mention(
    native_id: str,
    text: str,
    *,
    minutes_ago: float,
    platform: str = "x",
    brands: tuple[str, ...] = ("Acme",),
    language: str | None = "en",
    handle: str = "ann",
    followers: int | None = 100,
    url: str | None = None,
    title: str | None = None,
) -> MentionIn:
    return MentionIn(
        platform=platform,
        native_id=native_id,
        text=text,
        title=title,
        created_at=NOW - timedelta(minutes=minutes_ago),
        url=url,
        language=language,
        author=AuthorIn(platform=platform, handle=handle, name=handle.title(), followers=followers),
        brands=brands,
    )


def score(db: Database, native_id: str, sentiment: str, urgency: float) -> None:
    # Stands in for the scorer's write path, which copies the newest score onto the mention.
    with db.session() as s:
        s.execute(sa.update(Mention).where(Mention.native_id == native_id).values(
            sentiment=sentiment, urgency=urgency, scored_at=NOW))


@pytest.fixture
def inbox_db(db: Database) -> Database:
    with db.session() as s:
        s.add_all([Brand(name="Acme"), Brand(name="Rival", is_competitor=True), Brand(name="Quiet")])
        s.flush()
        store_batch(
            s,
            [
                mention("a", "Acme support is slow", minutes_ago=5, url="https://x.com/ann/status/a"),
                mention("b", "Love the new Acme app", minutes_ago=60, handle="bob", followers=20000),
                mention("c", "Rival beats Acme on price", minutes_ago=120, brands=("Acme", "Rival"), language="de"),
                mention("d", "nothing scored yet", minutes_ago=1, platform="reddit", title="A Reddit TITLE"),
                mention("e", "old complaint: refund 100% please", minutes_ago=60 * 24 * 10, platform="reddit"),
                mention("f", "Rival only, no language", minutes_ago=30, brands=("Rival",), language=None, handle="fay",
                        followers=None),
            ],
            now=NOW,
        )
    score(db, "a", "negative", 0.9)
    score(db, "b", "positive", 0.1)
    score(db, "c", "neutral", 0.9)  # same urgency as "a" but older
    score(db, "e", "negative", 0.5)
    score(db, "f", "negative", 0.2)
    return db


def ids(db: Database, filters: InboxFilters, **kwargs: object) -> list[str]:
    with db.session() as s:
        page = list_inbox(s, filters, page=kwargs.pop("page", 1), page_size=kwargs.pop("page_size", 50), clock=clock)
        native = dict(s.execute(sa.select(Mention.id, Mention.native_id)).all())
    return [native[row.mention_id] for row in page.rows]


def test_order_is_urgency_then_newest_with_unscored_last(inbox_db: Database) -> None:
    assert ids(inbox_db, InboxFilters()) == ["a", "c", "e", "f", "b", "d"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (InboxFilters(platform="reddit"), ["e", "d"]),
        (InboxFilters(sentiment="negative"), ["a", "e", "f"]),
        (InboxFilters(sentiment="unscored"), ["d"]),
        (InboxFilters(language="de"), ["c"]),
        (InboxFilters(text="ACME"), ["a", "c", "b"]),
        (InboxFilters(text="reddit title"), ["d"]),  # the title is searched too
        (InboxFilters(text="100%"), ["e"]),  # LIKE wildcards are taken literally
        (InboxFilters(text="_"), []),
        (InboxFilters(since=NOW - timedelta(hours=1)), ["a", "f", "b", "d"]),
        (InboxFilters(sentiment="negative", platform="x"), ["a", "f"]),
    ],
)
def test_filters_narrow_the_list(inbox_db: Database, filters: InboxFilters, expected: list[str]) -> None:
    assert ids(inbox_db, filters) == expected


def test_brand_filter_with_and_without_a_time_window(inbox_db: Database) -> None:
    with inbox_db.session() as s:
        brand = {b.name: b.id for b in inbox_filter_options(s).brands}
    assert ids(inbox_db, InboxFilters(brand_id=brand["Rival"])) == ["c", "f"]
    assert ids(inbox_db, InboxFilters(brand_id=brand["Rival"], since=NOW - timedelta(hours=1))) == ["f"]
    assert ids(inbox_db, InboxFilters(brand_id=brand["Acme"], since=NOW - timedelta(days=1))) == ["a", "c", "b", "d"]
    assert ids(inbox_db, InboxFilters(brand_id=brand["Quiet"])) == []


def test_row_carries_what_the_inbox_shows(inbox_db: Database) -> None:
    with inbox_db.session() as s:
        case = Case(platform="x", status=CaseStatus.open)
        s.add(case)
        s.flush()
        s.execute(sa.update(Mention).where(Mention.native_id == "c").values(case_id=case.id))
    with inbox_db.session() as s:
        rows = list_inbox(s, InboxFilters(), page=1, page_size=2, clock=clock).rows
    a, c = rows
    assert (a.platform, a.author_handle, a.author_name, a.author_followers) == ("x", "ann", "Ann", 100)
    assert (a.text, a.url, a.openable_url, a.language) == (
        "Acme support is slow", "https://x.com/ann/status/a", "https://x.com/ann/status/a", "en")
    assert (a.sentiment, a.urgency, a.age, a.case_status) == ("negative", 0.9, "5 min ago", None)
    assert a.created_at == NOW - timedelta(minutes=5)
    assert c.brands == ("Acme", "Rival")
    assert (c.case_id, c.case_status) == (case.id, "open")


def test_pages_and_totals(inbox_db: Database) -> None:
    with inbox_db.session() as s:
        first = list_inbox(s, InboxFilters(), page=1, page_size=4, clock=clock)
        second = list_inbox(s, InboxFilters(), page=2, page_size=4, clock=clock)
        past_end = list_inbox(s, InboxFilters(), page=99, page_size=4, clock=clock)
        empty = list_inbox(s, InboxFilters(language="fi"), page=3, page_size=4, clock=clock)
    assert (first.total, first.total_capped, first.total_label, first.page_count) == (6, False, "6", 2)
    assert len(first.rows) == 4 and len(second.rows) == 2
    assert {r.mention_id for r in first.rows}.isdisjoint(r.mention_id for r in second.rows)
    assert past_end.page == 2 and past_end.rows == second.rows
    assert (empty.page, empty.rows, empty.total, empty.page_count) == (1, (), 0, 1)


def test_count_stops_at_the_cap(inbox_db: Database) -> None:
    with inbox_db.session() as s:
        assert count_inbox(s, InboxFilters(), cap=4) == (4, True)
        assert count_inbox(s, InboxFilters(), cap=6) == (6, False)
    capped = InboxPage(rows=(), total=COUNT_CAP, total_capped=True, page=1, page_size=25)
    assert capped.total_label == "10,000+"
    assert capped.page_count == 400  # pagination ends at the cap, which bounds OFFSET


@pytest.mark.parametrize(("page", "page_size"), [(0, 25), (1, 0), (1, 501)])
def test_bad_paging_is_refused(inbox_db: Database, page: int, page_size: int) -> None:
    with inbox_db.session() as s, pytest.raises(InvalidInput):
        list_inbox(s, InboxFilters(), page=page, page_size=page_size)


def test_a_page_costs_a_fixed_number_of_queries(inbox_db: Database) -> None:
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    sa.event.listen(inbox_db.engine, "before_cursor_execute", count)
    try:
        with inbox_db.session() as s:
            list_inbox(s, InboxFilters(), page=1, page_size=50, clock=clock)
    finally:
        sa.event.remove(inbox_db.engine, "before_cursor_execute", count)
    queries = [q for q in statements if q.lstrip().upper().startswith("SELECT")]
    assert len(queries) == 4  # count, page ids, brands of the page, rows of the page


def test_filter_options_list_what_is_present(inbox_db: Database) -> None:
    with inbox_db.session() as s:
        options = inbox_filter_options(s)
    assert [(b.name, b.is_competitor) for b in options.brands] == [("Acme", False), ("Quiet", False), ("Rival", True)]
    assert options.platforms == ("x", "reddit")
    assert options.languages == ("de", "en")
    assert options.sentiments == ("negative", "neutral", "positive", "unscored")


def test_filters_validate_themselves() -> None:
    with pytest.raises(InvalidInput, match="unknown sentiment"):
        InboxFilters(sentiment="angry")
    with pytest.raises(InvalidInput, match="timezone-aware"):
        InboxFilters(since=datetime(2026, 1, 1))


def test_time_ranges() -> None:
    assert since_for("Last hour", NOW) == NOW - timedelta(hours=1)
    assert since_for("Any time", NOW) is None
    with pytest.raises(InvalidInput):
        since_for("Last decade", NOW)


@pytest.mark.parametrize(
    ("ago", "label"),
    [
        (timedelta(seconds=-30), "just now"),
        (timedelta(seconds=59), "just now"),
        (timedelta(minutes=5), "5 min ago"),
        (timedelta(minutes=59, seconds=59), "59 min ago"),
        (timedelta(hours=3), "3 h ago"),
        (timedelta(days=1), "1 day ago"),
        (timedelta(days=12), "12 days ago"),
        (timedelta(days=90), "2025-12-02"),
    ],
)
def test_age_labels(ago: timedelta, label: str) -> None:
    assert format_age(NOW - ago, NOW) == label


@pytest.mark.parametrize(
    ("url", "openable"),
    [
        ("https://x.com/a/status/1", True),
        ("HTTP://example.com", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("//evil.example/path", False),
        ("https://", False),
        ("https://exa mple.com", False),
        ("https://example.com/\nSet-Cookie", False),
        ("", False),
        (None, False),
    ],
)
def test_only_http_urls_are_openable(url: str | None, openable: bool) -> None:
    assert (http_url_or_none(url) == url) if openable else http_url_or_none(url) is None


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=HYPERLINK(\"http://evil\")", "'=HYPERLINK(\"http://evil\")"),
        ("+1+1", "'+1+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("plain = fine", "plain = fine"),
        (42, 42),
        (None, None),
    ],
)
def test_csv_cells_cannot_run_as_formulas(value: object, cell: object) -> None:
    assert csv_cell(value) == cell


def test_export_is_the_filtered_list_as_safe_csv_and_is_audited(inbox_db: Database) -> None:
    with inbox_db.session() as s:
        store_batch(s, [mention("g", "=cmd|' /C calc'!A0", minutes_ago=2, handle="@mallory")], now=NOW)
        viewer = add_user(s, operator("test"), "vera", "correct-horse", Role.viewer)
    with inbox_db.session() as s:
        text = export_inbox_csv(s, InboxFilters(platform="x"), actor=viewer, clock=clock)
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    body = [dict(zip(CSV_COLUMNS, r)) for r in rows[1:]]
    assert [r["text"] for r in body] == [
        "Acme support is slow", "Rival beats Acme on price", "Rival only, no language", "Love the new Acme app",
        "'=cmd|' /C calc'!A0",
    ]
    assert body[-1]["author_handle"] == "'@mallory"
    assert body[1]["brands"] == "Acme; Rival"
    assert body[0]["created_at"] == (NOW - timedelta(minutes=5)).isoformat()
    with inbox_db.session() as s:
        entry = s.scalars(sa.select(AuditEntry).where(AuditEntry.action == "inbox.export")).one()
    assert (entry.actor, entry.details["rows"], entry.details["filters"]["platform"]) == ("vera", 5, "x")


def test_export_respects_its_limit_and_refuses_inactive_users(inbox_db: Database) -> None:
    with inbox_db.session() as s:
        user = add_user(s, operator("test"), "vera", "correct-horse", Role.viewer)
    with inbox_db.session() as s:
        text = export_inbox_csv(s, InboxFilters(), actor=user, limit=2, clock=clock)
    assert len(list(csv.reader(io.StringIO(text)))) == 3
    with inbox_db.session() as s:
        user.active = False
        with pytest.raises(PermissionDenied):
            export_inbox_csv(s, InboxFilters(), actor=user)
