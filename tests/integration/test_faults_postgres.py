"""Fault suite: PostgreSQL drops a node's connections, again and again.

A `earful run --role listener,scorer` node works against PostgreSQL under its own `application_name`.
The test terminates every server session of that node (`pg_terminate_backend`), several times, and
after each drop adds new posts to the sandbox. The node must not exit, must collect and score the new
posts after each drop (the pool's pre-ping replaces dead connections; a job that was cut off fails that
run only), and in the end hold every item exactly once, each with a score.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from core.db import Database
from core.models import Mention
from listener.sandbox import Sandbox
from listener.sandbox.world import World
from tests.conftest import _postgres_database_url
from tests.fakes import faults as ff

SOURCES = ("mastodon", "hackernews")
DROPS = 4


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from _postgres_database_url(None)


def terminate(admin: sa.Engine, app: str) -> int:
    """End every server session of the node; returns how many there were."""
    with admin.connect() as conn:
        return len(conn.execute(sa.text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = :app"),
            {"app": app}).all())


@pytest.mark.postgres
@pytest.mark.timeout(150)
def test_a_node_survives_dropped_database_connections_and_loses_nothing(tmp_path: Path, pg_url: str) -> None:
    app = f"earful-fault-{uuid.uuid4().hex[:8]}"
    node_url = make_url(pg_url).update_query_dict({"application_name": app}).render_as_string(hide_password=False)
    world = World(seed=7, rate_per_min=2, backlog=timedelta(hours=3))
    world.set_rate(0)  # new posts only when the test adds them
    with Sandbox(world, port=0) as sb:
        sources = ff.sources_yaml(sb, SOURCES)
        config = tmp_path / "config.yaml"
        config.write_text(f'database: {{url: "{node_url}"}}\nlogging: {{level: INFO}}\nalerts: {{enabled: false}}\n'
                          f"scheduler: {{backoff_max_seconds: 3}}\n"
                          f"sentiment: {{threads: 1, batch_size: 32, interval_seconds: 1}}\n{ff.BRANDS}{sources}")
        log = tmp_path / "node.log"
        db = Database.open(pg_url)  # migrated here, so the node starts straight into its jobs
        admin = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
        proc = ff.earful(config, "run", "--role", "listener,scorer", log=log)

        def alive() -> None:
            assert proc.poll() is None, f"the node exited: {log.read_text()[-3000:]}"

        def count(where: sa.ColumnElement[bool]) -> int:
            with db.session() as s:
                return int(s.scalar(sa.select(sa.func.count()).select_from(Mention).where(where)) or 0)

        try:
            ff.wait_for("the first mentions scored", lambda: count(Mention.scored_at.is_not(None)) > 0,
                        deadline_s=60, alive=alive)
            dropped = []
            for round_ in range(DROPS):
                dropped.append(ff.wait_for("the node connected", lambda: terminate(admin, app), deadline_s=20,
                                           every_s=0.1, alive=alive))
                texts = [f"Skylark Air flight {round_}{i}: my bag never arrived, round {round_}" for i in range(3)]
                for i, text in enumerate(texts):
                    world.add_post("mastodon", text, author=world.author_for("mastodon", 40 + round_ * 3 + i),
                                   brand="skylark", sentiment="negative")
                ff.wait_for(f"the posts after drop {round_ + 1} collected and scored",
                            lambda: count(Mention.text.in_(texts) & Mention.scored_at.is_not(None)) == len(texts),
                            deadline_s=30, alive=alive)
            print("sessions terminated per drop:", dropped)
            expected = ff.reference_items(ff.BRANDS + sources, tmp_path / "reference")
            got = ff.wait_for("every item collected", lambda: (lambda items: items if set(items) >= expected else None)(
                ff.stored_items(db)), deadline_s=30, alive=alive)
            ff.wait_for("every mention scored", lambda: count(Mention.scored_at.is_(None)) == 0, deadline_s=30,
                        alive=alive)
        finally:
            assert ff.stop(proc) == 0, log.read_text()[-3000:]
            admin.dispose()
            db.dispose()
    assert len(got) == len(set(got)), "an item was stored twice"
    assert set(got) == expected, f"lost {len(expected - set(got))}, extra {len(set(got) - expected)}"
