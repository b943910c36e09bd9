"""The Prometheus endpoint: started on a free loopback port against a real database with rows
in it, scraped over HTTP and parsed as Prometheus parses it; and ``mailproc metrics``."""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from mailproc.app import App
from mailproc.ops.metrics import parse_listen, serve_metrics
from mailproc.store.models import InboundMessage, MailboxState, OutboxItem, Ticket
from tests.helpers import Clock
from tests.helpers.cli import MAILPROC_VARS, invoke, toml_text
from tests.helpers.desk import desk_app

SHARED = "cskh@kplus.example"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def desk(database_url: str, tmp_path: Path, clock: Clock) -> Iterator[App]:
    app = desk_app(database_url, tmp_path, clock, {"smtp": {"from_address": SHARED}},
                   metrics={"listen": "127.0.0.1:0"})
    try:
        yield app
    finally:
        app.close()


def seed(app: App, now: datetime) -> None:
    """Five stored mails, four tickets (one past its acceptance date), five notices, one
    mailbox polled a minute ago."""
    def inbound(n: int, status: str, took: float | None) -> InboundMessage:
        fetched = now - timedelta(hours=1)
        return InboundMessage(dedupe_key=f"d{n}", sha256=f"d{n}", message_id=f"m{n}@x", folder="INBOX",
                              uidvalidity=1, uid=n, size=100, fetched_at=fetched, status=status, attempts=1,
                              processed_at=fetched + timedelta(seconds=took) if took is not None else None)

    def ticket(n: int, status: str, queue: str | None, accept_due: date) -> Ticket:
        return Ticket(ref=f"KP-2026-00000{n}", status=status, queue=queue, customer_address=f"c{n}@example.vn",
                      received_at=now - timedelta(days=9), accept_due=accept_due,
                      reply_due=accept_due + timedelta(days=30), created_at=now, updated_at=now)

    def notice(n: int, kind: str, status: str, age: timedelta, **extra: Any) -> OutboxItem:
        return OutboxItem(kind=kind, dedupe_key=f"k{n}", to_address=f"c{n}@example.vn", subject="s",
                          message_id=f"n{n}@x", status=status, next_attempt_at=now, created_at=now - age, **extra)

    today, later = now.date(), now.date() + timedelta(days=3)
    with app.sessions() as session:
        session.add_all([inbound(1, "processed", 3.0), inbound(2, "processed", 90.0), inbound(3, "ignored", 10.0),
                         inbound(4, "quarantined", 4000.0), inbound(5, "new", None)])
        session.add_all([ticket(1, "l1", "L1", later), ticket(2, "l1", "L1", today - timedelta(days=1)),
                         ticket(3, "assessing", None, later), ticket(4, "closed", None, later)])
        session.add_all([
            notice(1, "receipt", "sent", timedelta(minutes=5), sent_at=now - timedelta(minutes=2)),
            notice(2, "receipt", "sent", timedelta(hours=2), sent_at=now - timedelta(hours=2),
                   bounced_at=now - timedelta(hours=1), bounce_reason="550 no such user"),
            notice(3, "receipt", "queued", timedelta(minutes=10)),
            notice(4, "agent_notice", "in_doubt", timedelta(minutes=3)),
            notice(5, "reminder", "failed", timedelta(hours=3)),
        ])
        session.add(MailboxState(mailbox="", folder="INBOX", last_uid=5, last_ok_at=now - timedelta(minutes=1),
                                 failures=0))
        session.commit()


def parse(text: str) -> Samples:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def scrape(address: tuple[str, int]) -> tuple[str, str]:
    with urllib.request.urlopen(f"http://{address[0]}:{address[1]}/metrics", timeout=10) as response:
        return response.headers.get_content_type(), response.read().decode("utf-8")


EXPECTED = {
    ("mailproc_database_up", ()): 1.0,
    ("mailproc_inbound_messages", (("status", "processed"),)): 2.0,
    ("mailproc_inbound_messages", (("status", "ignored"),)): 1.0,
    ("mailproc_inbound_messages", (("status", "quarantined"),)): 1.0,
    ("mailproc_inbound_messages", (("status", "new"),)): 1.0,
    ("mailproc_tickets", (("queue", "L1"), ("status", "l1"))): 2.0,
    ("mailproc_tickets", (("queue", ""), ("status", "assessing"))): 1.0,
    ("mailproc_tickets", (("queue", ""), ("status", "closed"))): 1.0,
    ("mailproc_outbox_notices", (("kind", "receipt"), ("status", "sent"))): 2.0,
    ("mailproc_outbox_notices", (("kind", "receipt"), ("status", "queued"))): 1.0,
    ("mailproc_outbox_notices", (("kind", "agent_notice"), ("status", "in_doubt"))): 1.0,
    ("mailproc_outbox_notices", (("kind", "reminder"), ("status", "failed"))): 1.0,
    ("mailproc_outbox_bounced", ()): 1.0,
    ("mailproc_outbox_oldest_waiting_age_seconds", ()): 600.0,  # the queued receipt; in doubt counts too
    ("mailproc_outbox_failed_24h", ()): 1.0,
    ("mailproc_quarantined_24h", ()): 1.0,
    ("mailproc_deadlines_breached", ()): 1.0,
    ("mailproc_mailbox_poll_failures", (("folder", "INBOX"), ("mailbox", ""))): 0.0,
    ("mailproc_scheduler_lock_held", ()): 0.0,  # no daemon runs here
    # fetch -> outcome: 3 s, 10 s, 90 s, 4000 s
    ("mailproc_processing_latency_seconds_bucket", (("le", "1.0"),)): 0.0,
    ("mailproc_processing_latency_seconds_bucket", (("le", "5.0"),)): 1.0,
    ("mailproc_processing_latency_seconds_bucket", (("le", "15.0"),)): 2.0,
    ("mailproc_processing_latency_seconds_bucket", (("le", "120.0"),)): 3.0,
    ("mailproc_processing_latency_seconds_bucket", (("le", "3600.0"),)): 3.0,
    ("mailproc_processing_latency_seconds_bucket", (("le", "14400.0"),)): 4.0,
    ("mailproc_processing_latency_seconds_bucket", (("le", "+Inf"),)): 4.0,
    ("mailproc_processing_latency_seconds_count", ()): 4.0,
}


def check(samples: Samples, now: datetime) -> None:
    assert {key: samples.get(key) for key in EXPECTED} == EXPECTED
    assert samples[("mailproc_processing_latency_seconds_sum", ())] == pytest.approx(4103.0, abs=0.01)
    assert samples[("mailproc_mailbox_last_poll_ok_timestamp_seconds", (("folder", "INBOX"), ("mailbox", "")))] \
        == pytest.approx((now - timedelta(minutes=1)).timestamp())
    assert samples[("mailproc_last_send_ok_timestamp_seconds", ())] == pytest.approx(
        (now - timedelta(minutes=2)).timestamp())
    assert 0 <= samples[("mailproc_metrics_scrape_seconds", ())] < 10
    assert not [name for name, _ in samples if not name.startswith("mailproc_")]  # its own registry only


def test_the_endpoint_serves_the_databases_facts(desk: App, clock: Clock) -> None:
    seed(desk, clock())
    endpoint = serve_metrics(desk)
    assert endpoint is not None
    try:
        content_type, text = scrape(endpoint.address)
        assert content_type == "text/plain"
        check(parse(text), clock())
        clock.advance(minutes=5)  # read at every scrape, never cached
        assert parse(scrape(endpoint.address)[1])[("mailproc_outbox_oldest_waiting_age_seconds", ())] == 900.0
    finally:
        endpoint.close()
    with pytest.raises(OSError):
        scrape(endpoint.address)


def test_an_empty_database_scrapes_with_never_as_zero(desk: App) -> None:
    endpoint = serve_metrics(desk)
    assert endpoint is not None
    try:
        samples = parse(scrape(endpoint.address)[1])
    finally:
        endpoint.shutdown()
    assert samples[("mailproc_database_up", ())] == 1.0
    assert samples[("mailproc_last_send_ok_timestamp_seconds", ())] == 0.0
    assert samples[("mailproc_mailbox_last_poll_ok_timestamp_seconds", (("folder", "INBOX"), ("mailbox", "")))] == 0
    assert samples[("mailproc_outbox_oldest_waiting_age_seconds", ())] == 0.0
    assert samples[("mailproc_processing_latency_seconds_count", ())] == 0.0
    assert not [key for key in samples if key[0] in ("mailproc_tickets", "mailproc_outbox_notices")]


def test_an_unreadable_database_is_a_gauge_not_a_failed_scrape(tmp_path: Path, clock: Clock,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    app = desk_app(f"sqlite:///{tmp_path}/mailproc.sqlite3", tmp_path, clock, {}, metrics={"listen": "127.0.0.1:0"})
    app.engine.dispose()
    (tmp_path / "mailproc.sqlite3").unlink()
    (tmp_path / "mailproc.sqlite3").mkdir()  # no longer a database file
    endpoint = serve_metrics(app)
    assert endpoint is not None
    try:
        first, second = (parse(scrape(endpoint.address)[1]) for _ in range(2))
    finally:
        endpoint.close()
        app.close()
    assert first[("mailproc_database_up", ())] == second[("mailproc_database_up", ())] == 0.0
    assert [r.message for r in caplog.records if r.name == "mailproc.ops.metrics" and r.levelname == "ERROR"] == [
        "metrics: the database cannot be read: OperationalError"]  # once per outage, not per scrape


def test_off_when_not_configured_and_no_crash_when_the_port_is_taken(tmp_path: Path, clock: Clock,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    url = f"sqlite:///{tmp_path}/mailproc.sqlite3"
    app = desk_app(url, tmp_path, clock, {})
    assert serve_metrics(app) is None
    app.close()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        app = desk_app(url, tmp_path, clock, {}, metrics={"listen": f"127.0.0.1:{port}"})
        try:
            assert serve_metrics(app) is None
        finally:
            app.close()
    assert f"metrics: cannot listen on 127.0.0.1:{port} (metrics.listen)" in caplog.text


def test_listen_addresses() -> None:
    assert parse_listen("127.0.0.1:9464") == ("127.0.0.1", 9464)
    assert parse_listen("[::1]:9464") == ("::1", 9464)
    assert parse_listen(":9464") == ("0.0.0.0", 9464)


def test_mailproc_metrics_prints_the_same_exposition(database_url: str, tmp_path: Path, clock: Clock) -> None:
    app = desk_app(database_url, tmp_path, clock, {"smtp": {"from_address": SHARED}})
    try:
        seed(app, clock())
    finally:
        app.close()
    config = tmp_path / "mailproc.toml"
    config.write_text(toml_text({"paths": {"state_dir": str(tmp_path)}, "database": {"url": database_url},
                                 "scheduler": {"lock_file": str(tmp_path / "mailproc.lock")}}), encoding="utf-8")
    assert "MAILPROC_DATABASE_URL" in MAILPROC_VARS  # invoke() runs without the environment's overrides
    result = invoke(config, "metrics", "--now", clock().isoformat())
    assert result.exit_code == 0, result.output
    check(parse(result.stdout), clock())
