"""Ingest benchmark: mapped mentions into the store, with dedupe, on SQLite and PostgreSQL.

Compares Earful's write path (core.store.store_batch: set-based, one transaction per batch, cursor
included) with a naive one-row-per-transaction ORM insert measured in the same run on the same
machine. 10 % of the stream are re-sightings of earlier items, as pollers see them.

    .venv/bin/python bench/ingest.py                       # SQLite only
    .venv/bin/python bench/ingest.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from core.db import Database, normalise_url  # noqa: E402
from core.mention import AuthorIn, MentionIn  # noqa: E402
from core.models import Author, Brand, Mention, MentionBrand, Source  # noqa: E402
from core.store import store_batch  # noqa: E402

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
WORDS = "skylark air flight delayed bag lost crew great refund app down gate seat meal late thanks".split()


def stream(n: int, seed: int = 1) -> list[MentionIn]:
    rng = random.Random(seed)
    fresh = int(n / 1.1)
    items = [
        MentionIn(
            platform="mastodon",
            native_id=str(10_000_000 + i),
            text=" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30))),
            created_at=T0 + timedelta(seconds=i),
            url=f"https://social.example/@u/{i}",
            author=AuthorIn(platform="mastodon", handle=f"@user{rng.randrange(5000)}@social.example", followers=rng.randrange(10**5)),
            language="en",
            likes=rng.randrange(50),
            brands=("Skylark Air",),
        )
        for i in range(fresh)
    ]
    items += [items[rng.randrange(fresh)] for _ in range(n - fresh)]  # re-sightings
    rng.shuffle(items)
    return items


def fresh_database(kind: str, pg_url: str | None) -> tuple[Database, callable]:
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="earful-bench-")
        db = Database.open(f"sqlite:///{folder}/bench.db")
        return db, lambda: db.dispose()
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(normalise_url(pg_url))
    with admin.begin() as c:
        c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(normalise_url(pg_url)).update_query_dict({"options": f"-csearch_path={schema}"})
    db = Database.open(url.render_as_string(hide_password=False))

    def drop() -> None:
        db.dispose()
        with admin.begin() as c:
            c.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return db, drop


def seed(db: Database) -> int:
    with db.session() as s:
        s.add(Brand(name="Skylark Air"))
        src = Source(name="bench", platform="mastodon")
        s.add(src)
        s.flush()
        return src.id


def earful_path(db: Database, items: list[MentionIn], batch: int) -> float:
    source_id = seed(db)
    start = time.perf_counter()
    for i in range(0, len(items), batch):
        with db.session() as s:
            store_batch(s, items[i : i + batch], source_id=source_id, cursors={"bench": str(i)})
    return time.perf_counter() - start


def naive_path(db: Database, items: list[MentionIn]) -> float:
    """What a first version usually does: look up, insert, commit, one row at a time."""
    seed(db)
    brand_id = 1
    start = time.perf_counter()
    for m in items:
        with db.session() as s:
            if s.scalar(sa.select(Mention.id).where(Mention.platform == m.platform, Mention.native_id == m.native_id)):
                s.execute(sa.update(Mention).where(Mention.platform == m.platform, Mention.native_id == m.native_id).values(likes=m.likes))
                continue
            author = s.scalar(sa.select(Author).where(Author.platform == m.author.platform, Author.key == m.author.handle))
            if author is None:
                author = Author(platform=m.author.platform, key=m.author.handle, handle=m.author.handle, followers=m.author.followers)
                s.add(author)
                s.flush()
            mention = Mention(platform=m.platform, native_id=m.native_id, text=m.text, created_at=m.created_at,
                              url=m.url, language=m.language, author_id=author.id, likes=m.likes, raw={})
            s.add(mention)
            s.flush()
            s.add(MentionBrand(mention_id=mention.id, brand_id=brand_id, created_at=m.created_at))
    return time.perf_counter() - start


def count(db: Database) -> int:
    with db.session() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(Mention)) or 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000, help="mentions through Earful's path")
    parser.add_argument("--naive-n", type=int, default=3_000, help="mentions through the naive path")
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--postgres", default=os.environ.get("EARFUL_TEST_POSTGRES_URL"))
    args = parser.parse_args()

    items = stream(args.n)
    expected = len({m.native_id for m in items})
    backends = ["sqlite"] + (["postgresql"] if args.postgres else [])
    print(f"{'backend':<11} {'method':<28} {'n':>7} {'seconds':>8} {'mentions/s':>11} {'vs naive':>9}")
    for kind in backends:
        db, drop = fresh_database(kind, args.postgres)
        try:
            naive_items = items[: args.naive_n]
            naive_s = naive_path(db, naive_items)
        finally:
            drop()
        naive_rate = len(naive_items) / naive_s
        db, drop = fresh_database(kind, args.postgres)
        try:
            fast_s = earful_path(db, items, args.batch)
            stored = count(db)
        finally:
            drop()
        if stored != expected:
            print(f"ERROR: {kind}: stored {stored} rows, expected {expected} distinct ids", file=sys.stderr)
            return 1
        rate = len(items) / fast_s
        print(f"{kind:<11} {'naive (row per transaction)':<28} {len(naive_items):>7} {naive_s:>8.2f} {naive_rate:>11,.0f} {1:>8.1f}x")
        print(f"{kind:<11} {'earful store_batch':<28} {len(items):>7} {fast_s:>8.2f} {rate:>11,.0f} {rate / naive_rate:>8.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
