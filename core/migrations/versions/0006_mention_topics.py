"""mention topics: the current score's topics kept on the mention, like its sentiment and urgency;
PostgreSQL's period indexes cover what the Reputation page counts

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 21:30:00.000000

The Reputation page's topics over time read, for every mention of the period, its current score's
topics: a second row per mention, the critical path of the page at 1M mentions on PostgreSQL
(docs/benchmarks.md). `core.store.record_scores` now copies the topics with sentiment and urgency,
so the page counts volume, sentiment and topics in one pass over the mentions; existing mentions get
their current score's topics here. On PostgreSQL the two indexes that pass reads gain the columns
it needs (INCLUDE), so it is an index-only scan instead of a visit to every mention's row.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# (table, index, columns, included on PostgreSQL)
COVERING = (
    ('mentions', 'ix_mentions_created_at', ['created_at', 'is_own', 'platform'], ['id', 'sentiment', 'topics']),
    ('mention_brands', 'ix_mention_brands_brand_time', ['brand_id', 'created_at'], ['mention_id']),
)


def upgrade() -> None:
    op.add_column('mentions', sa.Column(
        'topics', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))
    # A list longer than any scorer now writes (sentiment.max_topics, 60-character names) stays on the
    # score only: it would not fit a PostgreSQL index row.
    op.execute(
        "UPDATE mentions SET topics = (SELECT CASE WHEN length(CAST(scores.topics AS TEXT)) <= 1000"
        " THEN scores.topics END FROM scores WHERE scores.mention_id = mentions.id"
        " AND scores.created_at = mentions.scored_at) WHERE scored_at IS NOT NULL"
    )
    if op.get_bind().dialect.name == 'postgresql':
        for table, name, columns, included in COVERING:
            op.drop_index(name, table_name=table)
            op.create_index(name, table, columns, unique=False, postgresql_include=included)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table, name, columns, _ in COVERING:
            op.drop_index(name, table_name=table)
            op.create_index(name, table, columns, unique=False)
    # A plain ALTER TABLE (SQLite 3.35+): batch mode would copy the table and lose the expression
    # index ix_mentions_urgency_time, which SQLite cannot reflect.
    op.drop_column('mentions', 'topics')
