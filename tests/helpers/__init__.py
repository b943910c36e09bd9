"""Helpers the tests share (fixtures stay in conftest.py): an injectable clock and a config
for a shared mailbox on the test mail stack."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mailproc.config import Config, from_mapping
from mailproc.testing.devstack import MailStack


class Clock:
    """An injectable 'now' that tests move by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.value = start or datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # Mon 02/11/2026 09:00 in Hà Nội

    def __call__(self) -> datetime:
        return self.value

    def advance(self, **kwargs: float) -> None:
        self.value += timedelta(**kwargs)


def make_config(stack: MailStack, mailbox: str, database_url: str, tmp_path: Path, **sections: Any) -> Config:
    data: dict[str, Any] = {
        "imap": {"host": stack.host, "port": stack.imap_port, "username": mailbox, "password": stack.password,
                 "timeout": 10.0},
        "smtp": {"host": stack.host, "port": stack.smtp_port, "from_address": mailbox, "timeout": 10.0},
        "database": {"url": database_url},
        "scheduler": {"lock_file": str(tmp_path / "mailproc.lock")},
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return from_mapping(data, env={}, source="<test>")
