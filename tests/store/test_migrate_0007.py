"""0007: a ticket's channel and external id; tickets from before keep working (no channel:
by e-mail), an external id is unique where given, and the migration goes down and up."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from mailproc.store.db import make_engine
from mailproc.store.migrate import SCHEMA_HEAD, current_revision, downgrade, upgrade

INSERT = text(
    "INSERT INTO tickets (id, ref, mailbox, status, priority, subject, customer_address, category, "
    "received_at, accept_due, reply_due, time_limit, flags, missing, created_at, updated_at, rules, "
    "reopened, identifier_provenance, identifier_confidence{extra}) VALUES (:id, :ref, '', 'l1', 'normal', 's', "
    "'a@b.vn', 'other', :at, '2026-11-09', '2026-11-30', 'unknown', '[]', '[]', :at, :at, '[]', 0, '{{}}', '{{}}'"
    "{values})")
AT = "2026-11-02 01:30:00.000000"


def test_tickets_from_before_have_no_channel_and_external_ids_are_unique(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine, "0006")
        with engine.begin() as conn:
            conn.execute(text(INSERT.text.format(extra="", values="")), {"id": 1, "ref": "KP-2026-000001", "at": AT})
        upgrade(engine, "0007")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT channel, external_id FROM tickets")).one() == (None, None)
        imported = text(INSERT.text.format(extra=", channel, external_id", values=", 'hotline', :ext"))
        with engine.begin() as conn:  # several without an external id, one with it
            conn.execute(text(INSERT.text.format(extra="", values="")), {"id": 2, "ref": "KP-2026-000002", "at": AT})
            conn.execute(imported, {"id": 3, "ref": "KP-2026-000003", "at": AT, "ext": "CC-1"})
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(imported, {"id": 4, "ref": "KP-2026-000004", "at": AT, "ext": "CC-1"})
        downgrade(engine, "0006")
        assert not {"channel", "external_id"} & {c["name"] for c in inspect(engine).get_columns("tickets")}
        upgrade(engine)
        assert current_revision(engine) == SCHEMA_HEAD
        assert {"channel", "external_id"} <= {c["name"] for c in inspect(engine).get_columns("tickets")}
    finally:
        engine.dispose()
