"""An agent corrects a case's urgency in a real browser, and the case moves in the Cases queue.

Three cases are opened through the product's own write paths (stored, scored, triaged), the least
urgent last; `earful dashboard` runs as a child process. The agent opens the bottom case, sees the
model's intent and topics next to the correction controls, raises its urgency to the top, and the
queue, reloaded, puts that case first. Screenshots go to test-output/browser/.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import pytest

from core.config import load_config
from core.db import Database
from core.models import Correction, Role, utcnow
from responder.queue import CaseFilters, list_cases
from tests.fakes import browser as fb
from tests.fakes import responder as fx
from tests.fakes.browser import OUTPUT

pytestmark = fb.needs_chromium

CONFIG = fx.MASTODON_SITE
MENTIONS = (  # (text, intent, topics, urgency): the seat question is the least urgent case
    ("skylark lost my bag and the app is down", "complaint", ("outage",), 0.8),
    ("skylark someone took over my account", "complaint", ("hacked account",), 0.6),
    ("skylark how do I change my seat", "question", (), 0.3),
)


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[tuple[str, Database, list[int]]]:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.format(db=tmp_path / "e.db"), encoding="utf-8")
    settings = load_config(config)
    db = Database.open(settings.database.url)
    now = utcnow()
    with db.session() as s:
        ids = fx.sync(s, settings)
        fx.user(s, "ada", Role.agent)
        fx.triaged(s, settings, ids, MENTIONS, now=now)
        queue = [r.case_id for r in list_cases(s, CaseFilters())]
    try:
        with fb.start_dashboard(config) as url:
            yield url, db, queue
    finally:
        db.dispose()


@pytest.mark.timeout(180)
def test_an_agent_corrects_a_cases_urgency_and_it_moves_in_the_queue(dashboard: tuple[str, Database, list[int]]) -> None:
    from playwright.sync_api import expect

    url, db, queue = dashboard
    assert len(queue) == 3
    bottom = queue[-1]
    dialogs: list[str] = []
    with fb.browser_page(url, dialogs, height=1400) as page:
        fb.log_in(page, "ada", "correct-horse-battery")
        page.get_by_role("link", name="Cases").click()
        expect(page.get_by_role("button", name="Open case")).to_be_visible(timeout=30_000)
        fb.settle(page)
        pick = page.get_by_role("combobox", name="Case", exact=True)
        expect(pick).to_have_value(re.compile(rf"^#{queue[0]} ·"))  # the queue preselects its top case
        page.screenshot(path=str(OUTPUT / "urgency-1-queue.png"), full_page=True)

        pick.click()
        page.get_by_role("option", name=f"#{bottom} ·", exact=False).click()
        fb.settle(page)
        page.get_by_role("button", name="Open case").click()
        expect(page.get_by_role("heading", name=f"Case #{bottom}")).to_be_visible(timeout=30_000)
        fb.settle(page)
        expect(page.get_by_text("intent question", exact=False)).to_be_visible()
        expect(page.get_by_text("topics none", exact=False)).to_be_visible()

        page.get_by_text("Correct the model", exact=True).click()
        slider = page.get_by_role("slider")
        slider.focus()
        slider.press("End")  # urgency 1.00: above every other case
        page.get_by_role("button", name="Save corrections").click()
        fb.settle(page)
        expect(page.get_by_text("Corrected urgency: 1.00")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("urgency 1.00", exact=False).first).to_be_visible()
        page.screenshot(path=str(OUTPUT / "urgency-2-case-corrected.png"), full_page=True)

        page.get_by_role("link", name="Cases").click()
        expect(page.get_by_role("button", name="Open case")).to_be_visible(timeout=30_000)
        fb.settle(page)
        expect(page.get_by_role("combobox", name="Case", exact=True)).to_have_value(re.compile(rf"^#{bottom} ·"))
        page.screenshot(path=str(OUTPUT / "urgency-3-queue-after.png"), full_page=True)
    assert dialogs == []
    with db.session() as s:
        assert [r.case_id for r in list_cases(s, CaseFilters())] == [bottom, *queue[:-1]]
        assert s.query(Correction).filter_by(field="urgency").count() == 1
