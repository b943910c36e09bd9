"""Several complaints mailboxes: the mailbox an inbound row, a ticket and a poller state
belong to ('' = the first one, [imap]); the address an outgoing e-mail is sent from.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 07:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('inbound_messages') as batch_op:
        batch_op.add_column(sa.Column('mailbox', sa.String(length=64), server_default='', nullable=False))
    with op.batch_alter_table('tickets') as batch_op:
        batch_op.add_column(sa.Column('mailbox', sa.String(length=64), server_default='', nullable=False))
    with op.batch_alter_table('outbox') as batch_op:
        batch_op.add_column(sa.Column('from_address', sa.String(length=320), nullable=True))
    # The poller's state is per mailbox and folder: the key gains the mailbox.
    with op.batch_alter_table('mailbox_state', recreate='always') as batch_op:
        batch_op.add_column(sa.Column('mailbox', sa.String(length=64), server_default='', nullable=False))
        batch_op.drop_constraint('pk_mailbox_state', type_='primary')
        batch_op.create_primary_key('pk_mailbox_state', ['mailbox', 'folder'])


def downgrade() -> None:
    op.execute("DELETE FROM mailbox_state WHERE mailbox <> ''")
    with op.batch_alter_table('mailbox_state', recreate='always') as batch_op:
        batch_op.drop_constraint('pk_mailbox_state', type_='primary')
        batch_op.drop_column('mailbox')
        batch_op.create_primary_key('pk_mailbox_state', ['folder'])
    with op.batch_alter_table('outbox') as batch_op:
        batch_op.drop_column('from_address')
    with op.batch_alter_table('tickets') as batch_op:
        batch_op.drop_column('mailbox')
    with op.batch_alter_table('inbound_messages') as batch_op:
        batch_op.drop_column('mailbox')
