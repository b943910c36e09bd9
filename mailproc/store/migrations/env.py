"""Alembic environment: runs on the connection mailproc hands over (see mailproc.store.migrate)."""

from __future__ import annotations

from alembic import context

from mailproc.store.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - mailproc always passes a connection
    raise RuntimeError("run migrations through 'mailproc db upgrade'")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
