"""The role × action matrix: every acting function refuses a role below the one docs/architecture.md
(Permissions) and docs/operations.md (Users) give it, and allows that role and every role above.

Function level: each action in ACTIONS is run once per role (viewer < agent < pr < manager < admin) in
a savepoint that is rolled back, so every role meets the same state. A scan of core/, responder/ and
sentiment/ for `require(` fails the suite when an acting function is added without a row here.

Through the app (Streamlit AppTest on the same database): a role below an action's never sees its
button, so it cannot trigger it; pages above a role stop with the role they need.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from core import alerts, corrections, customers, inbox, metrics, privacy, users
from core.db import Database
from core.errors import PermissionDenied
from core.models import Alert, AuditEntry, Author, Case, Customer, Reply, ReplyState, Role, User
from responder import actions, assignment, cases, csat, outbox
from responder.sla import BusinessCalendar
from tests.fakes import apptest as fa
from tests.fakes import responder as fx

REPO = Path(__file__).resolve().parents[2]
ROLES = (Role.viewer, Role.agent, Role.pr, Role.manager, Role.admin)
RANK = {role: i for i, role in enumerate(ROLES)}
NOW = datetime.now(timezone.utc)
CONFIG = """
database: {{url: 'sqlite:///{db}'}}
brands:
  - {{name: Skylark Air, queries: [{{keywords: [skylark]}}]}}
sources:
  - {{name: masto, platform: mastodon, sandbox: true, dry_run: true}}
  - {{name: bird, platform: x, sandbox: true, dry_run: true}}
  - {{name: hn, platform: hackernews, sandbox: true}}
responder:
  csat: {{enabled: true}}
"""


@dataclass
class World:
    db: Database
    settings: Any
    case: int  # a Mastodon case nobody holds
    x_case: int  # an X case (X posts can be hidden)
    mention: int
    other: int  # id of "ann", an agent who is not the actor
    others_draft: int  # a draft ann wrote
    failed: int  # a failed reply
    verify: int  # a reply waiting for a human to check the platform
    submitted: int  # a draft waiting for approval
    alert: int


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with fa.app_database(tmp_path, CONFIG, monkeypatch) as (conf, db):
        with db.session() as s:
            source_ids = fx.sync(s, conf)
            for role in ROLES:
                fx.user(s, role.value, role)
            ann = fx.user(s, "ann", Role.agent)
            calm = fx.mention(s, source_ids, text="skylark lost my bag", author="@jo@example.social", at=NOW)
            bird = fx.mention(s, source_ids, text="skylark delayed", author="@kim", platform="x", source="bird", at=NOW)
            hot = fx.mention(s, source_ids, text="skylark broke my chair", author="@lee@example.social", at=NOW)
            cases.triage(s, conf.responder, now=NOW, calendar=BusinessCalendar.from_config(conf.responder.sla))
            for m in (calm, bird, hot):
                s.refresh(m)
            fx.mention(s, source_ids, text="skylark again", author="@jo_x", platform="x", source="bird", at=NOW)
            draft = outbox.save_draft(s, ann, hot.case_id, "sorry", config=conf.responder, now=NOW)
            failed = outbox.save_draft(s, ann, hot.case_id, "sorry again", config=conf.responder, now=NOW)
            verify = outbox.save_draft(s, ann, hot.case_id, "sorry thrice", config=conf.responder, now=NOW)
            submitted = outbox.save_draft(s, ann, hot.case_id, "please approve", config=conf.responder, now=NOW)
            failed.state, verify.state, submitted.submitted_at = ReplyState.failed, ReplyState.verify, NOW
            assignment.release(s, ann, hot.case_id, now=NOW)
            alert = Alert(brand_id=1, kind="volume_spike", severity="major", summary="spike", opened_at=NOW, updated_at=NOW)
            s.add(alert)
            s.flush()
            built = World(db, conf, calm.case_id, bird.case_id, calm.id, ann.id, draft.id, failed.id, verify.id,
                          submitted.id, alert.id)
        yield built


def _held_by_other(s: Session, w: World) -> int:
    s.execute(sa.update(Case).where(Case.id == w.case).values(held_by_id=w.other, hold_expires_at=NOW + timedelta(hours=1)))
    return w.case


def _own_draft(s: Session, w: World, actor: User) -> int:
    reply = Reply(case_id=w.case, in_reply_to_id=w.mention, platform="mastodon", text="mine", state=ReplyState.draft,
                  idempotency_key=f"own-{actor.id}", author_user_id=actor.id, created_at=NOW, updated_at=NOW)
    s.add(reply)
    s.flush()
    return reply.id


def _kims_profile(s: Session) -> int:
    """A customer profile holding the X author @kim (the state a staff link leaves)."""
    profile = Customer(display_name="kim")
    s.add(profile)
    s.flush()
    s.execute(sa.update(Author).where(Author.handle == "@kim").values(customer_id=profile.id))
    return profile.id


def _inactive_ann(s: Session) -> str:
    s.execute(sa.update(User).where(User.username == "ann").values(active=False))
    return "ann"


def _publishers(w: World) -> outbox.Publishers:
    return outbox.Publishers(w.settings, build=lambda config, timeout: fx.ScriptedPublisher())


Action = Callable[[Session, World, User], Any]


@dataclass(frozen=True)
class Row:
    name: str
    least: Role
    act: Action
    covers: tuple[str, ...]  # the functions (module:function) whose require() this row exercises
    in_session: bool = True  # False: the function opens its own sessions (it gets the Database)


ACTIONS: tuple[Row, ...] = (
    Row("export the inbox", Role.viewer,
        lambda s, w, a: inbox.export_inbox_csv(s, inbox.InboxFilters(), actor=a), ("core.inbox:export_inbox_csv",)),
    Row("export mentions", Role.pr,
        lambda s, w, a: metrics.export_mentions_csv(s, metrics.Filters(start=NOW - timedelta(days=1), end=NOW + timedelta(hours=1)),
                                                    actor=a), ("core.metrics:export_mentions_csv",)),
    Row("correct model output", Role.agent,
        lambda s, w, a: corrections.record_correction(s, a, w.mention, "sentiment", "neutral", now=NOW),
        ("core.corrections:record_correction",)),
    Row("link customer profiles", Role.agent,
        lambda s, w, a: customers.link_authors(s, a, ["mastodon:@jo@example.social", "x:@jo_x"]),
        ("core.customers:link_authors",)),
    Row("acknowledge an alert", Role.pr, lambda s, w, a: alerts.acknowledge(s, a, w.alert, now=NOW),
        ("core.alerts:acknowledge",)),
    Row("erase a person", Role.admin, lambda s, w, a: privacy.erase_author(s, a, "x", "@kim", now=NOW),
        ("core.privacy:erase_author",)),
    Row("preview an erasure", Role.admin, lambda s, w, a: privacy.erasure_preview(s, a, "x", "@kim"),
        ("core.privacy:erasure_preview",)),
    Row("erase a customer's every account", Role.admin,
        lambda s, w, a: privacy.erase_customer(s, a, _kims_profile(s), now=NOW), ("core.privacy:erase_customer",)),
    Row("preview a customer's erasure", Role.admin,
        lambda s, w, a: privacy.customer_erasure_preview(s, a, _kims_profile(s)),
        ("core.privacy:customer_erasure_preview",)),
    Row("take a case", Role.agent, lambda s, w, a: assignment.assign(s, a, w.case, a.username, now=NOW),
        ("responder.assignment:assign",)),
    Row("assign a case to someone else", Role.pr, lambda s, w, a: assignment.assign(s, a, w.case, "ann", now=NOW),
        ("responder.assignment:assign",)),
    Row("take cases in bulk", Role.agent,
        lambda s, w, a: assignment.bulk_assign(s, a, [w.case, w.x_case], a.username, now=NOW),
        ("responder.assignment:bulk_assign",)),
    Row("hold a case to answer it", Role.agent, lambda s, w, a: assignment.hold(s, a, w.case, now=NOW, minutes=10),
        ("responder.assignment:hold",)),
    Row("break another agent's hold", Role.manager,
        lambda s, w, a: assignment.release(s, a, _held_by_other(s, w), now=NOW), ("responder.assignment:release",)),
    Row("change a case's status", Role.agent, lambda s, w, a: cases.set_status(s, a, w.case, "pending", now=NOW),
        ("responder.cases:set_status",)),
    Row("close cases in bulk", Role.agent,
        lambda s, w, a: cases.bulk_status(s, a, [w.case, w.x_case], "closed", now=NOW), ("responder.cases:bulk_status",)),
    Row("mark a case handled", Role.agent, lambda s, w, a: cases.mark_handled(s, a, w.case, now=NOW),
        ("responder.cases:mark_handled",)),
    Row("write a note", Role.agent, lambda s, w, a: cases.add_note(s, a, w.case, "a note", now=NOW),
        ("responder.cases:add_note",)),
    Row("write a reply", Role.agent,
        lambda s, w, a: outbox.save_draft(s, a, w.case, "hello", config=w.settings.responder, now=NOW),
        ("responder.outbox:save_draft",)),
    Row("edit one's own draft", Role.agent,
        lambda s, w, a: outbox.edit_draft(s, a, _own_draft(s, w, a), "hello again", config=w.settings.responder, now=NOW),
        ("responder.outbox:edit_draft", "responder.outbox:_require_author_or_approver")),
    Row("edit someone else's draft", Role.pr,
        lambda s, w, a: outbox.edit_draft(s, a, w.others_draft, "edited", config=w.settings.responder, now=NOW),
        ("responder.outbox:edit_draft", "responder.outbox:_require_author_or_approver")),
    Row("send one's own reply", Role.agent,
        lambda s, w, a: outbox.submit(s, a, _own_draft(s, w, a), config=w.settings.responder, now=NOW),
        ("responder.outbox:submit",)),
    Row("send someone else's reply", Role.pr,
        lambda s, w, a: outbox.submit(s, a, w.others_draft, config=w.settings.responder, now=NOW),
        ("responder.outbox:submit",)),
    Row("approve a reply", Role.pr, lambda s, w, a: outbox.approve(s, a, w.submitted, now=NOW),
        ("responder.outbox:approve",)),
    Row("reject a reply", Role.pr, lambda s, w, a: outbox.reject(s, a, w.submitted, "tone", now=NOW),
        ("responder.outbox:reject",)),
    Row("retry a failed reply", Role.agent, lambda s, w, a: outbox.retry(s, a, w.failed, now=NOW),
        ("responder.outbox:retry",)),
    Row("resolve a reply to verify", Role.agent,
        lambda s, w, a: outbox.resolve_verify(s, a, w.verify, posted=True, now=NOW), ("responder.outbox:resolve_verify",)),
    Row("close with a survey", Role.agent,
        lambda s, w, a: csat.close_with_survey(s, a, w.case, config=w.settings.responder, now=NOW),
        ("responder.csat:close_with_survey",)),
    Row("like a post", Role.agent, lambda db, w, a: actions.like(db, _publishers(w), a, w.mention),
        ("responder.actions:like", "responder.actions:_load"), in_session=False),
    Row("hide or remove a post", Role.pr,
        lambda db, w, a: actions.moderate(db, _publishers(w), a, w.mention, "hide"),
        ("responder.actions:moderate", "responder.actions:_load"), in_session=False),
    Row("add a user", Role.admin,
        lambda s, w, a: users.add_user(s, a, f"new-{a.username}", "correct horse", Role.agent), ("core.users:add_user",)),
    Row("change a user's role", Role.admin, lambda s, w, a: users.set_role(s, a, "ann", Role.admin),
        ("core.users:set_role",)),
    Row("move a user to a team", Role.admin, lambda s, w, a: users.set_team(s, a, "ann", "senior"),
        ("core.users:set_team",)),
    Row("set another user's password", Role.admin, lambda s, w, a: users.set_password(s, a, "ann", "correct horse"),
        ("core.users:set_password",)),
    Row("set one's own password", Role.viewer,
        lambda s, w, a: users.set_password(s, a, a.username, "correct horse"), ("core.users:set_password",)),
    Row("deactivate a user", Role.admin, lambda s, w, a: users.deactivate_user(s, a, "ann"),
        ("core.users:deactivate_user",)),
    Row("reactivate a user", Role.admin, lambda s, w, a: users.reactivate_user(s, a, _inactive_ann(s)),
        ("core.users:reactivate_user",)),
)


def acting_functions() -> set[str]:
    """module:function of every function in core/, responder/ and sentiment/ that calls require()."""
    found: set[str] = set()
    for package in ("core", "responder", "sentiment"):
        for path in sorted((REPO / package).rglob("*.py")):
            module = ".".join(path.relative_to(REPO).with_suffix("").parts)
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                    isinstance(c, ast.Call) and getattr(c.func, "id", None) == "require" for c in ast.walk(node)
                ):
                    found.add(f"{module}:{node.name}")
    return found


def callers_of_acting_functions() -> set[str]:
    """Public functions that act only through another acting function (bulk_*, close_with_survey)."""
    return {"responder.cases:bulk_status", "responder.assignment:bulk_assign", "responder.csat:close_with_survey"}


def test_every_acting_function_is_in_the_matrix() -> None:
    covered = {name for row in ACTIONS for name in row.covers}
    missing = sorted(acting_functions() - covered)
    assert not missing, f"add these acting functions to ACTIONS with the role docs give them: {missing}"
    assert callers_of_acting_functions() <= covered


def attempt(w: World, row: Row, role: Role) -> bool:
    """True when `role` may do it, False when refused with PermissionDenied; any other error fails."""
    if not row.in_session:
        with w.db.session() as s:
            actor = fx.user(s, role.value)
            s.expunge(actor)
        try:
            row.act(w.db, w, actor)  # type: ignore[arg-type]
        except PermissionDenied:
            return False
        return True
    with w.db.session() as s:
        actor = fx.user(s, role.value)
        savepoint = s.begin_nested()
        try:
            row.act(s, w, actor)
            s.flush()
        except PermissionDenied:
            return False
        finally:
            if savepoint.is_active:
                savepoint.rollback()
            s.expire_all()
    return True


@pytest.mark.parametrize("row", ACTIONS, ids=[r.name for r in ACTIONS])
def test_each_role_is_allowed_or_refused_as_documented(world: World, row: Row) -> None:
    outcome = {role.value: attempt(world, row, role) for role in ROLES}
    expected = {role.value: RANK[role] >= RANK[row.least] for role in ROLES}
    assert outcome == expected


def test_user_administration_is_in_the_scan() -> None:
    assert {"core.users:add_user", "core.users:set_role", "core.users:set_team", "core.users:set_password",
            "core.users:deactivate_user", "core.users:reactivate_user"} <= acting_functions()


def test_an_agent_calling_set_role_directly_is_refused(world: World) -> None:
    with world.db.session() as s:
        agent = fx.user(s, "agent")
        with pytest.raises(PermissionDenied, match="agent may not change roles: it needs the role admin"):
            users.set_role(s, agent, "agent", Role.admin)
    with world.db.session() as s:
        assert fx.user(s, "agent").role is Role.agent


def test_the_last_active_admin_cannot_be_demoted_or_deactivated(world: World) -> None:
    from core.errors import InvalidInput

    with world.db.session() as s:
        admin = fx.user(s, "admin")
        for act in (lambda: users.set_role(s, admin, "admin", Role.manager),
                    lambda: users.deactivate_user(s, admin, "admin")):
            with pytest.raises(InvalidInput, match="admin is the last active admin"):
                act()
        users.set_role(s, admin, "ann", Role.admin)
        users.deactivate_user(s, admin, "admin")  # ann is an admin now: allowed


def test_a_deactivated_admin_may_do_nothing(world: World) -> None:
    with world.db.session() as s:
        s.execute(sa.update(User).where(User.username == "admin").values(active=False))
    for row in ACTIONS:
        assert attempt(world, row, Role.admin) is False, row.name


# ------------------------------------------------------------------------------------------ through the app


def page(w: World, script: str, role: Role, case_id: int | None = None) -> AppTest:
    at = fa.page(w.db, script, role.value, case_id)
    assert not at.exception, [e.value for e in at.exception]
    return at


def labels(at: AppTest) -> set[str]:
    return {b.label for b in at.button} | {b.label for b in at.get("download_button")} | {
        t.label for t in at.text_area}


# What each role must be offered on a page; any label listed for a higher role must be absent.
CASE_PAGE = {Role.agent: {"Take", "Set status", "Send", "Public reply", "Add note", "Save corrections", "Like"},
             Role.pr: {"Hide the post"}}
CASES_PAGE = {Role.viewer: {"Open case"}, Role.agent: {"Take", "Close"}, Role.pr: {"Assign"}}
ALERTS_PAGE = {Role.pr: {"Acknowledge"}}
INBOX_PAGE = {Role.viewer: {"Download CSV"}}


def offered_from(matrix: dict[Role, set[str]], role: Role) -> tuple[set[str], set[str]]:
    allowed = set().union(*(v for r, v in matrix.items() if RANK[r] <= RANK[role]))
    refused = set().union(*(v for r, v in matrix.items() if RANK[r] > RANK[role]))
    return allowed, refused


@pytest.mark.parametrize("role", ROLES, ids=[r.value for r in ROLES])
def test_each_page_offers_a_role_only_its_actions(world: World, role: Role) -> None:
    for script, matrix, case_id in (("case_page", CASE_PAGE, world.x_case), ("cases_page", CASES_PAGE, None),
                                    ("alerts_page", ALERTS_PAGE, None), ("inbox_page", INBOX_PAGE, None)):
        at = page(world, script, role, case_id)
        allowed, refused = offered_from(matrix, role)
        shown = labels(at)
        assert allowed <= shown, (script, role, allowed - shown)
        assert not (refused & shown), (script, role, refused & shown)


@pytest.mark.parametrize("script, least", [("team_page", Role.agent), ("reputation_page", Role.pr),
                                           ("advocacy_page", Role.manager), ("settings_page", Role.admin)])
def test_pages_above_a_role_stop_with_the_role_they_need(world: World, script: str, least: Role) -> None:
    for role in ROLES:
        at = page(world, script, role)
        refused = [e.value for e in at.error] == [f"This page needs the role {least.value} or higher."]
        assert refused == (RANK[role] < RANK[least]), (script, role)


def test_an_approver_sees_approve_and_reject_and_an_agent_does_not(world: World) -> None:
    with world.db.session() as s:
        case_id = s.get(Reply, world.submitted).case_id
    for role in ROLES:
        at = page(world, "case_page", role, case_id)
        shown = labels(at)
        can = RANK[role] >= RANK[Role.pr]
        assert ({"Approve and send", "Reject"} <= shown) == can and (not can) == ("Approve and send" not in shown)


def test_an_admin_deactivates_and_reactivates_a_user_on_the_settings_page(world: World) -> None:
    at = page(world, "settings_page", Role.admin)
    for label, active in (("Deactivate", False), ("Reactivate", True)):
        next(s for s in at.selectbox if s.label == "User  ").set_value("ann")
        next(b for b in at.button if b.label == label).click()
        at.run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        with world.db.session() as s:
            assert fx.user(s, "ann").active is active, label
    with world.db.session() as s:
        trail = s.scalars(sa.select(AuditEntry.action).where(AuditEntry.actor == "admin",
                                                            AuditEntry.action.like("user.%"))).all()
    assert trail == ["user.deactivate", "user.reactivate"]
