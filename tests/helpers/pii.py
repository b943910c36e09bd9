"""Every text, JSON and binary value in every table, searched for a person's identifiers: the
real check that an erase left nothing of them."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Engine, select

from mailproc.store.models import Base


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, bytes | memoryview):
        data = bytes(value)
        return [data.decode("utf-8", "ignore"), data.decode("latin-1")]
    if isinstance(value, dict | list):
        return [json.dumps(value, ensure_ascii=False)]
    return []


@contextlib.contextmanager
def _connection(bind: Engine | Connection) -> Iterator[Connection]:
    if isinstance(bind, Connection):
        yield bind
    else:
        with bind.connect() as conn:
            yield conn


def find(bind: Engine | Connection, words: list[str], digits: list[str]) -> list[str]:
    """Where (table.column) any of ``words`` (case-insensitive) or ``digits`` (in a value's
    digits, however spaced) is still stored."""
    found: list[str] = []
    with _connection(bind) as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(select(table)):
                for column, value in zip(table.columns, row, strict=True):
                    for text in _texts(value):
                        folded, only_digits = text.casefold(), re.sub(r"\D", "", text)
                        hits = [w for w in words if w.casefold() in folded]
                        hits += [d for d in digits if d in only_digits]
                        found += [f"{table.name}.{column.name}: {hit!r}" for hit in hits]
    return sorted(set(found))
