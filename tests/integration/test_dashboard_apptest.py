"""The dashboard driven by streamlit.testing.v1.AppTest against a real, seeded SQLite database."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.db import Database
from core.mention import AuthorIn, MentionIn
from core.models import AuditEntry, Brand, Mention, Role, User
from core.store import store_batch
from core.users import add_user, operator

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
PASSWORD = "correct-horse-battery"
HOSTILE = ("<img src=x onerror=alert(1)>", "[click](javascript:alert(1))", "**bold**")
FRIENDLY = ("Acme support is slow today", "Loving the Acme app on reddit")


@pytest.fixture
def seeded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """A config file and database with one viewer and a few mentions; EARFUL_CONFIG points at it."""
    config = tmp_path / "config.yaml"
    config.write_text(f"database: {{url: 'sqlite:///{tmp_path / 't.db'}'}}\n", encoding="utf-8")
    for name in [n for n in os.environ if n.startswith("EARFUL_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("EARFUL_CONFIG", str(config))
    monkeypatch.chdir(tmp_path)
    now = datetime.now(timezone.utc)
    db = Database.open(f"sqlite:///{tmp_path / 't.db'}")
    with db.session() as s:
        add_user(s, operator("test"), "vera", PASSWORD, Role.viewer, display_name="**Vera** <b>V</b>")
        s.add_all([Brand(name="Acme"), Brand(name="Rival", is_competitor=True)])
        s.flush()
        items = [
            MentionIn("x", f"h{i}", text, created_at=now - timedelta(minutes=i + 1),
                      url="javascript:alert(1)" if i == 1 else f"https://x.com/i/{i}",
                      author=AuthorIn("x", f"troll{i}", name=HOSTILE[i], followers=10 * i), brands=("Rival",))
            for i, text in enumerate(HOSTILE)
        ]
        items.append(MentionIn("x", "f0", FRIENDLY[0], created_at=now - timedelta(minutes=9), language="en",
                               author=AuthorIn("x", "@ann", followers=1234), brands=("Acme",)))
        items.append(MentionIn("reddit", "f1", FRIENDLY[1], created_at=now - timedelta(minutes=20), language="en",
                               author=AuthorIn("reddit", "bob"), brands=("Acme",)))
        store_batch(s, items, now=now)
        s.execute(sa.update(Mention).where(Mention.native_id == "f0").values(sentiment="negative", urgency=0.8))
    st.cache_resource.clear()  # the app caches its database per process; start each test afresh
    yield db
    st.cache_resource.clear()
    db.dispose()


def start() -> AppTest:
    return AppTest.from_file(APP, default_timeout=30).run()


def log_in(at: AppTest, username: str = "vera", password: str = PASSWORD) -> AppTest:
    # Inside st.form: set the inputs and submit in the same run.
    user_box, password_box = at.text_input
    user_box.input(username)
    password_box.input(password)
    at.button[0].click()
    return at.run()


def shown_texts(at: AppTest) -> list[str]:
    return [t.value for t in at.text]


def markup_values(at: AppTest) -> list[str]:
    """Everything on the page that Streamlit renders as Markdown or HTML."""
    values: list[str] = []
    for kind in ("markdown", "caption", "latex", "title", "header", "subheader", "error", "warning", "info",
                 "success", "toast", "html"):
        values.extend(str(getattr(e, "value", "")) for e in at.get(kind))
    return values


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_not_logged_in_shows_only_the_login_form(seeded: Database) -> None:
    at = start()
    assert_clean(at)
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert [b.label for b in at.button] == ["Log in"]
    assert not at.sidebar.selectbox and not at.get("download_button") and not at.text
    assert not any(text in str(v) for v in markup_values(at) for text in (*HOSTILE, *FRIENDLY))


def test_wrong_password_shows_an_error_and_nothing_else(seeded: Database) -> None:
    at = log_in(start(), password="not-the-password")
    assert_clean(at)
    assert [e.value for e in at.error] == ["Wrong username or password."]
    assert not at.text and not at.sidebar.selectbox and not at.get("download_button")
    assert "earful_user" not in at.session_state
    with seeded.session() as s:
        assert s.scalar(sa.select(AuditEntry.action).where(AuditEntry.actor == "vera")) == "login.failed"


def test_right_password_shows_the_inbox(seeded: Database) -> None:
    at = log_in(start())
    assert_clean(at)
    assert [t.value for t in at.title] == ["Inbox"]
    texts = shown_texts(at)
    assert "5 mentions · most urgent first, then newest" in texts
    for text in (*HOSTILE, *FRIENDLY):
        assert texts.count(text) == 1
    assert texts.index(FRIENDLY[0]) < texts.index(HOSTILE[0])  # scored urgent mention first
    assert "x · @ann · 1,234 followers · 9 min ago" in texts
    assert [b.label for b in at.sidebar.button] == ["Log out"]
    assert [b.label for b in at.get("download_button")] == ["Download CSV"]


def test_filters_narrow_the_list(seeded: Database) -> None:
    at = log_in(start())
    at.sidebar.selectbox(key="inbox_platform").select("reddit").run()
    assert_clean(at)
    assert FRIENDLY[1] in shown_texts(at)
    assert not any(t in shown_texts(at) for t in (*HOSTILE, FRIENDLY[0]))

    at.sidebar.selectbox(key="inbox_platform").select(None).run()
    at.sidebar.selectbox(key="inbox_sentiment").select("negative").run()
    assert [t for t in shown_texts(at) if t in (*HOSTILE, *FRIENDLY)] == [FRIENDLY[0]]

    at.sidebar.selectbox(key="inbox_sentiment").select(None).run()
    at.sidebar.text_input(key="inbox_text").input("BOLD").run()
    assert [t for t in shown_texts(at) if t in (*HOSTILE, *FRIENDLY)] == ["**bold**"]

    at.sidebar.text_input(key="inbox_text").input("nothing like this").run()
    assert [i.value for i in at.info] == ["No mentions match these filters. Widen the time range or clear a filter."]


def test_brand_filter(seeded: Database) -> None:
    at = log_in(start())
    with seeded.session() as s:
        rival = s.scalar(sa.select(Brand.id).where(Brand.name == "Rival"))
    at.sidebar.selectbox(key="inbox_brand").select(rival).run()
    assert_clean(at)
    assert sorted(t for t in shown_texts(at) if t in (*HOSTILE, *FRIENDLY)) == sorted(HOSTILE)


def test_hostile_text_is_shown_verbatim_as_plain_text(seeded: Database) -> None:
    at = log_in(start())
    assert_clean(at)
    texts = shown_texts(at)
    for hostile in HOSTILE:
        assert hostile in texts  # the mention text, exactly
        assert any(hostile in t for t in texts if t != hostile)  # the author name, in the card header
    assert "Link not opened (not http/https): javascript:alert(1)" in texts
    assert all(b.proto.url.startswith("https://") for b in at.get("link_button"))
    assert "Signed in as **Vera** <b>V</b> (viewer)" in shown_texts(at)
    for value in markup_values(at):
        for hostile in (*HOSTILE, "javascript:", "**Vera**"):
            assert hostile not in value

    at.button_group(key="inbox_view").set_value("Table").run()
    assert_clean(at)
    table = at.dataframe[0].value
    assert set(HOSTILE) <= set(table["Text"])
    assert "javascript:alert(1)" in set(table["URL"])
    assert all(hostile not in value for value in markup_values(at) for hostile in HOSTILE)


def test_pagination(seeded: Database) -> None:
    now = datetime.now(timezone.utc)
    with seeded.session() as s:
        fillers = [
            MentionIn("rss", f"p{i}", f"page filler {i:02d}", created_at=now - timedelta(hours=1, minutes=i))
            for i in range(30)
        ]
        store_batch(s, fillers, now=now)
    at = log_in(start())
    assert "35 mentions · most urgent first, then newest" in shown_texts(at)
    assert "page filler 29" not in shown_texts(at)
    at.button(key="inbox_next").click().run()
    assert_clean(at)
    assert at.number_input(key="inbox_page").value == 2
    assert "page filler 29" in shown_texts(at)
    at.sidebar.selectbox(key="inbox_platform").select("rss").run()  # a new filter starts at page 1
    assert at.number_input(key="inbox_page").value == 1


def test_logout(seeded: Database) -> None:
    at = log_in(start())
    at.sidebar.button(key="logout").click().run()
    assert_clean(at)
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert not at.text and not at.sidebar.selectbox
    assert "earful_user" not in at.session_state


def test_a_deactivated_user_is_signed_out_on_the_next_click(seeded: Database) -> None:
    at = log_in(start())
    with seeded.session() as s:
        s.execute(sa.update(User).where(User.username == "vera").values(active=False))
    at.sidebar.text_input(key="inbox_text").input("acme").run()
    assert_clean(at)
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert not any(t in shown_texts(at) for t in (*HOSTILE, *FRIENDLY))


def test_a_user_deactivated_through_core_users_is_signed_out_and_cannot_sign_in_again(seeded: Database) -> None:
    from core.users import deactivate_user, operator, reactivate_user, set_role

    at = log_in(start())
    with seeded.session() as s:
        set_role(s, operator("test"), "vera", Role.manager)
    at.run()
    assert "Signed in as **Vera** <b>V</b> (manager)" in shown_texts(at)  # the new role, at once
    with seeded.session() as s:
        deactivate_user(s, operator("test"), "vera")
    at.run()
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    again = log_in(at)
    assert [e.value for e in again.error] == ["Wrong username or password."]
    with seeded.session() as s:
        reactivate_user(s, operator("test"), "vera")
    assert "Signed in as **Vera** <b>V</b> (manager)" in shown_texts(log_in(start()))


def test_a_broken_config_shows_no_reason_before_login_and_logs_it(
        seeded: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("database: {url: 'mysql://nope'}\n", encoding="utf-8")
    monkeypatch.setenv("EARFUL_CONFIG", str(bad))
    at = start()
    assert_clean(at)
    assert [e.value for e in at.error] == ["Configuration error, see the server log."]
    assert not at.code and not at.text_input
    logged = [r.getMessage() for r in caplog.records if r.name == "earful.dashboard"]
    assert any("the database 'mysql' is not supported" in line for line in logged), logged
