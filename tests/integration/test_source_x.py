"""The X source run by the poller: real tweepy against the sandbox, a real database, a frozen clock."""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from core.config import BrandConfig, QueryConfig, XSource
from core.errors import ConfigError
from core.models import Mention, Source, SourceCursor, SourceHealth
from listener.enrich import BrandMatcher
from listener.poller import PollOutcome, poll
from listener.query import to_x
from listener.sandbox import RedirectAdapter, Sandbox
from listener.text import query_key
from listener.x import XListener, build
from tests.fakes.sandbox_fixtures import FrozenClock, clock, sandbox  # noqa: F401

MATCHER = BrandMatcher.from_brands([BrandConfig(name="Skylark Air", queries=[QueryConfig(expression="skylark")])])
SEARCH = "/2/tweets/search/recent"
KEY = query_key("search", to_x(next(iter(MATCHER.queries.values()))[0]))


def make_source(sb: Sandbox, clock: FrozenClock, *, timeout: float = 5.0, owned: bool = False,
                **settings: Any) -> XListener:
    owned_ids = (sb.accounts()["x"]["id"],) if owned else ()
    config = XSource(platform="x", name="x-test", sandbox=True, base_url=sb.base_urls["x"],
                     owned_user_ids=owned_ids, **settings)
    return build(config, MATCHER, timeout=timeout, clock=clock)


@pytest.fixture
def source_id(db) -> int:
    with db.session() as s:
        row = Source(name="x-test", platform="x")
        s.add(row)
        s.flush()
        return row.id


@pytest.fixture
def x(sandbox: Sandbox, clock: FrozenClock) -> Iterator[XListener]:
    source = make_source(sandbox, clock)
    yield source
    source.close()


def run(db, source, source_id, clock, **kw) -> PollOutcome:
    return poll(db, source, source_id, MATCHER, clock=clock, rand=random.Random(1), **kw)


def searchable(sb: Sandbox) -> list:
    """What the fake's recent search returns for "skylark", newest first."""
    return [p for p in reversed(sb.world.posts("x")) if "skylark" in p.text.lower()]


def kept(sb: Sandbox) -> set[str]:
    """Of those, what Earful keeps: the brand's own query, re-checked locally."""
    return {p.id for p in searchable(sb) if MATCHER.match(p.text, p.lang)}


def stored(db) -> dict[str, Mention]:
    with db.session() as s:
        return {m.native_id: m for m in s.scalars(sa.select(Mention).options(sa.orm.joinedload(Mention.author)))}


def cursors(db, source_id) -> dict[str, str]:
    with db.session() as s:
        return dict(s.execute(sa.select(SourceCursor.key, SourceCursor.value)
                              .where(SourceCursor.source_id == source_id)).all())


def source_row(db, source_id) -> Source:
    with db.session() as s:
        row = s.get(Source, source_id)
        s.expunge(row)
        return row


def test_collects_every_page_with_reach_threads_and_own_posts(db, source_id, sandbox, clock) -> None:
    own = sandbox.world.add_post("x", "Skylark Air now flies to Lisbon!")  # by the brand's account
    source = make_source(sandbox, clock, owned=True)
    outcome = run(db, source, source_id, clock)
    source.close()
    expected = kept(sandbox)
    assert len(searchable(sandbox)) > 100  # more than one page
    assert outcome.status == "ok" and outcome.pages == 2 and outcome.inserted == len(stored(db))
    rows = stored(db)
    assert expected <= set(rows)
    searches = sandbox.requests("x", path=SEARCH)
    assert len(searches) == 2 and "next_token" not in searches[0].query and searches[1].query["next_token"]
    assert searches[0].query["max_results"] == ["100"] and searches[0].query["expansions"] == ["author_id"]
    assert set(searches[0].query["user.fields"][0].split(",")) >= {"public_metrics", "username"}
    assert sandbox.requests("x", path="/2/users/{id}/mentions")
    assert rows[own.id].is_own and not any(m.is_own for k, m in rows.items() if k != own.id)
    reply = next(p for p in searchable(sandbox) if p.parent_id and p.id in expected)
    assert rows[reply.id].parent_id == reply.parent_id and rows[reply.id].conversation_id == reply.root_id
    assert rows[reply.id].author.followers == reply.author.followers
    assert rows[reply.id].author.handle == f"@{reply.author.handle}"
    saved = cursors(db, source_id)
    assert saved[KEY] == searchable(sandbox)[0].id and saved[f"{KEY}:page"] == ""
    assert source_row(db, source_id).health == SourceHealth.ok


def test_resumes_from_the_stored_since_id(db, source_id, sandbox, clock, x) -> None:
    run(db, x, source_id, clock)
    newest = cursors(db, source_id)[KEY]
    before = len(stored(db))
    clock.advance(minutes=2)
    fresh = sandbox.world.add_post("x", "Skylark Air lost my bag again", author=sandbox.world.author_for("x", 3))
    sandbox.servers["x"].clear_requests()
    outcome = run(db, x, source_id, clock)
    assert (outcome.status, outcome.inserted, outcome.pages) == ("ok", 1, 1)
    [search] = sandbox.requests("x", path=SEARCH)
    assert search.query["since_id"] == [newest] and "next_token" not in search.query
    assert len(stored(db)) == before + 1 and cursors(db, source_id)[KEY] == fresh.id


def test_re_seen_post_updates_engagement_without_a_duplicate(db, source_id, sandbox, clock, x) -> None:
    run(db, x, source_id, clock)
    count = len(stored(db))
    post = next(p for p in searchable(sandbox) if p.id in kept(sandbox))
    post.likes, post.replies = 999, 12
    with db.session() as s:  # as if the cursor were lost: everything is read again
        s.execute(sa.delete(SourceCursor))
    outcome = run(db, x, source_id, clock)
    assert outcome.status == "ok" and outcome.inserted == 0
    rows = stored(db)
    assert len(rows) == count and (rows[post.id].likes, rows[post.id].replies) == (999, 12)


def test_rate_limit_pauses_until_the_reset(db, source_id, sandbox, clock, x) -> None:
    sandbox.inject("x", "rate_limit", route=SEARCH, retry_after_s=120)
    outcome = run(db, x, source_id, clock)
    assert outcome.status == "rate_limited"
    row = source_row(db, source_id)
    assert row.health == SourceHealth.paused and row.paused_until == clock.now + timedelta(seconds=120)
    asked = len(sandbox.requests("x"))
    clock.advance(seconds=60)
    assert run(db, x, source_id, clock).status == "paused" and len(sandbox.requests("x")) == asked
    clock.advance(seconds=61)
    assert run(db, x, source_id, clock).status == "ok" and stored(db)


def test_rate_limit_without_reset_header_backs_off(db, source_id, sandbox, clock, x) -> None:
    sandbox.inject("x", "rate_limit", route=SEARCH, with_reset=False)
    assert run(db, x, source_id, clock).status == "rate_limited"
    row = source_row(db, source_id)
    assert clock.now + timedelta(seconds=60) <= row.paused_until <= clock.now + timedelta(seconds=900)


def test_server_error_degrades_then_recovers(db, source_id, sandbox, clock, x) -> None:
    sandbox.inject("x", "server_error", route=SEARCH, status=503)
    outcome = run(db, x, source_id, clock)
    assert outcome.status == "unavailable" and "503" in outcome.error
    row = source_row(db, source_id)
    assert row.health == SourceHealth.degraded and row.consecutive_failures == 1 and not stored(db)
    clock.now = row.paused_until + timedelta(seconds=1)
    assert run(db, x, source_id, clock).status == "ok"
    assert source_row(db, source_id).health == SourceHealth.ok and stored(db)


def test_timeout_is_unavailable_and_fast(db, source_id, sandbox, clock) -> None:
    source = make_source(sandbox, clock, timeout=0.3)
    sandbox.inject("x", "delay", route=SEARCH, delay_s=3)
    began = time.monotonic()
    outcome = run(db, source, source_id, clock)
    source.close()
    assert outcome.status == "unavailable" and "timed out after 0.3 s" in outcome.error
    assert time.monotonic() - began < 2


def test_malformed_item_is_skipped_and_the_rest_stored(db, source_id, sandbox, clock, x) -> None:
    sandbox.inject("x", "missing_fields", route=SEARCH)  # the newest post of the first page loses its id
    outcome = run(db, x, source_id, clock)
    assert outcome.status == "ok" and outcome.skipped_items == 1
    newest = searchable(sandbox)[0].id
    assert set(stored(db)) == kept(sandbox) - {newest}
    assert cursors(db, source_id)[KEY] == newest  # meta.newest_id still moves the cursor on


def test_unparseable_answer_is_unavailable(db, source_id, sandbox, clock, x) -> None:
    sandbox.inject("x", "malformed", route=SEARCH)
    outcome = run(db, x, source_id, clock)
    assert outcome.status == "unavailable" and "not valid JSON" in outcome.error


def test_revoked_token_needs_a_human(db, source_id, sandbox, clock, x) -> None:
    sandbox.inject("x", "unauthorized", route=SEARCH)
    outcome = run(db, x, source_id, clock)
    row = source_row(db, source_id)
    assert outcome.status == "auth_failed" and row.health == SourceHealth.unhealthy
    assert "bearer_token" in row.last_error


def test_refused_page_token_restarts_the_stream(db, source_id, sandbox, clock, x) -> None:
    with db.session() as s:
        s.add(SourceCursor(source_id=source_id, key=f"{KEY}:page", value="not-a-token 123 1"))
    outcome = run(db, x, source_id, clock)
    assert outcome.status == "ok" and set(stored(db)) == kept(sandbox)
    assert cursors(db, source_id)[f"{KEY}:page"] == ""


def test_a_run_stops_at_max_pages_and_says_so(db, source_id, sandbox, clock, caplog) -> None:
    config = XSource(platform="x", name="x-test", sandbox=True, base_url=sandbox.base_urls["x"])
    source = build(config, MATCHER, clock=clock, max_pages=1)
    outcome = run(db, source, source_id, clock)
    source.close()
    assert outcome.status == "ok" and outcome.pages == 1 and "stopped after 1 pages" in caplog.text
    assert cursors(db, source_id)[KEY] == searchable(sandbox)[0].id


def test_cost_is_posts_and_distinct_users_read(sandbox, clock) -> None:
    source = make_source(sandbox, clock, price_post_read_usd=1.0, price_user_read_usd=1000.0)
    batch = source.fetch({})
    source.close()
    page = searchable(sandbox)[:100]
    assert batch.more and batch.cost_usd == pytest.approx(len(page) + 1000.0 * len({p.author.id for p in page}))


def test_daily_budget_stops_polling_until_midnight(db, source_id, sandbox, clock, x) -> None:
    outcome = run(db, x, source_id, clock, daily_budget_usd=0.5)
    assert outcome.status == "over_budget" and outcome.pages == 1  # a second page was due
    row = source_row(db, source_id)
    assert row.paused_until == datetime(2025, 3, 15, tzinfo=timezone.utc) and float(row.spend_today_usd) > 0.5
    clock.advance(hours=1)
    assert run(db, x, source_id, clock, daily_budget_usd=0.5).status == "paused"
    assert len(sandbox.requests("x", path=SEARCH)) == 1


def test_build_needs_a_bearer_token_outside_the_sandbox() -> None:
    with pytest.raises(ConfigError, match="bearer_token.*X_BEARER_TOKEN"):
        build(XSource(platform="x", name="live"), MATCHER)
    live = build(XSource(platform="x", name="live", bearer_token=SecretStr("t")), MATCHER)
    assert not isinstance(live.client.session.get_adapter("https://api.twitter.com/2/tweets"), RedirectAdapter)
    assert live.client.session.timeout == 20.0
    live.close()


def test_build_points_tweepy_at_the_configured_host(sandbox, clock, x) -> None:
    assert isinstance(x.client.session.get_adapter("https://api.twitter.com/2/tweets"), RedirectAdapter)
