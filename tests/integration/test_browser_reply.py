"""An agent answers a customer in a real browser, and the fake platform receives the reply.

The sandbox (in this process) plays Mastodon; the real listener collects from it, triage opens the
cases; `earful dashboard` and `earful send` run as child processes, as they do in production. The
agent logs in, opens the top case from the queue, writes a reply and sends it, sees it turn to
"sent", and the fake platform holds it once. Screenshots of each page go to test-output/browser/.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa

from core.models import Case, Mention, Role, utcnow
from core.store import record_scores
from core.users import add_user, operator
from listener.sandbox import Sandbox
from listener.sandbox.world import World
from responder import cases
from responder.sla import BusinessCalendar
from sentiment.postprocess import ScoreResult
from tests.fakes import browser as fb
from tests.fakes import responder as fx
from tests.fakes.browser import OUTPUT

REPLY = "Hi, sorry about your bag. We have found it and it is on its way to you today."

pytestmark = fb.needs_chromium


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[str, Sandbox, int]]:
    world = World(seed=7, rate_per_min=1, backlog=timedelta(hours=3))
    with Sandbox(world, port=0) as sb:
        config = fx.mastodon_config(tmp_path, f"sqlite:///{tmp_path / 'e.db'}", sb, """
logging: {level: WARNING}
responder:
  sender: {interval_seconds: 1}
""")
        with fx.collected(config) as (settings, db), db.session() as s:
            now = utcnow()
            add_user(s, operator("test"), "agent", "correct horse", Role.agent, display_name="Ada Agent", team="care")
            inbound = s.scalars(sa.select(Mention).where(Mention.is_own.is_(False))).all()
            record_scores(s, [ScoreResult(m.id, "t", "negative", .8, .1, .1, -.6, "complaint", (), .3 + (i % 5) / 10)
                              for i, m in enumerate(inbound)], now=now)
            cases.triage(s, settings.responder, now=now, calendar=BusinessCalendar.from_config(settings.responder.sla))
            top = s.scalars(sa.select(Case.id).order_by(Case.urgency.desc(), Case.first_response_due, Case.id)).first()
        sender = fb.earful(config, "send")
        try:
            with fb.start_dashboard(config) as url:
                yield url, sb, top
        finally:
            sender.terminate()
            sender.wait(timeout=20)


@pytest.mark.timeout(180)
def test_an_agent_answers_the_top_case_and_the_platform_receives_it(running: tuple[str, Sandbox, int]) -> None:
    from playwright.sync_api import expect

    url, sb, top = running
    dialogs: list[str] = []
    with fb.browser_page(url, dialogs, height=1100) as page:
        fb.log_in(page, "agent", "correct horse")
        expect(page.get_by_role("heading", name="Inbox")).to_be_visible(timeout=30_000)
        page.screenshot(path=str(OUTPUT / "reply-1-inbox.png"), full_page=True)

        page.get_by_role("link", name="Cases").click()
        expect(page.get_by_role("heading", name="Cases")).to_be_visible(timeout=30_000)
        expect(page.get_by_role("button", name="Open case")).to_be_visible(timeout=30_000)
        page.wait_for_selector("[data-testid='stDataFrame']", timeout=30_000)
        page.screenshot(path=str(OUTPUT / "reply-2-cases.png"), full_page=True)
        page.get_by_role("button", name="Open case").click()  # the queue preselects its top case
        expect(page.get_by_role("heading", name=f"Case #{top}")).to_be_visible(timeout=30_000)

        page.get_by_label("Public reply").fill(REPLY)
        page.get_by_label("Public reply").press("Control+Enter")
        page.get_by_role("button", name="Send").click()
        expect(page.get_by_text("reply by agent · sent", exact=False)).to_be_visible(timeout=30_000)
        page.screenshot(path=str(OUTPUT / "reply-3-case-sent.png"), full_page=True)
    assert dialogs == []
    posted = [post for post in sb.world.api_posts("mastodon") if post.text == REPLY]
    assert len(posted) == 1, "the platform should hold the reply exactly once"
    [request] = sb.requests("mastodon", "POST", "/api/v1/statuses")
    assert request.headers.get("authorization", "").startswith("Bearer ")
