"""`earful report` on a fixture small enough to check by hand (the expected figures are worked out in
the comments). Business hours are the defaults: Monday-Friday 09:00-17:30 UTC."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.cli import app
from core.db import Database
from core.models import Author, Brand, Case, Mention, MentionBrand, Reply, ReplyState, Score


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=timezone.utc)  # 2 March 2026 is a Monday


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text("database:\n  url: sqlite:///e.db\n")
    db = Database.open(f"sqlite:///{tmp_path / 'e.db'}")
    fill(db)
    db.dispose()
    return path


def fill(db: Database) -> None:
    with db.session() as s:
        acme, rival = Brand(name="Acme"), Brand(name="Rival", is_competitor=True)
        authors = [Author(platform="x", key=f"a{i}", handle=f"a{i}") for i in range(1, 5)]
        s.add_all([acme, rival, *authors])
        s.flush()
        a1, a2, a3, a4 = (a.id for a in authors)
        # case 1 (team care): opened Mon 10:00; first response Mon 13:00 = 180 business minutes, due Mon 11:00:
        # breached; resolved Tue 10:00 = 450 (Mon 10:00-17:30) + 60 (Tue 09:00-10:00) = 510 minutes, due Tue
        # 10:00: met. CSAT 5.
        c1 = Case(brand_id=acme.id, platform="x", team="care", sla_policy="standard", opened_at=at(2, 10),
                  first_response_at=at(2, 13), first_response_due=at(2, 11), resolved_at=at(3, 10),
                  resolution_due=at(3, 10), csat_score=5)
        # case 2: opened Mon 17:00; first response Tue 09:30 = 30 + 30 = 60 business minutes, due Tue 09:30:
        # met (on time); unresolved, resolution due far ahead: pending. CSAT 3.
        c2 = Case(brand_id=acme.id, platform="mastodon", team="comms", sla_policy="standard", opened_at=at(2, 17),
                  first_response_at=at(3, 9, 30), first_response_due=at(3, 9, 30),
                  resolution_due=datetime(2099, 1, 1, tzinfo=timezone.utc), csat_score=3)
        # case 3: opened and answered Tue evening, outside business hours: 0 business minutes; no SLA.
        c3 = Case(brand_id=acme.id, platform="x", opened_at=at(3, 20), first_response_at=at(3, 21))
        # before the range: not counted
        c0 = Case(brand_id=acme.id, platform="x", opened_at=at(1, 10), first_response_at=at(1, 11), csat_score=1)
        s.add_all([c0, c1, c2, c3])
        s.flush()
        rows = [  # (platform, author, sentiment, brand, time, topics, own, case)
            ("x", a1, "negative", acme, at(2, 10), ["outage"], False, c1),
            ("x", a1, "negative", acme, at(2, 11), ["outage"], False, c1),
            ("mastodon", a2, "positive", acme, at(2, 12), [], False, c2),
            ("mastodon", a2, "positive", acme, at(3, 9), [], False, None),
            ("x", a3, "neutral", acme, at(3, 10), ["safety"], False, None),
            ("x", a1, "positive", acme, at(3, 15), [], False, None),  # a1 after our reply: won back
            ("x", a4, "neutral", rival, at(2, 10), [], False, None),
            ("x", a4, "neutral", rival, at(3, 10), [], False, None),
            ("x", a3, "negative", acme, at(1, 10), ["outage"], False, None),  # the previous period
            ("x", None, "positive", acme, at(2, 9), [], True, None),  # our own post: never counted
        ]
        mentions = []
        for i, (platform, author, sentiment, brand, when, topics, own, case) in enumerate(rows, 1):
            m = Mention(platform=platform, native_id=str(i), text=f"m{i}", created_at=when, author_id=author,
                        sentiment=sentiment, scored_at=when, urgency=0.1, topics=topics, is_own=own,
                        case_id=case.id if case else None)
            s.add(m)
            s.flush()
            s.add(MentionBrand(mention_id=m.id, brand_id=brand.id, created_at=when))
            s.add(Score(mention_id=m.id, model_version="t", sentiment=sentiment, p_negative=0, p_neutral=0, p_positive=0,
                        valence=0, urgency=0.1, intent="other", topics=topics, created_at=when))
            mentions.append(m)
        s.add(Reply(case_id=c1.id, in_reply_to_id=mentions[1].id, platform="x", text="sorry", state=ReplyState.sent,
                    idempotency_key="k1", sent_at=at(2, 13)))


def test_the_sql_aggregates_agree_on_every_backend(db: Database) -> None:
    from core import metrics
    from core.config import SlaConfig
    from responder.sla import BusinessCalendar

    fill(db)
    sla = SlaConfig()
    with db.session() as session:
        data = metrics.report(session, metrics.Filters(at(2, 0), at(4, 0)), calendar=BusinessCalendar.from_config(sla),
                              policies=sla.policies, now=at(10, 0))
    assert data["volume"]["by_day"] == {"2026-03-02": 3, "2026-03-03": 3}
    assert data["sentiment"]["net_sentiment"] == 16.7
    assert [(t["topic"], t["mentions"], t["previous"]) for t in data["topics"]] == [("outage", 2, 1), ("safety", 1, 0)]
    assert data["detractors_won_back"] == 1 and data["first_response"]["p90_minutes"] == 180.0


def report(config: Path, *args: str) -> str:
    result = CliRunner().invoke(app, ["--config", str(config), "report", "--from", "2026-03-02", "--to", "2026-03-03", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_report_json_figures_by_hand(config: Path) -> None:
    data = json.loads(report(config, "--format", "json"))
    assert data["filters"]["from"] == "2026-03-02T00:00:00+00:00" and data["filters"]["to"] == "2026-03-04T00:00:00+00:00"
    # mentions 1-6: x has 1, 2, 5, 6; mastodon 3, 4; Monday 1-3, Tuesday 4-6
    assert data["volume"] == {"total": 6, "by_platform": {"mastodon": 2, "x": 4},
                              "by_day": {"2026-03-02": 3, "2026-03-03": 3}}
    # 3 positive, 1 neutral, 2 negative: (3 - 2) / 6 = +16.7
    assert data["sentiment"] == {"scored": 6, "positive": 3, "neutral": 1, "negative": 2, "net_sentiment": 16.7}
    # Acme 6, Rival 2 of 8
    assert data["share_of_voice"] == [{"brand": "Acme", "competitor": False, "mentions": 6, "share": 75.0},
                                      {"brand": "Rival", "competitor": True, "mentions": 2, "share": 25.0}]
    # outage 2 now, 1 in the two days before (+100 %); safety 1, none before
    assert data["topics"] == [{"topic": "outage", "mentions": 2, "previous": 1, "change_pct": 100.0},
                              {"topic": "safety", "mentions": 1, "previous": 0, "change_pct": None}]
    # a2: 2 positive (promoter); a1: 2 negative, 1 positive (detractor), replied Mon 13:00, positive Tue 15:00
    assert (data["promoters"], data["detractors"], data["detractors_replied"], data["detractors_won_back"],
            data["won_back_pct"]) == (1, 1, 1, 1, 100.0)
    assert data["cases_opened"] == 3
    # first responses 180, 60, 0: mean 80, median 60, p90 = 3rd of 3 = 180
    assert data["first_response"] == {"cases": 3, "mean_minutes": 80.0, "median_minutes": 60.0, "p90_minutes": 180.0}
    assert data["resolution"] == {"cases": 1, "mean_minutes": 510.0, "median_minutes": 510.0, "p90_minutes": 510.0}
    assert data["sla"] == {"first_response": {"met": 1, "breached": 1, "pending": 0, "compliance_pct": 50.0},
                           "resolution": {"met": 1, "breached": 0, "pending": 1, "compliance_pct": 100.0}}
    assert data["csat"] == {"responses": 2, "mean": 4.0, "satisfied_pct": 50.0}
    assert data["nps"] is None


def test_report_filters(config: Path) -> None:
    mastodon = json.loads(report(config, "--format", "json", "--platform", "mastodon"))
    assert mastodon["volume"]["total"] == 2 and mastodon["cases_opened"] == 1
    rival = json.loads(report(config, "--format", "json", "--brand", "Rival"))
    assert rival["volume"]["total"] == 2 and rival["cases_opened"] == 0
    care = json.loads(report(config, "--format", "json", "--team", "care"))
    assert care["volume"]["total"] == 2 and care["first_response"]["mean_minutes"] == 180.0
    result = CliRunner().invoke(app, ["--config", str(config), "report", "--from", "2026-03-02", "--to", "2026-03-03",
                                      "--brand", "Nobody"])
    assert result.exit_code == 2 and "known brands: Acme, Rival" in result.output


def test_report_csv_and_markdown(config: Path) -> None:
    table = list(csv.reader(io.StringIO(report(config, "--format", "csv"))))
    assert table[0] == ["section", "key", "value"]
    figures = {(s, k): v for s, k, v in table[1:]}
    assert figures[("volume", "total")] == "6"
    assert figures[("sentiment", "net_sentiment")] == "16.7"
    assert figures[("share_of_voice.pct", "Rival")] == "25.0"
    assert figures[("first_response", "p90_minutes")] == "180.0"
    assert figures[("sla.first_response", "compliance_pct")] == "50.0"
    assert figures[("nps", "score")] == ""
    md = report(config)
    assert "# Earful report 2026-03-02T00:00:00+00:00 to 2026-03-04T00:00:00+00:00" in md
    assert "| net sentiment | 16.7 |" in md
    assert "| first response | 3 | 80.0 | 60.0 | 180.0 |" in md
    assert "| detractors won back | 1 (100.0 %) |" in md
