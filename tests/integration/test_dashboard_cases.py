"""The Cases and Case pages driven by AppTest on a real database: what each role is offered, writing
and sending a reply, approving it, notes, corrections, and hostile text shown as plain text."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from core.config import load_config
from core.db import Database
from core.models import Correction, Mention, Note, Reply, ReplyState, Role
from responder import cases, outbox
from responder.sla import BusinessCalendar
from tests.fakes import apptest as fa
from tests.fakes import responder as fx

NOW = datetime.now(timezone.utc)
HOSTILE = "<img src=x onerror=alert(1)> [click](javascript:alert(1)) **bold** skylark"
CONFIG = """
database: {{url: 'sqlite:///{db}'}}
brands:
  - {{name: Skylark Air, queries: [{{keywords: [skylark]}}]}}
sources:
  - {{name: masto, platform: mastodon, sandbox: true}}
  - {{name: hn, platform: hackernews, sandbox: true}}
responder:
  approval: {{rules: [{{urgency_at_least: 0.8}}]}}
  saved_replies:
    - {{name: Sorry, text: "Hi {{author_name}}, sorry! Case {{case_id}}. ^{{agent_name}}"}}
"""


@pytest.fixture
def app_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Database, dict[str, int]]]:
    with fa.app_database(tmp_path, CONFIG, monkeypatch) as (conf, db):
        with db.session() as s:
            ids = fx.sync(s, conf)
            for name, role in (("val", Role.viewer), ("ann", Role.agent), ("pam", Role.pr)):
                fx.user(s, name, role)
            calm = fx.mention(s, ids, text=HOSTILE, author="@jo@example.social", urgency=0.4, at=NOW)
            hot = fx.mention(s, ids, text="skylark you broke my wheelchair, lawyer next", author="@kim@example.social",
                             urgency=0.9, at=NOW)
            hn = fx.mention(s, ids, platform="hackernews", source="hn", author="pg", text="skylark is down", at=NOW)
            cases.triage(s, conf.responder, now=NOW, calendar=BusinessCalendar.from_config(conf.responder.sla))
            for m in (calm, hot, hn):
                s.refresh(m)
            case_ids = {"calm": calm.case_id, "hot": hot.case_id, "hn": hn.case_id}
        yield db, case_ids


def reply_box(at: AppTest):  # type: ignore[no-untyped-def]
    [box] = [t for t in at.text_area if t.label == "Public reply"]
    return box


def rendered_as_markup(at: AppTest) -> list[str]:
    return [str(getattr(e, "value", "")) for kind in ("markdown", "caption", "title", "header", "subheader", "html")
            for e in at.get(kind)]


def test_the_queue_lists_open_cases_most_urgent_first(app_db) -> None:  # type: ignore[no-untyped-def]
    db, ids = app_db
    at = fa.page(db, "cases_page", "val")
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Cases" and "3 cases · most urgent first" in at.text[0].value
    table = at.dataframe[0].value
    assert list(table["case"])[0] == ids["hot"]
    assert not any(b.label in ("Take", "Close") for b in at.button)  # viewers only read
    agent = fa.page(db, "cases_page", "ann")
    assert {"Open case", "Take", "Close"} <= {b.label for b in agent.button}
    assert "Assign" not in {b.label for b in agent.button}  # assigning others needs pr


def test_an_agent_writes_and_sends_a_reply_and_sees_it_sent(app_db) -> None:  # type: ignore[no-untyped-def]
    db, ids = app_db
    at = fa.page(db, "case_page", "ann", ids["calm"])
    assert not at.exception, [e.value for e in at.exception]
    assert HOSTILE in [t.value for t in at.text]
    assert not any("<img" in v or "javascript:" in v for v in rendered_as_markup(at))
    at.selectbox(key=f"saved_{ids['calm']}").select("Sorry").run()
    at.button(key=f"use_saved_{ids['calm']}").click().run()
    box = reply_box(at)
    assert box.value.startswith("Hi jo, sorry! Case ")
    box.input("Hi jo, sorry about that. We are on it.").run()
    at.button(key=f"send_{ids['calm']}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert reply_box(at).value == ""  # a fresh box (and idempotency key) for the next reply
    with db.session() as s:
        [reply] = s.scalars(sa.select(Reply)).all()
        assert reply.state == ReplyState.approved and reply.text == "Hi jo, sorry about that. We are on it."
    conf = load_config(os.environ["EARFUL_CONFIG"])
    outbox.send_due(db, outbox.Publishers(conf, build=lambda config, timeout: fx.ScriptedPublisher()))
    at.run()
    assert any(t.value.startswith("reply by ann · sent") for t in at.text)


def test_a_reply_needing_approval_waits_and_a_pr_approves_it(app_db) -> None:  # type: ignore[no-untyped-def]
    db, ids = app_db
    at = fa.page(db, "case_page", "ann", ids["hot"])
    reply_box(at).input("We are so sorry. Please DM us now.").run()
    at.button(key=f"send_{ids['hot']}").click().run()
    with db.session() as s:
        reply = s.scalars(sa.select(Reply)).one()
        assert reply.state == ReplyState.draft and reply.submitted_at is not None
        reply_id = reply.id
    assert not any(b.label == "Approve and send" for b in at.button)  # agents cannot approve
    pr = fa.page(db, "case_page", "pam", ids["hot"])
    pr.text_area(key=f"reply{reply_id}_edit").input("We are so sorry, Kim. Please DM us now.").run()
    pr.button(key=f"reply{reply_id}_approve").click().run()
    assert not pr.exception, [e.value for e in pr.exception]
    with db.session() as s:
        approved = s.get(Reply, reply_id)
        assert approved.state == ReplyState.approved and approved.text.endswith("Kim. Please DM us now.")


def test_notes_corrections_and_mark_handled(app_db) -> None:  # type: ignore[no-untyped-def]
    db, ids = app_db
    at = fa.page(db, "case_page", "ann", ids["hn"])
    assert "hackernews has no reply API: answer there, then mark the case handled." in [t.value for t in at.text]
    at.button(key="case_handled").click().run()
    at.text_area(key="case_note_text").input("Answered on HN by Ada")  # a form: input and submit in one run
    at.button[[b.label for b in at.button].index("Add note")].click().run()
    at.selectbox[[s.label for s in at.selectbox].index("Sentiment")].select("neutral")
    at.button[[b.label for b in at.button].index("Save corrections")].click().run()
    assert not at.exception, [e.value for e in at.exception]
    with db.session() as s:
        case = cases.get_case(s, ids["hn"])
        assert case.first_response_at is not None and case.status.value == "pending"
        assert [n.text for n in s.scalars(sa.select(Note))] == ["Answered on HN by Ada"]
        mention_id = s.scalars(sa.select(Mention.id).where(Mention.case_id == ids["hn"])).one()
        assert [(c.mention_id, c.field, c.new_value) for c in s.scalars(sa.select(Correction))] == [
            (mention_id, "sentiment", {"label": "neutral"})]


def test_a_viewer_sees_the_case_but_cannot_act(app_db) -> None:  # type: ignore[no-untyped-def]
    db, ids = app_db
    at = fa.page(db, "case_page", "val", ids["calm"])
    assert not at.exception
    assert HOSTILE in [t.value for t in at.text]
    assert not at.text_area and not any(b.label in ("Send", "Take", "Add note") for b in at.button)


def test_settings_are_for_admins_who_manage_users_there(app_db) -> None:  # type: ignore[no-untyped-def]
    db, _ = app_db
    agent = fa.page(db, "settings_page", "ann")
    assert [e.value for e in agent.error] == ["This page needs the role admin or higher."]
    with db.session() as s:
        fx.user(s, "root", Role.admin)
    at = fa.page(db, "settings_page", "root")
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Settings"
    at.selectbox[0].select("ann")
    at.selectbox[1].select("pr")
    at.text_input[0].input("senior")
    at.button[[b.label for b in at.button].index("Save")].click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    with db.session() as s:
        ann = fx.user(s, "ann")
        assert (ann.role, ann.team) == (Role.pr, "senior")
        from core.models import AuditEntry
        assert {e.action for e in s.scalars(sa.select(AuditEntry).where(AuditEntry.actor == "root"))} == {
            "user.set_role", "user.set_team"}


def test_the_team_page_shows_workload_and_response_times(app_db) -> None:  # type: ignore[no-untyped-def]
    db, ids = app_db
    with db.session() as s:
        ann = fx.user(s, "ann")
        from responder import assignment
        assignment.assign(s, ann, ids["calm"], "ann", now=NOW)
        cases.mark_handled(s, ann, ids["hn"], now=NOW)
    viewer = fa.page(db, "team_page", "val")
    assert [e.value for e in viewer.error] == ["This page needs the role agent or higher."]
    at = fa.page(db, "team_page", "ann")
    assert not at.exception, [e.value for e in at.exception]
    now_table, times = at.dataframe[0].value, at.dataframe[1].value
    row = now_table[now_table["agent"] == "ann"].iloc[0]
    assert (row["open cases"], row["team"]) == (2, "care")  # round-robin gave her two of the three
    assert list(times["who"])[0] == "all teams" and list(times["cases opened"])[0] == 3
    by_agent = at.dataframe[2].value
    assert sorted(by_agent["who"]) == ["ann", "pam"] and sum(by_agent["cases opened"]) == 3


def test_the_alerts_page_lists_alerts_their_mentions_and_lets_pr_acknowledge(app_db) -> None:  # type: ignore[no-untyped-def]
    from core.models import Alert, AlertMention, AlertStatus

    db, ids = app_db
    with db.session() as s:
        alert = Alert(brand_id=1, kind="negative_spike", severity="major", summary="Skylark Air: 24 negative in 30 min",
                      opened_at=NOW, updated_at=NOW)
        s.add(alert)
        s.flush()
        mention_ids = s.scalars(sa.select(Mention.id).where(Mention.case_id == ids["calm"])).all()
        s.add_all([AlertMention(alert_id=alert.id, mention_id=m) for m in mention_ids])
        alert_id = alert.id
    agent = fa.page(db, "alerts_page", "ann")
    assert not agent.exception, [e.value for e in agent.exception]
    assert list(agent.dataframe[0].value["summary"]) == ["Skylark Air: 24 negative in 30 min"]
    assert list(agent.dataframe[1].value["text"]) == [HOSTILE]  # the mention behind it, as data
    assert not any(b.label == "Acknowledge" for b in agent.button)
    pr = fa.page(db, "alerts_page", "pam")
    pr.button(key="alerts_ack").click().run()
    assert not pr.exception, [e.value for e in pr.exception]
    with db.session() as s:
        assert s.get(Alert, alert_id).status == AlertStatus.acknowledged
