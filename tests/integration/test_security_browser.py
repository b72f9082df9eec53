"""Untrusted text end to end: an injection corpus posted on the sandbox's Mastodon, collected by the
real listener (Mastodon.py over HTTP), stored, scored and triaged, then shown by `earful dashboard` in
Debian's Chromium. Every text must show literally on the inbox and the case page; no dialog may open,
no injected element may exist and no injected script may have run (it would set window.__pwned).
Screenshots go to test-output/browser/.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa

from core.config import load_config
from core.db import Database
from core.models import Case, Mention, Role, utcnow
from core.store import record_scores
from core.users import add_user, operator
from listener.jobs import Runtime
from listener.sandbox import Sandbox
from listener.sandbox.world import Author, World
from responder import cases
from responder.sla import BusinessCalendar
from sentiment.postprocess import ScoreResult
from tests.fakes import browser as fb
from tests.fakes.browser import OUTPUT

PWN = "window.__pwned=1"
# (what is posted, a fragment that must show literally)
CORPUS: tuple[tuple[str, str], ...] = (
    (f"skylark <script>{PWN};alert('s')</script> ok", f"<script>{PWN};alert('s')</script>"),
    (f'skylark <img src=x onerror="{PWN};alert(1)"> photo', f'<img src=x onerror="{PWN};alert(1)">'),
    ("skylark [click](javascript:alert(1)) and <a href=\"javascript:alert(2)\">here</a>",
     "[click](javascript:alert(1))"),
    ("skylark **bold** __under__ `code` # heading", "**bold** __under__ `code` # heading"),
    ("skylark &lt;b&gt;entities&lt;/b&gt; &amp;amp; &#60;i&#62;", "entities"),
    (f"skylark <svg onload=\"{PWN}\"></svg><iframe src=\"javascript:{PWN}\"></iframe> svg",
     f"<svg onload=\"{PWN}\"></svg>"),
    ("skylark control\x01\x02\x07\x1b[31mred\x1b[0m\x7f chars", "red"),
    ("skylark RTL \u202egnp.exe\u202c override", "gnp.exe"),
    ("skylark zero\u200bwidth\u200djoin\u2060ers\ufeff", "width"),
    ("skylark Z\u0351\u0364\u036b\u0342a\u0346\u0357l\u0363go combining", "combining"),
    ("skylark family \U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 flag \U0001f3f3\ufe0f\u200d\U0001f308",
     "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"),
    ("skylark odd \ufffd\uffff\U0010ffff\u00ad end", "odd"),
    ("skylark " + "long text " * 2_000, "long text long text"),
)
HOSTILE_NAME = f'<img src=x onerror="{PWN}">**Evil** \u202eeman'

pytestmark = fb.needs_chromium


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[str, int, list[str]]]:
    world = World(seed=7, rate_per_min=0, backlog=timedelta(minutes=5))
    now = datetime.now(timezone.utc)
    evil = Author("mastodon", "990001", "evil", HOSTILE_NAME, 5, 1, 1, now - timedelta(days=30))
    for i, (text, _) in enumerate(CORPUS):
        world.add_post("mastodon", text, author=evil if i == 1 else world.author_for("mastodon", i),
                       at=now - timedelta(minutes=len(CORPUS) - i))
    with Sandbox(world, port=0) as sb:
        config = tmp_path / "config.yaml"
        config.write_text(f"""
database: {{url: "sqlite:///{tmp_path / 'e.db'}"}}
logging: {{level: WARNING}}
brands:
  - name: Skylark Air
    queries: [{{expression: 'skylark'}}]
sources:
  - {{name: mastodon, platform: mastodon, sandbox: true, base_url: "{sb.base_urls['mastodon']}"}}
""")
        settings = load_config(config)
        db = Database.open(settings.database.url)
        runtime = Runtime(settings, db)
        outcome = runtime.poll("mastodon")
        runtime.close()
        assert outcome.status == "ok", outcome
        with db.session() as s:
            add_user(s, operator("test"), "agent", "correct horse", Role.agent, display_name="Ada Agent", team="care")
            stored = s.scalars(sa.select(Mention).order_by(Mention.created_at)).all()
            texts = [m.text for m in stored]
            # the script payload is the most urgent: its case tops the queue
            record_scores(s, [ScoreResult(m.id, "t", "negative", .8, .1, .1, -.6, "complaint", (),
                                          .99 if "<script>" in m.text else .3) for m in stored], now=utcnow())
            cases.triage(s, settings.responder, now=utcnow(), calendar=BusinessCalendar.from_config(settings.responder.sla))
            top = s.scalars(sa.select(Case.id).order_by(Case.urgency.desc(), Case.first_response_due, Case.id)).first()
        db.dispose()
        with fb.start_dashboard(config, start_s=40) as url:
            yield url, top, texts


def test_the_listener_stores_every_text_of_the_corpus_as_posted(running: tuple[str, int, list[str]]) -> None:
    _, _, texts = running
    assert len(texts) == len(CORPUS)
    for (_, fragment), text in zip(CORPUS, texts):
        assert fragment in text


def assert_nothing_injected(page) -> None:  # type: ignore[no-untyped-def]
    assert page.evaluate("window.__pwned") is None, "an injected script ran"
    for selector in ("img[src='x']", "a[href^='javascript']", "iframe[src^='javascript']", "svg[onload]",
                     "[onerror]", "[onload]:not(body)"):
        assert page.locator(selector).count() == 0, selector
    assert page.locator("script", has_text="__pwned").count() == 0
    assert page.locator("strong", has_text="bold").count() == 0 and page.locator("strong", has_text="Evil").count() == 0


@pytest.mark.timeout(60)
def test_the_corpus_shows_literally_and_nothing_runs(running: tuple[str, int, list[str]]) -> None:
    from playwright.sync_api import expect

    url, top, _ = running
    dialogs: list[str] = []
    with fb.browser_page(url, dialogs, height=1100) as page:
        fb.log_in(page, "agent", "correct horse")
        expect(page.get_by_role("heading", name="Inbox")).to_be_visible(timeout=20_000)
        expect(page.get_by_text(CORPUS[0][1], exact=False).first).to_be_visible(timeout=15_000)
        fb.settle(page)
        shown = page.evaluate("document.body.innerText")
        for _, fragment in CORPUS:
            assert fragment in shown, f"not shown literally: {fragment[:60]!r}"
        assert "**Evil**" in shown  # the author's name, as typed
        assert_nothing_injected(page)
        page.screenshot(path=str(OUTPUT / "security-inbox.png"), full_page=True)

        page.get_by_role("link", name="Cases").click()
        expect(page.get_by_role("button", name="Open case")).to_be_visible(timeout=20_000)
        page.get_by_role("button", name="Open case").click()  # the queue preselects its top case
        expect(page.get_by_role("heading", name=f"Case #{top}")).to_be_visible(timeout=20_000)
        expect(page.get_by_text(CORPUS[0][1], exact=False).first).to_be_visible(timeout=15_000)
        fb.settle(page)
        assert_nothing_injected(page)
        page.screenshot(path=str(OUTPUT / "security-case.png"), full_page=True)
    assert dialogs == []
