"""The fault log: one line when a job starts failing, reminders, one line when it ends."""

from __future__ import annotations

import logging
import sqlite3

import pytest
from sqlalchemy.exc import OperationalError

from mailproc.ops.faults import FaultLog


class Tick:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _disk_full() -> OperationalError:
    return OperationalError("INSERT INTO inbound_messages (message_id) VALUES (?)", ("<secret@customer>",),
                            sqlite3.OperationalError("database or disk is full"))


def test_an_outage_is_one_line_then_reminders_then_one_line_when_it_ends(caplog: pytest.LogCaptureFixture) -> None:
    clock = Tick()
    faults = FaultLog(remind_seconds=300, clock=clock)
    with caplog.at_level(logging.INFO, logger="mailproc.faults"):
        for _ in range(100):  # a run every second for 100 s
            faults.failed("intake", _disk_full())
            clock.now += 1
        clock.now += 250
        faults.failed("intake", _disk_full())  # 350 s after it started: one reminder
        faults.succeeded("intake")
        faults.succeeded("intake")  # nothing more to say

    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3, lines
    assert "job intake failed: database or disk unavailable (OperationalError: database or disk is full)" in lines[0]
    assert "still failing after 6 min (101 runs)" in lines[1]
    assert "works again" in lines[2] and "101 failed runs" in lines[2]
    assert all(r.exc_info is None for r in caplog.records)  # no traceback for an outage
    assert not any("secret" in line or "INSERT" in line for line in lines)  # no SQL, no values


def test_a_bug_gets_its_traceback_once_and_a_new_kind_of_failure_is_logged_anew(
        caplog: pytest.LogCaptureFixture) -> None:
    faults = FaultLog(clock=Tick())
    with caplog.at_level(logging.INFO, logger="mailproc.faults"):
        for _ in range(5):
            try:
                {}["missing"]
            except KeyError as exc:
                faults.failed("send", exc)
        faults.failed("send", _disk_full())
    assert [r.exc_info is not None for r in caplog.records] == [True, False]
    assert faults.failing() == {"send": "database or disk unavailable (OperationalError: database or disk is full)"}
