"""Alerts: reputation spikes and, apart from them, operational alerts (a source, a sender or a
channel that needs a human); who was notified and how that went, acknowledging an alert, and the
mentions behind a spike. Everything comes from `core.alerts`, which checks the role itself."""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.alerts import ACTIVE, acknowledge, alert_mentions, list_alerts
from core.errors import EarfulError
from core.inbox import format_age
from core.models import AlertStatus, Role, User, utcnow
from core.users import has_role
from dashboard import ui

ROLE = Role.viewer
ALL = "all"
ACTIVE_VALUES = {s.value for s in ACTIVE}


def render() -> None:
    app = ui.load_app()
    if app is None:
        return
    user = ui.page_user(app, ROLE)
    st.title("Alerts")
    status = st.segmented_control("Status", [ALL, *(s.value for s in AlertStatus)], default="open", key="alerts_status")
    wanted = None if status in (None, ALL) else status
    with app.db.session() as session:
        reputation = list_alerts(session, status=wanted, category="reputation")
        operational = list_alerts(session, status=wanted, category="operational")
        needing = sum(a["status"] in ACTIVE_VALUES for a in list_alerts(session, category="operational"))
    label = f"Operational ({needing} active)" if needing else "Operational"
    spikes_tab, ops_tab = st.tabs(["Reputation", label])
    with spikes_tab:
        _reputation(app, user, reputation)
    with ops_tab:
        st.caption("Earful's own machinery: refused credentials, API budgets, sources failing, replies or "
                   "notifications that keep failing. Each resolves by itself when the thing works again.")
        _operational(app, user, operational)


def _notified(alert: dict[str, Any]) -> str:
    return ", ".join(f"{n['channel']}: {n['state']}" for n in alert["notifications"]) or "no channel"


def _reputation(app: ui.App, user: User, alerts: list[dict[str, Any]]) -> None:
    if not alerts:
        st.info("No spike alerts with this status.")
        return
    st.dataframe([{
        "alert": a["id"], "status": a["status"], "severity": a["severity"], "kind": a["kind"], "brand": a["brand"],
        "topic": a["topic"] or "", "summary": a["summary"], "opened": a["opened_at"], "resolved": a["resolved_at"] or "",
        "mentions": a["mentions"], "notified": _notified(a),
    } for a in alerts], hide_index=True, width="stretch")
    chosen = _pick_and_act(app, user, alerts, "alerts")
    st.subheader("Mentions behind this alert")
    now = utcnow()
    with app.db.session() as session:
        rows = [{"when": format_age(m.created_at, now), "platform": m.platform,
                 "author": m.author.handle if m.author else "", "followers": m.author.followers if m.author else None,
                 "sentiment": m.sentiment or "", "text": m.text, "case": m.case_id}
                for m in alert_mentions(session, chosen)]
    st.dataframe(rows, hide_index=True, width="stretch")


def _operational(app: ui.App, user: User, alerts: list[dict[str, Any]]) -> None:
    if not alerts:
        st.info("No operational alerts with this status.")
        return
    st.dataframe([{
        "alert": a["id"], "status": a["status"], "severity": a["severity"], "kind": a["kind"], "about": a["subject"],
        "summary": a["summary"], "opened": a["opened_at"], "resolved": a["resolved_at"] or "", "notified": _notified(a),
    } for a in alerts], hide_index=True, width="stretch")
    chosen = _pick_and_act(app, user, alerts, "ops_alerts")
    picked = next(a for a in alerts if a["id"] == chosen)
    fix = (picked.get("details") or {}).get("fix")
    if fix and picked["status"] in ACTIVE_VALUES:
        st.text(f"What to do: {fix}")  # st.text: the platform's error inside is never markdown


def _pick_and_act(app: ui.App, user: User, alerts: list[dict[str, Any]], key: str) -> int:
    """The alert picker, its delivery problems and the Acknowledge button; returns the chosen id."""
    labels = {a["id"]: f"#{a['id']} · {a['severity']} · {a['summary'][:80]}" for a in alerts}
    chosen = st.selectbox("Alert", list(labels), format_func=labels.__getitem__, key=f"{key}_pick")
    picked = next(a for a in alerts if a["id"] == chosen)
    for note in picked["notifications"]:
        if note["error"]:
            st.text(f"{note['channel']} ({note['state']}, {note['attempts']} attempts): {note['error']}")
    if has_role(user, Role.pr) and picked["status"] in (AlertStatus.open.value, AlertStatus.escalated.value):
        if st.button("Acknowledge", key=f"{key}_ack"):
            try:
                with app.db.session() as session:
                    acknowledge(session, user, chosen, now=utcnow())
            except EarfulError as exc:
                st.error(str(exc))
            else:
                st.rerun()
    return int(chosen)
