"""A K+ desk without a mail server, for the database-only tests: mail is stored as the poller
stores it (an ``inbound_messages`` row and its bytes, status ``new``) and the rows are read
back. Each test module adds what it needs on top."""

from __future__ import annotations

import hashlib
import itertools
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from sqlalchemy import select

from mailproc.app import App
from mailproc.config import from_mapping
from mailproc.store.migrate import upgrade
from mailproc.store.models import InboundMessage, InboundRaw, OutboxItem
from tests.helpers import Clock


class BaseDesk:
    def __init__(self, app: App, clock: Clock) -> None:
        self.app, self.clock = app, clock
        self._uids = itertools.count(1)

    def store(self, raw: bytes, *, folder: str = "INBOX") -> int:
        """An inbound row with its bytes, committed, status ``new``; returns its id."""
        digest = hashlib.sha256(raw).hexdigest()
        message_id = BytesHeaderParser().parsebytes(raw)["Message-ID"]
        mid = str(message_id).strip().strip("<>").replace("\x00", "") if message_id else None  # as the poller does
        with self.app.sessions() as session:
            row = InboundMessage(dedupe_key=digest, sha256=digest, message_id=mid, folder=folder, uidvalidity=1,
                                 uid=next(self._uids), size=len(raw), fetched_at=self.clock(), status="new",
                                 attempts=0)
            session.add(row)
            session.flush()
            session.add(InboundRaw(id=row.id, raw=raw))
            session.commit()
            return row.id

    def outbox(self, kind: str | None = None) -> list[OutboxItem]:
        with self.app.sessions() as session:
            stmt = select(OutboxItem).order_by(OutboxItem.id)
            if kind is not None:
                stmt = stmt.where(OutboxItem.kind == kind)
            return list(session.scalars(stmt))


def desk_app(database_url: str, tmp_path: Path, clock: Clock, base: dict[str, Any],
             **sections: dict[str, Any]) -> App:
    """An App on a migrated database, no mail server: ``base`` sections, then ``sections``
    changed on top of them (one analysis worker: in-process, for speed)."""
    data: dict[str, Any] = {
        "database": {"url": database_url},
        "scheduler": {"lock_file": str(tmp_path / "mailproc.lock"), "analysis_workers": 1},
        **{name: dict(values) if isinstance(values, dict) else values for name, values in base.items()},
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    app = App.build(from_mapping(data, env={}, source="<test>"), now=clock)
    upgrade(app.engine)
    return app
