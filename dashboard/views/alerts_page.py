"""Alerts: open and past spike alerts, who was notified and how that went, acknowledging an alert, and
the mentions behind it. Everything comes from `core.alerts`, which checks the role itself."""

from __future__ import annotations

import streamlit as st

from core.alerts import acknowledge, alert_mentions, list_alerts
from core.errors import EarfulError
from core.inbox import format_age
from core.models import AlertStatus, Role, utcnow
from core.users import has_role
from dashboard import ui

ROLE = Role.viewer
ALL = "all"


def render() -> None:
    app = ui.load_app()
    if app is None:
        return
    user = ui.page_user(app, ROLE)
    st.title("Alerts")
    status = st.segmented_control("Status", [ALL, *(s.value for s in AlertStatus)], default="open", key="alerts_status")
    with app.db.session() as session:
        alerts = list_alerts(session, status=None if status in (None, ALL) else status)
    if not alerts:
        st.info("No alerts with this status.")
        return
    st.dataframe([{
        "alert": a["id"], "status": a["status"], "severity": a["severity"], "kind": a["kind"], "brand": a["brand"],
        "topic": a["topic"] or "", "summary": a["summary"], "opened": a["opened_at"], "resolved": a["resolved_at"] or "",
        "mentions": a["mentions"],
        "notified": ", ".join(f"{n['channel']}: {n['state']}" for n in a["notifications"]) or "no channel",
    } for a in alerts], hide_index=True, width="stretch")
    labels = {a["id"]: f"#{a['id']} · {a['severity']} · {a['summary'][:80]}" for a in alerts}
    chosen = st.selectbox("Alert", list(labels), format_func=labels.__getitem__, key="alerts_pick")
    picked = next(a for a in alerts if a["id"] == chosen)
    for note in picked["notifications"]:
        if note["error"]:
            st.warning(f"{note['channel']} ({note['state']}, {note['attempts']} attempts): {note['error']}")
    if has_role(user, Role.pr) and picked["status"] in (AlertStatus.open.value, AlertStatus.escalated.value):
        if st.button("Acknowledge", key="alerts_ack"):
            try:
                with app.db.session() as session:
                    acknowledge(session, user, chosen, now=utcnow())
            except EarfulError as exc:
                st.error(str(exc))
            else:
                st.rerun()
    st.subheader("Mentions behind this alert")
    now = utcnow()
    with app.db.session() as session:
        rows = [{"when": format_age(m.created_at, now), "platform": m.platform,
                 "author": m.author.handle if m.author else "", "followers": m.author.followers if m.author else None,
                 "sentiment": m.sentiment or "", "text": m.text, "case": m.case_id}
                for m in alert_mentions(session, chosen)]
    st.dataframe(rows, hide_index=True, width="stretch")
