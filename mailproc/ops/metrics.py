"""Prometheus metrics, read from the database at scrape time (``[metrics] listen``).

Every value is a durable fact, queried when Prometheus asks (the same facts ``health``
judges by, plus counts by status): nothing is counted in memory, so the numbers survive a
restart, agree across a leader and a standby, and ``mailproc metrics`` prints them without
the daemon. :class:`DatabaseCollector` is registered in a registry of its own (never the
process-wide one), which :func:`serve_metrics` serves over HTTP from a daemon thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, generate_latest, start_http_server
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Float, case, cast, func, select
from sqlalchemy.orm import Session

from mailproc.ops.health import gather
from mailproc.store.db import reading
from mailproc.store.models import InboundMessage, OutboxItem, Ticket

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from mailproc.app import App

log = logging.getLogger(__name__)

# Seconds from fetching a message to its outcome (ticket, ignored, quarantined): the poll
# interval and the batch's analysis make most of it, a backlog or an outage the tail.
LATENCY_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 4 * 3600.0, 24 * 3600.0)


def _seconds(value: datetime | None) -> float:
    """A Unix timestamp for a gauge; 0 for never (so ``time() - x > N`` alerts fire on it)."""
    return value.timestamp() if value is not None else 0.0


def _latency_seconds(dialect: str) -> Any:
    """fetched_at -> processed_at in seconds, as an SQL expression of this dialect."""
    if dialect == "sqlite":  # stored as "YYYY-MM-DD HH:MM:SS.ffffff" text, in UTC
        return (func.julianday(InboundMessage.processed_at) - func.julianday(InboundMessage.fetched_at)) * 86400.0
    return cast(func.extract("epoch", InboundMessage.processed_at - InboundMessage.fetched_at), Float)


def latency_histogram(session: Session, buckets: Sequence[float] = LATENCY_BUCKETS) -> HistogramMetricFamily:
    """Every message with an outcome, by the time it took (one pass over the table:
    cumulative bucket counts as Prometheus wants them, so ``rate()`` works on them)."""
    latency = _latency_seconds(session.get_bind().dialect.name)
    done = InboundMessage.processed_at.is_not(None)
    row = session.execute(select(
        func.count(InboundMessage.id), func.coalesce(func.sum(latency), 0.0),
        *(func.coalesce(func.sum(case((latency <= b, 1), else_=0)), 0) for b in buckets)).where(done)).one()
    total, total_seconds, *counts = row
    family = HistogramMetricFamily(
        "mailproc_processing_latency_seconds",
        "Seconds from fetching a message to its outcome (ticket, ignored, quarantined), every message stored")
    family.add_metric([], buckets=[*((repr(b), int(n)) for b, n in zip(buckets, counts, strict=True)),
                                   ("+Inf", int(total))], sum_value=max(float(total_seconds), 0.0))
    return family


def _by(session: Session, *columns: Any) -> list[tuple[Any, ...]]:
    """Row counts grouped by ``columns`` (of one table)."""
    return [tuple(row) for row in session.execute(select(*columns, func.count()).group_by(*columns))]


def collect_metrics(app: App) -> Iterator[Metric]:
    """Every metric, from one read-only session (plus the token cache and the holder file).
    On SQLite it reads the last commit without taking the write lock: a scrape never holds
    up the daemon's writers."""
    now = app.now()
    with reading(app.sessions) as session:
        inbound = GaugeMetricFamily("mailproc_inbound_messages",
                                    "Stored e-mails by status (new, processed, ignored, quarantined)",
                                    labels=["status"])
        for status, n in _by(session, InboundMessage.status):
            inbound.add_metric([status], n)
        tickets = GaugeMetricFamily("mailproc_tickets", "Tickets by status and queue ('' = none)",
                                    labels=["status", "queue"])
        for status, queue, n in _by(session, Ticket.status, Ticket.queue):
            tickets.add_metric([status, queue or ""], n)
        outbox = GaugeMetricFamily("mailproc_outbox_notices",
                                   "Outgoing notices by status (queued, sending, in_doubt, sent, failed) and kind",
                                   labels=["status", "kind"])
        for status, kind, n in _by(session, OutboxItem.status, OutboxItem.kind):
            outbox.add_metric([status, kind], n)
        bounced = GaugeMetricFamily("mailproc_outbox_bounced", "Sent notices reported back as bounced")
        bounced.add_metric([], session.scalar(select(func.count(OutboxItem.id))
                                              .where(OutboxItem.bounced_at.is_not(None))) or 0)
        latency = latency_histogram(session)
        facts = gather(session, app.config, now)
    yield from (inbound, tickets, outbox, bounced, latency)

    polled = GaugeMetricFamily("mailproc_mailbox_last_poll_ok_timestamp_seconds",
                               "When each mailbox folder was last polled successfully (0 = never)",
                               labels=["mailbox", "folder"])
    failures = GaugeMetricFamily("mailproc_mailbox_poll_failures",
                                 "Failed polls of each mailbox folder since its last good one",
                                 labels=["mailbox", "folder"])
    for box in facts.mailboxes:
        polled.add_metric([box.name, box.folder], _seconds(box.last_ok_at))
        failures.add_metric([box.name, box.folder], box.failures)
    yield from (polled, failures)
    yield GaugeMetricFamily("mailproc_last_send_ok_timestamp_seconds",
                            "When the SMTP server last accepted a notice (0 = never)",
                            value=_seconds(facts.last_send_ok_at))
    yield GaugeMetricFamily("mailproc_outbox_oldest_waiting_age_seconds",
                            "Age of the oldest notice still waiting to be sent (queued, sending, in doubt; 0 = none)",
                            value=facts.oldest_queued_age_s or 0.0)
    yield GaugeMetricFamily("mailproc_outbox_failed_24h", "Notices that failed among those queued in the last 24 hours",
                            value=facts.failed_24h)
    yield GaugeMetricFamily("mailproc_quarantined_24h", "Messages quarantined in the last 24 hours",
                            value=facts.quarantined_24h)
    yield GaugeMetricFamily("mailproc_deadlines_breached", "Open tickets past their acceptance or reply due date",
                            value=facts.breached)
    sched = facts.scheduler
    yield GaugeMetricFamily("mailproc_scheduler_lock_held",
                            "1 when a running mailproc daemon holds the scheduler lock (the leader), else 0",
                            value=1.0 if sched.get("held") else 0.0)
    if sched.get("heartbeat_age_s") is not None:
        yield GaugeMetricFamily("mailproc_scheduler_heartbeat_age_seconds",
                                "Seconds since the leader's last heartbeat (its holder file)",
                                value=sched["heartbeat_age_s"])
    if facts.token is not None:
        yield GaugeMetricFamily("mailproc_oauth2_token_expiry_timestamp_seconds",
                                "When the cached OAuth 2.0 access token expires (0 = none cached)",
                                value=float(facts.token.get("expires_at") or 0.0))


class DatabaseCollector(Collector):
    """Collects :func:`collect_metrics` at every scrape; a database that cannot be read is
    reported as ``mailproc_database_up 0`` (logged once per outage), not as a failed scrape."""

    def __init__(self, app: App) -> None:
        self.app = app
        self._failing = False

    def describe(self) -> list[Metric]:
        return []  # nothing is queried when the collector is registered

    def collect(self) -> Iterator[Metric]:
        started = time.monotonic()
        try:
            metrics = list(collect_metrics(self.app))
        except Exception as exc:
            if not self._failing:
                log.error("metrics: the database cannot be read: %s", type(exc).__name__)
            self._failing, metrics, up = True, [], 0.0
        else:
            if self._failing:
                log.info("metrics: the database can be read again")
            self._failing, up = False, 1.0
        yield GaugeMetricFamily("mailproc_database_up", "1 when the metrics could be read from the database",
                                value=up)
        yield from metrics
        yield GaugeMetricFamily("mailproc_metrics_scrape_seconds", "Seconds the database queries of this scrape took",
                                value=time.monotonic() - started)


def registry_for(app: App) -> CollectorRegistry:
    """A registry of mailproc's own (not the process-wide default, nor its process metrics)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(app))
    return registry


def exposition(app: App) -> str:
    """The metrics once, in Prometheus' text format (``mailproc metrics``)."""
    return generate_latest(registry_for(app)).decode("utf-8")


def parse_listen(listen: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:9464`` for IPv6; an empty host listens everywhere)."""
    host, _, port = listen.rpartition(":")
    return host.strip("[]") or "0.0.0.0", int(port)


@dataclass
class MetricsServer:
    """The running endpoint: ``address`` is where it listens (the real port when 0 was asked)."""

    server: Any  # prometheus_client's WSGI server
    thread: threading.Thread

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server.server_address[:2]
        return str(host), int(port)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5.0)

    shutdown = close


def serve_metrics(app: App) -> MetricsServer | None:
    """Serve ``GET /metrics`` on ``[metrics] listen`` from a daemon thread; None when it is
    off ("") or its address cannot be had (logged: the daemon's work matters more than its
    metrics, e.g. for a standby on the same machine as the leader)."""
    listen = app.config.metrics.listen
    if not listen:
        return None
    host, port = parse_listen(listen)
    try:
        server, thread = start_http_server(port, addr=host, registry=registry_for(app))
    except OSError as exc:
        log.error("metrics: cannot listen on %s (metrics.listen): %s; no metrics endpoint", listen, exc)
        return None
    endpoint = MetricsServer(server, thread)
    log.info("metrics: serving http://%s/metrics", listen)
    return endpoint
