"""Helpers of the browser tests (tests/integration/test_*browser*.py): `earful dashboard` as a child
process on a free port, Debian's Chromium through Playwright, and the login form.

`make test` installs chromium when it is missing; elsewhere the browser tests are skipped without it,
except under CI, where a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "browser"

needs_chromium = pytest.mark.skipif(
    not shutil.which(CHROMIUM) and not os.environ.get("CI"), reason="Debian chromium is not installed (make test installs it)"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def earful(config: Path, *args: str) -> subprocess.Popen[bytes]:
    """`earful --config CONFIG ARGS` in the config's folder, without this environment's EARFUL_
    variables; its stderr is kept to explain a failed start."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EARFUL_")}
    return subprocess.Popen([sys.executable, "-m", "core.cli", "--config", str(config), *args], cwd=config.parent,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@contextmanager
def start_dashboard(config: Path, *, start_s: float = 60) -> Iterator[str]:
    """`earful dashboard` on a free port, once Streamlit reports healthy: yields its URL, then stops it."""
    port = free_port()
    proc = earful(config, "dashboard", "--port", str(port))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + start_s
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        raise AssertionError(f"dashboard did not start: {proc.stderr.read().decode() if proc.stderr else ''}")
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@contextmanager
def browser_page(url: str, dialogs: list[str], height: int = 1000) -> Iterator[Page]:
    """A page of Debian's Chromium (headless, nothing of its own going to the network) on `url`.

    Its dialogs are dismissed and their messages kept in `dialogs`: a page that opens one has run
    injected script. OUTPUT, where the tests put their screenshots, exists."""
    from playwright.sync_api import sync_playwright

    OUTPUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": height})
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(url)
        yield page
        browser.close()


def log_in(page: Page, username: str, password: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()


def settle(page: Page, *, draw_ms: int = 0) -> None:
    """Wait for the page's script run to finish: Streamlit shows its status widget ("Running…",
    "Stop") while the script runs, so text read before it goes may still be half drawn."""
    from playwright.sync_api import expect

    page.wait_for_timeout(500)  # a rerun that was just triggered shows the widget within this
    expect(page.locator("[data-testid='stStatusWidget']")).to_have_count(0, timeout=30_000)
    if draw_ms:
        page.wait_for_timeout(draw_ms)  # charts draw in the browser after the script has finished
