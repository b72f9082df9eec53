"""Earful's dashboard: `streamlit run dashboard/app.py` (`earful dashboard` sets EARFUL_CONFIG).

Before login the navigation holds only the login page, so no other page can be reached, not even
by URL; after login it holds the pages of PAGES the user's role may open. Each page checks the role
again itself, first thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import streamlit as st

from core.models import Role
from core.users import has_role
from dashboard import ui
from dashboard.views import (
    advocacy_page, alerts_page, case_page, cases_page, csat_page, inbox_page, login_page, reputation_page, settings_page,
    team_page,
)


@dataclass(frozen=True, slots=True)
class PageSpec:
    render: Callable[[], None]
    title: str
    url_path: str
    icon: str
    role: Role  # the least role the menu shows it to; render() checks the same role itself


# The pages after login, in menu order; the first one a user may open is where they land.
# To add one: write dashboard/views/<name>_page.py with a render() whose first lines are
# `app = ui.load_app()` and `user = ui.page_user(app, ROLE)`, then list it here with that ROLE.
PAGES: tuple[PageSpec, ...] = (
    PageSpec(inbox_page.render, "Inbox", "inbox", ":material/inbox:", inbox_page.ROLE),
    PageSpec(cases_page.render, "Cases", "cases", ":material/support_agent:", cases_page.ROLE),
    PageSpec(case_page.render, "Case", "case", ":material/forum:", case_page.ROLE),
    PageSpec(team_page.render, "Team", "team", ":material/groups:", team_page.ROLE),
    PageSpec(alerts_page.render, "Alerts", "alerts", ":material/notifications:", alerts_page.ROLE),
    PageSpec(reputation_page.render, "Reputation", "reputation", ":material/monitoring:", reputation_page.ROLE),
    PageSpec(advocacy_page.render, "Advocacy", "advocacy", ":material/volunteer_activism:", advocacy_page.ROLE),
    PageSpec(settings_page.render, "Settings", "settings", ":material/settings:", settings_page.ROLE),
)
LOGIN = PageSpec(login_page.render, "Log in", "login", ":material/login:", Role.viewer)
# Public: customers open it from the link in a closing reply (`?csat=<token>`); it needs no login.
SURVEY = PageSpec(csat_page.render, "Survey", "survey", ":material/reviews:", Role.viewer)


def page(spec: PageSpec, *, default: bool = False) -> st.Page:
    return st.Page(spec.render, title=spec.title, url_path=spec.url_path, icon=spec.icon, default=default)


app = ui.load_app()  # shows the reason and returns None when the configuration or database fail
st.set_page_config(
    page_title=app.settings.dashboard.title if app else "Earful",
    page_icon=":material/hearing:",
    layout="wide",
)
user = ui.current_user(app) if app else None
survey = "csat" in st.query_params
allowed = [spec for spec in PAGES if has_role(user, spec.role)] if user else []
if survey:
    navigation = st.navigation([page(SURVEY, default=True)], position="hidden")
elif allowed:
    built = {spec.url_path: page(spec, default=(i == 0)) for i, spec in enumerate(allowed)}
    ui.PAGE_LINKS.clear()
    ui.PAGE_LINKS.update(built)
    navigation = st.navigation(list(built.values()))
else:
    navigation = st.navigation([page(LOGIN, default=True)])
if user is not None and not survey:
    ui.account_sidebar(user)
if app is not None:
    navigation.run()
