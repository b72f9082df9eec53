"""verified domain of authors

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 10:40:26.096375
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op



revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('authors', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verified_domain', sa.String(length=253), nullable=True))
        batch_op.create_index(batch_op.f('ix_authors_verified_domain'), ['verified_domain'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('authors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_authors_verified_domain'))
        batch_op.drop_column('verified_domain')

