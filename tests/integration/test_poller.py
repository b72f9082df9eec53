"""The poller's decisions with a scripted source, a real database and an injected clock."""

import random
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from core.config import AlertsConfig, BrandConfig, QueryConfig
from core.errors import AuthFailed, RateLimited, Unavailable
from core.mention import AuthorIn, MentionIn
from core.models import Alert, Mention, Source, SourceHealth
from listener.base import Batch
from listener.enrich import BrandMatcher
from listener.poller import backoff_seconds, poll
from tests.fakes.sources import ScriptedSource

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
MATCHER = BrandMatcher.from_brands([BrandConfig(name="Skylark Air", queries=[QueryConfig(expression='"skylark air"')])])


def item(i: int, text: str = "my skylark air flight") -> MentionIn:
    return MentionIn(platform="mastodon", native_id=str(i), text=text, created_at=NOW, language="en",
                     author=AuthorIn(platform="mastodon", handle="@a@x.social"))


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def source_id(db) -> int:
    with db.session() as s:
        row = Source(name="m", platform="mastodon")
        s.add(row)
        s.flush()
        return row.id


def run(db, source, source_id, clock, **kw):
    return poll(db, source, source_id, MATCHER, clock=clock, rand=random.Random(1), **kw)


def test_pages_are_followed_and_only_matching_items_kept(db, source_id) -> None:
    source = ScriptedSource(script=[
        Batch([item(1), item(2, "unrelated chatter")], cursors={"q": "2"}, more=True),
        Batch([item(3)], cursors={"q": "3"}, skipped=1),
    ])
    outcome = run(db, source, source_id, Clock())
    assert (outcome.status, outcome.inserted, outcome.pages, outcome.skipped_items) == ("ok", 2, 2, 1)
    assert source.seen_cursors == [{}, {"q": "2"}]
    with db.session() as s:
        assert sorted(s.scalars(sa.select(Mention.native_id))) == ["1", "3"]
        row = s.get(Source, source_id)
        assert row.health == SourceHealth.ok and row.last_success_at == NOW


def test_rate_limit_pauses_only_until_the_reset(db, source_id) -> None:
    clock = Clock()
    source = ScriptedSource(script=[RateLimited("mastodon", "slow down", status=429, retry_after=120)])
    assert run(db, source, source_id, clock).status == "rate_limited"
    with db.session() as s:
        row = s.get(Source, source_id)
        assert row.health == SourceHealth.paused and row.paused_until == NOW + timedelta(seconds=120)
    clock.now = NOW + timedelta(seconds=60)
    assert run(db, source, source_id, clock).status == "paused"
    assert len(source.seen_cursors) == 1  # no request while paused
    clock.now = NOW + timedelta(seconds=121)
    assert run(db, source, source_id, clock).status == "ok"


def test_rate_limit_without_reset_header_still_backs_off(db, source_id) -> None:
    run(db, ScriptedSource(script=[RateLimited("x", "429", status=429, retry_after=None)]), source_id, Clock())
    with db.session() as s:
        assert s.get(Source, source_id).paused_until >= NOW + timedelta(seconds=60)


def test_unavailable_backs_off_exponentially_and_auth_failure_needs_a_human(db, source_id) -> None:
    clock = Clock()
    waits = []
    for _ in range(4):
        run(db, ScriptedSource(script=[Unavailable("mastodon", "HTTP 503", status=503)]), source_id, clock)
        with db.session() as s:
            row = s.get(Source, source_id)
            waits.append((row.paused_until - clock.now).total_seconds())
            clock.now = row.paused_until + timedelta(seconds=1)
    assert row.health == SourceHealth.degraded and row.consecutive_failures == 4
    assert all(5 <= w <= 900 for w in waits)
    run(db, ScriptedSource(script=[AuthFailed("mastodon", "The access token is invalid", status=401)]), source_id, clock)
    with db.session() as s:
        row = s.get(Source, source_id)
        assert row.health == SourceHealth.unhealthy and "access token is invalid" in row.last_error


def test_unexpected_library_error_never_escapes(db, source_id) -> None:
    outcome = run(db, ScriptedSource(script=[KeyError("data")]), source_id, Clock())
    assert outcome.status == "unavailable"


def test_daily_budget_stops_polling_and_raises_one_alert(db, source_id) -> None:
    clock = Clock()
    source = ScriptedSource(script=[Batch([item(1)], cost_usd=0.6), Batch([item(2)], cost_usd=0.6)])
    budget = {"daily_budget_usd": 1.0, "alerts": AlertsConfig()}
    assert run(db, source, source_id, clock, **budget).status == "ok"
    assert run(db, source, source_id, clock, **budget).status == "over_budget"
    clock.now += timedelta(minutes=5)
    assert run(db, source, source_id, clock, **budget).status == "paused"
    with db.session() as s:
        [alert] = s.scalars(sa.select(Alert))
        assert (alert.kind, alert.subject, alert.status.value) == ("over_budget", "source:m", "open")
        row = s.get(Source, source_id)
        assert float(row.api_spend_usd) == pytest.approx(1.2)
        assert row.paused_until == datetime(2026, 3, 3, tzinfo=timezone.utc)


@pytest.mark.parametrize("failures", [1, 2, 5, 20])
def test_backoff_stays_within_bounds(failures: int) -> None:
    rand = random.Random(3)
    for _ in range(50):
        assert 5 <= backoff_seconds(failures, cap=900, rand=rand) <= min(900, 5 * 2 ** (failures - 1)) + 5


def test_items_addressed_to_the_brand_are_kept_whatever_they_say(db, source_id) -> None:
    import dataclasses

    addressed = dataclasses.replace(item(7, "thanks for sorting my seat out yesterday"), direct=True)
    source = ScriptedSource(script=[Batch([addressed, item(8, "unrelated chatter")])])
    assert run(db, source, source_id, Clock()).inserted == 1
    with db.session() as s:
        assert list(s.scalars(sa.select(Mention.native_id))) == ["7"]
