"""Cases on a real database: grouping by thread and customer, reopening, routing, round-robin with
capacity, holds, SLA due times in business hours, breaches, notes, permissions and audit."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from core.customers import link_authors
from core.errors import InvalidInput, PermissionDenied
from core.models import AuditEntry, Case, CaseStatus, Mention, Role
from responder import assignment, cases
from responder.sla import BusinessCalendar
from tests.fakes import responder as fx

# Friday 2026-03-06 16:30 in London (UTC+0 in March before the clocks change).
FRIDAY = datetime(2026, 3, 6, 16, 30, tzinfo=timezone.utc)


def triage(session, conf, now):  # type: ignore[no-untyped-def]
    return cases.triage(session, conf.responder, now=now, calendar=BusinessCalendar.from_config(conf.responder.sla))


def actions(session, action: str) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    return list(session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def test_thread_and_person_group_mentions_and_own_or_competitor_posts_open_none(db) -> None:
    conf = fx.settings()
    with db.session() as s:
        ids = fx.sync(s, conf)
        first = fx.mention(s, ids, conversation_id="t1", at=FRIDAY)
        again = fx.mention(s, ids, conversation_id="t1", text="skylark still nothing", at=FRIDAY + timedelta(minutes=5))
        other_person = fx.mention(s, ids, conversation_id="t1", author="@sam@example.social", at=FRIDAY)
        own = fx.mention(s, ids, is_own=True, author="@skylarkair", at=FRIDAY)
        rival = fx.mention(s, ids, brands=("Nimbus Airways",), text="nimbus is late", at=FRIDAY)
        result = triage(s, conf, FRIDAY + timedelta(minutes=10))
        assert (result.seen, result.opened, result.joined, result.skipped) == (5, 2, 1, 2)
        s.refresh(first), s.refresh(again), s.refresh(other_person), s.refresh(own), s.refresh(rival)
        assert first.case_id == again.case_id is not None
        assert other_person.case_id not in (None, first.case_id)
        assert own.case_id is None and rival.case_id is None
        assert all(m.triaged_at is not None for m in (first, own, rival))
        assert triage(s, conf, FRIDAY + timedelta(minutes=11)).seen == 0  # nothing is looked at twice


def test_same_customer_on_another_platform_joins_the_open_case(db) -> None:
    conf = fx.settings()
    with db.session() as s:
        ids = fx.sync(s, conf)
        admin = fx.user(s, "root", Role.admin)
        on_mastodon = fx.mention(s, ids, author="@jo@example.social", at=FRIDAY)
        triage(s, conf, FRIDAY)
        on_x = fx.mention(s, ids, platform="x", source="bird", author="@jo", at=FRIDAY + timedelta(hours=1))
        link_authors(s, admin, ["mastodon:@jo@example.social", "x:@jo"], name="Jo")
        s.flush()
        triage(s, conf, FRIDAY + timedelta(hours=1))
        s.refresh(on_mastodon), s.refresh(on_x)
        assert on_x.case_id == on_mastodon.case_id
        assert [m.id for m in s.get(Case, on_x.case_id).mentions] == [on_mastodon.id, on_x.id]


def test_closed_case_reopens_on_a_new_mention_in_its_thread_within_the_window(db) -> None:
    conf = fx.settings({"cases": {"reopen_days": 2}})
    with db.session() as s:
        ids = fx.sync(s, conf)
        agent = fx.user(s, "ann")
        m1 = fx.mention(s, ids, conversation_id="t9", at=FRIDAY)
        triage(s, conf, FRIDAY)
        s.refresh(m1)
        cases.set_status(s, agent, m1.case_id, "closed", now=FRIDAY + timedelta(hours=1))
        m2 = fx.mention(s, ids, conversation_id="t9", at=FRIDAY + timedelta(days=1))
        triage(s, conf, FRIDAY + timedelta(days=1))
        s.refresh(m2)
        case = s.get(Case, m1.case_id)
        assert m2.case_id == case.id and case.status == CaseStatus.open and case.closed_at is None
        assert [e.target_id for e in actions(s, "case.reopen")] == [str(case.id)]
        cases.set_status(s, agent, case.id, "closed", now=FRIDAY + timedelta(days=1, hours=1))
        m3 = fx.mention(s, ids, conversation_id="t9", at=FRIDAY + timedelta(days=5))
        triage(s, conf, FRIDAY + timedelta(days=5))
        s.refresh(m3)
        assert m3.case_id != case.id  # closed too long ago: a new case


def test_round_robin_skips_full_agents_and_rules_route_to_the_senior_team(db) -> None:
    conf = fx.settings({"assignment": {"capacity": 2, "rules": [
        {"when": {"urgency_at_least": 0.8}, "team": "senior"},
        {"when": {"reach_at_least": 50000}, "team": "senior"},
    ]}})
    with db.session() as s:
        ids = fx.sync(s, conf)
        ann, bob = fx.user(s, "ann"), fx.user(s, "bob")
        fx.user(s, "val", Role.viewer)  # viewers never get cases
        sue = fx.user(s, "sue", Role.manager, team="senior")
        for i in range(5):
            fx.mention(s, ids, author=f"@p{i}@example.social", at=FRIDAY + timedelta(minutes=i))
        urgent = fx.mention(s, ids, author="@angry@example.social", urgency=0.9, at=FRIDAY + timedelta(minutes=6))
        famous = fx.mention(s, ids, author="@star@example.social", followers=80_000, at=FRIDAY + timedelta(minutes=7))
        triage(s, conf, FRIDAY + timedelta(minutes=10))
        owners = [s.get(Case, m.case_id).assignee_id for m in s.scalars(
            sa.select(Mention).where(Mention.author.has(), Mention.id < urgent.id).order_by(Mention.id))]
        assert owners == [ann.id, bob.id, ann.id, bob.id, None]  # the fifth waits: both are at capacity
        s.refresh(urgent), s.refresh(famous)
        assert s.get(Case, urgent.case_id).team == "senior" and s.get(Case, urgent.case_id).assignee_id == sue.id
        assert s.get(Case, famous.case_id).team == "senior"


def test_a_rising_urgency_escalates_an_open_case(db) -> None:
    conf = fx.settings({"assignment": {"rules": [{"when": {"urgency_at_least": 0.8}, "team": "senior"}]}})
    with db.session() as s:
        ids = fx.sync(s, conf)
        fx.user(s, "ann")
        sue = fx.user(s, "sue", Role.manager, team="senior")
        m1 = fx.mention(s, ids, conversation_id="t", urgency=0.3, at=FRIDAY)
        triage(s, conf, FRIDAY)
        fx.mention(s, ids, conversation_id="t", urgency=0.95, text="skylark I will sue you", at=FRIDAY + timedelta(minutes=1))
        triage(s, conf, FRIDAY + timedelta(minutes=1))
        s.refresh(m1)
        case = s.get(Case, m1.case_id)
        assert (case.team, case.assignee_id, case.urgency) == ("senior", sue.id, 0.95)
        assert actions(s, "case.escalate")[0].details == {"from_team": "care", "to_team": "senior"}


def test_sla_due_times_follow_business_hours_in_the_configured_zone(db) -> None:
    conf = fx.settings({"sla": {
        "timezone": "Europe/London", "business_hours": {"days": ["mon", "tue", "wed", "thu", "fri"],
                                                        "start": "09:00", "end": "17:30"},
        "policies": [
            {"name": "urgent", "when": {"urgency_at_least": 0.8}, "first_response_minutes": 30,
             "resolution_hours": 4, "business_hours_only": False},
            {"name": "standard", "first_response_minutes": 120, "resolution_hours": 8},
        ]}})
    with db.session() as s:
        ids = fx.sync(s, conf)
        calm = fx.mention(s, ids, author="@a@x.social", urgency=0.2, at=FRIDAY)
        hot = fx.mention(s, ids, author="@b@x.social", urgency=0.9, at=FRIDAY)
        triage(s, conf, FRIDAY)  # Friday 16:30 London
        s.refresh(calm), s.refresh(hot)
        standard, urgent = s.get(Case, calm.case_id), s.get(Case, hot.case_id)
        assert standard.sla_policy == "standard"
        # 60 minutes left on Friday (16:30-17:30), the other 60 on Monday from 09:00.
        assert standard.first_response_due == datetime(2026, 3, 9, 10, 0, tzinfo=timezone.utc)
        # 8 business hours: 1 on Friday, 7 on Monday (09:00-16:00).
        assert standard.resolution_due == datetime(2026, 3, 9, 16, 0, tzinfo=timezone.utc)
        assert urgent.sla_policy == "urgent"  # around the clock
        assert urgent.first_response_due == FRIDAY + timedelta(minutes=30)


def test_breaches_are_recorded_once_and_a_late_answer_counts_as_breached(db) -> None:
    conf = fx.settings({"sla": {"policies": [
        {"name": "fast", "first_response_minutes": 10, "resolution_hours": 1, "business_hours_only": False}]}})
    with db.session() as s:
        ids = fx.sync(s, conf)
        agent = fx.user(s, "ann")
        m = fx.mention(s, ids, at=FRIDAY)
        triage(s, conf, FRIDAY)
        s.refresh(m)
        assert cases.record_breaches(s, now=FRIDAY + timedelta(minutes=9)) == 0
        assert cases.record_breaches(s, now=FRIDAY + timedelta(minutes=11)) == 1
        assert cases.record_breaches(s, now=FRIDAY + timedelta(minutes=12)) == 0
        case = s.get(Case, m.case_id)
        assert case.first_response_breached and not case.resolution_breached
        cases.mark_handled(s, agent, case.id, now=FRIDAY + timedelta(minutes=20))
        assert case.status == CaseStatus.pending and case.first_response_at is not None
        assert cases.record_breaches(s, now=FRIDAY + timedelta(hours=2)) == 1  # resolution now late
        assert [e.details["target"] for e in actions(s, "sla.breach")] == ["first_response", "resolution"]


def test_holds_keep_a_second_agent_out_until_released_or_expired(db) -> None:
    conf = fx.settings()
    with db.session() as s:
        ids = fx.sync(s, conf)
        ann, bob, boss = fx.user(s, "ann"), fx.user(s, "bob"), fx.user(s, "boss", Role.manager)
        m = fx.mention(s, ids, at=FRIDAY)
        triage(s, conf, FRIDAY)
        s.refresh(m)
        assignment.hold(s, ann, m.case_id, now=FRIDAY, minutes=10)
        with pytest.raises(assignment.CaseHeld, match="ann is answering"):
            assignment.hold(s, bob, m.case_id, now=FRIDAY + timedelta(minutes=5), minutes=10)
        assignment.hold(s, ann, m.case_id, now=FRIDAY + timedelta(minutes=5), minutes=10)  # ann renews
        assert assignment.hold(s, bob, m.case_id, now=FRIDAY + timedelta(minutes=16), minutes=10).holder == "bob"
        with pytest.raises(PermissionDenied):
            assignment.release(s, ann, m.case_id, now=FRIDAY + timedelta(minutes=17))
        assignment.release(s, boss, m.case_id, now=FRIDAY + timedelta(minutes=17))
        assert assignment.hold(s, ann, m.case_id, now=FRIDAY + timedelta(minutes=18), minutes=10).holder == "ann"
        assert actions(s, "case.hold_broken")[0].actor == "boss"


def test_permissions_are_checked_where_the_action_happens(db) -> None:
    conf = fx.settings({"assignment": {"mode": "manual"}})
    with db.session() as s:
        ids = fx.sync(s, conf)
        viewer, ann, bob = fx.user(s, "val", Role.viewer), fx.user(s, "ann"), fx.user(s, "bob")
        lead = fx.user(s, "lead", Role.pr)
        m = fx.mention(s, ids, at=FRIDAY)
        triage(s, conf, FRIDAY)
        s.refresh(m)
        case = s.get(Case, m.case_id)
        assert case.assignee_id is None and case.team == "care"  # manual: routed to the team only
        for act in (lambda: cases.add_note(s, viewer, case.id, "hi", now=FRIDAY),
                    lambda: cases.set_status(s, viewer, case.id, "closed", now=FRIDAY),
                    lambda: assignment.assign(s, viewer, case.id, "val", now=FRIDAY),
                    lambda: assignment.hold(s, viewer, case.id, now=FRIDAY, minutes=5)):
            with pytest.raises(PermissionDenied):
                act()
        with pytest.raises(PermissionDenied, match="assign cases to someone else"):
            assignment.assign(s, ann, case.id, "bob", now=FRIDAY)
        assignment.assign(s, ann, case.id, "ann", now=FRIDAY)  # taking it is fine
        assert case.status == CaseStatus.open
        assignment.assign(s, lead, case.id, "bob", now=FRIDAY)
        with pytest.raises(InvalidInput, match="viewer"):
            assignment.assign(s, lead, case.id, "val", now=FRIDAY)
        note = cases.add_note(s, bob, case.id, "  called them back  ", now=FRIDAY)
        assert note.text == "called them back"
        with pytest.raises(InvalidInput, match="empty"):
            cases.add_note(s, bob, case.id, "   ", now=FRIDAY)
        assert [(e.actor, e.details.get("to")) for e in actions(s, "case.assign")] == [("ann", "ann"), ("lead", "bob")]
        assert [kind for kind in (i.kind for i in cases.thread(s, case.id))] == ["mention", "note"]
