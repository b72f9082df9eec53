import pytest
import sqlalchemy as sa

from core.db import Database, create_db_engine, current_revision, downgrade, head_revision, upgrade
from core.models import Base
from tests.fakes.databases import migrated_sqlite_copy


def test_upgrade_from_empty_and_downgrade_to_base(db_url: str) -> None:
    engine = create_db_engine(db_url)
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)
    tables = set(sa.inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    downgrade(engine, "base")
    assert current_revision(engine) is None
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()


def test_migrations_match_the_models(db_url: str) -> None:
    """A model change without a migration fails here, not in a user's upgrade."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_db_engine(db_url)
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    engine.dispose()
    assert diff == []


def test_sqlite_pragmas(sqlite_db) -> None:
    with sqlite_db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_0006_gives_each_mention_its_current_scores_topics(db_url: str) -> None:
    """Mentions stored before 0006 get the topics of the score their scored_at names, not an older one."""
    engine = create_db_engine(db_url)
    upgrade(engine, "0005")
    at, before = "2026-03-01 10:00:00", "2026-02-01 10:00:00"
    score = ("INSERT INTO scores (mention_id, model_version, sentiment, p_negative, p_neutral, p_positive, valence,"
             " urgency, urgency_reasons, intent, topics, created_at) VALUES (:m, :v, 'negative', 1, 0, 0, -1, 0.5,"
             " '[]', 'complaint', :t, :at)")
    with engine.begin() as conn:
        for native, scored in (("1", at), ("2", None)):
            conn.execute(sa.text(
                "INSERT INTO mentions (platform, native_id, text, created_at, fetched_at, raw, likes, reposts, replies,"
                " is_own, scored_at) VALUES ('x', :n, 't', :at, :at, '{}', 0, 0, 0, false, :s)"),
                {"n": native, "at": at, "s": scored})
        first = conn.execute(sa.text("SELECT id FROM mentions WHERE native_id = '1'")).scalar_one()
        conn.execute(sa.text(score), {"m": first, "v": "old", "t": '["refunds"]', "at": before})
        conn.execute(sa.text(score), {"m": first, "v": "new", "t": '["safety", "outage"]', "at": at})
    upgrade(engine)
    with engine.connect() as conn:
        topics = dict(conn.execute(sa.select(sa.column("native_id"), sa.column("topics", sa.JSON))
                                   .select_from(sa.table("mentions"))).all())
    downgrade(engine, "base")
    engine.dispose()
    assert topics == {"1": ["safety", "outage"], "2": None}


def test_0007_makes_old_budget_rows_over_budget_alerts_about_their_source(db_url: str) -> None:
    """Budget alerts the poller wrote before 0007 (kind `budget`, never delivered) join their source's episode."""
    engine = create_db_engine(db_url)
    upgrade(engine, "0006")
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO alerts (kind, severity, status, summary, details, opened_at, updated_at) VALUES"
            " ('budget', 'warning', 'open', 'source bird: daily API budget of $5.00 reached', :d, :at, :at),"
            " ('volume_spike', 'major', 'open', 'Skylark Air: 40 mentions', '{}', :at, :at)"),
            {"d": '{"source": "bird", "spend_today_usd": 5.2}', "at": "2026-03-01 10:00:00"})
    upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT kind, subject FROM alerts ORDER BY id")).all()
    downgrade(engine, "0006")
    with engine.connect() as conn:
        kinds = conn.execute(sa.text("SELECT kind FROM alerts ORDER BY id")).scalars().all()
    downgrade(engine, "base")
    engine.dispose()
    assert [tuple(r) for r in rows] == [("over_budget", "source:bird"), ("volume_spike", None)]
    assert kinds == ["budget", "volume_spike"]


def test_postgres_connections_run_without_jit(db) -> None:
    """JIT compiled the dashboard's period queries for 6-7 s before running them in 0.7 s."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW jit").scalar() == "off"
        conn.rollback()
    with db.session() as s:  # a pooled connection too, and the pool's own transaction handling intact
        assert s.execute(sa.text("SHOW jit")).scalar() == "off"


def test_opening_a_database_at_head_runs_no_migration(migrated_sqlite, tmp_path, monkeypatch) -> None:
    """What the `db` fixtures rely on: a copy of the migrated template opens as it is, nothing re-run."""
    url = migrated_sqlite_copy(migrated_sqlite, tmp_path / "copy.db")
    monkeypatch.setattr("core.db.upgrade", lambda *a, **k: pytest.fail("migrated a database already at head"))
    database = Database.open(url)
    try:
        assert current_revision(database.engine) == head_revision(database.engine)
        assert set(Base.metadata.tables) <= set(sa.inspect(database.engine).get_table_names())
    finally:
        database.dispose()
