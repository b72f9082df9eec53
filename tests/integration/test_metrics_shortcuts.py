"""The faster paths of `core.metrics` (figures summed in SQL, one pass for several periods, the most
followed authors walked first, a join for a single brand) give the figures of the plain definitions,
worked out here in Python from every row, on a random data set with the awkward cases: ties in
followers, authors without a count, mentions of two own brands, own posts, late and missing responses."""

from __future__ import annotations

import math
import random
import statistics
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa

from core import metrics
from core.config import SlaConfig, SlaPolicy
from core.db import Database
from core.models import Author, Brand, Case, CaseStatus, Mention, MentionBrand, Reply, ReplyState, Role, User
from responder.sla import BusinessCalendar, calendar_for, elapsed_time

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
WEEK = metrics.Filters(NOW - timedelta(days=7), NOW)
PLATFORMS = ("x", "reddit", "mastodon")


@pytest.fixture
def data(db: Database) -> Database:
    rng = random.Random(11)
    with db.engine.begin() as conn:
        conn.execute(sa.insert(Brand), [{"name": n, "is_competitor": n == "Rival"}
                                        for n in ("Acme", "Acme Labs", "Rival")])
        conn.execute(sa.insert(User), [
            {"username": f"u{i}", "password_hash": "x", "role": Role.agent, "team": "care"} for i in range(3)])
        conn.execute(sa.insert(Author), [
            {"platform": PLATFORMS[i % 3], "key": f"a{i}", "handle": f"@a{i}",
             "followers": None if i % 9 == 0 else rng.choice((0, 5, 5, 40, 300, 300, 2000))} for i in range(60)])
        mentions, links = [], []
        for i in range(900):
            at = NOW - timedelta(minutes=rng.randint(0, 9 * 24 * 60))
            mentions.append({
                "platform": PLATFORMS[i % 3], "native_id": f"m{i}", "text": f"t{i}", "created_at": at, "fetched_at": at,
                "author_id": None if i % 50 == 0 else rng.randint(1, 60), "raw": {}, "is_own": i % 37 == 0,
                "sentiment": rng.choice(("positive", "negative", "negative", "neutral", None)),
            })
            brands = rng.choice(((1,), (2,), (1, 2), (3,), (1, 3), ()))
            links += [{"mention_id": i + 1, "brand_id": b, "created_at": at} for b in brands]
        conn.execute(sa.insert(Mention), mentions)
        conn.execute(sa.insert(MentionBrand), links)
        cases = []
        for i in range(120):
            opened = NOW - timedelta(hours=rng.randint(0, 8 * 24))
            first = opened + timedelta(minutes=rng.randint(5, 3000)) if i % 3 else None
            resolved = first + timedelta(minutes=rng.randint(5, 3000)) if first and i % 2 else None
            cases.append({
                "platform": "x", "brand_id": rng.choice((1, 2, None)), "status": CaseStatus.open, "opened_at": opened,
                "updated_at": opened, "team": rng.choice(("care", "senior", None, "")),
                "assignee_id": rng.choice((1, 2, 3, None)), "sla_policy": rng.choice(("fast", "business", None)),
                "first_response_at": first, "resolved_at": resolved,
                "first_response_due": opened + timedelta(hours=rng.randint(1, 30)) if i % 5 else None,
                "resolution_due": opened + timedelta(hours=rng.randint(1, 60)) if i % 4 else None,
                "csat_score": rng.choice((None, 1, 2, 3, 4, 5)),
            })
        conn.execute(sa.insert(Case), cases)
        conn.execute(sa.insert(Reply), [{
            "case_id": i + 1, "in_reply_to_id": rng.randint(1, 900), "platform": "x", "text": "sorry",
            "state": ReplyState.sent, "idempotency_key": f"k{i}", "created_at": NOW, "updated_at": NOW,
            "sent_at": NOW - timedelta(hours=rng.randint(1, 160))} for i in range(60)])
    return db


def scope(db: Database, f: metrics.Filters) -> list[Any]:
    """The plain definition of `metrics.mentions_in_scope`, from every row."""
    with db.session() as s:
        chosen = Brand.name == f.brand if f.brand else Brand.is_competitor.is_(False)
        brands = set(s.scalars(sa.select(Brand.id).where(chosen)))
        linked = {m for m, b in s.execute(sa.select(MentionBrand.mention_id, MentionBrand.brand_id)) if b in brands}
        return [m for m in s.execute(sa.select(Mention.id, Mention.created_at, Mention.sentiment, Mention.author_id,
                                               Mention.platform, Mention.is_own))
                if f.start <= m.created_at < f.end and not m.is_own and m.id in linked
                and (f.platform is None or m.platform == f.platform)]


def tallies(rows: list[Any]) -> dict[int, tuple[int, int]]:
    out: dict[int, list[int]] = {}
    for m in rows:
        if m.author_id is not None:
            counts = out.setdefault(m.author_id, [0, 0])
            counts[0] += m.sentiment == "positive"
            counts[1] += m.sentiment == "negative"
    return {a: (p, n) for a, (p, n) in out.items()}


FILTERS = [WEEK, replace(WEEK, brand="Acme"), replace(WEEK, platform="reddit"),
           replace(WEEK, brand="Acme Labs", platform="x")]


@pytest.mark.parametrize("f", FILTERS)
def test_volume_share_and_advocates_match_the_definitions(data: Database, f: metrics.Filters) -> None:
    rows = scope(data, f)
    with data.session() as s:
        series = metrics.volume_series(s, f, "day")
        voice = metrics.share_of_voice(s, f)
        people, top = metrics.advocates_and_top(s, f, 5)
        over_time = metrics.advocates_over_time(s, f, timedelta(days=1))
        one_by_one = [metrics.advocates(s, replace(f, start=r["start"], end=r["end"])) for r in over_time]
        assert people == metrics.advocates(s, f)
        assert top == metrics.top_advocates(s, f, 5)
        followers = dict(s.execute(sa.select(Author.id, Author.followers)).all())
        links = list(s.execute(sa.select(MentionBrand.mention_id, Brand.name, Brand.is_competitor).join(Brand)))
        own_or_elsewhere = {m for m, own, p in s.execute(sa.select(Mention.id, Mention.is_own, Mention.platform))
                            if own or (f.platform and p != f.platform)}
        created = dict(s.execute(sa.select(MentionBrand.mention_id, MentionBrand.created_at)).all())
    assert metrics.series_totals(series)["total"] == len(rows)
    assert metrics.series_totals(series)["negative"] == sum(m.sentiment == "negative" for m in rows)
    expected_voice: dict[str, int] = {}
    for mention, name, competitor in links:
        if (f.start <= created[mention] < f.end and mention not in own_or_elsewhere
                and (competitor or not f.brand or name == f.brand)):
            expected_voice[name] = expected_voice.get(name, 0) + 1
    assert {r["brand"]: r["mentions"] for r in voice} == expected_voice
    whole = tallies(rows)
    promoters = {a for a, (p, n) in whole.items() if p >= metrics.REPEATED and p > n}
    assert people["promoters"] == len(promoters)
    assert people["detractors"] == sum(1 for p, n in whole.values() if n >= metrics.REPEATED and n > p)
    assert [{k: v for k, v in r.items() if k not in ("start", "end")} for r in over_time] == one_by_one
    ranked = sorted(promoters, key=lambda a: (-whole[a][0], -(followers[a] if followers[a] is not None else -1), a))
    assert [(r["positive"], r["negative"], r["author_followers"]) for r in top] == [
        (whole[a][0], whole[a][1], followers[a]) for a in ranked[:5]]


@pytest.mark.parametrize("f", FILTERS)
@pytest.mark.parametrize("batch", [1, 3, 500])
def test_most_followed_first_is_the_plain_sort(data: Database, f: metrics.Filters, batch: int,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "WALK_AUTHORS", batch)
    with data.session() as s:
        for limit in (1, 7, 20, 60):
            assert metrics.top_mentions(s, f, limit) == metrics._mention_list(s, f, limit)


def reference_case_figures(cases: list[Any], calendar: BusinessCalendar, policies: list[SlaPolicy]) -> dict[str, Any]:
    """The case metrics as first written: every case loaded and each figure worked out in Python."""
    by_name = {p.name: p for p in policies}

    def minutes(start: datetime, end: datetime, policy: str | None) -> float:
        found = by_name.get(policy or "")
        clock = calendar_for(found, calendar) if found else calendar
        return elapsed_time(start, end, clock) / timedelta(minutes=1)

    def summary(values: list[float]) -> dict[str, Any]:
        if not values:
            return {"cases": 0, "mean_minutes": None, "median_minutes": None, "p90_minutes": None}
        ordered = sorted(values)
        return {"cases": len(ordered), "mean_minutes": round(statistics.fmean(ordered), 1),
                "median_minutes": round(statistics.median(ordered), 1),
                "p90_minutes": round(ordered[math.ceil(0.9 * len(ordered)) - 1], 1)}

    def compliance(pairs: list[tuple[datetime | None, datetime]]) -> dict[str, Any]:
        met = sum(1 for done, due in pairs if done is not None and done <= due)
        breached = sum(1 for done, due in pairs if (done is not None and done > due) or (done is None and due <= NOW))
        return {"met": met, "breached": breached, "pending": len(pairs) - met - breached,
                "compliance_pct": round(100 * met / (met + breached), 1) if met + breached else None}

    answers = [c.csat_score for c in cases if c.csat_score is not None]
    return {
        "cases_opened": len(cases),
        "first_response": summary([minutes(c.opened_at, c.first_response_at, c.sla_policy) for c in cases
                                   if c.first_response_at]),
        "resolution": summary([minutes(c.opened_at, c.resolved_at, c.sla_policy) for c in cases if c.resolved_at]),
        "sla": {"first_response": compliance([(c.first_response_at, c.first_response_due) for c in cases
                                              if c.first_response_due]),
                "resolution": compliance([(c.resolved_at, c.resolution_due) for c in cases if c.resolution_due])},
        "csat": {"responses": len(answers), "mean": round(statistics.fmean(answers), 2) if answers else None,
                 "satisfied_pct": round(100 * sum(a >= 4 for a in answers) / len(answers), 1) if answers else None},
        "nps": None,
    }


def test_case_figures_summed_in_sql_match_the_definitions(data: Database) -> None:
    conf = SlaConfig()
    calendar = BusinessCalendar.from_config(conf)
    policies = [SlaPolicy(name="fast", first_response_minutes=30, resolution_hours=8, business_hours_only=False),
                SlaPolicy(name="business", first_response_minutes=60, resolution_hours=24)]
    with data.session() as s:
        grouped = metrics.case_metrics_by(s, WEEK, ("team", "assignee"), calendar=calendar, policies=policies, now=NOW)
        acme = metrics.case_metrics(s, replace(WEEK, brand="Acme"), calendar=calendar, policies=policies, now=NOW)
        names = dict(s.execute(sa.select(User.id, User.username)).all())
        cases = [c for c in s.scalars(sa.select(Case)) if WEEK.start <= c.opened_at < WEEK.end]
    assert grouped["team"][None] == grouped["assignee"][None] == reference_case_figures(cases, calendar, policies)
    everyone = grouped["team"][None]
    assert everyone["first_response"]["cases"] > 10 and everyone["sla"]["resolution"]["breached"]
    assert acme == reference_case_figures([c for c in cases if c.brand_id == 1], calendar, policies)
    teams = {c.team or "(none)" for c in cases}
    assert set(grouped["team"]) - {None} == teams
    for team in teams:
        assert grouped["team"][team] == reference_case_figures([c for c in cases if (c.team or "(none)") == team],
                                                               calendar, policies)
    for assignee in set(grouped["assignee"]) - {None}:
        members = [c for c in cases if names.get(c.assignee_id, "(none)") == assignee]
        assert grouped["assignee"][assignee] == reference_case_figures(members, calendar, policies)
