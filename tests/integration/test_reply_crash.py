"""Kill the sender (SIGKILL) after the platform accepted a reply but before the database recorded it.

The sandbox runs in the test process and outlives the sender. Its Mastodon fake is told to store the
next reply and then hold the answer (the `lost_answer` fault), so the child `earful send --once` is
killed exactly in the window between the platform's acceptance and Earful's commit. After a restart
the fake platform must hold exactly one copy of the reply, and the case must either record it as sent
(found by looking it up) or flag it for a human to verify; it is never posted again.
"""

from __future__ import annotations

import signal
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.config import load_config
from core.db import Database
from core.models import Case, Mention, Reply, ReplyState, Role
from listener.sandbox import Sandbox
from listener.sandbox.world import World
from tests.fakes import faults as ff
from tests.fakes import responder as fx

REPLY_TEXT = "Hi, sorry about this: we are looking into it now and will update you here."
STATUSES = "/api/v1/statuses"


def write_config(folder: Path, sb: Sandbox) -> Path:
    return fx.mastodon_config(folder, f"sqlite:///{folder / 'earful.db'}", sb, """
logging: {level: WARNING}
responder:
  sender: {lease_seconds: 0.5, timeout_seconds: 60}
""")


def queue_a_reply(config: Path) -> int:
    """Collect real mentions from the fake Mastodon, score them, open a case and approve a reply."""
    with fx.collected(config) as (settings, db), db.session() as s:
        inbound = s.scalars(sa.select(Mention).where(Mention.is_own.is_(False)).order_by(Mention.id)).all()
        assert inbound, "the listener collected nothing"
        fx.score_and_triage(s, settings, inbound)
        case_id = s.scalars(sa.select(Case.id).order_by(Case.id)).first()
        return fx.approve(s, settings, fx.user(s, "ann", Role.agent), case_id, REPLY_TEXT).id


def wait_for(condition, what: str, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def the_reply(config: Path, reply_id: int) -> Reply:
    db = Database.open(load_config(config).database.url)
    try:
        with db.session() as s:
            found = s.get(Reply, reply_id)
            assert found is not None
            return found
    finally:
        db.dispose()


def copies_on_platform(sb: Sandbox) -> list[str]:
    return [p.id for p in sb.world.api_posts("mastodon") if p.text == REPLY_TEXT]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("lookup_works", [True, False], ids=["found-on-platform", "flagged-for-verification"])
def test_a_sender_killed_after_the_platform_accepted_never_posts_twice(tmp_path: Path, lookup_works: bool) -> None:
    world = World(seed=7, rate_per_min=2, backlog=timedelta(hours=6))
    with Sandbox(world, port=0) as sb:
        config = write_config(tmp_path, sb)
        reply_id = queue_a_reply(config)
        sb.inject("mastodon", "lost_answer", route=STATUSES, method="POST", delay_s=60)

        sender = ff.earful(config, "send", "--once")
        try:
            wait_for(lambda: copies_on_platform(sb), "the platform to accept the reply")
            assert the_reply(config, reply_id).state == ReplyState.sending  # accepted, not yet recorded
            sender.send_signal(signal.SIGKILL)
            sender.wait(timeout=10)
        finally:
            if sender.poll() is None:
                sender.kill()
        [accepted] = copies_on_platform(sb)

        time.sleep(0.6)  # past the 0.5 s lease: the restarted sender treats the send as abandoned
        if not lookup_works:
            sb.inject("mastodon", "server_error", route="/api/v1/statuses/{id}/context", times=5)
        status, output = ff.run_earful(config, "send", "--once")
        assert status == 0, output

        assert copies_on_platform(sb) == [accepted], "the reply was posted twice"
        assert len(sb.requests("mastodon", "POST", STATUSES)) == 1
        settled = the_reply(config, reply_id)
        if lookup_works:
            assert settled.state == ReplyState.sent and settled.platform_reply_id == accepted
        else:
            assert settled.state == ReplyState.verify and "verify" in (settled.error or "")
        # Another pass changes nothing: a reply to verify waits for a human.
        status, _ = ff.run_earful(config, "send", "--once")
        assert status == 0 and copies_on_platform(sb) == [accepted]
        assert sb.handler_errors() == {}
