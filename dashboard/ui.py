"""Shared pieces of the dashboard: settings and database, who is signed in, plain-text rendering.

Permissions are decided in `core` (`core.users.has_role`); this module only remembers who signed in
(`st.session_state`, which lives on the server) and re-reads that user from the database on every
run of a page, so a deactivated account or a lowered role takes effect on the next click, not at the
next login.

Text that came from the internet (mention text, author names, URLs) is shown with `plain()` or
inside `st.dataframe`, never through Markdown or HTML.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from core.config import Settings, load_config, mask_url_passwords
from core.db import Database
from core.errors import ConfigError, EarfulError
from core.inbox import InboxRow
from core.models import Role, User
from core.users import authenticate, get_user, has_role

SESSION_KEY = "earful_user"
log = logging.getLogger("earful.dashboard")
SENTIMENT_BADGES = {
    "negative": ("red", ":material/sentiment_dissatisfied:"),
    "neutral": ("gray", ":material/sentiment_neutral:"),
    "positive": ("green", ":material/sentiment_satisfied:"),
}


@dataclass(frozen=True, slots=True)
class App:
    settings: Settings
    db: Database


@dataclass(frozen=True, slots=True)
class SignedIn:
    """What the session remembers about its user; the database stays the authority."""

    user_id: int
    username: str
    display_name: str
    role: Role


def _environment() -> tuple[str, tuple[tuple[str, str], ...]]:
    """What load_config reads besides the file: the working folder and the EARFUL_* variables."""
    return os.getcwd(), tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("EARFUL_")))


@st.cache_resource(show_spinner=False)
def _open_app(environment: tuple[str, tuple[tuple[str, str], ...]]) -> App:
    # `environment` is only the cache key: a changed EARFUL_CONFIG opens a new database.
    settings = load_config()
    return App(settings=settings, db=Database.open(settings.database.url, echo=settings.database.echo))


def load_app() -> App | None:
    """Settings and database, loaded once per process; None after showing why they failed.

    A failure is not cached, so fixing config.yaml and reloading the page is enough.

    The page says only which kind of failure it was: anyone can open it before logging in, and the
    reason may name hosts, users and paths. The reason goes to the server log (ConfigError messages
    show ${VAR} references, never their values; URLs lose their password).
    """
    try:
        return _open_app(_environment())
    except ConfigError as exc:
        log.error("the dashboard cannot load its configuration: %s", exc)
        st.error("Configuration error, see the server log.", icon=":material/error:")
    except (SQLAlchemyError, EarfulError) as exc:
        log.error("the dashboard cannot open its database: %s", mask_url_passwords(str(getattr(exc, "orig", None) or exc)))
        st.error("Database error, see the server log.", icon=":material/error:")
    return None


def signed_in() -> SignedIn | None:
    who = st.session_state.get(SESSION_KEY)
    return who if isinstance(who, SignedIn) else None


def sign_in(app: App, username: str, password: str) -> bool:
    """Check the password with core.users.authenticate (which audits the attempt)."""
    with app.db.session() as session:
        user = authenticate(session, username, password)
        if user is None:
            return False
        who = SignedIn(user_id=user.id, username=user.username, display_name=user.display_name, role=user.role)
    # A fresh start: nothing a previous user of this browser tab chose carries over.
    st.session_state.clear()
    st.session_state[SESSION_KEY] = who
    return True


def sign_out() -> None:
    st.session_state.clear()


def current_user(app: App) -> User | None:
    """The signed-in user as the database has them now; signs the session out if they are gone."""
    who = signed_in()
    if who is None:
        return None
    with app.db.session() as session:
        user = get_user(session, who.username)
    if user is None or user.id != who.user_id or not user.active:
        sign_out()
        return None
    if user.role != who.role or user.display_name != who.display_name:
        st.session_state[SESSION_KEY] = SignedIn(user.id, user.username, user.display_name, user.role)
    return user


def page_user(app: App, needed: Role) -> User:
    """The user of this page run, or the page stops here with a message (a page's first line)."""
    user = current_user(app)
    if user is None:
        st.warning("Please log in.", icon=":material/lock:")
        st.stop()
    if not has_role(user, needed):
        st.error(f"This page needs the role {needed.value} or higher.", icon=":material/block:")
        st.stop()
    return user


def account_sidebar(user: User) -> None:
    with st.sidebar:
        plain(f"Signed in as {user.display_name or user.username} ({user.role.value})")
        st.button("Log out", icon=":material/logout:", on_click=sign_out, key="logout")


def plain(text: object) -> None:
    """Show text exactly as it is: no Markdown, no HTML, nothing clickable."""
    st.text(str(text))


def sentiment_badge(sentiment: str | None) -> None:
    # Only the known labels reach st.badge (which reads Markdown); anything else is plain text.
    if sentiment in SENTIMENT_BADGES:
        color, icon = SENTIMENT_BADGES[sentiment]
        st.badge(sentiment, color=color, icon=icon)  # type: ignore[arg-type]
    else:
        plain("not scored" if sentiment is None else f"sentiment: {sentiment}")


def mention_card(row: InboxRow, sla: str = "") -> None:
    """One mention as a bordered card; every piece of untrusted text goes through plain().

    `sla` is its case's SLA clock (responder.queue.sla_clock), empty when there is none."""
    with st.container(border=True):
        body, side = st.columns([5, 1])
        with body:
            author = row.author_handle or "unknown author"
            if row.author_name and row.author_name != row.author_handle:
                author += f" ({row.author_name})"
            reach = f"{row.author_followers:,} followers" if row.author_followers is not None else "reach unknown"
            plain(f"{row.platform} · {author} · {reach} · {row.age}")
            if row.title:
                plain(row.title)
            plain(row.text)
            details = [f"Brands: {', '.join(row.brands) or 'none'}"]
            if row.language:
                details.append(f"Language: {row.language}")
            if row.case_id is not None:
                details.append(f"Case #{row.case_id}: {row.case_status}")
                if sla:
                    details.append(f"SLA {sla}")
            plain(" · ".join(details))
            if row.intent is not None:
                plain(f"Intent: {row.intent} · Topics: {', '.join(row.topics) or 'none'}")
            if row.reasons:
                plain("Why urgent: " + "; ".join(row.reasons))
        with side:
            plain("Urgency: " + ("–" if row.urgency is None else f"{row.urgency:.2f}"))
            sentiment_badge(row.sentiment)
            link = row.openable_url
            if link:
                st.link_button("Open", link, icon=":material/open_in_new:")
            elif row.url:
                plain(f"Link not opened (not http/https): {row.url}")


# The pages of this run by url path, filled by app.py, so a page can send the user to another.
PAGE_LINKS: dict[str, object] = {}


def open_case(case_id: int) -> None:
    """Show one case on the Case page."""
    st.session_state["open_case"] = int(case_id)
    target = PAGE_LINKS.get("case")
    if target is not None:
        st.switch_page(target)  # type: ignore[arg-type]
