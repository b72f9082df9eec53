"""Mastodon.py, httpx (Hacker News) and httpx + feedparser (RSS) against the sandbox platforms."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.config import HackerNewsSource, MastodonSource, RssSource
from core.models import SourceHealth
from listener import hackernews, mastodon, rss
from listener.sandbox import FaultKind, Sandbox
from tests.fakes.polling import DEMO_MATCHER, Poller
from tests.fakes.sandbox_fixtures import clock, sandbox  # noqa: F401  (fixtures)

TIMEOUT = 5.0  # generous: a loaded CI machine must not turn a slow answer into a failed poll
SHORT_TIMEOUT = 0.5  # only where a fault must time out, so the test stays fast


def build(platform: str, sb: Sandbox, timeout: float = TIMEOUT):
    if platform == "mastodon":
        conf = MastodonSource(name="m", platform="mastodon", sandbox=True, base_url=sb.base_urls["mastodon"])
        return mastodon.build(conf, DEMO_MATCHER, timeout=timeout)
    if platform == "hackernews":
        conf = HackerNewsSource(name="hn", platform="hackernews", sandbox=True, base_url=sb.base_urls["hackernews"])
        return hackernews.build(conf, DEMO_MATCHER, timeout=timeout)
    conf = RssSource(name="feeds", platform="rss", sandbox=True, feeds=tuple(sb.rss_feeds.values()))
    return rss.build(conf, DEMO_MATCHER, timeout=timeout)


SEARCH_ROUTE = {"mastodon": "/api/v2/search", "hackernews": "/api/v1/search_by_date", "rss": None}
PLATFORMS = ["mastodon", "hackernews", "rss"]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_collect_resume_and_dedupe(platform: str, db, sandbox, clock) -> None:  # noqa: F811
    poller = Poller(db, build(platform, sandbox), clock)
    first = poller.poll()
    assert first.status == "ok" and first.inserted > 0
    stored = set(poller.stored())
    assert len(stored) == first.inserted
    # nothing new on the platform: nothing new stored, and the platform was asked with the cursor
    sandbox.servers[platform].clear_requests()
    again = poller.poll()
    assert again.status == "ok" and again.inserted == 0
    asked = sandbox.requests(platform)
    assert asked
    # searches that found something resume from their cursor (the others have none yet)
    if platform == "mastodon":
        assert any("min_id" in r.query for r in asked if r.path.endswith("/search"))
    elif platform == "hackernews":
        assert any(r.query.get("numericFilters", [""])[0].startswith("created_at_i>=") for r in asked)
    else:
        assert all("if-none-match" in r.headers or "if-modified-since" in r.headers for r in asked)
    # an hour passes on the platforms: only the new posts are added, none twice
    clock.advance(minutes=60)
    sandbox.world.tick()
    third = poller.poll()
    assert third.status == "ok" and third.inserted > 0
    after = poller.stored()
    assert len(after) == len(set(after)) == len(stored) + third.inserted


@pytest.mark.parametrize("platform", ["mastodon", "hackernews"])
@pytest.mark.parametrize("with_reset", [True, False])
def test_rate_limit_pauses_only_this_source(platform: str, with_reset: bool, db, sandbox, clock) -> None:  # noqa: F811
    poller = Poller(db, build(platform, sandbox), clock)
    sandbox.inject(platform, FaultKind.RATE_LIMIT, route=SEARCH_ROUTE[platform], with_reset=with_reset, retry_after_s=120)
    outcome = poller.poll()
    assert outcome.status == "rate_limited"
    row = poller.row()
    assert row.health == SourceHealth.paused and row.paused_until > clock()
    if with_reset and platform == "hackernews":
        assert row.paused_until == clock() + timedelta(seconds=120)
    assert poller.poll().status == "paused"
    clock.now = row.paused_until + timedelta(seconds=1)
    assert poller.poll().status == "ok"
    assert poller.row().health == SourceHealth.ok


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("kind", [FaultKind.SERVER_ERROR, FaultKind.DELAY, FaultKind.MALFORMED, FaultKind.DISCONNECT])
def test_transient_failures_back_off_and_recover(platform: str, kind: FaultKind, db, sandbox, clock) -> None:  # noqa: F811
    poller = Poller(db, build(platform, sandbox), clock)
    times = 2 if platform == "rss" else 1  # rss: every feed must fail for the source to fail
    with poller.using(build(platform, sandbox, timeout=SHORT_TIMEOUT)):  # recovery, below, with the usual timeout
        sandbox.inject(platform, kind, route=SEARCH_ROUTE[platform], times=times, delay_s=SHORT_TIMEOUT * 4)
        outcome = poller.poll()
    if platform == "rss" and kind == FaultKind.MALFORMED:
        assert outcome.status == "ok"  # an unreadable feed is logged and skipped like a bad item
    else:
        assert outcome.status == "unavailable", outcome
        assert poller.row().health == SourceHealth.degraded
        assert poller.stored() == []
        poller.unpause()
    assert poller.poll().status == "ok"
    assert poller.stored()


# Mastodon's search answer starts with matching *accounts*, so the sandbox would break an account,
# not a status; its mapper's handling of a broken status is covered in tests/unit/test_mappers.py.
@pytest.mark.parametrize("platform", ["hackernews"])
def test_a_malformed_item_is_skipped_and_the_rest_stored(platform: str, db, sandbox, clock) -> None:  # noqa: F811
    poller = Poller(db, build(platform, sandbox), clock)
    sandbox.inject(platform, FaultKind.MISSING_FIELDS, route=SEARCH_ROUTE[platform], times=20)  # every search of the poll
    outcome = poller.poll()
    assert outcome.status == "ok"
    assert outcome.skipped_items >= 1
    assert outcome.inserted > 0


def test_revoked_token_marks_the_source_unhealthy(db, sandbox, clock) -> None:  # noqa: F811
    poller = Poller(db, build("mastodon", sandbox), clock)
    sandbox.inject("mastodon", FaultKind.UNAUTHORIZED, route="/api/v2/search")
    assert poller.poll().status == "auth_failed"
    row = poller.row()
    assert row.health == SourceHealth.unhealthy and "access token" in row.last_error


def test_the_brands_own_replies_are_collected_as_its_own(db, sandbox, clock) -> None:  # noqa: F811
    parent = next(p for p in sandbox.world.posts("mastodon") if p.author.handle != "skylarkair")
    reply = sandbox.world.reply("mastodon", parent.id, "So sorry about this, we are on it. DM us your booking reference?")
    poller = Poller(db, build("mastodon", sandbox), clock)
    assert poller.poll().status == "ok"
    import sqlalchemy as sa

    from core.models import Mention

    with db.session() as s:
        mine = s.scalar(sa.select(Mention).where(Mention.native_id == str(reply.id)))
        assert mine is not None and mine.is_own and mine.parent_id == str(parent.id)
