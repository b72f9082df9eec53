"""The one write path for collected mentions.

`store_batch` writes a batch of mapped mentions, their authors and brand matches, and advances the
source's cursor, all inside the caller's transaction: either the rows and the cursor both land or
neither does, so a poller killed at any point neither loses nor duplicates an item. Re-seeing an item
refreshes its engagement counts instead of inserting it again.

Statements are set-based (one SELECT and one multi-row INSERT per table per batch) because the
listener and `earful import` push tens of thousands of rows per second through here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.mention import AuthorIn, MentionIn
from core.models import Author, Brand, Mention, MentionBrand, Source, SourceCursor, utcnow

CHUNK = 500  # rows per IN (...) list; well under SQLite's variable limit


@dataclass(frozen=True, slots=True)
class StoreResult:
    inserted: int
    updated: int
    duplicates_in_batch: int
    inserted_ids: tuple[int, ...] = ()


def dialect_insert(session: Session, model: Any) -> Any:
    """INSERT with ON CONFLICT support for the session's database.

    Built on the Core table, not the ORM class: a batch of plain dicts then skips the ORM's per-row
    bookkeeping, which was a third of the ingest time.
    """
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(getattr(model, "__table__", model))


def upsert_replacing(session: Session, model: Any, keys: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys), a row whose `keys` already exist replacing every other
    column, in chunks."""
    stmt = dialect_insert(session, model)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys), set_={k: getattr(stmt.excluded, k) for k in rows[0] if k not in keys})
    for chunk in chunks(rows):
        session.execute(stmt, list(chunk))


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    """`items` in slices of at most `size` (bound-parameter lists and batched writes)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def author_key(author: AuthorIn) -> str:
    return author.native_id or author.handle


def upsert_authors(session: Session, authors: Iterable[AuthorIn], now: datetime) -> dict[tuple[str, str], int]:
    """Insert unknown authors, refresh name and reach of known ones; return ids by (platform, key)."""
    latest: dict[tuple[str, str], AuthorIn] = {}
    for author in authors:
        key = (author.platform, author_key(author))
        seen = latest.get(key)
        if seen is not None and author.followers is None and seen.followers is not None:
            author = dataclasses.replace(author, followers=seen.followers)  # unknown reach never erases a known one
        latest[key] = author
    if not latest:
        return {}
    rows = [
        {
            "platform": a.platform,
            "key": key[1],
            "handle": a.handle,
            "name": a.name,
            "url": a.url,
            "followers": a.followers,
            "verified_domain": a.verified_domain,
            "first_seen_at": now,
            "updated_at": now,
        }
        for key, a in latest.items()
    ]
    stmt = dialect_insert(session, Author)
    table = Author.__table__
    stmt = stmt.on_conflict_do_update(
        index_elements=["platform", "key"],
        set_={
            "handle": stmt.excluded.handle,
            "name": sa.func.coalesce(stmt.excluded.name, table.c.name),
            "followers": sa.func.coalesce(stmt.excluded.followers, table.c.followers),
            "verified_domain": sa.func.coalesce(stmt.excluded.verified_domain, table.c.verified_domain),
            "updated_at": stmt.excluded.updated_at,
        },
    )
    for chunk in chunks(rows):
        session.execute(stmt, list(chunk))
    ids: dict[tuple[str, str], int] = {}
    by_platform: dict[str, list[str]] = {}
    for platform, key in latest:
        by_platform.setdefault(platform, []).append(key)
    for platform, keys in by_platform.items():
        for chunk in chunks(keys):
            for author_id, key in session.execute(
                sa.select(Author.id, Author.key).where(Author.platform == platform, Author.key.in_(chunk))
            ):
                ids[(platform, key)] = author_id
    domains = {a.verified_domain for a in latest.values() if a.verified_domain}
    if domains:
        from core.customers import link_verified

        link_verified(session, domains)
    return ids


def brand_ids(session: Session) -> dict[str, int]:
    return {name: bid for bid, name in session.execute(sa.select(Brand.id, Brand.name))}


def store_batch(
    session: Session,
    mentions: Sequence[MentionIn],
    *,
    source_id: int | None = None,
    cursors: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> StoreResult:
    """Write one batch and advance the cursor in the caller's transaction (the caller commits)."""
    now = now or utcnow()
    unique: dict[tuple[str, str], MentionIn] = {}
    for mention in mentions:
        unique[(mention.platform, mention.native_id)] = mention  # the later sighting wins
    duplicates_in_batch = len(mentions) - len(unique)

    author_ids = upsert_authors(session, (m.author for m in unique.values() if m.author), now)

    existing: dict[tuple[str, str], int] = {}
    by_platform: dict[str, list[str]] = {}
    for platform, native_id in unique:
        by_platform.setdefault(platform, []).append(native_id)
    for platform, native_ids in by_platform.items():
        for chunk in chunks(native_ids):
            for mention_id, native_id in session.execute(
                sa.select(Mention.id, Mention.native_id).where(
                    Mention.platform == platform, Mention.native_id.in_(chunk)
                )
            ):
                existing[(platform, native_id)] = mention_id

    new_rows = []
    updates = []
    for key, m in unique.items():
        if key in existing:
            updates.append({"b_id": existing[key], "b_likes": m.likes, "b_reposts": m.reposts, "b_replies": m.replies})
            continue
        new_rows.append(
            {
                "platform": m.platform,
                "native_id": m.native_id,
                "source_id": source_id,
                "url": m.url,
                "title": m.title,
                "text": m.text,
                "language": m.language,
                "created_at": m.created_at,
                "fetched_at": now,
                "author_id": author_ids.get((m.author.platform, author_key(m.author))) if m.author else None,
                "parent_id": m.parent_id,
                "conversation_id": m.conversation_id,
                "likes": m.likes,
                "reposts": m.reposts,
                "replies": m.replies,
                "is_own": m.is_own,
                "raw": dict(m.raw),
            }
        )

    inserted_ids: list[int] = []
    if new_rows:
        # ON CONFLICT DO NOTHING keeps two pollers racing on the same item from failing the batch.
        stmt = dialect_insert(session, Mention).on_conflict_do_nothing(index_elements=["platform", "native_id"])
        table = Mention.__table__
        stmt = stmt.returning(table.c.id, table.c.platform, table.c.native_id)
        new_ids: dict[tuple[str, str], int] = {}
        for chunk in chunks(new_rows):
            for mention_id, platform, native_id in session.execute(stmt, list(chunk)):
                new_ids[(platform, native_id)] = mention_id
        inserted_ids = list(new_ids.values())
        _link_brands(session, [(new_ids[k], unique[k]) for k in new_ids])
    if updates:
        table = Mention.__table__
        session.execute(
            sa.update(table)
            .where(table.c.id == sa.bindparam("b_id"))
            .values(likes=sa.bindparam("b_likes"), reposts=sa.bindparam("b_reposts"), replies=sa.bindparam("b_replies")),
            updates,
        )

    if source_id is not None:
        for key, value in (cursors or {}).items():
            set_cursor(session, source_id, key, value, now)
        session.execute(
            sa.update(Source)
            .where(Source.id == source_id)
            .values(items_collected=Source.items_collected + len(inserted_ids))
        )
    return StoreResult(
        inserted=len(inserted_ids),
        updated=len(updates),
        duplicates_in_batch=duplicates_in_batch,
        inserted_ids=tuple(inserted_ids),
    )


def _link_brands(session: Session, stored: Sequence[tuple[int, MentionIn]]) -> None:
    if not any(m.brands for _, m in stored):
        return
    ids = brand_ids(session)
    rows = [
        {"mention_id": mention_id, "brand_id": ids[name], "created_at": m.created_at}
        for mention_id, m in stored
        for name in m.brands
        if name in ids
    ]
    if rows:
        stmt = dialect_insert(session, MentionBrand).on_conflict_do_nothing()
        for chunk in chunks(rows):
            session.execute(stmt, list(chunk))


def set_cursor(session: Session, source_id: int, key: str, value: str, now: datetime | None = None) -> None:
    stmt = dialect_insert(session, SourceCursor).values(
        source_id=source_id, key=key, value=value, updated_at=now or utcnow()
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["source_id", "key"], set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at}
    )
    session.execute(stmt)


def get_cursors(session: Session, source_id: int) -> dict[str, str]:
    return dict(
        session.execute(sa.select(SourceCursor.key, SourceCursor.value).where(SourceCursor.source_id == source_id)).all()
    )


def record_scores(session: Session, results: Sequence[Any], *, now: datetime) -> int:
    """Write one batch of `sentiment.postprocess.ScoreResult`s and copy each onto its mention.

    The label, urgency and `p_*` are those adapted to the mention's brand's class mix
    (sentiment.adaptation) when it has one, and `raw_p_*` the model's own.

    The only writer of `Mention.scored_at/sentiment/urgency/topics`, apart from a staff urgency
    correction (core.corrections), which a later score does not undo: a corrected mention keeps the
    urgency staff gave it. Idempotent per (mention, model version): scoring again with the same
    version overwrites that score instead of adding one. Runs in the caller's transaction, so a
    batch of scores lands whole or not at all.
    """
    from core.models import Score
    rows = [
        {
            "mention_id": r.mention_id,
            "model_version": r.model_version,
            "sentiment": r.sentiment,
            "p_negative": float(r.p_negative),
            "p_neutral": float(r.p_neutral),
            "p_positive": float(r.p_positive),
            # The model's own probabilities beside the adapted ones (sentiment.adaptation).
            "raw_p_negative": float(r.p_negative if r.raw_p_negative is None else r.raw_p_negative),
            "raw_p_neutral": float(r.p_neutral if r.raw_p_neutral is None else r.raw_p_neutral),
            "raw_p_positive": float(r.p_positive if r.raw_p_positive is None else r.raw_p_positive),
            "valence": float(r.valence),
            "urgency": float(r.urgency),
            "urgency_reasons": list(r.urgency_reasons),
            "intent": r.intent,
            "topics": list(r.topics),
            "created_at": now,
        }
        for r in results
        if r.mention_id is not None
    ]
    if not rows:
        return 0
    upsert_replacing(session, Score, ("mention_id", "model_version"), rows)
    table = Mention.__table__
    session.execute(
        sa.update(table)
        .where(table.c.id == sa.bindparam("b_id"))
        .values(scored_at=sa.bindparam("b_at"), sentiment=sa.bindparam("b_sentiment"), urgency=sa.bindparam("b_urgency"),
                topics=sa.bindparam("b_topics", type_=table.c.topics.type)),
        [{"b_id": r["mention_id"], "b_at": now, "b_sentiment": r["sentiment"], "b_urgency": r["urgency"],
          "b_topics": r["topics"]} for r in rows],
    )
    corrected = _corrected_urgencies(session, [r["mention_id"] for r in rows])
    if corrected:
        session.execute(sa.update(table).where(table.c.id == sa.bindparam("b_id")).values(urgency=sa.bindparam("b_urgency")),
                        [{"b_id": m, "b_urgency": u} for m, u in corrected.items()])
    return len(rows)


def _corrected_urgencies(session: Session, mention_ids: Sequence[int]) -> dict[int, float]:
    """The newest staff urgency correction of each of these mentions that has one."""
    from core.models import Correction

    found: dict[int, float] = {}
    for chunk in chunks(mention_ids):
        for mention_id, value in session.execute(
            sa.select(Correction.mention_id, Correction.new_value)
            .where(Correction.field == "urgency", Correction.mention_id.in_(chunk))
            .order_by(Correction.created_at, Correction.id)
        ):
            if isinstance(value, dict) and isinstance(value.get("value"), (int, float)):
                found[mention_id] = float(value["value"])
    return found


def record_brand_priors(session: Session, estimates: Sequence[Any], *, now: datetime) -> int:
    """Store `sentiment.adaptation.BrandEstimate`s, one row per (brand, model version), replacing that
    pair's previous estimate; in the caller's transaction."""
    from core.models import BrandPriors

    rows = [
        {"brand_id": e.brand_id, "model_version": e.model_version, "p_negative": e.priors[0],
         "p_neutral": e.priors[1], "p_positive": e.priors[2], "adapted": e.adapted, "mentions": e.mentions,
         "iterations": e.iterations, "converged": e.converged, "estimated_at": now}
        for e in estimates
    ]
    if not rows:
        return 0
    upsert_replacing(session, BrandPriors, ("brand_id", "model_version"), rows)
    return len(rows)
