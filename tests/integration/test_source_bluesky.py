"""The Bluesky source: the real atproto client against the sandbox, polled into a real database."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from core.config import BlueskySource, BrandConfig, QueryConfig
from core.models import Mention, SourceCursor, SourceHealth
from listener import bluesky
from listener.enrich import BrandMatcher
from listener.sandbox import FaultKind, Sandbox
from listener.text import query_key
from tests.fakes.polling import DEMO_MATCHER, Poller
from tests.fakes.sandbox_fixtures import FrozenClock, clock, sandbox  # noqa: F401  (fixtures)

TIMEOUT = 5.0  # generous: a loaded CI machine must not turn a slow answer into a failed poll
SHORT_TIMEOUT = 0.5  # only where a fault must time out, so the test stays fast
ONE_SEARCH = BrandMatcher.from_brands([BrandConfig(name="Skylark Air", queries=[QueryConfig(expression='"skylark air"')])])
PAGE = 10  # small pages, so an hour of the sandbox spans several
SEARCH = "/xrpc/app.bsky.feed.searchPosts"


@pytest.fixture
def poller(db, sandbox: Sandbox, clock: FrozenClock):  # noqa: F811
    """A source with one search (the fault tests need no more; every request to the sandbox costs time)."""
    source = make_source(sandbox, clock, matcher=ONE_SEARCH)
    yield Poller(db, source, clock)
    source.close()


def make_source(sb: Sandbox, clock: FrozenClock, matcher: BrandMatcher = DEMO_MATCHER, *,
                timeout: float = TIMEOUT, **config: object) -> bluesky.BlueskyListener:
    conf = BlueskySource(name="bsky", platform="bluesky", base_url=sb.base_urls["bluesky"], **{"sandbox": True, **config})
    return bluesky.build(conf, matcher, timeout=timeout, clock=clock, page_size=PAGE)


def mentions(db) -> dict[str, Mention]:
    with db.session() as s:
        return {m.native_id: m for m in s.scalars(sa.select(Mention))}


def cursors(db) -> dict[str, str]:
    with db.session() as s:
        return dict(s.execute(sa.select(SourceCursor.key, SourceCursor.value)).all())


def test_collect_paginate_resume_and_dedupe(db, sandbox: Sandbox, clock: FrozenClock) -> None:  # noqa: F811
    poller = Poller(db, make_source(sandbox, clock), clock)  # the demo brands: 15 searches, merged
    assert sandbox.requests("bluesky") == []  # building logs in nothing: the first fetch does
    first = poller.poll()
    assert first.status == "ok" and first.inserted > 0
    stored = mentions(db)
    world = {p.id: p for p in sandbox.world.posts("bluesky")}
    assert set(stored) <= set(world)
    brand = sandbox.accounts()["bluesky"]
    assert any(f"@{brand['handle']}" in m.text for m in stored.values())  # notifications of the brand account
    sample = next(iter(stored.values()))
    assert sample.raw["uri"] == sample.native_id and sample.raw["cid"] == world[sample.native_id].extra["cid"]
    assert sample.url.startswith("https://bsky.app/profile/")
    marks = {k: v for k, v in cursors(db).items() if k.startswith("search:") and not k.endswith((":next", ":top"))}
    assert len(marks) == len(poller.source.queries) and any(marks.values())

    # the newest collected post gains likes; it is seen again on the next sweep's boundary
    newest = max(stored.values(), key=lambda m: m.created_at)
    world[newest.native_id].likes += 7

    first_poll_at = clock()
    clock.advance(minutes=30)
    sandbox.world.tick()
    sandbox.servers["bluesky"].clear_requests()
    second = poller.poll()
    assert second.status == "ok" and second.pages > 1 and second.inserted > 0
    searches = sandbox.requests("bluesky", path=SEARCH)
    # each search resumed from its stored mark (a search that found nothing yet has none)
    assert all(r.query.get("since", [""])[0] == marks[query_key("search", r.query["q"][0])] for r in searches)
    assert any(r.query.get("cursor") for r in searches)  # and paged through the new posts
    assert not sandbox.requests("bluesky", path="/xrpc/com.atproto.server.createSession")  # one login serves
    after = mentions(db)
    expected = {p.id for p in sandbox.world.posts("bluesky")
                if p.created_at > first_poll_at and DEMO_MATCHER.match(p.text, p.lang)}
    assert expected and expected <= set(after)
    assert len(after) == len(stored) + second.inserted
    assert after[newest.native_id].likes == world[newest.native_id].likes
    assert not any(v for k, v in cursors(db).items() if k.endswith(":next"))  # every sweep finished

    third = poller.poll()
    assert third.status == "ok" and third.inserted == 0
    poller.source.close()


@pytest.mark.parametrize("with_reset", [True, False])
def test_rate_limit_pauses_until_the_reset(with_reset: bool, poller: Poller, sandbox: Sandbox, clock: FrozenClock) -> None:  # noqa: F811
    sandbox.inject("bluesky", FaultKind.RATE_LIMIT, route=SEARCH, with_reset=with_reset, retry_after_s=120)
    outcome = poller.poll()
    assert outcome.status == "rate_limited"
    row = poller.row()
    assert row.health == SourceHealth.paused
    if with_reset:
        assert row.paused_until == clock() + timedelta(seconds=120)  # from ratelimit-reset
    else:
        assert row.paused_until >= clock() + timedelta(seconds=60)  # the poller's backoff
    assert poller.poll().status == "paused"
    clock.now = row.paused_until + timedelta(seconds=1)
    assert poller.poll().status == "ok" and poller.stored()


@pytest.mark.parametrize("kind", [FaultKind.SERVER_ERROR, FaultKind.DELAY, FaultKind.MALFORMED, FaultKind.DISCONNECT])
def test_transient_failures_back_off_and_recover(kind: FaultKind, poller: Poller, sandbox: Sandbox,
                                                 clock: FrozenClock) -> None:  # noqa: F811
    with poller.using(make_source(sandbox, clock, ONE_SEARCH, timeout=SHORT_TIMEOUT)):  # recovery, below, with the usual timeout
        sandbox.inject("bluesky", kind, route=SEARCH, delay_s=SHORT_TIMEOUT * 4)
        outcome = poller.poll()
        assert outcome.status == "unavailable", outcome
        assert poller.row().health == SourceHealth.degraded and poller.stored() == []
    poller.unpause()
    assert poller.poll().status == "ok" and poller.stored()


def test_a_malformed_post_is_skipped_and_the_rest_stored(poller: Poller, sandbox: Sandbox) -> None:  # noqa: F811
    sandbox.inject("bluesky", FaultKind.MISSING_FIELDS, route=SEARCH, times=50)  # every search of the poll
    outcome = poller.poll()
    assert outcome.status == "ok" and outcome.skipped_items >= 1 and outcome.inserted > 0


def test_wrong_app_password_needs_a_human(db, sandbox: Sandbox, clock: FrozenClock) -> None:  # noqa: F811
    source = make_source(sandbox, clock, sandbox=False, handle="skylarkair.bsky.social", app_password=SecretStr("wrong"))
    outcome = Poller(db, source, clock).poll()
    assert outcome.status == "auth_failed" and "app_password" in outcome.error
    source.close()


def test_a_revoked_session_is_replaced_by_a_new_login(poller: Poller, sandbox: Sandbox) -> None:  # noqa: F811
    sandbox.inject("bluesky", FaultKind.UNAUTHORIZED, route=SEARCH)
    assert poller.poll().status == "ok" and poller.stored()
    assert len(sandbox.requests("bluesky", path="/xrpc/com.atproto.server.createSession")) == 2
