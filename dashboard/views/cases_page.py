"""Cases: the queue agents work from, most urgent first, then the nearest SLA due time.

Everything comes from `responder.queue`; taking, assigning and closing go through
`responder.assignment` and `responder.cases`, which check the role themselves.
"""

from __future__ import annotations

import streamlit as st

from core.errors import EarfulError
from core.inbox import format_age
from core.mention import PLATFORMS
from core.models import CaseStatus, Role, utcnow
from core.users import has_role
from dashboard import ui
from responder import assignment, cases
from responder.queue import UNASSIGNED, CaseFilters, count_cases, list_cases, sla_clock, teams, workers
from core.corrections import INTENTS

ROLE = Role.viewer
PAGE_SIZE = 50
MINE, ANYONE = "Me", "Anyone"


def render() -> None:
    app = ui.load_app()
    if app is None:
        return
    user = ui.page_user(app, ROLE)
    now = utcnow()
    with app.db.session() as session:
        team_names, people = teams(session), workers(session)
    with st.sidebar:
        statuses = st.multiselect("Status", [s.value for s in CaseStatus], default=["new", "open"], key="cases_status")
        who = st.selectbox("Assignee", [ANYONE, MINE, UNASSIGNED, *people], key="cases_assignee")
        team = st.selectbox("Team", team_names, index=None, placeholder="All teams", key="cases_team")
        platform = st.selectbox("Platform", [p for p in PLATFORMS if p != "import"], index=None,
                                placeholder="All platforms", key="cases_platform")
        intent = st.selectbox("Intent", INTENTS, index=None, placeholder="Any intent", key="cases_intent")
        topic = st.selectbox("Topic", list(app.settings.sentiment.topics), index=None, placeholder="Any topic",
                             key="cases_topic")
        min_urgency = st.slider("Urgency at least", 0.0, 1.0, 0.0, 0.05, key="cases_urgency")
        breached = st.toggle("SLA breached only", key="cases_breached")
    filters = CaseFilters(
        statuses=tuple(CaseStatus(s) for s in statuses),
        assignee=user.username if who == MINE else (None if who == ANYONE else who),
        team=team, platform=platform, min_urgency=min_urgency, breached_only=breached, intent=intent, topic=topic,
    )
    with app.db.session() as session:
        total = count_cases(session, filters)
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(int(st.session_state.get("cases_page", 1)), pages)
        rows = list_cases(session, filters, page=page, page_size=PAGE_SIZE)

    st.title("Cases")
    ui.plain(f"{total:,} cases · most urgent first, then the nearest first-response due time")
    if not rows:
        st.info("No cases match these filters.")
        return
    table = [{
        "case": r.case_id, "status": r.status, "urgency": round(r.urgency, 2), "SLA": sla_clock(r, now),
        "platform": r.platform, "author": r.author_handle, "reach": r.author_followers,
        "text": r.text, "sentiment": r.sentiment or "", "intent": r.intent or "", "topics": ", ".join(r.topics),
        "why urgent": "; ".join(r.reasons),
        "age": format_age(r.opened_at, now), "team": r.team or "", "assignee": r.assignee or "",
        "approval": r.waiting_approval or "", "problems": r.failed_replies or "",
    } for r in rows]
    picked = st.dataframe(table, hide_index=True, width="stretch", on_select="rerun", selection_mode="multi-row",
                          key="cases_table", column_config={"text": st.column_config.TextColumn(width="large")})
    chosen = [rows[i].case_id for i in picked.selection.rows] if picked and picked.selection else []
    if pages > 1:
        st.number_input("Page", 1, pages, page, key="cases_page")

    ui.plain(f"{len(chosen)} selected" if chosen else "Select rows to open, take, assign or close them.")
    open_col, take_col, close_col, assign_col = st.columns(4, vertical_alignment="bottom")
    with open_col:
        labels = {r.case_id: f"#{r.case_id} · {r.platform} · {r.author_handle} · {r.text[:60]}" for r in rows}
        default = chosen[0] if len(chosen) == 1 else rows[0].case_id
        target = st.selectbox("Case", list(labels), index=list(labels).index(default), format_func=labels.__getitem__,
                              key="cases_open_pick")
        if st.button("Open case", key="cases_open"):
            ui.open_case(target)
    if not has_role(user, Role.agent):
        return
    try:
        with take_col:
            if st.button("Take", disabled=not chosen, key="cases_take"):
                with app.db.session() as session:
                    assignment.bulk_assign(session, user, chosen, user.username, now=utcnow())
                st.rerun()
        with close_col:
            if st.button("Close", disabled=not chosen, key="cases_close"):
                with app.db.session() as session:
                    cases.bulk_status(session, user, chosen, CaseStatus.closed, now=utcnow())
                st.rerun()
        if has_role(user, Role.pr):
            with assign_col:
                to = st.selectbox("Assign to", people, index=None, key="cases_assign_to")
                if st.button("Assign", disabled=not (chosen and to), key="cases_assign"):
                    with app.db.session() as session:
                        assignment.bulk_assign(session, user, chosen, to, now=utcnow())
                    st.rerun()
    except EarfulError as exc:
        st.error(str(exc))
