"""The dashboard in a real browser (Debian's Chromium driven by Playwright): login, inbox, hostile text.

`make test` installs chromium when it is missing; elsewhere the test is skipped without it, except
under CI, where a missing browser is a failure.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest

from core.db import Database
from core.mention import AuthorIn, MentionIn
from core.models import Brand
from core.store import store_batch
from core.users import add_user, operator, parse_role
from tests.fakes import browser as fb
from tests.fakes.browser import OUTPUT

HOSTILE = ["<img src=x onerror=alert(1)>", "[click](javascript:alert(1))", "**bold**"]

pytestmark = fb.needs_chromium


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[str]:
    config = tmp_path / "config.yaml"
    config.write_text("database:\n  url: sqlite:///e.db\n")
    db = Database.open(f"sqlite:///{tmp_path / 'e.db'}")
    now = datetime.now(timezone.utc)
    with db.session() as s:
        s.add(Brand(name="Skylark Air"))
        s.flush()
        add_user(s, operator("test"), "agent", "correct horse", parse_role("agent"), display_name="Ada Agent")
        store_batch(s, [
            MentionIn("mastodon", f"h{i}", text, created_at=now - timedelta(minutes=i + 1), language="en",
                      url="javascript:alert(1)" if i == 1 else f"https://social.example/@x/{i}",
                      author=AuthorIn("mastodon", f"@troll{i}@social.example", name=text, followers=i),
                      brands=("Skylark Air",))
            for i, text in enumerate(HOSTILE)
        ])
    db.dispose()
    with fb.start_dashboard(config) as url:
        yield url


@pytest.mark.timeout(120)
def test_login_and_hostile_text_shows_verbatim(dashboard: str) -> None:
    from playwright.sync_api import expect

    dialogs: list[str] = []
    with fb.browser_page(dashboard, dialogs) as page:
        expect(page.get_by_label("Username")).to_be_visible(timeout=30_000)
        assert page.get_by_text("Inbox").count() == 0  # nothing but the login before signing in
        page.screenshot(path=str(OUTPUT / "login.png"))
        fb.log_in(page, "agent", "wrong password")
        expect(page.get_by_text("wrong username or password", exact=False)).to_be_visible(timeout=15_000)
        page.get_by_label("Password", exact=True).fill("correct horse")  # the username stays filled in
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Inbox")).to_be_visible(timeout=30_000)
        for text in HOSTILE:
            expect(page.get_by_text(text, exact=True).first).to_be_visible(timeout=15_000)
        assert page.locator("img[src='x']").count() == 0
        assert page.locator("a[href^='javascript']").count() == 0
        assert page.locator("strong", has_text="bold").count() == 0
        page.screenshot(path=str(OUTPUT / "inbox.png"), full_page=True)
    assert dialogs == []


@pytest.mark.timeout(180)
def test_an_admin_sees_every_page_render_without_an_error(dashboard: str, tmp_path: Path) -> None:
    """Each page of the navigation in the real browser, with a screenshot of each under test-output/."""
    from playwright.sync_api import expect

    db = Database.open(f"sqlite:///{tmp_path / 'e.db'}")
    with db.session() as s:
        add_user(s, operator("test"), "root", "correct horse", parse_role("admin"), display_name="Alex Admin")
    db.dispose()
    dialogs: list[str] = []
    with fb.browser_page(dashboard, dialogs) as page:
        fb.log_in(page, "root", "correct horse")
        expect(page.get_by_role("heading", name="Inbox")).to_be_visible(timeout=30_000)
        for title in ("Inbox", "Cases", "Reputation", "Advocacy", "Team", "Alerts", "Settings"):
            page.get_by_role("link", name=title).first.click()
            expect(page.get_by_role("heading", name=title).first).to_be_visible(timeout=30_000)
            fb.settle(page, draw_ms=1500)
            assert page.locator("[data-testid='stException']").count() == 0, f"{title} raised an exception"
            page.screenshot(path=str(OUTPUT / f"page-{title.lower()}.png"), full_page=True)
    assert dialogs == []
