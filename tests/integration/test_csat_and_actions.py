"""Closing with a satisfaction survey (the reply, the public survey page, the recorded answer), and
like / moderate with their permissions and audit entries."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.db import Database
from core.errors import Conflict, InvalidInput, PermissionDenied
from core.models import AuditEntry, Case, CaseStatus, Mention, Reply, ReplyState, Role
from responder import actions, cases, csat, outbox
from responder.sla import BusinessCalendar
from tests.fakes import responder as fx

NOW = datetime(2026, 3, 4, 10, 0, tzinfo=timezone.utc)
APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
SURVEY = {"csat": {"enabled": True, "url": "https://care.example/?csat={token}",
                   "message": "Thanks {author_name}! How did we do? {csat_link}"}}


def closed_with_survey(db: Database) -> tuple[int, str]:
    conf = fx.settings(SURVEY)
    with db.session() as s:
        ids = fx.sync(s, conf)
        m = fx.mention(s, ids, author="@jo@example.social", at=NOW)
        cases.triage(s, conf.responder, now=NOW, calendar=BusinessCalendar.from_config(conf.responder.sla))
        s.refresh(m)
        agent = fx.user(s, "ann")
        reply = csat.close_with_survey(s, agent, m.case_id, config=conf.responder, now=NOW)
        case = s.get(Case, m.case_id)
        assert case.status == CaseStatus.closed and case.csat_token
        assert reply.state == ReplyState.approved
        assert reply.text == f"Thanks jo! How did we do? https://care.example/?csat={case.csat_token}"
        return case.id, case.csat_token


def test_a_survey_answer_is_recorded_once_against_the_case(db: Database) -> None:
    case_id, token = closed_with_survey(db)
    with db.session() as s:
        with pytest.raises(InvalidInput, match="not valid"):
            csat.record_answer(s, "guessed-token", 5, now=NOW)
        with pytest.raises(InvalidInput, match="1 .* to 5"):
            csat.record_answer(s, token, 9, now=NOW)
        csat.record_answer(s, token, 4, "  quick and kind  ", now=NOW)
    with db.session() as s:
        with pytest.raises(Conflict, match="already answered"):
            csat.record_answer(s, token, 1, now=NOW)
    with db.session() as s:
        case = s.get(Case, case_id)
        assert (case.csat_score, case.csat_comment) == (4, "quick and kind")
        assert s.scalars(sa.select(AuditEntry.actor).where(AuditEntry.action == "csat.answer")).all() == ["customer"]


def test_surveys_must_be_switched_on(db: Database) -> None:
    conf = fx.settings()
    with db.session() as s:
        ids = fx.sync(s, conf)
        m = fx.mention(s, ids, at=NOW)
        cases.triage(s, conf.responder, now=NOW, calendar=BusinessCalendar.from_config(conf.responder.sla))
        s.refresh(m)
        with pytest.raises(InvalidInput, match="csat.enabled"):
            csat.close_with_survey(s, fx.user(s, "ann"), m.case_id, config=conf.responder, now=NOW)


def test_the_public_survey_page_needs_no_login_and_records_the_answer(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "config.yaml"
    config.write_text(f"database: {{url: 'sqlite:///{tmp_path / 't.db'}'}}\n", encoding="utf-8")
    for name in [n for n in os.environ if n.startswith("EARFUL_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("EARFUL_CONFIG", str(config))
    db = Database.open(f"sqlite:///{tmp_path / 't.db'}")
    try:
        case_id, token = closed_with_survey(db)
        st.cache_resource.clear()
        at = AppTest.from_file(APP, default_timeout=30)
        at.query_params["csat"] = token
        at.run()
        assert not at.exception
        assert at.title[0].value == "How did we do?" and not at.text_input  # no login form
        at.radio[0].set_value(5)
        at.text_area[0].input("Lovely")
        at.button[0].click().run()
        assert "Thank you" in at.success[0].value
        with db.session() as s:
            assert s.get(Case, case_id).csat_score == 5
        bad = AppTest.from_file(APP, default_timeout=30)
        bad.query_params["csat"] = "nope"
        bad.run()
        assert "not valid" in bad.error[0].value
    finally:
        st.cache_resource.clear()
        db.dispose()


def test_like_needs_an_agent_and_moderation_needs_pr_both_audited(db: Database) -> None:
    conf = fx.settings()
    publisher = fx.ScriptedPublisher()
    pool = outbox.Publishers(conf, build=lambda config, timeout: publisher)
    with db.session() as s:
        ids = fx.sync(s, conf)
        mention_id = fx.mention(s, ids, at=NOW).id
        viewer, agent, pr = fx.user(s, "val", Role.viewer), fx.user(s, "ann"), fx.user(s, "pam", Role.pr)
    with pytest.raises(PermissionDenied):
        actions.like(db, pool, viewer, mention_id, clock=lambda: NOW)
    actions.like(db, pool, agent, mention_id, clock=lambda: NOW)
    with pytest.raises(PermissionDenied, match="needs the role pr"):
        actions.moderate(db, pool, agent, mention_id, "hide", clock=lambda: NOW)
    actions.moderate(db, pool, pr, mention_id, "hide", clock=lambda: NOW)
    with db.session() as s:
        native = s.get(Mention, mention_id).native_id
        log = [(e.actor, e.action) for e in s.scalars(sa.select(AuditEntry).where(
            AuditEntry.target_type == "mention").order_by(AuditEntry.id))]
        assert s.scalar(sa.select(sa.func.count()).select_from(Reply)) == 0
    assert publisher.posts == [(native, "<like>"), (native, "<hide>")]
    assert log == [("ann", "mention.like"), ("pam", "mention.moderate")]
