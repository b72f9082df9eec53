"""The Reddit source run by the poller: real praw against the sandbox, a real database, a frozen clock."""

from __future__ import annotations

import random
import time
from datetime import timedelta
from typing import Any, Iterator

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from core.config import BrandConfig, QueryConfig, RedditSource
from core.errors import ConfigError
from core.models import Mention, Source, SourceCursor, SourceHealth
from listener.enrich import BrandMatcher
from listener.poller import PollOutcome, poll
from listener.reddit import RedditListener, build
from listener.sandbox import Post, Sandbox
from tests.fakes.sandbox_fixtures import FrozenClock, clock, sandbox  # noqa: F401

MATCHER = BrandMatcher.from_brands([BrandConfig(name="Skylark Air", queries=[QueryConfig(expression="skylark")])])
SUBREDDITS = ("travel", "SkylarkAir")
NEW = "/r/{sub}/new"


def make_source(sb: Sandbox, clock: FrozenClock, *, timeout: float = 5.0, **settings: Any) -> RedditListener:
    url = sb.base_urls["reddit"]
    options: dict[str, Any] = dict(platform="reddit", name="reddit-test", sandbox=True, base_url=url, auth_url=url,
                                   subreddits=SUBREDDITS)
    options.update(settings)
    return build(RedditSource(**options), MATCHER, timeout=timeout, clock=clock)


def live_config(sb: Sandbox, **credentials: Any) -> dict[str, Any]:
    """A non-sandbox configuration that still points at the fake (to test refused credentials)."""
    c = sb.credentials.reddit
    values: dict[str, Any] = dict(sandbox=False, client_id=c.client_id, client_secret=SecretStr(c.client_secret),
                                  username=c.username, password=SecretStr(c.password))
    values.update(credentials)
    return values


@pytest.fixture
def source_id(db) -> int:
    with db.session() as s:
        row = Source(name="reddit-test", platform="reddit")
        s.add(row)
        s.flush()
        return row.id


@pytest.fixture
def reddit(sandbox: Sandbox, clock: FrozenClock) -> Iterator[RedditListener]:
    source = make_source(sandbox, clock)
    yield source
    source.close()


def run(db, source, source_id, clock, **kw) -> PollOutcome:
    return poll(db, source, source_id, MATCHER, clock=clock, rand=random.Random(1), **kw)


def fullname(post: Post) -> str:
    return f"{post.kind}_{post.id}"


def expected(sb: Sandbox) -> set[str]:
    """What the four streams return (search, new, comments, inbox), re-checked with the brand's query;
    inbox mentions are addressed to the brand and kept whatever they say."""
    world = sb.world
    brand = world.account("reddit")
    subs = {s.lower() for s in SUBREDDITS}
    found = set()
    for p in world.posts("reddit"):
        parent = world.get("reddit", p.parent_id)
        searched = p.kind == "t3" and "skylark" in f"{p.title} {p.text}".lower()
        listed = p.place.lower() in subs
        mentioned = (p.kind == "t1" and "u/skylarkair" in p.text.lower() and p.author.id != brand.id
                     and not (parent and parent.author.id == brand.id))
        text = (p.text or p.title) if p.kind == "t3" else p.text
        if mentioned or ((searched or listed) and MATCHER.match(f"{p.title or ''}\n{text}", None)):
            found.add(fullname(p))
    return found


def stored(db) -> dict[str, Mention]:
    with db.session() as s:
        return {m.native_id: m for m in s.scalars(sa.select(Mention))}


def source_row(db, source_id) -> Source:
    with db.session() as s:
        row = s.get(Source, source_id)
        s.expunge(row)
        return row


def listing_requests(sb: Sandbox) -> list:
    return [r for r in sb.requests("reddit", method="GET")]


def test_collects_search_listings_and_inbox_across_pages(db, source_id, sandbox, clock, reddit) -> None:
    world = sandbox.world
    for i in range(150):  # more than a page of matching posts in a listed subreddit
        world.add_post("reddit", f"Trip report {i}: Skylark Air to Lisbon, smooth flight.", title=f"Skylark Air trip {i}",
                       place="travel", author=world.author_for("reddit", i % 40), at=clock.now - timedelta(seconds=600 - i))
    outcome = run(db, reddit, source_id, clock)
    assert outcome.status == "ok" and outcome.pages == 2 and outcome.skipped_items == 0
    rows = stored(db)
    assert set(rows) == expected(sandbox) and outcome.inserted == len(rows)
    paths = [r.path.rstrip("/") for r in listing_requests(sandbox)]
    assert paths.count("/r/all/search") == 2 and paths.count("/r/travel+SkylarkAir/new") == 2
    assert "/message/mentions" in paths and "/r/travel+SkylarkAir/comments" in paths
    second = [r for r in listing_requests(sandbox) if r.path.rstrip("/") == "/r/all/search"][1]
    assert second.query["after"] and second.query["sort"] == ["new"] and second.query["limit"] == ["100"]
    comment = next(m for m in rows.values() if m.native_id.startswith("t1_"))
    assert comment.conversation_id.startswith("t3_") and comment.parent_id[:3] in ("t1_", "t3_")
    post = next(m for m in rows.values() if m.native_id.startswith("t3_"))
    assert post.title and post.url.startswith("https://www.reddit.com/r/")
    assert source_row(db, source_id).health == SourceHealth.ok


def test_resumes_at_the_stored_cursor(db, source_id, sandbox, clock, reddit) -> None:
    run(db, reddit, source_id, clock)
    before = len(stored(db))
    clock.advance(minutes=2)
    world = sandbox.world
    post = world.add_post("reddit", "Where is my bag, Skylark Air?", title="Skylark Air lost my bag", place="travel",
                          author=world.author_for("reddit", 3))
    comment = world.add_post("reddit", "u/skylarkair same here, Skylark Air lost mine too", parent_id=post.id,
                             author=world.author_for("reddit", 4))
    sandbox.servers["reddit"].clear_requests()
    outcome = run(db, reddit, source_id, clock)
    assert (outcome.status, outcome.inserted, outcome.pages) == ("ok", 2, 1)
    assert set(stored(db)) - set() >= {fullname(post), fullname(comment)} and len(stored(db)) == before + 2
    # one page per stream: each stopped at its cursor instead of paging back through old items
    assert sorted(r.path.rstrip("/") for r in listing_requests(sandbox)) == [
        "/message/mentions", "/r/all/search", "/r/travel+SkylarkAir/comments", "/r/travel+SkylarkAir/new"]
    assert not any("after" in r.query for r in listing_requests(sandbox))
    with db.session() as s:
        values = set(s.scalars(sa.select(SourceCursor.value).where(SourceCursor.source_id == source_id)))
    assert any(v.endswith(fullname(comment)) for v in values) and any(v.endswith(fullname(post)) for v in values)


def test_re_seen_item_updates_engagement_without_a_duplicate(db, source_id, sandbox, clock, reddit) -> None:
    run(db, reddit, source_id, clock)
    count = len(stored(db))
    post = next(p for p in sandbox.world.posts("reddit") if fullname(p) in stored(db))
    post.likes = 777
    with db.session() as s:
        s.execute(sa.delete(SourceCursor))
    outcome = run(db, reddit, source_id, clock)
    assert outcome.status == "ok" and outcome.inserted == 0
    rows = stored(db)
    assert len(rows) == count and rows[fullname(post)].likes == 777


def test_rate_limit_pauses_for_retry_after(db, source_id, sandbox, clock, reddit) -> None:
    sandbox.inject("reddit", "rate_limit", route=NEW, retry_after_s=30)
    assert run(db, reddit, source_id, clock).status == "rate_limited"
    row = source_row(db, source_id)
    assert row.health == SourceHealth.paused and row.paused_until == clock.now + timedelta(seconds=30)
    asked = len(sandbox.requests("reddit"))
    clock.advance(seconds=20)
    assert run(db, reddit, source_id, clock).status == "paused" and len(sandbox.requests("reddit")) == asked
    clock.advance(seconds=11)
    assert run(db, reddit, source_id, clock).status == "ok"


def test_rate_limit_without_retry_after_backs_off(db, source_id, sandbox, clock, reddit) -> None:
    sandbox.inject("reddit", "rate_limit", route=NEW, with_reset=False)
    assert run(db, reddit, source_id, clock).status == "rate_limited"
    row = source_row(db, source_id)
    assert clock.now + timedelta(seconds=60) <= row.paused_until <= clock.now + timedelta(seconds=900)


def test_used_up_window_pauses_instead_of_sleeping(db, source_id, sandbox, clock, reddit) -> None:
    api = sandbox.apis["reddit"]
    api.send_rate_headers = True  # Reddit's x-ratelimit-* on every answer, as prawcore paces by them
    assert run(db, reddit, source_id, clock).status == "ok"
    api.window.limit = 0  # from now on the answers say: nothing left in this 10-minute window
    clock.advance(minutes=5)
    began = time.monotonic()
    outcome = run(db, reddit, source_id, clock)  # prawcore would sleep before its next request
    assert outcome.status == "rate_limited" and time.monotonic() - began < 1.5
    assert len(sandbox.requests("reddit", path=NEW)) == 1  # the second stream was not asked again
    row = source_row(db, source_id)
    assert clock.now < row.paused_until <= clock.now + timedelta(seconds=600)
    api.window.limit = 1000
    clock.now = row.paused_until
    assert run(db, reddit, source_id, clock).status == "ok"


def test_server_errors_retry_once_at_once_then_back_off(db, source_id, sandbox, clock, reddit) -> None:
    sandbox.inject("reddit", "server_error", route=NEW)
    began = time.monotonic()
    assert run(db, reddit, source_id, clock).status == "ok"  # one 500 is absorbed, with no sleep
    assert time.monotonic() - began < 1.5
    sandbox.inject("reddit", "server_error", route=NEW, status=503, times=2)
    clock.advance(minutes=5)
    outcome = run(db, reddit, source_id, clock)
    assert outcome.status == "unavailable" and "503" in outcome.error
    assert source_row(db, source_id).health == SourceHealth.degraded


def test_timeout_is_unavailable_and_fast(db, source_id, sandbox, clock) -> None:
    source = make_source(sandbox, clock, timeout=0.3)
    run(db, source, source_id, clock)  # logs in first, so only the listing is slow
    sandbox.inject("reddit", "delay", route=NEW, delay_s=3, times=2)
    clock.advance(minutes=5)
    began = time.monotonic()
    outcome = run(db, source, source_id, clock)
    source.close()
    assert outcome.status == "unavailable" and "timed out" in outcome.error
    assert time.monotonic() - began < 2


def test_malformed_item_is_skipped_and_the_rest_stored(db, source_id, sandbox, clock, reddit) -> None:
    sandbox.inject("reddit", "missing_fields", route=NEW)  # the newest post loses id and name
    outcome = run(db, reddit, source_id, clock)
    assert outcome.status == "ok" and outcome.skipped_items == 1
    newest = next(fullname(p) for p in reversed(sandbox.world.posts("reddit"))
                  if p.kind == "t3" and p.place.lower() in ("travel", "skylarkair"))
    assert set(stored(db)) >= expected(sandbox) - {newest}
    clock.advance(minutes=5)  # the cursor stayed behind the broken item, so it is read again
    run(db, reddit, source_id, clock)
    assert set(stored(db)) == expected(sandbox)


def test_unparseable_answer_is_unavailable(db, source_id, sandbox, clock, reddit) -> None:
    sandbox.inject("reddit", "malformed", route=NEW)
    outcome = run(db, reddit, source_id, clock)
    assert outcome.status == "unavailable" and "not valid JSON" in outcome.error


def test_refused_credentials_need_a_human(db, source_id, sandbox, clock) -> None:
    for settings, hint in ((live_config(sandbox, password=SecretStr("wrong")), "username and password"),
                           (live_config(sandbox, client_secret=SecretStr("wrong")), "client_secret")):
        source = make_source(sandbox, clock, **settings)
        outcome = run(db, source, source_id, clock)
        source.close()
        row = source_row(db, source_id)
        assert outcome.status == "auth_failed" and row.health == SourceHealth.unhealthy and hint in row.last_error
        clock.now = row.paused_until


def test_revoked_token_is_refreshed_once_then_reported(db, source_id, sandbox, clock, reddit) -> None:
    sandbox.inject("reddit", "unauthorized", route=NEW)
    assert run(db, reddit, source_id, clock).status == "ok"  # prawcore fetched a new token and retried
    sandbox.inject("reddit", "unauthorized", route=NEW, times=2)
    clock.advance(minutes=5)
    assert run(db, reddit, source_id, clock).status == "auth_failed"


def test_without_a_login_reads_only_public_listings(db, source_id, sandbox, clock) -> None:
    source = make_source(sandbox, clock, **live_config(sandbox, username=None, password=None), search_sitewide=False)
    outcome = run(db, source, source_id, clock)
    source.close()
    assert outcome.status == "ok" and outcome.inserted > 0
    token = sandbox.requests("reddit", method="POST", path="/api/v1/access_token")[0].form()
    assert token["grant_type"] == "client_credentials"
    paths = {r.path.rstrip("/") for r in listing_requests(sandbox)}
    assert paths == {"/r/travel+SkylarkAir/search", "/r/travel+SkylarkAir/new", "/r/travel+SkylarkAir/comments"}


def test_build_needs_app_credentials_outside_the_sandbox() -> None:
    with pytest.raises(ConfigError, match="client_id"):
        build(RedditSource(platform="reddit", name="live"), MATCHER)
    with pytest.raises(ConfigError, match="client_secret.*REDDIT_CLIENT_SECRET"):
        build(RedditSource(platform="reddit", name="live", client_id="abc"), MATCHER)
