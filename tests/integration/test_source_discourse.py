"""The Discourse source: httpx against the sandbox forum, polled into a real database."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from core.config import BrandConfig, DiscourseSource, QueryConfig
from core.models import Mention, SourceCursor, SourceHealth
from listener import discourse
from listener.enrich import BrandMatcher
from listener.sandbox import FaultKind, Sandbox
from listener.text import query_key
from tests.fakes.polling import DEMO_MATCHER, Poller
from tests.fakes.sandbox_fixtures import FrozenClock, clock, sandbox  # noqa: F401  (fixtures)

TIMEOUT = 5.0  # generous: a loaded CI machine must not turn a slow answer into a failed poll
SHORT_TIMEOUT = 0.5  # only where a fault must time out, so the test stays fast
ONE_SEARCH = BrandMatcher.from_brands([BrandConfig(name="Skylark Air", queries=[QueryConfig(expression='"skylark air"')])])
LATEST = "/posts.json"
SEARCH = "/search.json"


@pytest.fixture
def poller(db, sandbox: Sandbox, clock: FrozenClock):  # noqa: F811
    """A source with one search (the fault tests need no more; every request to the sandbox costs time)."""
    source = make_source(sandbox, matcher=ONE_SEARCH)
    yield Poller(db, source, clock)
    source.close()


def make_source(sb: Sandbox, matcher: BrandMatcher = DEMO_MATCHER, *, timeout: float = TIMEOUT,
                **config: object) -> discourse.DiscourseListener:
    options = {"sandbox": True, **config}
    conf = DiscourseSource(name="forum", platform="discourse", base_url=sb.base_urls["discourse"], **options)
    return discourse.build(conf, matcher, timeout=timeout)


def mentions(db) -> dict[str, Mention]:
    with db.session() as s:
        return {m.native_id: m for m in s.scalars(sa.select(Mention))}


def cursors(db) -> dict[str, str]:
    with db.session() as s:
        return dict(s.execute(sa.select(SourceCursor.key, SourceCursor.value)).all())


def post_id(native_id: str) -> str:
    return native_id.rsplit(":", 1)[1]


def test_collect_paginate_resume_and_dedupe(db, sandbox: Sandbox, clock: FrozenClock) -> None:  # noqa: F811
    poller = Poller(db, make_source(sandbox), clock)  # the demo brands: 13 searches and the latest posts
    site = discourse.site_of(sandbox.base_urls["discourse"])
    first = poller.poll()
    assert first.status == "ok" and first.inserted > 0
    stored = mentions(db)
    world = {p.id: p for p in sandbox.world.posts("discourse")}
    assert all(i.startswith(f"{site}:") and post_id(i) in world for i in stored)
    assert all(r.headers.get("api-key") == sandbox.credentials.discourse.api_key for r in sandbox.requests("discourse"))
    sample = next(iter(stored.values()))
    assert sample.url.startswith(f"{sandbox.base_urls['discourse']}/t/") and sample.title
    marks = cursors(db)
    assert int(marks[discourse.LATEST]) == max(int(p.id) for p in world.values())  # the highest post id seen

    # a post that search found gains likes: the next search sees it again and refreshes the count
    searched = next(m for m in stored.values() if "blurb" in m.raw)
    world[post_id(searched.native_id)].likes += 5
    sandbox.servers["discourse"].clear_requests()
    again = poller.poll()
    assert again.status == "ok" and again.inserted == 0
    assert mentions(db)[searched.native_id].likes == world[post_id(searched.native_id)].likes
    assert [r.query for r in sandbox.requests("discourse", path=LATEST)] == [{}]  # nothing above the mark
    for r in sandbox.requests("discourse", path=SEARCH):  # from the day before the mark (none: found nothing yet)
        q = r.query["q"][0]
        assert (" after:" in q) == bool(marks[query_key("search", q.split(" order:latest")[0])])

    # an hour of forum traffic: more than one page of latest posts, each new post stored once
    first_poll_at = clock()
    clock.advance(minutes=60)
    sandbox.world.tick()
    sandbox.servers["discourse"].clear_requests()
    third = poller.poll()
    assert third.status == "ok" and third.pages > 1 and third.inserted > 0
    assert any(r.query.get("before") for r in sandbox.requests("discourse", path=LATEST))
    after = mentions(db)
    expected = {f"{site}:{p.id}" for p in sandbox.world.posts("discourse")
                if p.created_at > first_poll_at and DEMO_MATCHER.match(f"{p.title or ''}\n{p.text}", p.lang)}
    assert expected and expected <= set(after)
    assert len(after) == len(stored) + third.inserted
    poller.source.close()


@pytest.mark.parametrize("with_reset", [True, False])
def test_rate_limit_pauses_until_retry_after(with_reset: bool, poller: Poller, sandbox: Sandbox, clock: FrozenClock) -> None:  # noqa: F811
    sandbox.inject("discourse", FaultKind.RATE_LIMIT, route=SEARCH, with_reset=with_reset, retry_after_s=120)
    assert poller.poll().status == "rate_limited"
    row = poller.row()
    assert row.health == SourceHealth.paused
    if with_reset:
        assert row.paused_until == clock() + timedelta(seconds=120)
    else:
        assert row.paused_until >= clock() + timedelta(seconds=60)
    assert poller.poll().status == "paused"
    clock.now = row.paused_until + timedelta(seconds=1)
    assert poller.poll().status == "ok" and poller.stored()


@pytest.mark.parametrize("kind", [FaultKind.SERVER_ERROR, FaultKind.DELAY, FaultKind.MALFORMED, FaultKind.DISCONNECT])
def test_transient_failures_back_off_and_recover(kind: FaultKind, poller: Poller, sandbox: Sandbox) -> None:  # noqa: F811
    with poller.using(make_source(sandbox, ONE_SEARCH, timeout=SHORT_TIMEOUT)):  # recovery, below, with the usual timeout
        sandbox.inject("discourse", kind, route=LATEST, delay_s=SHORT_TIMEOUT * 4)
        outcome = poller.poll()
        assert outcome.status == "unavailable", outcome
        assert poller.row().health == SourceHealth.degraded and poller.stored() == []
    poller.unpause()
    assert poller.poll().status == "ok" and poller.stored()


def test_a_malformed_post_is_skipped_and_the_rest_stored(poller: Poller, sandbox: Sandbox) -> None:  # noqa: F811
    sandbox.inject("discourse", FaultKind.MISSING_FIELDS, route=LATEST)
    outcome = poller.poll()
    assert outcome.status == "ok" and outcome.skipped_items == 1 and outcome.inserted > 0


def test_a_refused_api_key_needs_a_human(db, sandbox: Sandbox, clock: FrozenClock) -> None:  # noqa: F811
    source = make_source(sandbox, sandbox=False, api_key=SecretStr("wrong"), api_username="skylark_support")
    outcome = Poller(db, source, clock).poll()
    assert outcome.status == "auth_failed" and "API key" in outcome.error
    source.close()
