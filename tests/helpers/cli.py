"""Helpers for the CLI and crash tests: a real TOML config file, the CLI in-process or in a
subprocess, and read-only looks at the database the CLI wrote.

The config file is written from the same fixture values ``conftest.make_config`` uses, so the
CLI is driven exactly as an operator drives it: ``mailproc --config FILE COMMAND``.
"""

from __future__ import annotations

import contextlib
import email
import gc
import json
import logging
import os
import socket
import subprocess
import sys
import traceback
import uuid
import warnings
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from sqlalchemy import Connection, Engine, event, select
from sqlalchemy.orm import Session

from mailproc.cli import main
from mailproc.store.db import make_engine
from mailproc.store.models import InboundMessage, OutboxItem, Ticket, TicketMessage
from mailproc.testing.devstack import MailStack

# Variables that would silently override the config file (or crash the CLI on purpose).
MAILPROC_VARS = ("MAILPROC_CONFIG", "MAILPROC_DATABASE_URL", "MAILPROC_IMAP_PASSWORD",
                 "MAILPROC_SMTP_PASSWORD", "MAILPROC_CRASH_AT")
CRASH_EXIT_CODE = 77
SUBPROCESS_TIMEOUT = 60

TICKET_KEYS = {"mailbox", "ref", "status", "queue", "name", "address", "phone", "email", "smartcard", "decoder",
               "category", "incident_date", "received_at", "accept_due", "reply_due", "flags",
               "messages", "province", "ward", "channel", "external_id", "satisfaction",
               "satisfaction_comment"}
OUTBOX_KEYS = {"id", "ticket_ref", "kind", "to", "subject", "status", "attempts", "last_error"}
STATS_KEYS = {"messages_stored", "tickets", "quarantined", "ignored", "outbox_queued",
              "outbox_sent", "outbox_failed"}
EXTRACT_KEYS = {"name", "address", "phone", "email", "smartcard", "decoder", "incident_date",
                "category"}
REF_PATTERN = r"KP-\d{4}-\d{6}"


def toml_value(value: Any) -> str:
    """One TOML value; JSON's string escapes are valid TOML basic-string escapes."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def toml_text(sections: dict[str, Any]) -> str:
    lines: list[str] = []
    for name, values in sections.items():
        if isinstance(values, list):  # an array of tables, e.g. [[agents]]
            for table in values:
                lines.append(f"[[{name}]]")
                lines += [f"{key} = {toml_value(value)}" for key, value in table.items()]
                lines.append("")
            continue
        lines.append(f"[{name}]")
        lines += [f"{key} = {toml_value(value)}" for key, value in values.items()]
        lines.append("")
    return "\n".join(lines)


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def customer(tag: str = "khach") -> str:
    """A fresh customer address, so no test sees another's receipts on the shared stack."""
    return f"{tag}.{uuid.uuid4().hex[:10]}@example.vn"


def message_id_of(raw: bytes) -> str:
    return str(email.message_from_bytes(raw)["Message-ID"]).strip().strip("<>")


def subprocess_env(crash_at: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in MAILPROC_VARS}
    if crash_at:
        env["MAILPROC_CRASH_AT"] = crash_at
    return env


@contextlib.contextmanager
def _contained_cli() -> Iterator[None]:
    """Undo what one in-process CLI run leaves behind: its root log handler and its engines.

    ``setup_logging`` points a root handler at CliRunner's (soon closed) stderr, and the CLI
    never disposes the engine it builds (the process ends instead); in a test process both
    would leak into later tests, the engine's pooled connections as ResourceWarnings.
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    engines: weakref.WeakSet[Engine] = weakref.WeakSet()

    def remember(conn: Connection) -> None:
        engines.add(conn.engine)

    event.listen(Engine, "engine_connect", remember)
    try:
        yield
    finally:
        event.remove(Engine, "engine_connect", remember)
        for engine in list(engines):
            engine.dispose()
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)


def invoke(config_path: Path, *args: str, quiet_leaks: bool = False) -> Result:
    """Run ``mailproc --config FILE ARGS`` in-process, without the MAILPROC_* environment.

    ``quiet_leaks`` is for runs expected to die of an unexpected exception: what the dying
    code left open is closed here without a ResourceWarning (e.g. imaplib leaves its socket
    open when ``settimeout(-1)`` fails), so it is not blamed on a later test.
    """
    runner = CliRunner(env=dict.fromkeys(MAILPROC_VARS))
    with _contained_cli(), warnings.catch_warnings():
        if quiet_leaks:
            warnings.simplefilter("ignore", ResourceWarning)
        result = runner.invoke(main, ["--config", str(config_path), *args])
        if quiet_leaks and result.exception is not None:
            traceback.clear_frames(result.exception.__traceback__)
            gc.collect()
    return result


@dataclass
class Workspace:
    """One test's mailproc installation: config file, shared mailbox, database."""

    stack: MailStack
    mailbox: str
    database_url: str
    tmp_path: Path
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def config_path(self) -> Path:
        return self.tmp_path / "mailproc.toml"

    def base_sections(self) -> dict[str, dict[str, Any]]:
        return {
            "imap": {"host": self.stack.host, "port": self.stack.imap_port, "username": self.mailbox,
                     "password": self.stack.password, "timeout": 10.0},
            "smtp": {"host": self.stack.host, "port": self.stack.smtp_port,
                     "from_address": self.mailbox, "timeout": 10.0},
            "database": {"url": self.database_url},
            "scheduler": {"lock_file": str(self.tmp_path / "mailproc.lock")},
        }

    def configure(self, **sections: dict[str, Any]) -> Path:
        """(Re)write the config file: the fixture values plus ``sections`` (merged per key)."""
        for name, values in sections.items():
            if isinstance(values, list):
                self.overrides[name] = values  # type: ignore[assignment]
            else:
                self.overrides.setdefault(name, {}).update(values)
        data = self.base_sections()
        for name, values in self.overrides.items():
            if isinstance(values, list):
                data[name] = values  # type: ignore[assignment]
            else:
                data.setdefault(name, {}).update(values)
        self.config_path.write_text(toml_text(data), encoding="utf-8")
        return self.config_path

    # -- the CLI -------------------------------------------------------------------

    def cli(self, *args: str, expect: int | None = 0) -> Result:
        """Run ``mailproc --config FILE ARGS`` in-process; check the exit code unless None."""
        result = invoke(self.config_path, *args)
        if expect is not None:
            assert result.exit_code == expect, (
                f"mailproc {' '.join(args)} exited {result.exit_code}, expected {expect}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}\n{result.exception!r}"
            )
        return result

    def json(self, *args: str) -> Any:
        """Run a ``--json`` command; its stdout must be JSON and nothing else."""
        return json.loads(self.cli(*args).stdout)

    def spawn(self, *args: str, crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run the real CLI in a fresh interpreter (optionally dying at ``crash_at``)."""
        return subprocess.run(
            [sys.executable, "-m", "mailproc.cli", "--config", str(self.config_path), *args],
            env=subprocess_env(crash_at), cwd=self.tmp_path, capture_output=True, text=True,
            timeout=SUBPROCESS_TIMEOUT, check=False,
        )

    # -- mail ----------------------------------------------------------------------

    def deliver(self, *raws: bytes) -> list[str]:
        """Put messages into the shared INBOX; return their Message-IDs (without <>)."""
        for raw in raws:
            self.stack.deliver(raw, self.mailbox)
        return [message_id_of(raw) for raw in raws]

    def folder_ids(self, folder: str) -> list[str]:
        return [message_id_of(raw) for raw in self.stack.messages(self.mailbox, folder)]

    # -- the database (read only) ---------------------------------------------------

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        engine = make_engine(self.database_url)
        try:
            with Session(engine) as session:
                yield session
        finally:
            engine.dispose()

    def snapshot(self) -> Snapshot:
        with self.session() as s:
            return Snapshot(
                inbound=[(r.message_id, r.status, r.ticket_id) for r in
                         s.scalars(select(InboundMessage).order_by(InboundMessage.id))],
                tickets={t.id: t.ref for t in s.scalars(select(Ticket).order_by(Ticket.id))},
                ticket_messages=[(m.ticket_id, m.inbound_id) for m in
                                 s.scalars(select(TicketMessage).order_by(TicketMessage.id))],
                outbox=[(o.ticket_id, o.kind, o.to_address, o.status, o.attempts, o.message_id)
                        for o in s.scalars(select(OutboxItem).order_by(OutboxItem.id))],
            )


@dataclass(frozen=True)
class Snapshot:
    """The rows the crash invariants are about."""

    inbound: list[tuple[str | None, str, int | None]]  # message_id, status, ticket_id
    tickets: dict[int, str]  # id -> ref
    ticket_messages: list[tuple[int, int | None]]  # ticket_id, inbound_id
    outbox: list[tuple[int | None, str, str, str, int, str]]  # ticket, kind, to, status, tries, mid
