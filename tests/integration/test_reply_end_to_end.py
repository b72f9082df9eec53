"""From a collected mention to a reply on the platform, for each of the six platforms with a reply API:
the real listener collects a customer's post from the sandbox, triage opens a case, an agent writes
and sends a reply, and the outbox's sender posts it with the platform's real client library. The fake
platform must hold the reply once, addressed to the customer's post, sent with the brand's
credentials, and Earful must store the platform's id for it."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import unquote_plus

import pytest
import sqlalchemy as sa

from core.config import Settings
from core.db import Database
from core.models import Case, CaseStatus, Mention, Reply, ReplyState, Role
from core.store import record_scores, store_batch
from listener.registry import build_source
from listener.sandbox import Sandbox
from responder import cases, outbox
from responder.sla import BusinessCalendar
from sentiment.postprocess import ScoreResult
from tests.fakes import responder as fx
from tests.fakes.publishing import KITS, MATCHER, Kit, customer_thread
from tests.fakes.sandbox_fixtures import FrozenClock, clock, sandbox  # noqa: F401  (fixtures)

TEXT = "Hi, sorry your bag is missing. Please DM us your file reference and we will chase it today."
# What tells the fake platform which post is answered, in each platform's request.
THREAD_FIELD = {"x": "in_reply_to_tweet_id", "reddit": "thing_id", "mastodon": "in_reply_to_id",
                "bluesky": "parent", "youtube": "parentId", "discourse": "reply_to_post_number"}


@pytest.fixture(params=sorted(KITS))
def kit(request: pytest.FixtureRequest) -> Kit:
    return KITS[request.param]


def settings_for(sb: Sandbox, kit: Kit) -> Settings:
    source = kit.config(sb).model_dump(mode="python")
    return Settings.model_validate({
        "brands": [{"name": "Skylark Air", "queries": [{"expression": "skylark"}]}],
        "sources": [source],
        "responder": {"sender": {"timeout_seconds": 5}},
    })


def test_an_agent_reply_reaches_the_platform_once_and_its_id_is_stored(
    sqlite_db: Database, sandbox: Sandbox, clock: FrozenClock, kit: Kit  # noqa: F811
) -> None:
    conf = settings_for(sandbox, kit)
    name = conf.sources[0].name
    _, customer_post = customer_thread(sandbox, kit.platform)
    now: datetime = clock()
    with sqlite_db.session() as s:
        ids = fx.sync(s, conf)
        source = build_source(conf.source(name), MATCHER)
        try:
            batch = source.fetch({})
        finally:
            source.close()
        store_batch(s, batch.mentions, source_id=ids[name], now=now)
        inbound = s.scalars(sa.select(Mention).where(Mention.is_own.is_(False))).all()
        record_scores(s, [ScoreResult(m.id, "t", "negative", .8, .1, .1, -.6, "complaint", (), .5) for m in inbound],
                      now=now)
        cases.triage(s, conf.responder, now=now, calendar=BusinessCalendar.from_config(conf.responder.sla))
        answered = s.scalars(sa.select(Mention).where(Mention.native_id == kit.stored_id(sandbox, customer_post))).one()
        assert answered.case_id is not None
        agent = fx.user(s, "ann", Role.agent)
        draft = outbox.save_draft(s, agent, answered.case_id, TEXT, config=conf.responder, now=now,
                                  in_reply_to=answered.id)
        outbox.submit(s, agent, draft.id, config=conf.responder, now=now)
        reply_id, case_id = draft.id, answered.case_id

    publishers = outbox.Publishers(conf)
    try:
        [outcome] = outbox.send_due(sqlite_db, publishers, clock=clock)
    finally:
        publishers.close()
    assert outcome.state == ReplyState.sent, outcome.detail

    [posted] = [p for p in sandbox.world.api_posts(kit.platform) if TEXT in p.text]
    # Addressed to the customer's post; YouTube threads have one level, so there it is the thread's top.
    expected_parent = customer_post.parent_id if kit.platform == "youtube" else customer_post.id
    assert posted.parent_id == expected_parent
    [request] = sandbox.requests(kit.platform, "POST", kit.reply_route)
    wire = unquote_plus(request.body.decode(errors="replace"))
    assert THREAD_FIELD[kit.platform] in wire and TEXT in wire
    auth = {k.lower(): v for k, v in request.headers.items()}
    assert auth.get("authorization") or auth.get("api-key"), "the reply was sent without credentials"
    if kit.platform == "x":
        assert auth["authorization"].startswith("OAuth ")  # user context, as create_tweet requires
    with sqlite_db.session() as s:
        reply = s.get(Reply, reply_id)
        assert reply.platform_reply_id and posted.id in reply.platform_reply_id
        case = s.get(Case, case_id)
        assert case.status == CaseStatus.pending and case.first_response_at is not None
        assert [i.kind for i in cases.thread(s, case_id)][-1] == "reply"
    assert sandbox.handler_errors() == {}


def test_two_concurrent_sends_of_one_reply_post_once_on_the_platform(
    sqlite_db: Database, sandbox: Sandbox, clock: FrozenClock  # noqa: F811
) -> None:
    import threading

    kit = KITS["mastodon"]
    conf = settings_for(sandbox, kit)
    name = conf.sources[0].name
    _, customer_post = customer_thread(sandbox, kit.platform)
    now = clock()
    with sqlite_db.session() as s:
        ids = fx.sync(s, conf)
        source = build_source(conf.source(name), MATCHER)
        try:
            store_batch(s, source.fetch({}).mentions, source_id=ids[name], now=now)
        finally:
            source.close()
        answered = s.scalars(sa.select(Mention).where(Mention.native_id == kit.stored_id(sandbox, customer_post))).one()
        record_scores(s, [ScoreResult(answered.id, "t", "negative", .8, .1, .1, -.6, "complaint", (), .5)], now=now)
        cases.triage(s, conf.responder, now=now, calendar=BusinessCalendar.from_config(conf.responder.sla))
        s.refresh(answered)
        agent = fx.user(s, "ann", Role.agent)
        reply_id = outbox.save_draft(s, agent, answered.case_id, TEXT, config=conf.responder, now=now).id
        outbox.submit(s, agent, reply_id, config=conf.responder, now=now)

    start = threading.Barrier(2)
    outcomes: list[outbox.Outcome] = []

    def send() -> None:
        publishers = outbox.Publishers(conf)  # each "sender process" with its own client
        try:
            start.wait()
            outcomes.append(outbox.deliver(sqlite_db, reply_id, publishers, clock=clock))
        finally:
            publishers.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len([p for p in sandbox.world.api_posts("mastodon") if p.text == TEXT]) == 1
    assert len(sandbox.requests("mastodon", "POST", kit.reply_route)) == 1
    assert sorted(o.detail == "not claimable" for o in outcomes) == [False, True]  # one sender won the claim
    with sqlite_db.session() as s:
        assert s.get(Reply, reply_id).state == ReplyState.sent
