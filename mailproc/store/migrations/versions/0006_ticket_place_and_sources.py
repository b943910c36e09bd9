"""What the ticket's address names and where each identifier came from (issue 14): the 2025
province and ward the gazetteer recognised in the address (names and codes; pre-2025 units
already mapped to current ones), and per identifier its provenance (label, prose, signature,
header, shape, agent) and confidence (high, medium, low), so that a customer's surer reply
can replace an unsure value and agents see where a value came from.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 11:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tickets') as batch_op:
        batch_op.add_column(sa.Column('province', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('province_code', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('ward', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('ward_code', sa.Integer(), nullable=True))
        # Tickets from before: nothing known of their values' sources (counted as sure, as before).
        batch_op.add_column(sa.Column('identifier_provenance', sa.JSON(), server_default='{}', nullable=False))
        batch_op.add_column(sa.Column('identifier_confidence', sa.JSON(), server_default='{}', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('tickets') as batch_op:
        batch_op.drop_column('identifier_confidence')
        batch_op.drop_column('identifier_provenance')
        batch_op.drop_column('ward_code')
        batch_op.drop_column('ward')
        batch_op.drop_column('province_code')
        batch_op.drop_column('province')
