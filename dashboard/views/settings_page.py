"""Settings (admin): users and roles are managed here; brands, sources, saved replies and SLA policies
are shown as they are in effect, since config.yaml is their source of truth (versioned, reviewed,
the same on every machine). Every change goes through `core.users`, which checks the role itself
and writes the audit log.
"""

from __future__ import annotations

import streamlit as st

from core.catalog import source_health
from core.errors import EarfulError
from core.models import Role
from core.users import add_user, deactivate_user, list_users, parse_role, reactivate_user, set_role, set_team
from dashboard import ui

ROLE = Role.admin
ROLES = [r.value for r in Role]


def render() -> None:
    app = ui.load_app()
    if app is None:
        return
    user = ui.page_user(app, ROLE)
    settings = app.settings
    st.title("Settings")
    where = str(settings.config_path) if settings.config_path else "built-in defaults"
    ui.plain(f"Brands, sources, saved replies and SLA policies come from {where}; edit it, check it with "
             "`earful config check` and restart Earful. Users and roles are managed here.")
    users_tab, sources_tab, brands_tab, replies_tab, sla_tab = st.tabs(
        ["Users and roles", "Sources", "Brands and queries", "Saved replies", "SLA and routing"])

    with users_tab:
        with app.db.session() as session:
            people = [{"username": u.username, "name": u.display_name, "role": u.role.value, "team": u.team or "",
                       "active": u.active, "last login": u.last_login_at} for u in list_users(session)]
        st.dataframe(people, hide_index=True, width="stretch")
        names = [p["username"] for p in people]
        with st.form("settings_role"):
            who = st.selectbox("User", names, index=None)
            role = st.selectbox("Role", ROLES, index=None)
            team = st.text_input("Team (empty: leave as is)")
            if st.form_submit_button("Save"):
                _act(lambda s: _change(s, user, who, role, team))
        with st.form("settings_add", clear_on_submit=True):
            st.subheader("Add a user")
            new_name = st.text_input("Username")
            new_role = st.selectbox("Role ", ROLES, index=1)
            new_team = st.text_input("Team ")
            new_password = st.text_input("Initial password", type="password")
            if st.form_submit_button("Add user"):
                _act(lambda s: add_user(s, user, new_name, new_password, parse_role(new_role), team=new_team or None))
        with st.form("settings_active"):
            st.subheader("Deactivate a leaver")
            ui.plain("A deactivated user cannot sign in, and their open sessions end at their next click; their "
                     "cases, replies and audit trail stay. The last active admin cannot be deactivated.")
            whom = st.selectbox("User  ", names, index=None)
            off, on = st.columns(2)
            if off.form_submit_button("Deactivate"):
                _act(lambda s: deactivate_user(s, user, _picked(whom)))
            if on.form_submit_button("Reactivate"):
                _act(lambda s: reactivate_user(s, user, _picked(whom)))

    with sources_tab:
        with app.db.session() as session:
            rows = source_health(session, settings)
        st.dataframe(rows, hide_index=True, width="stretch")
        flags = [{"source": s.name, "platform": getattr(s, "platform"), "sandbox": s.sandbox, "dry run": s.dry_run,
                  "every (s)": s.interval_seconds, "daily budget $": s.daily_budget_usd} for s in settings.sources]
        st.dataframe(flags, hide_index=True, width="stretch")

    with brands_tab:
        for brand in settings.brands:
            st.subheader(brand.name + (" (competitor)" if brand.competitor else ""))
            for q in brand.queries:
                ui.plain(f"expression: {q.expression or '-'} · keywords: {', '.join(q.keywords) or '-'} · "
                         f"handles: {', '.join(q.handles) or '-'} · exclude: {', '.join(q.exclude) or '-'} · "
                         f"languages: {', '.join(q.languages) or 'all'}")

    with replies_tab:
        for saved in settings.responder.saved_replies:
            ui.plain(f"{saved.name} ({', '.join(saved.platforms) or 'all platforms'})")
            ui.plain(saved.text)
        if not settings.responder.saved_replies:
            ui.plain("No saved replies: add them under responder.saved_replies.")

    with sla_tab:
        sla = settings.responder.sla
        ui.plain(f"Business hours: {', '.join(sla.business_hours.days)} {sla.business_hours.start}-"
                 f"{sla.business_hours.end} {sla.timezone}; holidays: {sla.holidays or 'none'}")
        st.dataframe([{"policy": p.name, "when": _when(p.when), "first response (min)": p.first_response_minutes,
                       "resolution (h)": p.resolution_hours, "business hours only": p.business_hours_only}
                      for p in sla.policies], hide_index=True, width="stretch")
        routing = settings.responder.assignment
        ui.plain(f"Assignment: {routing.mode}, default team {routing.default_team}, capacity {routing.capacity}")
        st.dataframe([{"when": _when(r.when), "team": r.team} for r in routing.rules], hide_index=True, width="stretch")
        ui.plain("Approval needed when: " + ("; ".join(_when(w) for w in settings.responder.approval.rules) or "never"))


def _when(when) -> str:  # type: ignore[no-untyped-def]
    parts = {k: v for k, v in when.model_dump().items() if v not in (None, (), [])}
    return ", ".join(f"{k}={v}" for k, v in parts.items()) or "always"


def _picked(who: str | None) -> str:
    if not who:
        raise EarfulError("pick a user first")
    return who


def _change(session, actor, who, role, team):  # type: ignore[no-untyped-def]
    who = _picked(who)
    if role:
        set_role(session, actor, who, parse_role(role))
    if team:
        set_team(session, actor, who, team)


def _act(work) -> None:  # type: ignore[no-untyped-def]
    app = ui.load_app()
    assert app is not None
    try:
        with app.db.session() as session:
            work(session)
    except EarfulError as exc:
        st.error(str(exc))
        return
    st.toast("Saved")
    st.rerun()
