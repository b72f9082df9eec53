"""Team: who is working on what right now, and first-response and resolution times, SLA compliance
and CSAT per team over a period (figures from `core.metrics`, definitions in docs/metrics.md)."""

from __future__ import annotations

from datetime import datetime, timedelta

import streamlit as st

from core.metrics import Filters, case_metrics
from core.models import Role, utcnow
from dashboard import ui
from responder.queue import teams
from responder.sla import BusinessCalendar
from responder.team import unassigned_by_team, workload

ROLE = Role.agent
RANGES = {"Last 24 hours": 1, "Last 7 days": 7, "Last 30 days": 30, "Last 90 days": 90}


def _ago(at: datetime | None, now: datetime) -> str:
    if at is None:
        return ""
    hours = (now - at) / timedelta(hours=1)
    return f"{hours / 24:.1f} d" if hours >= 48 else f"{hours:.1f} h"


def render() -> None:
    app = ui.load_app()
    if app is None:
        return
    ui.page_user(app, ROLE)
    now = utcnow()
    st.title("Team")
    with app.db.session() as session:
        people = workload(session, now)
        queues = unassigned_by_team(session)
        team_names = teams(session)
    st.subheader("Right now")
    st.dataframe([{"agent": w.username, "name": w.name, "team": w.team or "", "open cases": w.open_cases,
                   "pending": w.pending, "first response overdue": w.overdue, "answering now": w.holding,
                   "oldest open": _ago(w.oldest_open, now)} for w in people], hide_index=True, width="stretch")
    ui.plain("Waiting unassigned: " + (", ".join(f"{team} {n}" for team, n in sorted(queues.items())) or "none"))

    st.subheader("Response and resolution")
    label = st.selectbox("Period", list(RANGES), index=1, key="team_range")
    start = now - timedelta(days=RANGES[label])
    conf = app.settings.responder.sla
    calendar = BusinessCalendar.from_config(conf)
    rows = []
    with app.db.session() as session:
        for team in [None, *team_names]:
            m = case_metrics(session, Filters(start=start, end=now, team=team), calendar=calendar,
                             policies=conf.policies, now=now)
            rows.append({
                "team": team or "all teams", "cases opened": m["cases_opened"],
                "first response median (min)": m["first_response"]["median_minutes"],
                "first response p90 (min)": m["first_response"]["p90_minutes"],
                "resolution median (min)": m["resolution"]["median_minutes"],
                "resolution p90 (min)": m["resolution"]["p90_minutes"],
                "first response SLA met %": m["sla"]["first_response"]["compliance_pct"],
                "SLA breaches": m["sla"]["first_response"]["breached"] + m["sla"]["resolution"]["breached"],
                "CSAT mean": m["csat"]["mean"],
            })
    st.dataframe(rows, hide_index=True, width="stretch")
    ui.plain("Times count business hours for business-hours SLA policies; see docs/metrics.md for each definition.")
