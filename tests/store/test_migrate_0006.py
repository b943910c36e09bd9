"""0006: a ticket's place and its identifiers' sources; tickets from before keep working
(nothing known of their sources: '{}', counted as sure) and the migration goes down and up."""

from __future__ import annotations

import json

from sqlalchemy import inspect, text

from mailproc.store.db import make_engine
from mailproc.store.migrate import SCHEMA_HEAD, current_revision, downgrade, upgrade

NEW_COLUMNS = {"province", "province_code", "ward", "ward_code", "identifier_provenance", "identifier_confidence"}


def test_tickets_from_before_get_empty_sources_and_the_migration_downgrades(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine, "0005")
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO tickets (id, ref, mailbox, status, priority, subject, customer_address, category, "
                "received_at, accept_due, reply_due, time_limit, flags, missing, created_at, updated_at, rules, "
                "reopened) VALUES (1, 'KP-2026-000001', '', 'l1', 'normal', 's', 'a@b.vn', 'other', "
                ":at, '2026-11-09', '2026-11-30', 'unknown', '[]', '[]', :at, :at, '[]', 0)"),
                {"at": "2026-11-02 01:30:00.000000"})
        upgrade(engine, "0006")
        with engine.connect() as conn:
            row = conn.execute(text("SELECT province, ward, identifier_provenance, identifier_confidence "
                                    "FROM tickets")).one()
        assert (row[0], row[1]) == (None, None)
        assert [value if isinstance(value, dict) else json.loads(value) for value in row[2:]] == [{}, {}]
        downgrade(engine, "0005")
        assert not NEW_COLUMNS & {c["name"] for c in inspect(engine).get_columns("tickets")}
        upgrade(engine)
        assert current_revision(engine) == SCHEMA_HEAD
        assert {c["name"] for c in inspect(engine).get_columns("tickets")} >= NEW_COLUMNS
    finally:
        engine.dispose()
