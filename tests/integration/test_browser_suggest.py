"""An agent answers a customer in a real browser from a suggestion: a past reply the team sent to a
similar mention, edited before it is sent.

The team answered two customers earlier (a lost bag and a refund), through the outbox and a
scripted publisher; the scorer role's job (`responder.jobs.embed_replies_job`, with the real
sentence encoder) indexes those replies. `earful dashboard` runs as a child process, as in
production, and loads the same encoder in the background. The agent opens the top case (a new lost
bag), sees the bag reply suggested with its similarity and the mention it answered (shown as plain
text: it holds Markdown and an HTML tag), uses it, adds the file reference and sends it. The
stored reply is the edited suggestion. Screenshots go to test-output/browser/.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.config import load_config
from core.db import Database
from core.models import Reply, ReplyState, Role, utcnow
from core.runtimes import Runtimes
from responder import cases, jobs, outbox
from responder.sla import BusinessCalendar
from responder.suggest import indexed_counts, suggest
from sentiment import job as sentiment_job
from tests.fakes import browser as fb
from tests.fakes import responder as fx
from tests.fakes.browser import OUTPUT

pytestmark = fb.needs_chromium

CONFIG = fx.MASTODON_SITE
PAST_BAG = "@skylark my bag didn't come off the belt in Frankfurt, **where** is my luggage? <img src=x onerror=alert(1)>"
BAG = "So sorry your bag hasn't arrived. Please file a report at the baggage desk and DM us the file reference so we can trace it."
PAST_REFUND = "skylark still waiting for my refund for the cancelled flight, it's been 6 weeks"
REFUND = "Refunds for cancelled flights take up to 7 working days; DM us your booking reference and we'll check on it."
NOW_BAG = "skylark my luggage never came off the belt at Heathrow, where is my bag?"
EDIT = " Your file reference is LHR-4521, we're on it."


@pytest.fixture
def isolated_job_registries(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The jobs' per-process registries, fresh for this test and emptied after it."""
    scorers: dict = {}
    monkeypatch.setattr(sentiment_job, "_scorers", scorers)
    runtimes = Runtimes(jobs.ResponderRuntime)
    monkeypatch.setattr(jobs, "_runtimes", runtimes)
    yield
    for db, *_ in scorers.values():
        db.dispose()
    for runtime in runtimes._runtimes.values():
        runtime.close()
        runtime.db.dispose()


@pytest.mark.timeout(300)
def test_an_agent_picks_a_suggestion_edits_it_and_sends_it(tmp_path: Path, isolated_job_registries: None) -> None:
    from playwright.sync_api import expect

    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.format(db=tmp_path / "e.db"))
    settings = load_config(config, env={})
    db = Database.open(settings.database.url)
    now = utcnow()
    try:
        with db.session() as s:
            ids = fx.sync(s, settings)
            agent = fx.user(s, "ada", Role.agent)
            past = [fx.mention(s, ids, text=text, author=f"@{who}@example.social", at=now - timedelta(days=2))
                    for text, who in ((PAST_BAG, "ann"), (PAST_REFUND, "cy"))]
            current = fx.mention(s, ids, text=NOW_BAG, author="@kim@example.social", urgency=0.9, at=now)
            cases.triage(s, settings.responder, now=now, calendar=BusinessCalendar.from_config(settings.responder.sla))
            for m in (*past, current):
                s.refresh(m)
            for m, text in zip(past, (f"@ann@example.social {BAG} ^JS", f"@cy@example.social {REFUND} ^AB")):
                fx.approve(s, settings, agent, m.case_id, text)
            case_id, mention_id, agent_id = current.case_id, current.id, agent.id
        outbox.send_due(db, outbox.Publishers(settings, build=lambda conf, timeout: fx.ScriptedPublisher()))

        jobs.embed_replies_job(str(config))  # what the scorer role runs every responder.suggestions.interval_seconds
        with db.session() as s:
            assert indexed_counts(s) == (2, 2)
            expected = suggest(s, mention_id, sentiment_job.shared_encoder(str(config)).encode, backfill_limit=0)
        assert [x.text for x in expected] == [BAG]  # the refund answer is not close enough to be offered

        dialogs: list[str] = []
        with fb.start_dashboard(config) as url, fb.browser_page(url, dialogs, height=1400) as page:
            fb.log_in(page, "ada", "correct-horse-battery")
            expect(page.get_by_role("heading", name="Inbox")).to_be_visible(timeout=30_000)
            page.get_by_role("link", name="Cases").click()
            expect(page.get_by_role("button", name="Open case")).to_be_visible(timeout=30_000)
            page.get_by_role("button", name="Open case").click()  # the queue preselects its top case
            expect(page.get_by_role("heading", name=f"Case #{case_id}")).to_be_visible(timeout=30_000)

            # The dashboard loads its sentence model in the background the first time; the page is
            # usable meanwhile and shows the suggestions once it is ready.
            header = page.get_by_text(re.compile(r"^Suggestion 1 · similarity \d\.\d\d$"))
            expect(header).to_be_visible(timeout=120_000)
            assert header.inner_text() == f"Suggestion 1 · similarity {expected[0].similarity:.2f}"
            expect(page.get_by_text(f"They wrote: {PAST_BAG}", exact=True)).to_be_visible()
            expect(page.get_by_text(f"We replied: {BAG}", exact=True)).to_be_visible()
            expect(page.get_by_text("Suggestion 2", exact=False)).to_have_count(0)
            page.screenshot(path=str(OUTPUT / "suggest-1-case.png"), full_page=True)

            page.get_by_role("button", name="Use suggestion 1").click()
            box = page.get_by_label("Public reply")
            expect(box).to_have_value(BAG, timeout=30_000)
            box.click()
            box.press("Control+End")
            box.press_sequentially(EDIT)
            box.press("Control+Enter")
            fb.settle(page)
            page.get_by_role("button", name="Send").click()
            expect(page.get_by_text("reply by ada · approved", exact=False)).to_be_visible(timeout=30_000)
            page.screenshot(path=str(OUTPUT / "suggest-2-sent.png"), full_page=True)
        assert dialogs == []  # the past mention's <img onerror> was shown as text, never run

        with db.session() as s:
            [reply] = s.scalars(sa.select(Reply).where(Reply.case_id == case_id)).all()
            assert (reply.text, reply.state, reply.in_reply_to_id) == (BAG + EDIT, ReplyState.approved, mention_id)
            assert reply.author_user_id == agent_id
    finally:
        db.dispose()
