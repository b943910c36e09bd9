"""The stored bytes of inbound e-mails in a table of their own (inbound_raw), so that a
status change no longer rewrites them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 18:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'inbound_raw',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('raw', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['id'], ['inbound_messages.id'], name=op.f('fk_inbound_raw_id_inbound_messages')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_raw')),
    )
    op.execute("INSERT INTO inbound_raw (id, raw) SELECT id, raw FROM inbound_messages")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite's own DROP COLUMN (3.35+; Debian 12 has 3.40), not a batch rebuild: rebuilding
        # drops the table, which the rows pointing at it (foreign keys on) do not allow.
        op.execute("ALTER TABLE inbound_messages DROP COLUMN raw")
    else:
        op.drop_column('inbound_messages', 'raw')


def downgrade() -> None:
    op.add_column('inbound_messages', sa.Column('raw', sa.LargeBinary(), nullable=True))
    op.execute("UPDATE inbound_messages SET raw = (SELECT raw FROM inbound_raw WHERE inbound_raw.id = inbound_messages.id)")
    op.drop_table('inbound_raw')
