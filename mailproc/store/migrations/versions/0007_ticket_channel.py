"""Where a complaint was received (issue 15): the ticket's channel ("hotline", "store", ...
for complaints logged at other contact points; NULL for those e-mailed to the complaints
mailbox, every ticket from before included) and, for a complaint imported from the call
centre's own system, its id there (unique where given: importing the same file again
creates nothing).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 11:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

WHERE = sa.text('external_id IS NOT NULL')


def upgrade() -> None:
    with op.batch_alter_table('tickets') as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('external_id', sa.String(length=64), nullable=True))
    op.create_index('ix_tickets_external_id', 'tickets', ['external_id'], unique=True,
                    sqlite_where=WHERE, postgresql_where=WHERE)


def downgrade() -> None:
    op.drop_index('ix_tickets_external_id', table_name='tickets')
    with op.batch_alter_table('tickets') as batch_op:
        batch_op.drop_column('external_id')
        batch_op.drop_column('channel')
