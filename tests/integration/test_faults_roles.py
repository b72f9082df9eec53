"""Fault suite: every role of `earful run` SIGKILLed at random moments, over many cycles.

Four nodes (`--role listener`, `scorer`, `sender`, `alerts`) run against the sandbox, on an SQLite
file and on PostgreSQL. Approved replies wait in the outbox and a burst of angry posts arrives while
a seeded `random.Random` picks a role and a moment, SIGKILLs that node and starts it again, cycle
after cycle. Once everything has settled:

- every item an uninterrupted poll of the same sandbox stores is stored exactly once, nothing else;
- every mention has a score;
- no reply is left `sending`: each is `sent` and on the fake platform exactly once, or in `verify`
  (its sender died after claiming it and the lookup did not find it) and not on the platform at all;
- the burst opened its alert, and the alert's notification reached the webhook.
"""

from __future__ import annotations

import random
import subprocess
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.db import Database
from core.models import Alert, Brand, Mention, Notification, Reply, ReplyState, Score
from listener.sandbox import Sandbox
from listener.sandbox.world import World
from tests.fakes import faults as ff
from tests.fakes import responder as fx

SEED = 20260308
CYCLES = 12
ROLES = ("listener", "scorer", "sender", "alerts")
SOURCES = ("mastodon", "x", "bluesky", "reddit")
REPLIES = 6
BURST = timedelta(seconds=15)


def write_config(folder: Path, url: str, sb: Sandbox) -> tuple[Path, str]:
    sources = ff.sources_yaml(sb, SOURCES)
    path = folder / "config.yaml"
    path.write_text(f"""
database: {{url: "{url}"}}
logging: {{level: INFO}}
scheduler: {{backoff_max_seconds: 3}}
sentiment: {{threads: 1, batch_size: 32, interval_seconds: 1}}
responder:
  cases: {{interval_seconds: 1}}
  sender: {{interval_seconds: 1, lease_seconds: 3}}
alerts:
  interval_seconds: 1
  trailing_hours: 2
  notify: {{interval_seconds: 1, backoff_seconds: 1}}
  channels: [{{name: hook, type: webhook, webhook_url: "${{FAULT_WEBHOOK_URL}}"}}]
  rules: [{{channels: [hook]}}]
{ff.BRANDS}{sources}""")
    return path, ff.BRANDS + sources


def seed_outbox(config: Path) -> list[str]:
    """Collect from the fake Mastodon once and approve REPLIES replies on cases of its mentions, as
    agents would have before the nodes start (the other mentions are left to the scorer)."""
    with fx.collected(config) as (settings, db), db.session() as s:
        inbound = s.scalars(sa.select(Mention).where(Mention.is_own.is_(False), Mention.platform == "mastodon")
                            .order_by(Mention.id).limit(REPLIES * 3)).all()
        fx.score_and_triage(s, settings, inbound)
        texts = fx.approve_replies(s, settings, REPLIES)
    assert len(texts) == REPLIES
    return texts


def burst(world: World) -> datetime:
    """Angry posts about an app outage from now on, about 10 a second for BURST (the test ticks the
    world as time passes: platforms only ever add posts at the present). Returns when it ends."""
    now = world.now()
    world.schedule_spike(now, duration=BURST, rate_per_min=600)
    return now + BURST


@pytest.mark.timeout(240)
def test_every_role_killed_at_random_moments_loses_and_duplicates_nothing(tmp_path: Path, db_url: str,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(SEED)
    print(f"fault seed {SEED}")
    world = World(seed=7, rate_per_min=2, backlog=timedelta(hours=3))
    world.set_rate(0)  # the world changes only when the test says so (the burst)
    with Sandbox(world, port=0) as sb, ff.WebhookReceiver() as hook:
        monkeypatch.setenv("FAULT_WEBHOOK_URL", hook.url)  # the seeding below loads the config here too
        config, config_text = write_config(tmp_path, db_url, sb)
        texts = seed_outbox(config)
        env = {"FAULT_WEBHOOK_URL": hook.url}
        logs = {role: tmp_path / f"{role}.log" for role in ROLES}
        procs: dict[str, subprocess.Popen[bytes]] = {}
        db = Database.open(db_url, migrate=False)
        try:
            for role in ROLES:
                procs[role] = ff.earful(config, "run", "--role", role, log=logs[role], env=env)
            kills: list[str] = []
            victims = [*ROLES] * (CYCLES // len(ROLES))  # every role dies as often, in a random order
            rng.shuffle(victims)
            for cycle, role in enumerate(victims):
                after = rng.uniform(0.3, 3.5)
                time.sleep(after)  # the random moment: during start-up, a poll, a scoring batch, a send
                ff.kill(procs[role])
                kills.append(f"{role}@{after:.1f}s")
                procs[role] = ff.earful(config, "run", "--role", role, log=logs[role], env=env)
                if cycle == CYCLES // 3:
                    burst_ends = burst(world)
                world.tick()
            print("killed:", ", ".join(kills))
            time.sleep(max(0.0, (burst_ends - world.now()).total_seconds()))  # the burst runs its course
            world.tick()

            def alive() -> None:
                for role, proc in procs.items():
                    assert proc.poll() is None, f"{role} exited: {logs[role].read_text()[-3000:]}"

            expected = ff.reference_items(config_text, tmp_path / "reference")

            seen: dict[str, object] = {}

            def settled() -> bool:
                with db.session() as s:
                    state = {
                        "missing": len(expected - set(ff.stored_items(db))),
                        "unscored": s.scalar(sa.select(sa.func.count()).select_from(Mention)
                                             .where(Mention.scored_at.is_(None))),
                        "unsent": s.scalar(sa.select(sa.func.count()).select_from(Reply).where(
                            Reply.state.notin_([ReplyState.sent, ReplyState.verify]))),
                        "alerts": s.scalar(sa.select(sa.func.count()).select_from(Alert).join(Brand).where(
                            Brand.name == "Skylark Air", Alert.kind == "volume_spike")),
                        "notified": s.scalar(sa.select(sa.func.count()).select_from(Notification)
                                             .where(Notification.state == "sent")),
                    }
                seen.update(state)
                return not state["missing"] and not state["unscored"] and not state["unsent"] and bool(
                    state["alerts"] and state["notified"])

            try:
                ff.wait_for("settled after the kills", settled, deadline_s=90, every_s=0.5, alive=alive)
            except AssertionError as exc:
                raise AssertionError(f"{exc}; last state {seen}") from None
        finally:
            for role, proc in procs.items():
                ff.stop(proc)
        got = ff.stored_items(db)
        with db.session() as s:
            unscored = s.scalar(sa.select(sa.func.count()).select_from(Mention).where(
                ~sa.exists().where(Score.mention_id == Mention.id)))
            replies = {text: state for text, state in s.execute(sa.select(Reply.text, Reply.state))}
            alert_ids = set(s.scalars(sa.select(Alert.id)))
        db.dispose()
        posted = Counter(p.text for p in sb.world.api_posts("mastodon"))
        # The brand's replies are its own posts, which the listener collects too; a sender that came up
        # late (a loaded machine) posts them after the reference was taken, so they may be extra there.
        own_replies = {("mastodon", str(p.id)) for p in sb.world.api_posts("mastodon")}
        assert sb.handler_errors() == {}

    assert len(got) == len(set(got)), "an item was stored twice"
    extra = set(got) - expected - own_replies
    assert expected <= set(got) and not extra, f"lost {len(expected - set(got))}, extra {len(extra)}"
    assert unscored == 0, f"{unscored} mentions have no score"
    assert sorted(replies) == sorted(texts)
    for text, state in replies.items():
        want = 1 if state is ReplyState.sent else 0  # verify: the lookup did not find it; never resent
        assert posted[text] == want, (text, state, posted[text])
    assert set(posted) <= set(texts)
    opened = [b for b in hook.bodies if b.get("event") == "opened"]
    assert {b["alert"]["id"] for b in opened} <= alert_ids and opened, hook.bodies  # type: ignore[index]
