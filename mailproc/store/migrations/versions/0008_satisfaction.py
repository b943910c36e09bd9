"""The customer's answer to the satisfaction survey (issue 15): a score from 1 to 5, the
customer's words and when the answer came; NULL for every ticket not answered (every ticket
from before included).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 11:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mailproc.store.models import UTCDateTime

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tickets') as batch_op:
        batch_op.add_column(sa.Column('satisfaction', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('satisfaction_comment', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('satisfaction_at', UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tickets') as batch_op:
        batch_op.drop_column('satisfaction_at')
        batch_op.drop_column('satisfaction_comment')
        batch_op.drop_column('satisfaction')
