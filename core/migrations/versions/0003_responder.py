"""responder: triage, assignment, sla policy, csat, approvals

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 11:59:30.385721
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op



revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('sla_policy', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('csat_token', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('csat_answered_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_cases_csat_token'), ['csat_token'])

    with op.batch_alter_table('mentions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('triaged_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_mentions_untriaged', ['triaged_at', 'scored_at'], unique=False)

    with op.batch_alter_table('replies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('review_note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('source_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('context_embedding', sa.LargeBinary(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_replies_source_id_sources'), 'sources', ['source_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('replies', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_replies_source_id_sources'), type_='foreignkey')
        batch_op.drop_column('context_embedding')
        batch_op.drop_column('source_id')
        batch_op.drop_column('review_note')
        batch_op.drop_column('submitted_at')

    # Not in batch mode: recreating `mentions` on SQLite would lose the expression index
    # ix_mentions_urgency_time (SQLite >= 3.35 drops a column in place).
    op.drop_index('ix_mentions_untriaged', table_name='mentions')
    op.drop_column('mentions', 'triaged_at')

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_cases_csat_token'), type_='unique')
        batch_op.drop_column('closed_at')
        batch_op.drop_column('csat_answered_at')
        batch_op.drop_column('csat_token')
        batch_op.drop_column('sla_policy')
        batch_op.drop_column('assigned_at')

