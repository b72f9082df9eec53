"""The YouTube source: the real google-api-python-client against the sandbox, polled into a real database."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from core.config import YouTubeSource
from core.models import Mention, SourceCursor, SourceHealth
from listener import youtube
from listener.sandbox import FaultKind, Sandbox
from tests.fakes.polling import DEMO_MATCHER, Poller
from tests.fakes.sandbox_fixtures import FrozenClock, clock, sandbox  # noqa: F401  (fixtures)

TIMEOUT = 5.0  # generous: a loaded CI machine must not turn a slow answer into a failed poll
SHORT_TIMEOUT = 0.5  # only where a fault must time out, so the test stays fast
PAGE = 5  # small pages, so the brand channel spans several
THREADS = "/youtube/v3/commentThreads"


@pytest.fixture
def poller(db, sandbox: Sandbox, clock: FrozenClock):  # noqa: F811
    source = make_source(sandbox, clock)
    yield Poller(db, source, clock)
    source.close()


def make_source(sb: Sandbox, clock: FrozenClock, *, timeout: float = TIMEOUT, **config: object) -> youtube.YouTubeListener:
    options = {"sandbox": True, "channel_ids": (sb.accounts()["youtube"]["id"],), **config}
    conf = YouTubeSource(name="yt", platform="youtube", base_url=sb.base_urls["youtube"], **options)
    return youtube.build(conf, DEMO_MATCHER, timeout=timeout, clock=clock, page_size=PAGE)


def mentions(db) -> dict[str, Mention]:
    with db.session() as s:
        return {m.native_id: m for m in s.scalars(sa.select(Mention))}


def test_collect_paginate_resume_and_dedupe(poller: Poller, db, sandbox: Sandbox, clock: FrozenClock) -> None:  # noqa: F811
    channel = sandbox.accounts()["youtube"]["id"]
    first = poller.poll()
    assert first.status == "ok" and first.inserted > 0
    stored = mentions(db)
    world = {p.id: p for p in sandbox.world.posts("youtube")}
    assert set(stored) <= set(world) and all(world[i].extra["channel_id"] == channel for i in stored)
    sample = next(m for m in stored.values() if m.parent_id is None)
    assert sample.url == f"https://www.youtube.com/watch?v={sample.raw['videoId']}&lc={sample.native_id}"
    assert sample.conversation_id == sample.native_id
    with db.session() as s:
        mark = s.scalar(sa.select(SourceCursor.value).where(SourceCursor.key == poller.source.key(channel)))
    assert mark

    # the newest thread gains likes and an answer from the brand; both show on the next sweep
    newest = max((m for m in stored.values() if m.parent_id is None), key=lambda m: m.created_at)
    world[newest.native_id].likes += 9
    first_poll_at = clock()
    clock.advance(minutes=30)
    sandbox.world.tick()
    answer = sandbox.world.reply("youtube", newest.native_id, "Sorry to hear that, please DM us your booking code.")
    sandbox.servers["youtube"].clear_requests()
    quota_before = sandbox.apis["youtube"].quota_used

    second = poller.poll()
    assert second.status == "ok" and second.pages > 1 and second.inserted > 0
    calls = sandbox.requests("youtube", path=THREADS)
    assert any(r.query.get("pageToken") for r in calls)
    assert all(r.query["order"] == ["time"] and r.query["allThreadsRelatedToChannelId"] == [channel] for r in calls)
    assert sandbox.apis["youtube"].quota_used - quota_before == len(calls) == second.pages  # 1 unit a call
    after = mentions(db)
    expected = {p.id for p in sandbox.world.posts("youtube") if p.parent_id is None and p.created_at > first_poll_at
                and p.extra["channel_id"] == channel and DEMO_MATCHER.match(p.text, p.lang)}
    assert expected and expected <= set(after)
    assert len(after) == len(stored) + second.inserted
    assert after[newest.native_id].likes == world[newest.native_id].likes
    own = after[answer.id]
    assert own.is_own and own.parent_id == newest.native_id and own.conversation_id == newest.native_id

    sandbox.servers["youtube"].clear_requests()
    third = poller.poll()
    assert third.status == "ok" and third.inserted == 0 and len(sandbox.requests("youtube", path=THREADS)) == 1


def test_quota_exceeded_pauses_until_midnight_pacific(poller: Poller, sandbox: Sandbox, clock: FrozenClock) -> None:  # noqa: F811
    sandbox.inject("youtube", FaultKind.RATE_LIMIT, route=THREADS)  # YouTube's 403 quotaExceeded, no reset header
    outcome = poller.poll()
    assert outcome.status == "rate_limited"
    row = poller.row()
    assert row.health == SourceHealth.paused and "quota" in row.last_error
    assert clock() == datetime(2025, 3, 14, 12, tzinfo=timezone.utc)  # 05:00 PDT
    assert row.paused_until == datetime(2025, 3, 15, 7, tzinfo=timezone.utc)  # 00:00 PDT
    assert poller.poll().status == "paused"
    clock.now = row.paused_until
    assert poller.poll().status == "ok" and poller.stored()


def test_a_429_without_reset_backs_off(poller: Poller, sandbox: Sandbox, clock: FrozenClock) -> None:  # noqa: F811
    sandbox.inject("youtube", FaultKind.SERVER_ERROR, route=THREADS, status=429)
    assert poller.poll().status == "rate_limited"
    assert poller.row().paused_until >= clock() + timedelta(seconds=60)


@pytest.mark.parametrize("kind", [FaultKind.SERVER_ERROR, FaultKind.DELAY, FaultKind.MALFORMED, FaultKind.DISCONNECT])
def test_transient_failures_back_off_and_recover(kind: FaultKind, poller: Poller, sandbox: Sandbox,
                                                 clock: FrozenClock) -> None:  # noqa: F811
    times = 2 if kind == FaultKind.DISCONNECT else 1  # httplib2 retries a dropped connection once by itself
    with poller.using(make_source(sandbox, clock, timeout=SHORT_TIMEOUT)):  # recovery, below, with the usual timeout
        sandbox.inject("youtube", kind, route=THREADS, times=times, delay_s=SHORT_TIMEOUT * 4, status=503)
        outcome = poller.poll()
        assert outcome.status == "unavailable", outcome
        assert poller.row().health == SourceHealth.degraded and poller.stored() == []
    poller.unpause()
    assert poller.poll().status == "ok" and poller.stored()


def test_a_malformed_thread_is_skipped_and_the_rest_stored(poller: Poller, sandbox: Sandbox) -> None:  # noqa: F811
    sandbox.inject("youtube", FaultKind.MISSING_FIELDS, route=THREADS)
    outcome = poller.poll()
    assert outcome.status == "ok" and outcome.skipped_items >= 1 and outcome.inserted > 0


def test_a_refused_api_key_needs_a_human(db, sandbox: Sandbox, clock: FrozenClock) -> None:  # noqa: F811
    source = make_source(sandbox, clock, sandbox=False, api_key=SecretStr("wrong"))
    outcome = Poller(db, source, clock).poll()
    assert outcome.status == "auth_failed" and "API key" in outcome.error
    source.close()
