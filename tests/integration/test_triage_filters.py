"""Triage filters and clocks on a real database (SQLite always; PostgreSQL with EARFUL_TEST_POSTGRES_URL):
the Inbox and the Cases queue narrowed by the intent and the topic of the current score, the Inbox
row's urgency reasons and its case's SLA clock, and the CSV export taking the same filters."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from core.db import Database
from core.errors import InvalidInput
from core.inbox import CSV_COLUMNS, InboxFilters, count_inbox, export_inbox_csv, inbox_filter_options, list_inbox
from core.models import AuditEntry, Mention, Role
from core.store import record_scores
from responder import cases
from responder.queue import CaseFilters, count_cases, list_cases, sla_clock
from responder.sla import BusinessCalendar
from sentiment.postprocess import INTENTS, ScoreResult
from tests.fakes import responder as fx

# Monday 2026-03-02 10:00 UTC: inside the default business hours (09:00-17:30, UTC).
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def seeded(db: Database) -> tuple[Database, dict[str, int]]:
    """Five customers' mentions with different intents and topics, triaged into cases at NOW - 10 min.

    "turned" was a complaint about an outage under the first model and is praise under the second:
    the filters read the current score only.
    """
    conf = fx.settings()
    with db.session() as s:
        ids = fx.sync(s, conf)
        made = {
            "bag": fx.mention(s, ids, text="skylark lost my bag, down all day", author="@ann@example.social",
                              intent="complaint", topics=("outage",), urgency=0.9,
                              reasons=("complaint needs a reply", "negative sentiment"), at=NOW - timedelta(minutes=40)),
            "hack": fx.mention(s, ids, text="skylark someone took over my account", author="@bo@example.social",
                               intent="complaint", topics=("hacked account", "outage"), urgency=0.7,
                               at=NOW - timedelta(minutes=35)),
            "how": fx.mention(s, ids, text="skylark how do I change a seat?", author="@cy@example.social",
                              intent="question", urgency=0.5, at=NOW - timedelta(minutes=30)),
            "thanks": fx.mention(s, ids, text="skylark crew were lovely", author="@di@example.social", intent="praise",
                                 sentiment="positive", urgency=0.1, at=NOW - timedelta(minutes=25)),
            "turned": fx.mention(s, ids, text="skylark back up, thanks", author="@ed@example.social",
                                 intent="complaint", topics=("outage",), urgency=0.3, at=NOW - timedelta(minutes=20)),
        }
        record_scores(s, [ScoreResult(
            mention_id=made["turned"].id, model_version="test-2", sentiment="positive", p_negative=0.1,
            p_neutral=0.1, p_positive=0.8, valence=0.6, intent="praise", topics=(), urgency=0.3,
        )], now=NOW - timedelta(minutes=15))
        cases.triage(s, conf.responder, now=NOW - timedelta(minutes=10),
                     calendar=BusinessCalendar.from_config(conf.responder.sla))
        found = {name: m.id for name, m in made.items()}
    return db, found


def inbox_names(db: Database, found: dict[str, int], filters: InboxFilters) -> list[str]:
    names = {v: k for k, v in found.items()}
    with db.session() as s:
        page = list_inbox(s, filters, page=1, page_size=50, clock=lambda: NOW)
        assert count_inbox(s, filters) == (len(page.rows), False)
    return [names[r.mention_id] for r in page.rows]


def test_the_intent_and_topic_filters_narrow_the_inbox(seeded: tuple[Database, dict[str, int]]) -> None:
    db, found = seeded
    assert inbox_names(db, found, InboxFilters()) == ["bag", "hack", "how", "turned", "thanks"]
    assert inbox_names(db, found, InboxFilters(intent="complaint")) == ["bag", "hack"]  # not "turned" any more
    assert inbox_names(db, found, InboxFilters(intent="praise")) == ["turned", "thanks"]
    assert inbox_names(db, found, InboxFilters(intent="request")) == []
    assert inbox_names(db, found, InboxFilters(topic="outage")) == ["bag", "hack"]
    assert inbox_names(db, found, InboxFilters(topic="hacked account")) == ["hack"]
    assert inbox_names(db, found, InboxFilters(topic="out")) == []  # a topic is matched whole, not as a substring
    assert inbox_names(db, found, InboxFilters(intent="question", topic="outage")) == []
    assert inbox_names(db, found, InboxFilters(intent="complaint", since=NOW - timedelta(minutes=38))) == ["hack"]


def test_the_filter_options_are_the_scorers_intents_and_the_configured_topics(db: Database) -> None:
    with db.session() as s:
        options = inbox_filter_options(s, topics=fx.settings().sentiment.topics)
    assert options.intents == INTENTS
    assert options.topics == tuple(fx.settings().sentiment.topics) and "outage" in options.topics


def test_an_inbox_row_shows_why_it_is_urgent_and_its_case_sla_clock(seeded: tuple[Database, dict[str, int]]) -> None:
    db, found = seeded
    with db.session() as s:
        rows = {r.mention_id: r for r in list_inbox(s, InboxFilters(), page=1, page_size=50, clock=lambda: NOW).rows}
        bag = rows[found["bag"]]
        assert bag.reasons == ("complaint needs a reply", "negative sentiment")
        assert (bag.intent, bag.topics) == ("complaint", ("outage",))
        assert rows[found["turned"]].intent == "praise" and rows[found["turned"]].topics == ()
        assert bag.case_id is not None and bag.first_response_due is not None
        [case_row] = [r for r in list_cases(s, CaseFilters()) if r.case_id == bag.case_id]
    # The case opened at NOW - 10 min with a 60-minute first-response target: the same clock as Cases.
    assert sla_clock(bag, NOW) == sla_clock(case_row, NOW) == "50m left"
    assert sla_clock(bag, NOW + timedelta(hours=2)) == "1h 10m late"


def test_a_mention_without_a_case_or_a_score_has_no_clock_and_no_reasons(db: Database) -> None:
    conf = fx.settings()
    with db.session() as s:
        ids = fx.sync(s, conf)
        m = fx.mention(s, ids, text="skylark ok", at=NOW - timedelta(minutes=5))
        s.execute(sa.update(Mention).where(Mention.id == m.id).values(scored_at=None, sentiment=None, urgency=None))
        [row] = list_inbox(s, InboxFilters(), page=1, page_size=50, clock=lambda: NOW).rows
    assert (row.case_id, row.intent, row.topics, row.reasons) == (None, None, (), ())
    assert sla_clock(row, NOW) == ""


def test_the_csv_export_takes_the_same_filters_and_records_them(seeded: tuple[Database, dict[str, int]]) -> None:
    db, found = seeded
    filters = InboxFilters(intent="complaint", topic="outage")
    with db.session() as s:
        viewer = fx.user(s, "val", Role.viewer)
        text = export_inbox_csv(s, filters, actor=viewer, clock=lambda: NOW)
        [entry] = s.scalars(sa.select(AuditEntry).where(AuditEntry.action == "inbox.export"))
        assert entry.details["filters"]["intent"] == "complaint" and entry.details["filters"]["topic"] == "outage"
    header, *body = list(csv.reader(io.StringIO(text)))
    assert tuple(header) == CSV_COLUMNS
    rows = [dict(zip(header, r)) for r in body]
    assert [int(r["mention_id"]) for r in rows] == [found["bag"], found["hack"]]
    assert rows[0]["intent"] == "complaint" and rows[0]["topics"] == "outage"
    assert rows[0]["urgency_reasons"] == "complaint needs a reply; negative sentiment"
    assert rows[1]["topics"] == "hacked account; outage"
    assert datetime.fromisoformat(rows[0]["first_response_due"]) == NOW + timedelta(minutes=50)


def test_the_case_queue_filters_by_the_intent_and_topic_of_any_of_its_mentions(db: Database) -> None:
    conf = fx.settings()
    calendar = BusinessCalendar.from_config(conf.responder.sla)
    with db.session() as s:
        ids = fx.sync(s, conf)
        fx.mention(s, ids, author="@ann@example.social", conversation_id="t1", intent="complaint", topics=("outage",),
                   urgency=0.9, at=NOW - timedelta(minutes=30))
        fx.mention(s, ids, author="@bo@example.social", intent="question", urgency=0.5, at=NOW - timedelta(minutes=30))
        cases.triage(s, conf.responder, now=NOW - timedelta(minutes=25), calendar=calendar)
        # Ann follows up in her thread with a question: her case is now a complaint and a question.
        fx.mention(s, ids, author="@ann@example.social", conversation_id="t1", intent="question",
                   urgency=0.6, at=NOW - timedelta(minutes=20))
        cases.triage(s, conf.responder, now=NOW - timedelta(minutes=20), calendar=calendar)
        authors = {r.case_id: r.author_handle for r in list_cases(s, CaseFilters())}

        def queue(**kwargs: object) -> list[str]:
            filters = CaseFilters(**kwargs)  # type: ignore[arg-type]
            rows = list_cases(s, filters)
            assert count_cases(s, filters) == len(rows)
            return [authors[r.case_id] for r in rows]

        assert len(authors) == 2
        assert queue(intent="complaint") == ["@ann@example.social"]
        assert queue(intent="question") == ["@ann@example.social", "@bo@example.social"]
        assert queue(intent="praise") == []
        assert queue(topic="outage") == ["@ann@example.social"]
        assert queue(topic="safety") == []
        assert queue(intent="question", topic="outage") == ["@ann@example.social"]


@pytest.mark.parametrize("make", [InboxFilters, CaseFilters])
def test_an_unknown_intent_or_an_empty_topic_is_refused_with_the_choices(make: type) -> None:
    with pytest.raises(InvalidInput, match="unknown intent 'rant'; use one of complaint, question"):
        make(intent="rant")
    with pytest.raises(InvalidInput, match="topic is empty"):
        make(topic="  ")


# --- the pages, driven by AppTest (SQLite) -------------------------------------------------------------

PAGE_CONFIG = fx.MASTODON_SITE + fx.ROUND_THE_CLOCK_SLA
HOSTILE_REASON = "risk topic: **outage** <b>now</b>"
TEXTS = {
    "bag": "skylark lost my bag, down all day",
    "hack": "skylark someone took over my account",
    "how": "skylark how do I change a seat?",
}


@pytest.fixture
def app_db(tmp_path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The pages' database: three customers' mentions from minutes ago, triaged into cases just now (the
    pages read the real clock, so these do too; the policy runs around the clock, whatever the day)."""
    from tests.fakes import apptest as fa

    now = datetime.now(timezone.utc)
    with fa.app_database(tmp_path, PAGE_CONFIG, monkeypatch) as (conf, db):
        with db.session() as s:
            ids = fx.sync(s, conf)
            fx.user(s, "val", Role.viewer)
            fx.mention(s, ids, text=TEXTS["bag"], author="@ann@example.social", intent="complaint", topics=("outage",),
                       urgency=0.9, reasons=("complaint needs a reply", HOSTILE_REASON), at=now - timedelta(minutes=9))
            fx.mention(s, ids, text=TEXTS["hack"], author="@bo@example.social", intent="complaint",
                       topics=("hacked account",), urgency=0.7, at=now - timedelta(minutes=8))
            fx.mention(s, ids, text=TEXTS["how"], author="@cy@example.social", intent="question", urgency=0.5,
                       at=now - timedelta(minutes=7))
            cases.triage(s, conf.responder, now=now, calendar=BusinessCalendar.from_config(conf.responder.sla))
        yield db


def shown(at) -> list[str]:  # type: ignore[no-untyped-def]
    return [name for name, text in TEXTS.items() if text in [t.value for t in at.text]]


def test_the_inbox_page_filters_by_intent_and_topic_and_shows_reasons_and_the_sla(app_db) -> None:  # type: ignore[no-untyped-def]
    from tests.fakes import apptest as fa

    at = fa.page(app_db, "inbox_page", "val")
    assert not at.exception, [e.value for e in at.exception]
    assert shown(at) == ["bag", "hack", "how"]
    texts = [t.value for t in at.text]
    assert f"Why urgent: complaint needs a reply; {HOSTILE_REASON}" in texts  # as plain text, verbatim
    assert "Intent: complaint · Topics: outage" in texts
    details = [t for t in texts if t.startswith("Brands: Skylark Air · Case #")]
    assert len(details) == 3 and all(re.search(r" · SLA 5\dm left$", d) for d in details), details  # due in 60 min
    markup = [str(getattr(e, "value", "")) for kind in ("markdown", "caption", "html") for e in at.get(kind)]
    assert not any("**outage**" in v or "<b>" in v for v in markup)

    at.sidebar.selectbox(key="inbox_intent").select("complaint").run()
    assert shown(at) == ["bag", "hack"]
    at.sidebar.selectbox(key="inbox_topic").select("hacked account").run()
    assert shown(at) == ["hack"]
    at.sidebar.selectbox(key="inbox_intent").select("question").run()
    assert shown(at) == [] and [i.value for i in at.info] == [
        "No mentions match these filters. Widen the time range or clear a filter."]

    at.sidebar.selectbox(key="inbox_topic").select(None).run()
    at.button_group(key="inbox_view").set_value("Table").run()
    table = at.dataframe[0].value
    assert list(table["Text"]) == [TEXTS["how"]] and list(table["Intent"]) == ["question"]
    assert list(table["SLA"])[0].endswith("m left")


def test_the_cases_page_filters_by_intent_and_topic(app_db) -> None:  # type: ignore[no-untyped-def]
    from tests.fakes import apptest as fa

    at = fa.page(app_db, "cases_page", "val")
    assert not at.exception, [e.value for e in at.exception]
    assert list(at.dataframe[0].value["text"]) == [TEXTS["bag"], TEXTS["hack"], TEXTS["how"]]
    at.sidebar.selectbox(key="cases_intent").select("complaint").run()
    table = at.dataframe[0].value
    assert list(table["text"]) == [TEXTS["bag"], TEXTS["hack"]] and set(table["intent"]) == {"complaint"}
    at.sidebar.selectbox(key="cases_topic").select("outage").run()
    assert list(at.dataframe[0].value["text"]) == [TEXTS["bag"]]
    assert list(at.dataframe[0].value["topics"]) == ["outage"]
    at.sidebar.selectbox(key="cases_intent").select("question").run()
    assert not at.dataframe and [i.value for i in at.info] == ["No cases match these filters."]
