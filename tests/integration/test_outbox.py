"""The outbox on a real database with a scripted publisher: approvals and permissions, idempotency,
one post from concurrent senders, backoff, permanent failures, reconciliation and dry runs.

The same paths run against every platform's real client library in test_publish_*.py and, with a
real crash, in test_reply_crash.py.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from core.errors import Conflict, InvalidInput, OutcomeUnknown, PermissionDenied, RateLimited, Rejected, Unavailable
from core.models import AuditEntry, Case, CaseStatus, Reply, ReplyState, Role
from responder import assignment, cases, outbox
from responder.sla import BusinessCalendar
from tests.fakes import responder as fx

NOW = datetime(2026, 3, 4, 10, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **kwargs: float) -> None:
        self.at += timedelta(**kwargs)


def open_case(db, conf, **mention):  # type: ignore[no-untyped-def]
    with db.session() as s:
        ids = fx.sync(s, conf)
        m = fx.mention(s, ids, at=NOW, **mention)
        cases.triage(s, conf.responder, now=NOW, calendar=BusinessCalendar.from_config(conf.responder.sla))
        s.refresh(m)
        return m.case_id


def users(db):  # type: ignore[no-untyped-def]
    with db.session() as s:
        return {name: fx.user(s, name, role, team) for name, role, team in (
            ("val", Role.viewer, "care"), ("ann", Role.agent, "care"), ("bob", Role.agent, "care"),
            ("tina", Role.agent, "trainees"), ("pam", Role.pr, "comms"))}


def draft(db, conf, who, case_id, text="Sorry about your bag, we are on it.", **kw):  # type: ignore[no-untyped-def]
    with db.session() as s:
        return outbox.save_draft(s, who, case_id, text, config=conf.responder, now=NOW, **kw).id


def submit(db, conf, who, reply_id):  # type: ignore[no-untyped-def]
    with db.session() as s:
        return outbox.submit(s, who, reply_id, config=conf.responder, now=NOW).state


def reply(db, reply_id: int) -> Reply:
    with db.session() as s:
        found = s.get(Reply, reply_id)
        assert found is not None
        return found


def pool(conf, publisher):  # type: ignore[no-untyped-def]
    return outbox.Publishers(conf, build=lambda config, timeout: publisher)


def test_replies_that_need_approval_wait_for_an_approver_and_agents_cannot_approve(db) -> None:
    conf = fx.settings({"approval": {"rules": [{"urgency_at_least": 0.8}, {"agent_teams": ["trainees"]}]}})
    u = users(db)
    calm = open_case(db, conf, urgency=0.3, author="@calm@x.social")
    hot = open_case(db, conf, urgency=0.9, author="@hot@x.social")
    plain = draft(db, conf, u["ann"], calm)
    assert submit(db, conf, u["ann"], plain) == ReplyState.approved  # no rule holds: straight out
    urgent = draft(db, conf, u["bob"], hot)
    assert submit(db, conf, u["bob"], urgent) == ReplyState.draft and reply(db, urgent).submitted_at is not None
    with db.session() as s:
        assert [r.id for r in outbox.awaiting_approval(s)] == [urgent]
        with pytest.raises(PermissionDenied, match="needs the role pr"):
            outbox.approve(s, u["ann"], urgent, now=NOW)
        outbox.reject(s, u["pam"], urgent, "Offer a refund code, not an apology", now=NOW)
    assert reply(db, urgent).submitted_at is None and "refund code" in reply(db, urgent).review_note
    with db.session() as s:
        assignment.release(s, u["bob"], hot, now=NOW)
        outbox.edit_draft(s, u["bob"], urgent, "Sorry! Here is a refund code: SKY-42.", config=conf.responder, now=NOW)
        outbox.submit(s, u["bob"], urgent, config=conf.responder, now=NOW)
        outbox.approve(s, u["pam"], urgent, now=NOW, text="Sorry! Here is a refund code: SKY-42. DM us.")
    approved = reply(db, urgent)
    assert approved.state == ReplyState.approved and approved.approved_by_id == u["pam"].id
    with db.session() as s:
        trail = [(e.actor, e.action) for e in s.scalars(sa.select(AuditEntry).where(
            AuditEntry.target_type == "reply", AuditEntry.target_id == str(urgent)).order_by(AuditEntry.id))]
        edit = s.scalars(sa.select(AuditEntry).where(AuditEntry.action == "reply.approve")).one()
    assert trail == [("bob", "reply.draft"), ("bob", "reply.submit"), ("pam", "reply.reject"), ("bob", "reply.edit"),
                     ("bob", "reply.submit"), ("pam", "reply.approve")]
    assert edit.details["edited_to"].endswith("DM us.")
    # A trainee's reply needs approval even on a calm case.
    with db.session() as s:
        assignment.release(s, u["ann"], calm, now=NOW)
    trainee = draft(db, conf, u["tina"], calm, text="Hi! Checking this now.")
    assert submit(db, conf, u["tina"], trainee) == ReplyState.draft


def test_a_viewer_cannot_write_or_send_and_a_second_agent_cannot_send_while_the_case_is_held(db) -> None:
    conf = fx.settings()
    u = users(db)
    case_id = open_case(db, conf)
    with pytest.raises(PermissionDenied):
        draft(db, conf, u["val"], case_id)
    mine = draft(db, conf, u["ann"], case_id)
    with pytest.raises(PermissionDenied, match="written by someone else"):
        submit(db, conf, u["bob"], mine)
    with pytest.raises(assignment.CaseHeld, match="ann is answering"):
        draft(db, conf, u["bob"], case_id)
    with pytest.raises(PermissionDenied):
        submit(db, conf, u["val"], mine)
    assert submit(db, conf, u["ann"], mine) == ReplyState.approved


def test_the_same_idempotency_key_gives_the_same_reply_and_text_is_checked_before_saving(db) -> None:
    conf = fx.settings()
    u = users(db)
    case_id = open_case(db, conf)
    first = draft(db, conf, u["ann"], case_id, idempotency_key="compose-1")
    assert draft(db, conf, u["ann"], case_id, idempotency_key="compose-1") == first
    with pytest.raises(InvalidInput, match="500"):
        draft(db, conf, u["ann"], case_id, text="x" * 501)
    with db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Reply)) == 1


def test_platforms_without_a_reply_api_offer_the_link_and_mark_handled(db) -> None:
    conf = fx.settings()
    u = users(db)
    case_id = open_case(db, conf, platform="hackernews", source="hn", author="pg")
    with pytest.raises(outbox.NoReplyApi, match="mark the case handled"):
        draft(db, conf, u["ann"], case_id)
    with db.session() as s:
        case = cases.mark_handled(s, u["ann"], case_id, now=NOW)
        assert case.status == CaseStatus.pending and case.first_response_at == NOW


def test_sending_records_the_platform_id_and_answers_the_case(db) -> None:
    conf = fx.settings()
    u = users(db)
    case_id = open_case(db, conf)
    rid = draft(db, conf, u["ann"], case_id)
    submit(db, conf, u["ann"], rid)
    publisher = fx.ScriptedPublisher()
    clock = Clock(NOW + timedelta(minutes=3))
    [outcome] = outbox.send_due(db, pool(conf, publisher), clock=clock)
    assert outcome.state == ReplyState.sent and publisher.posts == [(publisher.posts[0][0], reply(db, rid).text)]
    sent = reply(db, rid)
    assert (sent.platform_reply_id, sent.platform_url, sent.attempts) == ("post-1", "https://example/1", 1)
    with db.session() as s:
        case = s.get(Case, case_id)
        assert case.first_response_at == clock() and case.status == CaseStatus.pending and case.held_by_id is None
        assert [i.kind for i in cases.thread(s, case_id)] == ["mention", "reply"]
    assert outbox.send_due(db, pool(conf, publisher), clock=clock) == []  # nothing is sent twice


def test_concurrent_senders_post_once(db) -> None:
    conf = fx.settings()
    u = users(db)
    rid = draft(db, conf, u["ann"], open_case(db, conf))
    submit(db, conf, u["ann"], rid)
    start = threading.Barrier(4)
    publisher = fx.ScriptedPublisher()
    outcomes = []

    def send() -> None:
        start.wait()
        outcomes.append(outbox.deliver(db, rid, pool(conf, publisher), clock=lambda: NOW))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(publisher.posts) == 1
    assert sorted(o.detail == "not claimable" for o in outcomes) == [False, True, True, True]
    assert reply(db, rid).state == ReplyState.sent


def test_transient_errors_back_off_then_give_up_and_permanent_ones_fail_with_the_reason(db) -> None:
    conf = fx.settings({"sender": {"max_attempts": 3}})
    u = users(db)
    rid = draft(db, conf, u["ann"], open_case(db, conf))
    submit(db, conf, u["ann"], rid)
    clock = Clock(NOW)
    publisher = fx.ScriptedPublisher(script=[Unavailable("mastodon", "bad gateway", status=502),
                                             RateLimited("mastodon", "slow down", status=429, retry_after=300),
                                             Unavailable("mastodon", "bad gateway", status=502)])
    outbox.send_due(db, pool(conf, publisher), clock=clock)
    first = reply(db, rid)
    assert first.state == ReplyState.approved and first.next_attempt_at == NOW + timedelta(seconds=15)
    assert outbox.send_due(db, pool(conf, publisher), clock=clock) == []  # not due yet
    clock.advance(seconds=15)
    outbox.send_due(db, pool(conf, publisher), clock=clock)
    assert reply(db, rid).next_attempt_at == clock() + timedelta(seconds=300)  # the platform's retry-after
    clock.advance(seconds=300)
    outbox.send_due(db, pool(conf, publisher), clock=clock)
    failed = reply(db, rid)
    assert failed.state == ReplyState.failed and "gave up after 3 attempts" in failed.error and not publisher.posts
    # The agent retries once the platform is back.
    with db.session() as s:
        outbox.retry(s, u["ann"], rid, now=clock())
    outbox.send_due(db, pool(conf, publisher), clock=clock)
    assert reply(db, rid).state == ReplyState.sent

    rid2 = draft(db, conf, u["bob"], open_case(db, conf, author="@other@x.social"))
    submit(db, conf, u["bob"], rid2)
    refused = fx.ScriptedPublisher(script=[Rejected("mastodon", "The post you are trying to reply to does not appear "
                                                    "to exist.", status=404)])
    outbox.send_due(db, pool(conf, refused), clock=clock)
    gone = reply(db, rid2)
    assert gone.state == ReplyState.failed and "does not appear to exist" in gone.error
    with pytest.raises(Conflict):
        with db.session() as s:
            outbox.resolve_verify(s, u["bob"], rid2, posted=True, now=clock())


def test_an_unknown_outcome_is_looked_up_and_never_resent_blindly(db) -> None:
    conf = fx.settings()
    u = users(db)
    rid = draft(db, conf, u["ann"], open_case(db, conf))
    submit(db, conf, u["ann"], rid)
    landed = fx.ScriptedPublisher(script=[OutcomeUnknown("mastodon", "read timed out")], accept_before_raising=True)
    [outcome] = outbox.send_due(db, pool(conf, landed), clock=lambda: NOW)
    assert outcome.state == ReplyState.sent and reply(db, rid).platform_reply_id == "post-1" and len(landed.posts) == 1

    rid2 = draft(db, conf, u["bob"], open_case(db, conf, author="@b@x.social"))
    submit(db, conf, u["bob"], rid2)
    blind = fx.ScriptedPublisher(script=[OutcomeUnknown("mastodon", "read timed out")], accept_before_raising=True,
                                 lookups=False)
    outbox.send_due(db, pool(conf, blind), clock=lambda: NOW)
    flagged = reply(db, rid2)
    assert flagged.state == ReplyState.verify and "no way to look it up" in flagged.error
    assert outbox.send_due(db, pool(conf, blind), clock=lambda: NOW + timedelta(hours=1)) == []
    assert len(blind.posts) == 1
    with db.session() as s:
        outbox.resolve_verify(s, u["bob"], rid2, posted=True, now=NOW, url="https://example.social/@skylark/9")
    assert reply(db, rid2).state == ReplyState.sent


def test_a_reply_abandoned_in_sending_is_reconciled_after_the_lease(db) -> None:
    conf = fx.settings({"sender": {"lease_seconds": 60}})
    u = users(db)
    found_id = draft(db, conf, u["ann"], open_case(db, conf))
    lost_id = draft(db, conf, u["bob"], open_case(db, conf, author="@b@x.social"))
    for who, rid in ((u["ann"], found_id), (u["bob"], lost_id)):
        submit(db, conf, who, rid)
        with db.session() as s:
            assert outbox.claim(s, rid, now=NOW)  # a sender claimed both, then died
    publisher = fx.ScriptedPublisher()
    with db.session() as s:
        mention_id = s.get(Reply, found_id).in_reply_to_id
        from core.models import Mention
        publisher.posts.append((s.get(Mention, mention_id).native_id, s.get(Reply, found_id).text))
    assert outbox.send_due(db, pool(conf, publisher), clock=lambda: NOW + timedelta(seconds=30)) == []  # still leased
    outcomes = outbox.send_due(db, pool(conf, publisher), clock=lambda: NOW + timedelta(seconds=61))
    assert sorted((o.reply_id, o.state) for o in outcomes) == [(found_id, ReplyState.sent), (lost_id, ReplyState.verify)]
    assert len(publisher.posts) == 1  # nothing was posted again


def test_dry_run_sources_record_replies_without_calling_the_platform(db) -> None:
    conf = fx.settings(dry_run=True)
    u = users(db)
    rid = draft(db, conf, u["ann"], open_case(db, conf))
    submit(db, conf, u["ann"], rid)
    publisher = fx.ScriptedPublisher(script=[Rejected("mastodon", "must not be called")])
    [outcome] = outbox.send_due(db, pool(conf, publisher), clock=lambda: NOW)
    sent = reply(db, rid)
    assert outcome.detail == "dry run: not sent" and sent.state == ReplyState.sent and sent.dry_run
    assert publisher.posts == [] and sent.platform_reply_id is None


def test_the_outbox_list_is_newest_first_narrows_to_one_state_and_names_the_states_it_knows(db) -> None:
    from responder.queue import list_replies

    conf = fx.settings()
    u = users(db)
    approved = draft(db, conf, u["ann"], open_case(db, conf, author="@one@x.social"))
    submit(db, conf, u["ann"], approved)
    drafted = draft(db, conf, u["bob"], open_case(db, conf, author="@two@x.social"))
    with db.session() as s:
        assert [r.id for r in list_replies(s)] == [drafted, approved]
        assert [r.id for r in list_replies(s, "approved")] == [approved]
        assert [r.id for r in list_replies(s, "draft")] == [drafted]
        assert list_replies(s, "sent") == []
        assert [r.id for r in list_replies(s, limit=1)] == [drafted]
        with pytest.raises(InvalidInput, match="unknown state 'bogus'; use one of draft, approved, sending"):
            list_replies(s, "bogus")
