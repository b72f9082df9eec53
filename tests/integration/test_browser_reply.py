"""An agent answers a customer in a real browser, and the fake platform receives the reply.

The sandbox (in this process) plays Mastodon; the real listener collects from it, triage opens the
cases; `earful dashboard` and `earful send` run as child processes, as they do in production. The
agent logs in, opens the top case from the queue, writes a reply and sends it, sees it turn to
"sent", and the fake platform holds it once. Screenshots of each page go to test-output/browser/.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa

from core.config import load_config
from core.db import Database
from core.models import Case, Mention, Role, utcnow
from core.store import record_scores
from core.users import add_user
from listener.jobs import Runtime
from listener.sandbox import Sandbox
from listener.sandbox.world import World
from responder import cases
from responder.sla import BusinessCalendar
from sentiment.postprocess import ScoreResult
from tests.integration.test_browser import CHROMIUM, FLAGS, OUTPUT, free_port

REPLY = "Hi, sorry about your bag. We have found it and it is on its way to you today."

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"), reason="Debian chromium is not installed (make test installs it)"
)


def start(args: list[str], config: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EARFUL_")}
    return subprocess.Popen([sys.executable, "-m", "core.cli", "--config", str(config), *args], cwd=config.parent,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[str, Sandbox, int]]:
    world = World(seed=7, rate_per_min=1, backlog=timedelta(hours=3))
    with Sandbox(world, port=0) as sb:
        config = tmp_path / "config.yaml"
        config.write_text(f"""
database: {{url: "sqlite:///{tmp_path / 'e.db'}"}}
logging: {{level: WARNING}}
brands:
  - name: Skylark Air
    queries: [{{expression: 'skylark OR skylarkair', handles: ["@skylarkair"]}}]
sources:
  - {{name: mastodon, platform: mastodon, sandbox: true, base_url: "{sb.base_urls['mastodon']}",
      owned_accounts: ["@skylarkair"]}}
responder:
  sender: {{interval_seconds: 1}}
""")
        settings = load_config(config)
        db = Database.open(settings.database.url)
        runtime = Runtime(settings, db)
        runtime.poll("mastodon")
        runtime.close()
        now = utcnow()
        with db.session() as s:
            add_user(s, "agent", "correct horse", Role.agent, display_name="Ada Agent", team="care")
            inbound = s.scalars(sa.select(Mention).where(Mention.is_own.is_(False))).all()
            record_scores(s, [ScoreResult(m.id, "t", "negative", .8, .1, .1, -.6, "complaint", (), .3 + (i % 5) / 10)
                              for i, m in enumerate(inbound)], now=now)
            cases.triage(s, settings.responder, now=now, calendar=BusinessCalendar.from_config(settings.responder.sla))
            top = s.scalars(sa.select(Case.id).order_by(Case.urgency.desc(), Case.first_response_due, Case.id)).first()
        db.dispose()
        port = free_port()
        dashboard = start(["dashboard", "--port", str(port)], config)
        sender = start(["send"], config)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.3)
        else:
            dashboard.kill()
            raise AssertionError(f"dashboard did not start: {dashboard.stderr.read().decode() if dashboard.stderr else ''}")
        try:
            yield url, sb, top
        finally:
            for proc in (dashboard, sender):
                proc.terminate()
                proc.wait(timeout=20)


@pytest.mark.timeout(180)
def test_an_agent_answers_the_top_case_and_the_platform_receives_it(running: tuple[str, Sandbox, int]) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, sb, top = running
    OUTPUT.mkdir(parents=True, exist_ok=True)
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(url)
        page.get_by_label("Username").fill("agent")
        page.get_by_label("Password", exact=True).fill("correct horse")
        page.get_by_role("button", name="Log in").click()
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
        browser.close()
    assert dialogs == []
    posted = [post for post in sb.world.api_posts("mastodon") if post.text == REPLY]
    assert len(posted) == 1, "the platform should hold the reply exactly once"
    [request] = sb.requests("mastodon", "POST", "/api/v1/statuses")
    assert request.headers.get("authorization", "").startswith("Bearer ")
