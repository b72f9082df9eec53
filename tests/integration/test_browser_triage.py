"""The Inbox's intent and topic filters in a real browser (Debian's Chromium driven by Playwright).

Mentions with different intents and topics are scored and triaged into cases through the product's
own write paths; `earful dashboard` runs as a child process; a viewer picks an intent, then a topic,
and the list narrows to what matches, each card saying why it is urgent and its case's SLA clock.
Screenshots go to test-output/browser/.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import pytest

from core.config import load_config
from core.db import Database
from core.models import Role, utcnow
from tests.fakes import browser as fb
from tests.fakes import responder as fx
from tests.fakes.browser import OUTPUT

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = fb.needs_chromium

CONFIG = fx.MASTODON_SITE + fx.ROUND_THE_CLOCK_SLA
# name: (text, intent, topics, urgency)
MENTIONS = {
    "bag": ("skylark lost my bag and the app is down", "complaint", ("outage",), 0.9),
    "hack": ("skylark someone took over my account", "complaint", ("hacked account",), 0.8),
    "seat": ("skylark how do I change my seat", "question", (), 0.6),
    "login": ("skylark why can I not log in, is it down", "question", ("outage",), 0.5),
    "crew": ("skylark the crew were lovely today", "praise", (), 0.2),
}


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[str]:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.format(db=tmp_path / "e.db"), encoding="utf-8")
    settings = load_config(config)
    db = Database.open(settings.database.url)
    now = utcnow()
    with db.session() as s:
        ids = fx.sync(s, settings)
        fx.user(s, "val", Role.viewer)
        fx.triaged(s, settings, ids, MENTIONS.values(), now=now, reasons=True)
    db.dispose()
    with fb.start_dashboard(config) as url:
        yield url


def choose(page: Page, label: str, option: str) -> None:
    """Pick `option` in the sidebar selectbox labelled `label`, and wait for the rerun."""
    box = page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").filter(
        has=page.get_by_text(label, exact=True))
    box.get_by_role("combobox").click()
    page.get_by_role("option", name=option, exact=True).click()
    fb.settle(page)


def shown(page: Page) -> list[str]:
    """Which seeded mentions the Inbox shows, in its order."""
    texts = page.locator("[data-testid='stMain'] [data-testid='stText']").all_inner_texts()
    by_text = {text: name for name, (text, *_) in MENTIONS.items()}
    return [by_text[t] for t in texts if t in by_text]


@pytest.mark.timeout(180)
def test_the_intent_and_topic_filters_narrow_the_inbox(dashboard: str) -> None:
    from playwright.sync_api import expect

    dialogs: list[str] = []
    with fb.browser_page(dashboard, dialogs, height=1600) as page:
        fb.log_in(page, "val", "correct-horse-battery")
        expect(page.get_by_role("heading", name="Inbox")).to_be_visible(timeout=30_000)
        fb.settle(page)
        assert shown(page) == ["bag", "hack", "seat", "login", "crew"]
        expect(page.get_by_text("Why urgent: complaint needs a reply").first).to_be_visible()
        expect(page.get_by_text("Intent: complaint · Topics: outage", exact=True)).to_be_visible()
        expect(page.get_by_text(" · SLA 5", exact=False).first).to_be_visible()  # due within the hour

        choose(page, "Intent", "question")
        assert shown(page) == ["seat", "login"]
        page.screenshot(path=str(OUTPUT / "inbox-intent-filter.png"), full_page=True)

        choose(page, "Topic", "outage")
        assert shown(page) == ["login"]
        choose(page, "Intent", "Any intent")
        assert shown(page) == ["bag", "login"]
        page.screenshot(path=str(OUTPUT / "inbox-topic-filter.png"), full_page=True)

        choose(page, "Topic", "hacked account")
        assert shown(page) == ["hack"]
        expect(page.get_by_text("1 mentions · most urgent first, then newest", exact=True)).to_be_visible()
        assert page.locator("[data-testid='stException']").count() == 0
    assert dialogs == []
