"""Team: who is working on what right now, and first-response and resolution times, SLA compliance
and CSAT per team over a period (figures from `core.metrics`, definitions in docs/metrics.md)."""

from __future__ import annotations

from datetime import datetime, timedelta

import streamlit as st

from core.metrics import Filters, case_metrics_by
from core.models import Role, utcnow
from dashboard import ui
from responder.sla import BusinessCalendar
from responder.team import unassigned_by_team, workload

ROLE = Role.agent
RANGES = {"Last 24 hours": 1, "Last 7 days": 7, "Last 30 days": 30, "Last 90 days": 90}


def _ago(at: datetime | None, now: datetime) -> str:
    if at is None:
        return ""
    hours = (now - at) / timedelta(hours=1)
    return f"{hours / 24:.1f} d" if hours >= 48 else f"{hours:.1f} h"


def _figures(name: str, m: dict) -> dict[str, object]:  # type: ignore[type-arg]
    return {
        "who": name, "cases opened": m["cases_opened"],
        "first response median (min)": m["first_response"]["median_minutes"],
        "first response p90 (min)": m["first_response"]["p90_minutes"],
        "resolution median (min)": m["resolution"]["median_minutes"],
        "resolution p90 (min)": m["resolution"]["p90_minutes"],
        "first response SLA met %": m["sla"]["first_response"]["compliance_pct"],
        "SLA breaches": m["sla"]["first_response"]["breached"] + m["sla"]["resolution"]["breached"],
        "CSAT mean": m["csat"]["mean"],
    }


@st.cache_data(ttl=60, show_spinner=False)
def _period_figures(_app: ui.App, database: str, start: datetime, now: datetime) -> tuple[dict, dict]:  # type: ignore[type-arg]
    """Period figures, cached for a minute: they move slowly and cost a pass over the period's cases."""
    conf = _app.settings.responder.sla
    with _app.db.session() as session:
        found = case_metrics_by(session, Filters(start=start, end=now), ("team", "assignee"),
                                calendar=BusinessCalendar.from_config(conf), policies=conf.policies, now=now)
    return dict(found["team"]), dict(found["assignee"])


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
    st.subheader("Right now")
    st.dataframe([{"agent": w.username, "name": w.name, "team": w.team or "", "open cases": w.open_cases,
                   "pending": w.pending, "first response overdue": w.overdue, "answering now": w.holding,
                   "oldest open": _ago(w.oldest_open, now)} for w in people], hide_index=True, width="stretch")
    ui.plain("Waiting unassigned: " + (", ".join(f"{team} {n}" for team, n in sorted(queues.items())) or "none"))

    st.subheader("Response and resolution")
    label = st.selectbox("Period", list(RANGES), index=1, key="team_range")
    # Up to the next whole minute, so the one-minute cache is shared by every render within it.
    end = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    start = end - timedelta(days=RANGES[label])
    by_team, by_agent = _period_figures(app, app.settings.database.url, start, end)
    rows = [_figures("all teams", by_team.pop(None)), *(_figures(k, v) for k, v in sorted(by_team.items(), key=str))]
    by_agent.pop(None)
    agents = [_figures(k, v) for k, v in sorted(by_agent.items(), key=str)]
    st.dataframe(rows, hide_index=True, width="stretch")
    st.subheader("By agent")
    st.dataframe(agents, hide_index=True, width="stretch")
    ui.plain("Times count business hours for business-hours SLA policies; see docs/metrics.md for each definition.")
