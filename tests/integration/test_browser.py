"""The dashboard in a real browser (Debian's Chromium driven by Playwright): login, inbox, hostile text.

`make test` installs chromium when it is missing; elsewhere the test is skipped without it, except
under CI, where a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from core.db import Database
from core.mention import AuthorIn, MentionIn
from core.models import Brand
from core.store import store_batch
from core.users import add_user, parse_role

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
HOSTILE = ["<img src=x onerror=alert(1)>", "[click](javascript:alert(1))", "**bold**"]
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "browser"

pytestmark = pytest.mark.skipif(
    not shutil.which(CHROMIUM) and not os.environ.get("CI"), reason="Debian chromium is not installed (make test installs it)"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dashboard(tmp_path: Path):
    config = tmp_path / "config.yaml"
    config.write_text("database:\n  url: sqlite:///e.db\n")
    db = Database.open(f"sqlite:///{tmp_path / 'e.db'}")
    now = datetime.now(timezone.utc)
    with db.session() as s:
        s.add(Brand(name="Skylark Air"))
        s.flush()
        add_user(s, "agent", "correct horse", parse_role("agent"), display_name="Ada Agent")
        store_batch(s, [
            MentionIn("mastodon", f"h{i}", text, created_at=now - timedelta(minutes=i + 1), language="en",
                      url="javascript:alert(1)" if i == 1 else f"https://social.example/@x/{i}",
                      author=AuthorIn("mastodon", f"@troll{i}@social.example", name=text, followers=i),
                      brands=("Skylark Air",))
            for i, text in enumerate(HOSTILE)
        ])
    db.dispose()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EARFUL_")}
    proc = subprocess.Popen([sys.executable, "-m", "core.cli", "--config", str(config), "dashboard", "--port", str(port)],
                            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        raise AssertionError(f"dashboard did not start: {proc.stderr.read().decode() if proc.stderr else ''}")
    yield url
    proc.terminate()
    proc.wait(timeout=20)


@pytest.mark.timeout(120)
def test_login_and_hostile_text_shows_verbatim(dashboard: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    OUTPUT.mkdir(parents=True, exist_ok=True)
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(dashboard)
        expect(page.get_by_label("Username")).to_be_visible(timeout=30_000)
        assert page.get_by_text("Inbox").count() == 0  # nothing but the login before signing in
        page.screenshot(path=str(OUTPUT / "login.png"))
        page.get_by_label("Username").fill("agent")
        page.get_by_label("Password", exact=True).fill("wrong password")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_text("wrong username or password", exact=False)).to_be_visible(timeout=15_000)
        page.get_by_label("Password", exact=True).fill("correct horse")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Inbox")).to_be_visible(timeout=30_000)
        for text in HOSTILE:
            expect(page.get_by_text(text, exact=True).first).to_be_visible(timeout=15_000)
        assert page.locator("img[src='x']").count() == 0
        assert page.locator("a[href^='javascript']").count() == 0
        assert page.locator("strong", has_text="bold").count() == 0
        page.screenshot(path=str(OUTPUT / "inbox.png"), full_page=True)
        browser.close()
    assert dialogs == []


@pytest.mark.timeout(180)
def test_an_admin_sees_every_page_render_without_an_error(dashboard: str, tmp_path: Path) -> None:
    """Each page of the navigation in the real browser, with a screenshot of each under test-output/."""
    from playwright.sync_api import expect, sync_playwright

    db = Database.open(f"sqlite:///{tmp_path / 'e.db'}")
    with db.session() as s:
        add_user(s, "root", "correct horse", parse_role("admin"), display_name="Alex Admin")
    db.dispose()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(dashboard)
        page.get_by_label("Username").fill("root")
        page.get_by_label("Password", exact=True).fill("correct horse")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Inbox")).to_be_visible(timeout=30_000)
        for title in ("Inbox", "Cases", "Reputation", "Advocacy", "Team", "Alerts", "Settings"):
            page.get_by_role("link", name=title).first.click()
            expect(page.get_by_role("heading", name=title).first).to_be_visible(timeout=30_000)
            page.wait_for_timeout(1000)  # the rerun starts; then wait for Streamlit's "running" widget to go
            expect(page.locator("[data-testid='stStatusWidget']")).to_have_count(0, timeout=30_000)
            page.wait_for_timeout(1500)  # charts draw in the browser after the script has finished
            assert page.locator("[data-testid='stException']").count() == 0, f"{title} raised an exception"
            page.screenshot(path=str(OUTPUT / f"page-{title.lower()}.png"), full_page=True)
        browser.close()
    assert dialogs == []
