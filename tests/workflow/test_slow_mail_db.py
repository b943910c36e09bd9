"""One crafted e-mail cannot stall intake: a message whose analysis is slow does not hold up
the others of its batch, the daemon's run ends without it, and it is quarantined at its time
limit by a later run (on a database only; the analysis runs in real worker processes)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from mailproc.analysis import parsing
from mailproc.store.models import InboundMessage
from tests.analysis.test_pool import _hostile_html
from tests.helpers import Clock
from tests.helpers.mail import complaint
from tests.workflow.test_writer_db import Desk, build_desk


@pytest.fixture
def desk(database_url: str, tmp_path: Path, clock: Clock) -> Iterator[Desk]:
    built = build_desk(database_url, tmp_path, clock, scheduler={"analysis_workers": 2},
                       parsing={"max_analysis_seconds": 2.5})
    yield built
    built.app.close()


def test_a_slow_message_does_not_hold_up_the_others(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    # 24 MB of HTML parts: slimming before parsing (analysis.slim) would make it quick; here it
    # stands for any message whose analysis is slow, so the workers (forked below) parse it whole.
    monkeypatch.setattr(parsing, "SLIM_ABOVE", 1 << 40)
    desk.app.analyzer.start()
    slow = desk.store(_hostile_html(400, 60_000))
    for i in range(3):
        desk.store(complaint(sender=f"khach{i}@example.vn", phone=f"09150000{i:02d}"))

    started = time.monotonic()
    first = desk.app.process_once(finish=False)  # the daemon's way: it does not wait for the slow one
    took = time.monotonic() - started

    assert first.created == 3 and took < 2.4  # the others were written before the slow one's limit
    with desk.app.sessions() as session:
        assert session.get(InboundMessage, slow).status == "new"  # type: ignore[union-attr]
    assert desk.app.analyzer.leftovers  # still being analysed, by a worker

    time.sleep(3.0)  # past its time limit and the watchdog's grace
    later = desk.app.process_once(finish=False)

    assert (later.quarantined, later.created) == (1, 0)
    with desk.app.sessions() as session:
        row = session.scalars(select(InboundMessage).where(InboundMessage.id == slow)).one()
    assert row.status == "quarantined" and "max_analysis_seconds" in (row.error or "")
