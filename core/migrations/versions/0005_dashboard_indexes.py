"""dashboard indexes: period scans read off indexes alone, cases by period, the most followed authors;
foreign-key indexes for deleting mentions

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 16:30:00.000000

The Team, Reputation and Advocacy pages aggregate a period's mentions and cases (core.metrics). Two
indexes gain the columns those queries read (same leading columns and names, so every query that
used them still does), and three are new. Two more index foreign keys to mentions that had none,
so deleting mentions (retention, `earful erase`) finds their replies and alert links without a scan.
"""

from __future__ import annotations

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# (table, index, columns before, columns after)
WIDENED = (
    ('mentions', 'ix_mentions_created_at', ['created_at'], ['created_at', 'is_own', 'platform']),
    ('cases', 'ix_cases_assignee_status', ['assignee_id', 'status'],
     ['assignee_id', 'status', 'opened_at', 'first_response_at', 'first_response_due']),
)
ADDED = (
    ('cases', 'ix_cases_opened_at', ['opened_at']),
    ('cases', 'ix_cases_holds', ['held_by_id', 'hold_expires_at']),
    ('authors', 'ix_authors_followers', ['followers']),
    ('replies', 'ix_replies_in_reply_to_id', ['in_reply_to_id']),
    ('alert_mentions', 'ix_alert_mentions_mention_id', ['mention_id']),
)


def upgrade() -> None:
    for table, name, _, columns in WIDENED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
            batch_op.create_index(name, columns, unique=False)
    for table, name, columns in ADDED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    for table, name, _ in reversed(ADDED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
    for table, name, columns, _ in reversed(WIDENED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
            batch_op.create_index(name, columns, unique=False)
