"""Dashboard render times with a million mentions: each page's server-side run, median and p95.

    python bench/dashboard.py                      # 1,000,000 mentions in a temporary SQLite file
    python bench/dashboard.py --mentions 100000    # smaller, quicker
    python bench/dashboard.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Seeds mentions (scored, a third of them in cases), authors, brands, cases, replies and users with
set-based inserts, then renders every page with `streamlit.testing.v1.AppTest` as a signed-in admin:

- first: the page's first render in the process; it pays one-off Python imports (pandas, altair and
  their schemas) as well as the page's queries;
- cold: the next render after `st.cache_data.clear()`, so every short-lived cache of figures (the
  Team, Reputation and Advocacy periods) is computed again, as a server already running does for
  the first visitor of a minute;
- median and p95 of `--runs` more renders (warm caches).

The same pages are rendered on an empty database in the same run as the baseline, so the ratio
shows what the data adds. Target: every page, cold, under 1 s at 1M.

With --database-url on PostgreSQL the bench works in a schema of its own, dropped at the end, so a
database shared with the tests is left as it was, and runs VACUUM ANALYZE after seeding, as
autovacuum would shortly after such a bulk load.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.db import Database, normalise_url  # noqa: E402
from core.models import (  # noqa: E402
    Author, Brand, Case, CaseStatus, Mention, MentionBrand, Reply, ReplyState, Role, Score, User,
)
from core.users import add_user, operator  # noqa: E402

PAGES = ("inbox_page", "cases_page", "case_page", "team_page", "alerts_page", "reputation_page", "advocacy_page",
         "settings_page")
PLATFORMS = ("x", "reddit", "mastodon", "bluesky", "youtube", "hackernews", "discourse", "rss")
WORDS = ("skylark", "flight", "delayed", "refund", "bag", "lost", "crew", "great", "app", "crash", "seat", "gate")
CHUNK = 20_000
TOPICS = ("lost luggage", "delays", "refunds", "app", "crew", "safety", "booking", "seats")


def pick_topics(rng: random.Random) -> list[str]:
    """As the zero-shot topics fall on real mentions: none on about 40 %, one or two on the rest."""
    draw = rng.random()
    return [] if draw < 0.4 else sorted(rng.sample(TOPICS, 1 if draw < 0.8 else 2))


def seed(db: Database, mentions: int, rng: random.Random, now: datetime) -> int:
    """Insert the data set; returns the id of the most urgent case (the one the Case page opens)."""
    authors = max(mentions // 20, 10)
    with db.session() as s:
        add_user(s, operator("bench"), "boss", "correct-horse-battery", Role.manager, team="care")
        for i in range(20):
            add_user(s, operator("bench"), f"agent{i}", "correct-horse-battery", Role.agent, team="care" if i % 2 else "senior")
        s.add_all([Brand(name="Skylark Air"), Brand(name="Nimbus Airways", is_competitor=True)])
    with db.engine.begin() as conn:
        conn.execute(sa.insert(Author), [
            {"platform": PLATFORMS[i % 8], "key": f"a{i}", "handle": f"@user{i}", "name": f"User {i}",
             "followers": int(rng.paretovariate(1.2) * 50), "first_seen_at": now, "updated_at": now}
            for i in range(authors)])
        agent_ids = [r[0] for r in conn.execute(sa.select(User.id).where(User.role == Role.agent))]
        case_count = mentions // 6
        for start in range(0, case_count, CHUNK):
            conn.execute(sa.insert(Case), [{
                "platform": PLATFORMS[i % 8], "conversation_id": f"c{i}", "author_id": (i % authors) + 1,
                "brand_id": 1, "status": rng.choice(list(CaseStatus)), "urgency": round(rng.random(), 3),
                "team": "care" if i % 3 else "senior", "assignee_id": rng.choice(agent_ids) if i % 4 else None,
                "opened_at": now - timedelta(minutes=i % 50_000), "updated_at": now,
                "first_response_due": now + timedelta(minutes=rng.randint(-600, 600)),
            } for i in range(start, min(start + CHUNK, case_count))])
        for start in range(0, mentions, CHUNK):
            rows = []
            topics = [pick_topics(rng) for _ in range(start, min(start + CHUNK, mentions))]
            for i in range(start, min(start + CHUNK, mentions)):
                text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 30)))
                rows.append({
                    "platform": PLATFORMS[i % 8], "native_id": f"m{i}", "text": text,
                    "created_at": now - timedelta(seconds=i * 2), "fetched_at": now, "author_id": (i % authors) + 1,
                    "conversation_id": f"c{i // 2}", "raw": {}, "likes": i % 7, "reposts": 0, "replies": 0,
                    "is_own": False, "scored_at": now, "sentiment": ("negative", "neutral", "positive")[i % 3],
                    "urgency": round(rng.random(), 3), "topics": topics[i - start], "language": "en",
                    "case_id": (i // 2) + 1 if i // 2 < case_count else None,
                })
            conn.execute(sa.insert(Mention), rows)
            first = conn.execute(sa.select(sa.func.min(Mention.id)).where(Mention.native_id == f"m{start}")).scalar_one()
            conn.execute(sa.insert(MentionBrand), [
                {"mention_id": first + k, "brand_id": 1 if (start + k) % 5 else 2, "created_at": r["created_at"]}
                for k, r in enumerate(rows)])
            conn.execute(sa.insert(Score), [{
                "mention_id": first + k, "model_version": "bench", "sentiment": r["sentiment"], "p_negative": .3,
                "p_neutral": .3, "p_positive": .4, "valence": 0.1, "urgency": r["urgency"],
                "urgency_reasons": ["negative intensity"], "intent": "complaint", "topics": topics[k], "created_at": now,
            } for k, r in enumerate(rows)])
        conn.execute(sa.insert(Reply), [{
            "case_id": i + 1, "in_reply_to_id": 2 * i + 1, "platform": PLATFORMS[i % 8], "text": "Sorry, on it!",
            "state": ReplyState.sent, "idempotency_key": f"k{i}", "created_at": now, "updated_at": now, "sent_at": now,
        } for i in range(0, case_count, 10)])
        top = conn.execute(sa.select(Case.id).order_by(Case.urgency.desc()).limit(1)).scalar_one()
    return int(top)


def write_config(folder: Path, url: str) -> Path:
    path = folder / "config.yaml"
    path.write_text(f"database: {{url: '{url}'}}\nbrands:\n  - {{name: Skylark Air, queries: [{{keywords: [skylark]}}]}}\n"
                    "  - {name: Nimbus Airways, competitor: true, queries: [{keywords: [nimbus]}]}\n")
    return path


def render_times(page: str, case_id: int, runs: int) -> list[float]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from dashboard.ui import SESSION_KEY, SignedIn

    for name in list(logging.root.manager.loggerDict):  # AppTest's bare-mode warnings are noise here
        if name.startswith("streamlit"):
            logging.getLogger(name).setLevel(logging.ERROR)
    at = AppTest.from_string(f"from dashboard.views import {page}\n{page}.render()\n", default_timeout=120)
    at.session_state[SESSION_KEY] = SignedIn(1, "boss", "boss", Role.admin)
    at.session_state["open_case"] = case_id
    times = []
    for i in range(runs + 2):
        if i == 1:
            st.cache_data.clear()  # times[1]: cold caches in a process that has imported everything
        started = time.perf_counter()
        at.run()
        if at.exception:
            raise SystemExit(f"{page} failed: {[e.value for e in at.exception]}")
        times.append(time.perf_counter() - started)  # times[0]: the first render in the process
    st.cache_data.clear()
    st.cache_resource.clear()
    return times


def measure(url: str, folder: Path, case_id: int, runs: int) -> dict[str, list[float]]:
    os.environ["EARFUL_CONFIG"] = str(write_config(folder, url))
    return {page: render_times(page, case_id, runs) for page in PAGES}


@contextmanager
def own_schema(url: str) -> Iterator[str]:
    """A PostgreSQL URL pointing at a new schema of its own, dropped afterwards (the database may be
    shared with the tests); any other URL as it is."""
    if not url.startswith("postgresql"):
        yield url
        return
    base = normalise_url(url)
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    for name in [n for n in os.environ if n.startswith("EARFUL_")]:
        del os.environ[name]
    now = datetime.now(timezone.utc).replace(microsecond=0)
    with tempfile.TemporaryDirectory() as tmp, own_schema(args.database_url or "") as database_url:
        folder = Path(tmp)
        empty_url = f"sqlite:///{folder / 'empty.db'}"
        empty = Database.open(empty_url)
        with empty.session() as s:
            add_user(s, operator("bench"), "boss", "correct-horse-battery", Role.admin)
        empty.dispose()
        url = database_url or f"sqlite:///{folder / 'bench.db'}"
        db = Database.open(url)
        started = time.perf_counter()
        top = seed(db, args.mentions, random.Random(args.seed), now)
        with db.session() as s:
            s.execute(sa.update(User).where(User.username == "boss").values(role=Role.admin))
            count = s.scalar(sa.select(sa.func.count()).select_from(Mention))
        if db.engine.dialect.name == "postgresql":
            # What autovacuum does within a minute or so of a bulk load: the planner statistics
            # (without them PostgreSQL guesses a few rows per table and may nest loops over the whole
            # week) and the visibility map (without it an index-only scan still visits every row).
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                for table in (Mention, MentionBrand, Score, Author, Case, Reply, User, Brand):
                    conn.execute(sa.text(f"VACUUM ANALYZE {table.__tablename__}"))  # in the bench's own schema
        db.dispose()
        print(f"seeded {count:,} mentions in {time.perf_counter() - started:.0f} s ({db.engine.dialect.name})")
        baseline = measure(empty_url, folder, 1, args.runs)
        loaded = measure(url, folder, top, args.runs)
    print(f"{'page':<16}{'first s':>9}{'cold s':>8}{'median s':>10}{'p95 s':>9}{'empty db s':>12}{'ratio':>8}")
    for page in PAGES:
        first, cold, warm = loaded[page][0], loaded[page][1], loaded[page][2:]
        median, base = statistics.median(warm), statistics.median(baseline[page][2:])
        print(f"{page:<16}{first:>9.3f}{cold:>8.3f}{median:>10.3f}{p95(warm):>9.3f}{base:>12.3f}{median / base:>8.1f}x")
    worst_cold = max(v[1] for v in loaded.values())
    worst = max(statistics.median(v[2:]) for v in loaded.values())
    print(f"slowest page cold {worst_cold:.3f} s, median {worst:.3f} s; "
          f"target < 1 s cold: {'met' if worst_cold < 1 else 'NOT met'}")


if __name__ == "__main__":
    main()
