"""The Reputation and Advocacy pages (AppTest on a seeded database) and the `core.metrics` series and
lists behind them (on every backend). The expected figures are worked out by hand in `seed`."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from core import metrics
from core.db import Database
from core.errors import PermissionDenied
from core.models import Alert, AlertStatus, AuditEntry, Brand, Case, Reply, ReplyState, Role
from tests.fakes import apptest as fa
from tests.fakes import responder as fx

HOSTILE = "<img src=x onerror=alert(1)> **bold** skylark"
HOSTILE_AUTHOR = "**bold** <img src=x onerror=alert(1)>"
CONFIG = """
database: {{url: 'sqlite:///{db}'}}
brands:
  - {{name: Skylark Air, queries: [{{keywords: [skylark]}}]}}
  - {{name: Nimbus Airways, competitor: true, queries: [{{keywords: [nimbus]}}]}}
sources:
  - {{name: masto, platform: mastodon, sandbox: true}}
  - {{name: hn, platform: hackernews, sandbox: true}}
"""


def seed(s: Session, ids: dict[str, int], midnight: datetime) -> None:
    """Mentions over the days before `midnight` (a UTC midnight), with cases, a reply and alerts.

    Skylark in the 7 days before: jo +2 (day 1), kim -2 (day 2) then +1 (day 1, after our reply on day 2),
    pg neutral (day 3): 6 mentions, 3 positive, 2 negative, 1 neutral: net (3 - 2) / 6 = +16.7.
    Nimbus (competitor): 2, so share of voice is 6 / 8 = 75.0 % and 25.0 %. Our own post and a mention
    40 days back never count. jo is a promoter; kim a detractor, replied to and won back.
    CSAT of cases opened in the 30 days before: 5, 2, 4: mean 3.67, satisfied 2 of 3 = 66.7 %.
    """
    def day(d: int, hour: int = 10) -> datetime:
        return midnight - timedelta(days=d) + timedelta(hours=hour)

    kim = "@kim@example.social"
    fx.mention(s, ids, text=HOSTILE, author=HOSTILE_AUTHOR, sentiment="positive", topics=("app",), at=day(1))
    fx.mention(s, ids, text="skylark app is lovely", author=HOSTILE_AUTHOR, sentiment="positive", at=day(1, 11))
    first = fx.mention(s, ids, text="skylark broke my wheelchair", author=kim, followers=5000, topics=("wheelchair",),
                       at=day(2))
    fx.mention(s, ids, text="skylark still silent about my wheelchair", author=kim, followers=5000,
               topics=("wheelchair",), at=day(2, 12))
    fx.mention(s, ids, text="skylark sorted it, thanks", author=kim, followers=5000, sentiment="positive", at=day(1, 14))
    fx.mention(s, ids, platform="hackernews", source="hn", author="pg", followers=300, sentiment="neutral",
               text="skylark status page is down", at=day(3))
    fx.mention(s, ids, brands=("Nimbus Airways",), text="nimbus was on time", author="@ned@example.social",
               sentiment="neutral", at=day(3, 9))
    fx.mention(s, ids, brands=("Nimbus Airways",), text="nimbus crew were great", author="@ned@example.social",
               sentiment="positive", at=day(4))
    fx.mention(s, ids, text="skylark here to help", author="@skylark@example.social", followers=1_000_000,
               sentiment="positive", is_own=True, at=day(1, 9))
    fx.mention(s, ids, text="skylark lost my bag in winter", author="@old@example.social", at=day(40))
    skylark = s.scalar(sa.select(Brand.id).where(Brand.name == "Skylark Air"))
    cases = [Case(brand_id=skylark, platform="mastodon", opened_at=day(d), csat_score=score)
             for d, score in ((2, 5), (3, 2), (5, 4), (40, 1))]
    s.add_all(cases)
    s.flush()
    s.add(Reply(case_id=cases[0].id, in_reply_to_id=first.id, platform="mastodon", text="so sorry", state=ReplyState.sent,
                idempotency_key="k1", sent_at=day(2, 13)))
    s.add_all([
        Alert(brand_id=skylark, kind="volume_spike", severity="high", status=AlertStatus.open,
              summary="Mention spike: Skylark Air", opened_at=day(2, 11)),
        Alert(brand_id=skylark, kind="volume_spike", severity="low", status=AlertStatus.resolved,
              summary="over", opened_at=day(3, 11)),
    ])


# ---- core.metrics on every backend ------------------------------------------------------------------

MIDNIGHT = datetime(2026, 3, 10, tzinfo=timezone.utc)
WEEK = metrics.Filters(MIDNIGHT - timedelta(days=7), MIDNIGHT)


@pytest.fixture
def seeded_db(db: Database) -> Database:
    with db.session() as s:
        seed(s, fx.sync(s, fx.settings()), MIDNIGHT)
    return db


def test_volume_series_per_day_and_hour(seeded_db: Database) -> None:
    with seeded_db.session() as s:
        days = metrics.volume_series(s, WEEK, "day")
        hours = metrics.volume_series(s, metrics.Filters(datetime(2026, 3, 8, tzinfo=timezone.utc), MIDNIGHT), "hour")
    assert [r["start"].day for r in days] == [3, 4, 5, 6, 7, 8, 9]  # every day, empty ones as 0
    assert [(r["mentions"], r["positive"], r["neutral"], r["negative"], r["net_sentiment"]) for r in days[-3:]] == [
        (1, 0, 1, 0, 0.0), (2, 0, 0, 2, -100.0), (3, 3, 0, 0, 100.0)]
    assert days[0]["mentions"] == 0 and days[0]["net_sentiment"] is None
    assert len(hours) == 48 and {r["start"].hour: r["mentions"] for r in hours[:24] if r["mentions"]} == {10: 1, 12: 1}
    assert {r["start"].hour: r["mentions"] for r in hours[24:] if r["mentions"]} == {10: 1, 11: 1, 14: 1}
    with pytest.raises(Exception, match="unknown bucket"), seeded_db.session() as s:
        metrics.volume_series(s, WEEK, "week")


def test_volume_and_topics_in_one_pass(seeded_db: Database) -> None:
    """The Reputation page's one pass gives both series; a set of topics listed in another order is the
    same set, and each of its topics counts the mention once."""
    with seeded_db.session() as s:
        ids = fx.sync(s, fx.settings())
        at = MIDNIGHT - timedelta(hours=3)
        fx.mention(s, ids, text="skylark wheelchair app", author="@a@example.social", topics=("wheelchair", "app"), at=at)
        fx.mention(s, ids, text="skylark app wheelchair", author="@b@example.social", topics=("app", "wheelchair"), at=at)
    with seeded_db.session() as s:
        series, topics = metrics.volume_and_topic_series(s, WEEK, "day")
        assert series == metrics.volume_series(s, WEEK, "day") and topics == metrics.topic_series(s, WEEK, "day")
    assert series[-1]["mentions"] == 5
    assert {t["topic"]: t["mentions"] for t in topics if t["start"].day == 9} == {"app": 3, "wheelchair": 2}
    assert [t["topic"] for t in topics[::7]] == ["wheelchair", "app"]  # the week: wheelchair 4, app 3


def test_topic_series_top_mentions_and_drill_down(seeded_db: Database) -> None:
    with seeded_db.session() as s:
        topics = metrics.topic_series(s, WEEK, "day")
        top = metrics.top_mentions(s, WEEK, 4)
        on_8th = metrics.mentions_on(s, WEEK, datetime(2026, 3, 8, tzinfo=timezone.utc))
        rival = metrics.mentions_on(s, metrics.Filters(WEEK.start, WEEK.end, brand="Nimbus Airways"),
                                    datetime(2026, 3, 7, tzinfo=timezone.utc))
    assert [(t["topic"], t["start"].day) for t in topics if t["mentions"]] == [("wheelchair", 8), ("app", 9)]
    assert [t["mentions"] for t in topics if t["mentions"]] == [2, 1] and len(topics) == 14
    # by followers (kim 5000, pg 300), then newest; our own post (1M followers) is not a mention of us
    assert [r["text"] for r in top] == ["skylark sorted it, thanks", "skylark still silent about my wheelchair",
                                        "skylark broke my wheelchair", "skylark status page is down"]
    assert top[0]["author_handle"] == "@kim@example.social" and top[0]["author_followers"] == 5000
    assert [r["text"] for r in on_8th] == ["skylark still silent about my wheelchair", "skylark broke my wheelchair"]
    assert [r["text"] for r in rival] == ["nimbus was on time"]


def test_spikes_advocates_and_export(seeded_db: Database) -> None:
    with seeded_db.session() as s:
        spikes = metrics.spike_alerts(s, WEEK)
        rival_spikes = metrics.spike_alerts(s, metrics.Filters(WEEK.start, WEEK.end, brand="Nimbus Airways"))
        advocates = metrics.top_advocates(s, WEEK)
        per_day = metrics.advocates_over_time(s, WEEK, timedelta(days=1))
        pr, agent = fx.user(s, "pam", Role.pr), fx.user(s, "ann", Role.agent)
        with pytest.raises(PermissionDenied):
            metrics.export_mentions_csv(s, WEEK, actor=agent)
        text = metrics.export_mentions_csv(s, metrics.bucket_filters(WEEK, datetime(2026, 3, 9, tzinfo=timezone.utc)),
                                           actor=pr)
    assert [(a["kind"], a["status"], a["opened_at"]) for a in spikes] == [
        ("volume_spike", "open", datetime(2026, 3, 8, 11, tzinfo=timezone.utc))]
    assert rival_spikes == []
    assert [(a["author_handle"], a["positive"], a["negative"]) for a in advocates] == [(HOSTILE_AUTHOR, 2, 0)]
    # per day: jo promotes on the 9th; kim detracts on the 8th, replied that day, positive only on the 9th
    assert [(r["start"].day, r["promoters"], r["detractors"], r["detractors_won_back"]) for r in per_day if
            r["promoters"] or r["detractors"]] == [(8, 0, 1, 0), (9, 1, 0, 0)]
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["text"] for r in rows] == ["skylark sorted it, thanks", "skylark app is lovely", HOSTILE]
    assert rows[0]["author_followers"] == "5000" and rows[0]["created_at"] == "2026-03-09T14:00:00+00:00"
    with seeded_db.session() as s:
        entry = s.scalars(sa.select(AuditEntry).where(AuditEntry.action == "mentions.export")).one()
        assert entry.actor == "pam" and entry.details["rows"] == 3


def test_totals_csat_and_whole_buckets(seeded_db: Database) -> None:
    month = metrics.Filters(MIDNIGHT - timedelta(days=30), MIDNIGHT)
    with seeded_db.session() as s:
        totals = metrics.series_totals(metrics.volume_series(s, WEEK))
        report = metrics.sentiment(s, WEEK)
        csat = metrics.csat(s, month)
        full = metrics.case_metrics(s, month, calendar=None, policies=(), now=MIDNIGHT)["csat"]
    assert totals == {"total": 6, **report} and report["net_sentiment"] == 16.7
    assert csat == full == {"responses": 3, "mean": 3.67, "satisfied_pct": 66.7}  # 5, 2, 4 (40 days back: out)
    now = datetime(2026, 3, 10, 14, 35, tzinfo=timezone.utc)
    assert metrics.whole_buckets(now, timedelta(days=7), "day") == (datetime(2026, 3, 4, tzinfo=timezone.utc), now)
    assert metrics.whole_buckets(now, timedelta(days=1), "hour")[0] == datetime(2026, 3, 9, 15, tzinfo=timezone.utc)


def test_mentions_csv_defuses_formulas() -> None:
    row = {c: None for c in metrics.MENTION_CSV_COLUMNS} | {"text": "=HYPERLINK(\"http://x\")", "author_handle": "@a"}
    [_, cells] = list(csv.reader(io.StringIO(metrics.mentions_csv([row]))))
    assert cells[metrics.MENTION_CSV_COLUMNS.index("text")] == "'=HYPERLINK(\"http://x\")"


# ---- the pages -----------------------------------------------------------------------------------------


@pytest.fixture
def app_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    with fa.app_database(tmp_path, CONFIG, monkeypatch) as (conf, db):
        midnight = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        with db.session() as s:
            seed(s, fx.sync(s, conf), midnight)
            for name, role in (("ann", Role.agent), ("pam", Role.pr), ("max", Role.manager)):
                fx.user(s, name, role)
        yield db


def metric_values(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def rendered_as_markup(at: AppTest) -> list[str]:
    return [str(getattr(e, "value", "")) for kind in ("markdown", "caption", "title", "header", "subheader", "html",
                                                      "error", "warning", "info", "success")
            for e in at.get(kind)]


def frames_text(at: AppTest) -> str:
    return " ".join(at.dataframe[i].value.to_csv() for i in range(len(at.dataframe)))


def assert_inert(at: AppTest) -> None:
    """The hostile text is on the page, but only as data, never where Markdown or HTML is rendered."""
    assert "<img src=x onerror=alert(1)>" in frames_text(at)
    markup = " ".join(rendered_as_markup(at))
    assert "<img" not in markup and "**bold**" not in markup and "onerror" not in markup


def test_reputation_page_figures(app_db: Database) -> None:
    at = fa.page(app_db, "reputation_page", "pam")
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Reputation"
    assert metric_values(at) == {"Mentions": "6", "Net sentiment": "+16.7", "Share of voice": "75.0 %",
                                 "Open spike alerts": "1"}
    voice = next(d.value for d in at.dataframe if "share %" in d.value.columns)
    assert list(zip(voice["brand"], voice["mentions"], voice["share %"])) == [("Skylark Air", 6, 75.0),
                                                                               ("Nimbus Airways", 2, 25.0)]
    top = next(d.value for d in at.dataframe if "followers" in d.value.columns)
    assert list(top["author"])[:3] == ["@kim@example.social"] * 3 and len(top) == 6  # not our own post
    # the spike is a red rule over the volume bars
    volume = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    assert [layer["mark"]["type"] for layer in volume["layer"]] == ["bar", "rule"]
    assert_inert(at)


def test_reputation_filters_and_drill_down(app_db: Database) -> None:
    at = fa.page(app_db, "reputation_page", "pam")
    drill = at.selectbox(key="rep_drill")
    assert [o.split(" · ")[1] for o in drill.options] == ["3 mentions", "2 mentions", "1 mention"]
    listed = at.dataframe[-1].value
    assert sorted(listed["text"]) == sorted([HOSTILE, "skylark app is lovely", "skylark sorted it, thanks"])
    drill.select_index(1).run()
    assert list(at.dataframe[-1].value["text"]) == ["skylark still silent about my wheelchair",
                                                   "skylark broke my wheelchair"]
    assert [b.label for b in at.get("download_button")] == ["Download CSV"]
    at.selectbox(key="rep_brand").select("Nimbus Airways").run()
    assert not at.exception, [e.value for e in at.exception]
    assert metric_values(at)["Mentions"] == "2" and metric_values(at)["Share of voice"] == "100.0 %"
    at.selectbox(key="rep_brand").select(None).run()
    at.selectbox(key="rep_platform").select("hackernews").run()
    assert metric_values(at)["Mentions"] == "1" and metric_values(at)["Net sentiment"] == "+0.0"
    at.selectbox(key="rep_range").select("Last 24 hours").run()
    assert not at.exception, [e.value for e in at.exception]


def test_advocacy_page_figures(app_db: Database) -> None:
    at = fa.page(app_db, "advocacy_page", "max")
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Advocacy"
    assert metric_values(at) == {"Promoters": "1", "Detractors": "1", "Detractors replied": "1",
                                 "Won back": "1 (100.0 %)", "CSAT answers": "3", "CSAT mean (1-5)": "3.67",
                                 "Satisfied": "66.7 %"}
    advocates = next(d.value for d in at.dataframe if "positive mentions" in d.value.columns)
    assert list(advocates["author"]) == [HOSTILE_AUTHOR] and list(advocates["positive mentions"]) == [2]
    texts = [t.value for t in at.text]
    assert any(t.startswith("Promoter: an author with at least 2 positive mentions") for t in texts)
    assert_inert(at)
    at.selectbox(key="adv_range").select("Last 30 days").run()
    assert not at.exception and metric_values(at)["CSAT answers"] == "3"


def test_each_page_needs_its_role(app_db: Database) -> None:
    agent = fa.page(app_db, "reputation_page", "ann")
    assert [e.value for e in agent.error] == ["This page needs the role pr or higher."]
    assert not agent.dataframe and not agent.metric
    pr = fa.page(app_db, "advocacy_page", "pam")
    assert [e.value for e in pr.error] == ["This page needs the role manager or higher."]
    assert not pr.dataframe and not pr.metric
