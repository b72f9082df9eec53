"""brand priors: each own brand's estimated class mix per model version, and the model's own
probabilities beside the adapted ones on every score

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 14:00:00.000000

Prior-shift adaptation (`sentiment.adaptation`, docs/model.md): a scheduled job estimates each own
brand's mix of negative, neutral and positive mentions from the model's probabilities on its recent
mentions (the EM of Saerens et al. 2002) and stores it in `brand_priors`, one row per (brand, model
version); the scorer corrects that brand's mentions' probabilities to it. `scores.p_*` become the
adapted probabilities (what the label, urgency and everything downstream read) and `scores.raw_p_*`
keep the model's own. Scores written before this revision were never adapted: their `raw_p_*` stay
NULL, meaning `p_*` are the model's own (no rewrite of a large table).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

RAW = ('raw_p_negative', 'raw_p_neutral', 'raw_p_positive')


def upgrade() -> None:
    for column in RAW:
        op.add_column('scores', sa.Column(column, sa.Double(), nullable=True))
    op.create_table(
        'brand_priors',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('brand_id', sa.Integer(), nullable=False),
        sa.Column('model_version', sa.String(length=100), nullable=False),
        sa.Column('p_negative', sa.Double(), nullable=False),
        sa.Column('p_neutral', sa.Double(), nullable=False),
        sa.Column('p_positive', sa.Double(), nullable=False),
        sa.Column('adapted', sa.Boolean(), nullable=False),
        sa.Column('mentions', sa.Integer(), nullable=False),
        sa.Column('iterations', sa.Integer(), nullable=False),
        sa.Column('converged', sa.Boolean(), nullable=False),
        sa.Column('estimated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_brand_priors_brand_id_brands'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_brand_priors')),
        sa.UniqueConstraint('brand_id', 'model_version', name='uq_brand_priors_brand_model'),
    )


def downgrade() -> None:
    op.drop_table('brand_priors')
    # Back to one set of probabilities: the adapted ones, which the labels were decided from.
    for column in RAW:
        op.drop_column('scores', column)
