"""operational alerts: what an alert is about (a source, a sender, a channel), and since when a
source has been failing

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 12:00:00.000000

Operational alerts (`core.ops_alerts`) are about Earful's own machinery rather than a brand: a
source whose credentials were revoked, a source over its API budget or failing for longer than
`alerts.operational.source_failing_minutes`, a sender whose replies keep failing, a notification
channel that keeps failing. `alerts.subject` names that thing (`source:x-main`, `sender:x-main`,
`channel:ops-slack`), so there is one active alert per (kind, subject): one per episode.
`sources.failing_since` is when the current run of failures began (cleared by a success), which
"failing for longer than" is measured from. Budget alerts written before this revision (kind
`budget`, never delivered) become `over_budget` alerts about their source.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('alerts', sa.Column('subject', sa.String(length=200), nullable=True))
    op.create_index('ix_alerts_kind_subject', 'alerts', ['kind', 'subject'], unique=False)
    op.add_column('sources', sa.Column('failing_since', sa.DateTime(timezone=True), nullable=True))
    alerts = sa.table('alerts', sa.column('id', sa.Integer), sa.column('kind', sa.String),
                      sa.column('subject', sa.String), sa.column('details', sa.JSON))
    bind = op.get_bind()
    for alert_id, details in bind.execute(sa.select(alerts.c.id, alerts.c.details).where(alerts.c.kind == 'budget')):
        source = (details or {}).get('source')
        bind.execute(sa.update(alerts).where(alerts.c.id == alert_id).values(
            kind='over_budget', subject=f'source:{source}' if source else None))


def downgrade() -> None:
    op.execute("UPDATE alerts SET kind = 'budget' WHERE kind = 'over_budget'")
    op.drop_column('sources', 'failing_since')
    op.drop_index('ix_alerts_kind_subject', table_name='alerts')
    op.drop_column('alerts', 'subject')
