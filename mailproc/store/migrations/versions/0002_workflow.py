"""The five-step workflow: routing rules, assignee, decisions, written reply, alerts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 11:30:08.079173
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mailproc.store.models

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alerts',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('since', mailproc.store.models.UTCDateTime(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_alerts'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('context', sa.Text(), nullable=True))
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rules', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('assignee', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('decided_at', mailproc.store.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('decision_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('final_text', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('final_ready_at', mailproc.store.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('answered_at', mailproc.store.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('closed_at', mailproc.store.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('reopened', sa.Integer(), nullable=False, server_default='0'))



def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('reopened')
        batch_op.drop_column('closed_at')
        batch_op.drop_column('answered_at')
        batch_op.drop_column('final_ready_at')
        batch_op.drop_column('final_text')
        batch_op.drop_column('decision_reason')
        batch_op.drop_column('decided_at')
        batch_op.drop_column('assignee')
        batch_op.drop_column('rules')

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('context')
    op.drop_table('alerts')
