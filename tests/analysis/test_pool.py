"""The analysis worker pool: same answers as in-process, no orphans, and a dead worker survived."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy import Table

from mailproc.analysis import pool as analysis
from mailproc.analysis.pool import AnalysisSettings, Analyzer, RawInbound, analyse
from mailproc.config import Config, DatabaseConfig
from mailproc.store.db import RawReader, make_engine, make_sessionmaker, transaction
from mailproc.store.migrate import upgrade
from mailproc.store.models import InboundMessage, InboundRaw

CORPUS = Path(__file__).parent.parent / "corpus"


def _items() -> list[RawInbound]:
    fetched = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
    return [RawInbound(i, path.read_bytes(), fetched) for i, path in enumerate(sorted(CORPUS.glob("*.eml")), 1)]


def test_pool_gives_the_same_analyses_in_the_same_order_as_in_process() -> None:
    config = Config()
    items = _items()
    expected = [analyse(item, AnalysisSettings.from_config(config)) for item in items]
    with Analyzer(config, workers=2, pool_threshold=1) as analyzer:
        analyzer.start()
        first = analyzer.submit(items)
        second = analyzer.submit(items[::-1])  # two batches in flight at once
        assert first.result() == expected
        assert second.result() == expected[::-1]
    assert [a.inbound_id for a in expected] == [item.id for item in items]
    assert all(a.error is None for a in expected)


def test_small_batches_and_one_worker_stay_in_process() -> None:
    config = Config()
    items = _items()[:3]
    with Analyzer(config, workers=1) as serial:
        assert not serial.parallel
        assert serial.submit(items).done is not None
    with Analyzer(config, workers=2, pool_threshold=64) as small:
        assert small.submit(items).done is not None  # below the threshold: no pool
        assert small._pool is None


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_workers_exit_when_their_parent_is_killed(tmp_path: Path) -> None:
    script = textwrap.dedent("""
        import os, sys
        from mailproc.analysis.pool import Analyzer
        from mailproc.config import Config
        analyzer = Analyzer(Config(), workers=2)
        analyzer.start()
        print(" ".join(str(p) for p in analyzer._pool._processes), flush=True)
        os._exit(9)  # dies without shutting the pool down, as a crash or kill -9 would
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent.parent)})
    assert done.returncode == 9, done.stderr
    workers = [int(p) for p in done.stdout.split()]
    assert len(workers) == 2
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in workers), f"orphaned workers still running: {workers}"


def test_the_warm_up_sample_takes_the_paths_it_is_meant_to_load() -> None:
    settings = AnalysisSettings.from_config(Config())
    sample = analyse(RawInbound(0, analysis._SAMPLE, datetime(2026, 11, 2, 1, 0, tzinfo=UTC)), settings)
    assert sample.error is None and sample.parsed is not None and sample.found is not None
    assert sample.parsed.charsets == ("cp1258",)  # read as windows-1258; the HTML alternative left undecoded
    assert [a.filename for a in sample.parsed.attachments] == ["hoa-don.pdf"]  # mail-parser ran
    assert sample.parsed.quoted_text  # the quote splitter found the quote
    found = sample.found
    assert (found.name, found.phone, found.smartcard) == ("Nguyễn Văn An", "+84901234567", "123456789012")
    assert found.incident_date is not None and found.incident_date.isoformat() == "2026-10-01"
    analysis.warm_up(settings)  # and the warm-up itself runs clean


def test_worker_count_comes_from_the_config() -> None:
    from mailproc.config import SchedulerConfig

    assert Analyzer(Config(scheduler=SchedulerConfig(analysis_workers=1))).parallel is False
    assert Analyzer(Config(scheduler=SchedulerConfig(analysis_workers=3))).workers == 3
    assert Analyzer(Config()).workers == (os.cpu_count() or 1)
    assert Analyzer(Config(scheduler=SchedulerConfig(analysis_workers=1)), workers=2).workers == 2


def test_a_message_that_kills_its_worker_is_quarantined_and_the_rest_analysed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker killed mid-batch (a parser fault, the OOM killer) breaks the whole pool: the
    batch is analysed again one message per worker, the killer gets the reason, and the
    pool is replaced for the batches after it."""
    real = analysis.analyse

    def analyse_or_die(item: RawInbound, settings: AnalysisSettings) -> analysis.Analysis:
        if item.raw.startswith(b"POISON"):
            os._exit(11)  # in the worker: as a segfault would
        return real(item, settings)

    monkeypatch.setattr(analysis, "analyse", analyse_or_die)  # the workers are forked with it
    config = Config()
    items = _items()[:12]
    fetched = items[0].fetched_at
    poison = RawInbound(999, b"POISON\r\n\r\n", fetched)
    batch = [*items[:5], poison, *items[5:]]
    with Analyzer(config, workers=2, pool_threshold=1) as analyzer:
        analyzer.start()
        results = analyzer.submit(batch).result()
        assert [a.inbound_id for a in results] == [item.id for item in batch]
        dead = results[5]
        assert dead.inbound_id == 999 and dead.error == analysis.WORKER_DIED
        assert all(a.error is None and a.found is not None for a in results if a.inbound_id != 999)
        after = analyzer.submit(items).result()  # a new pool serves the next batch
        assert [a.inbound_id for a in after] == [item.id for item in items]
        assert all(a.error is None for a in after)


def test_stored_messages_are_read_where_they_are_analysed(database_url: str) -> None:
    """The workers read the raw bytes themselves (the main process sends ids): the same
    analyses as from bytes in memory, in the order asked, on SQLite and PostgreSQL; a row
    that is gone is left out, and a reader used before the fork works in the workers too."""
    engine = make_engine(database_url)
    upgrade(engine)
    items = _items()[:8]
    with transaction(make_sessionmaker(engine)) as session:
        rows = [InboundMessage(dedupe_key=f"k{item.id}", sha256="0" * 64, message_id=None, folder="INBOX",
                               uidvalidity=1, uid=item.id, size=len(item.raw),
                               fetched_at=item.fetched_at) for item in items]
        session.add_all(rows)
        session.flush()
        ids = [row.id for row in rows]
        session.add_all(InboundRaw(id=row_id, raw=item.raw) for row_id, item in zip(ids, items, strict=True))
    reader = RawReader.for_engine(engine, cast(Table, InboundRaw.__table__))
    assert reader.read([ids[2], 10**9, ids[0]]) == {ids[2]: items[2].raw, ids[0]: items[0].raw}
    refs = [(row_id, item.fetched_at, len(item.raw)) for row_id, item in zip(ids, items, strict=True)][::-1]
    config = Config(database=DatabaseConfig(url=database_url))
    expected = [analyse(RawInbound(row_id, item.raw, item.fetched_at), AnalysisSettings.from_config(config))
                for row_id, item in zip(ids, items, strict=True)][::-1]
    with Analyzer(config, workers=2, pool_threshold=1) as pool:
        pool.start()
        assert pool.submit_stored(reader, [*refs, (10**9, refs[0][1], 10)]).result() == expected
    with Analyzer(config, workers=1) as serial:
        assert serial.submit_stored(reader, refs).result() == expected
    engine.dispose()


def test_a_worker_keeps_no_compiled_boundary_patterns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every multipart boundary becomes a cached regex in the standard library's parser; a
    worker empties the cache after each chunk, so one-off patterns cannot pile up over a run."""
    import re

    monkeypatch.setattr(analysis, "_WORKER_SETTINGS", AnalysisSettings.from_config(Config()))
    boundary = "b-only-in-this-test-7f3a"
    raw = (f'From: a@example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\n'
           f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'
           f'--{boundary}\r\nContent-Type: text/plain\r\n\r\nxin chao\r\n--{boundary}--\r\n').encode()
    [result] = analysis._analyse_in_worker([RawInbound(1, raw, datetime(2026, 11, 2, tzinfo=UTC))])
    assert result.error is None and result.parsed is not None
    assert not any(re.escape(boundary) in str(key[1]) for key in re._cache)  # type: ignore[attr-defined]


def _hostile_html(parts: int, size: int) -> bytes:
    """Many large HTML parts and no plain text: each has to be turned into text."""
    chunk = ("<div><p>Mất sóng <b>K+</b> " + "<span>x</span>" * 40 + "</p></div>\n") * (size // 600)
    body = "".join(f"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body>{chunk}</body></html>\r\n"
                   for _ in range(parts))
    return (f"From: Attacker <x@evil.example>\r\nTo: cskh@kplus.example\r\nSubject: spam\r\n"
            f"Message-ID: <hostile@evil.example>\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n{body}--b--\r\n").encode()


def test_every_batch_size_is_analysed_in_a_bounded_worker_by_default() -> None:
    analyzer = Analyzer(Config())
    assert analyzer.parallel and analyzer.workers >= 2 and analyzer.pool_threshold == 1
    item = _items()[:1]
    with analyzer:
        assert analyzer.submit(item).done is None  # one message still goes to a worker
        assert analyzer.submit(item).result()[0].error is None


def test_a_message_past_the_time_limit_is_stopped_and_the_others_go_on() -> None:
    from mailproc.config import ParsingConfig

    config = Config(parsing=ParsingConfig(max_analysis_seconds=0.3))
    fetched = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
    normal = _items()[:2]
    batch = [normal[0], RawInbound(99, _hostile_html(65, 60_000), fetched), normal[1]]  # under 4 MiB: not slimmed
    started = time.monotonic()
    with Analyzer(config, workers=2) as analyzer:
        results = analyzer.submit(batch).result()
    assert time.monotonic() - started < 10
    assert [a.inbound_id for a in results] == [normal[0].id, 99, normal[1].id]
    assert results[0].error is None and results[2].error is None
    assert results[1].error is not None and "max_analysis_seconds" in results[1].error


def test_a_message_past_the_memory_limit_is_quarantined_and_the_others_go_on() -> None:
    from mailproc.config import ParsingConfig

    config = Config(parsing=ParsingConfig(max_analysis_memory_mb=64, max_message_bytes=200 * 1024 * 1024,
                                          max_attachment_bytes=200 * 1024 * 1024))
    fetched = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
    payload = os.urandom(24 * 1024 * 1024)
    import base64

    big = (b"From: a@example.vn\r\nTo: cskh@kplus.example\r\nSubject: big\r\nMessage-ID: <big@example.vn>\r\n"
           b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n"
           b"Content-Type: text/plain\r\n\r\nxin chao\r\n--b\r\nContent-Type: application/octet-stream\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(payload) + b"\r\n--b--\r\n")
    del payload
    with Analyzer(config, workers=2) as analyzer:
        analyzer.start()
        [result] = analyzer.submit([RawInbound(7, big, fetched)]).result()
        assert result.error is not None and "memory" in result.error.lower()
        [after] = analyzer.submit(_items()[:1]).result()  # the pool goes on
        assert analyzer.parallel
        assert after.error is None
