from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from core.mention import AuthorIn, MentionIn
from core.models import Author, Brand, Mention, MentionBrand, Source, SourceCursor
from core.store import get_cursors, store_batch

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


def mention(i: int, *, likes: int = 0, brands: tuple[str, ...] = ("Skylark Air",), followers: int | None = 10) -> MentionIn:
    return MentionIn(
        platform="mastodon",
        native_id=str(i),
        text=f"skylark air flight {i}",
        created_at=T0 + timedelta(minutes=i),
        author=AuthorIn(platform="mastodon", handle=f"@user{i % 3}@example.social", native_id=f"u{i % 3}", followers=followers),
        likes=likes,
        brands=brands,
    )


def setup_source(db) -> int:
    with db.session() as s:
        s.add(Brand(name="Skylark Air"))
        src = Source(name="m", platform="mastodon")
        s.add(src)
        s.flush()
        return src.id


def test_batch_is_stored_once_and_resighting_updates_engagement(db) -> None:
    source_id = setup_source(db)
    with db.session() as s:
        first = store_batch(s, [mention(i) for i in range(5)], source_id=source_id, cursors={"": "5"})
    assert (first.inserted, first.updated) == (5, 0)
    with db.session() as s:
        again = store_batch(s, [mention(3, likes=42), mention(3, likes=43), mention(5)], source_id=source_id, cursors={"": "6"})
    assert (again.inserted, again.updated, again.duplicates_in_batch) == (1, 1, 1)
    with db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Mention)) == 6
        assert s.scalar(sa.select(Mention.likes).where(Mention.native_id == "3")) == 43
        assert s.scalar(sa.select(sa.func.count()).select_from(Author)) == 3
        assert s.scalar(sa.select(sa.func.count()).select_from(MentionBrand)) == 6
        assert get_cursors(s, source_id) == {"": "6"}
        assert s.get(Source, source_id).items_collected == 6
        stored = s.scalar(sa.select(Mention).where(Mention.native_id == "0"))
        assert stored.created_at == T0 and stored.created_at.tzinfo is not None
        assert [b.name for b in stored.brands] == ["Skylark Air"]


def test_failed_transaction_keeps_neither_rows_nor_cursor(db) -> None:
    source_id = setup_source(db)
    try:
        with db.session() as s:
            store_batch(s, [mention(1)], source_id=source_id, cursors={"": "1"})
            raise RuntimeError("crash before commit")
    except RuntimeError:
        pass
    with db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Mention)) == 0
        assert s.scalar(sa.select(sa.func.count()).select_from(SourceCursor)) == 0


def test_author_reach_is_refreshed_but_not_erased(db) -> None:
    setup_source(db)
    with db.session() as s:
        store_batch(s, [mention(0, followers=100)])
    with db.session() as s:
        store_batch(s, [mention(3, followers=None)])  # same author u0, reach unknown this time
        assert s.scalar(sa.select(Author.followers).where(Author.key == "u0")) == 100
