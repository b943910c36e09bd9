"""Deliver due outbox rows over SMTP with aiosmtplib: claim, send, record the outcome.

The claim (status ``sending`` with a lease) is committed before any network I/O; a row is
marked ``sent`` only after the server's 250, committed at once. 4xx replies, timeouts and
dropped connections are retried with exponential backoff; 5xx replies fail the row with the
server's reason. A crash between the 250 and the commit leaves a ``sending`` row whose lease
expires: it is sent again with the same bytes and Message-ID, so the rare duplicate is
recognisable (and dropped by mail stores that de-duplicate by Message-ID).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosmtplib
from jinja2 import Environment
from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session, sessionmaker

from mailproc.config import Config, SmtpConfig
from mailproc.core.context import Context
from mailproc.core.crashpoints import crash_point
from mailproc.core.report import StageReport
from mailproc.errors import SmtpError
from mailproc.notices.outbox import materialize
from mailproc.oauth2.tokens import TokenManager, Tokens
from mailproc.store.db import claim_query, engine_of, transaction
from mailproc.store.models import OutboxItem
from mailproc.vocabulary import OutboxStatus

log = logging.getLogger(__name__)


@dataclass
class SendReport(StageReport):
    stage = "send"
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    deferred: int = 0  # never reached the server: not charged an attempt

    def __str__(self) -> str:
        return (f"claimed={self.claimed} sent={self.sent} retry={self.retried} failed={self.failed}"
                + (f" deferred={self.deferred}" if self.deferred else ""))


@dataclass(frozen=True)
class Claimed:
    id: int
    to_address: str
    raw: bytes
    attempts: int
    message_id: str
    from_address: str | None = None  # the envelope sender (None: smtp.from_address)


def backoff(cfg: SmtpConfig, attempts: int) -> timedelta:
    """Exponential backoff after the given number of attempts, capped."""
    seconds = min(cfg.backoff_initial * (2 ** max(attempts - 1, 0)), cfg.backoff_max)
    return timedelta(seconds=seconds)


def classify(exc: BaseException) -> SmtpError:
    """Wrap an aiosmtplib/socket failure: 5xx permanent, everything else transient."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        first = exc.recipients[0]
        return SmtpError(f"{first.code} {first.message}", code=first.code, permanent=500 <= first.code < 600)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return SmtpError(f"{exc.code} {exc.message}", code=exc.code, permanent=500 <= exc.code < 600)
    return SmtpError(f"{type(exc).__name__}: {exc}", permanent=False)


def claim(factory: sessionmaker[Session], engine: Engine, config: Config, env: Environment, now: datetime,
          limit: int) -> list[Claimed]:
    """Lease up to ``limit`` due rows; commits before returning (no transaction spans SMTP).

    A row sent for the first time gets its MIME bytes built and stored here, so every later
    attempt hands the server exactly the same bytes.
    """
    cfg = config.smtp
    with transaction(factory) as session:
        stmt = (
            select(OutboxItem)
            .where(
                OutboxItem.status.in_((OutboxStatus.QUEUED, OutboxStatus.SENDING)),
                OutboxItem.next_attempt_at <= now,
                or_(OutboxItem.lease_until.is_(None), OutboxItem.lease_until < now),
            )
            .order_by(OutboxItem.next_attempt_at, OutboxItem.id)
            .limit(limit)
        )
        rows = session.scalars(claim_query(stmt, engine)).all()
        claimed = []
        for row in rows:
            if row.raw is None:
                try:
                    row.raw = materialize(row, config, env)
                except Exception as exc:  # a template or address problem: no retry can help
                    row.status, row.last_error = OutboxStatus.FAILED, f"cannot build the message: {exc}"[:2000]
                    log.error("outbox %s cannot be built: %s", row.id, exc)
                    continue
            row.status = OutboxStatus.SENDING
            row.lease_until = now + timedelta(seconds=cfg.lease_seconds)
            row.attempts += 1
            assert row.raw is not None
            claimed.append(Claimed(row.id, row.to_address, row.raw, row.attempts, row.message_id, row.from_address))
        return claimed


def _record(factory: sessionmaker[Session], item: Claimed, cfg: SmtpConfig, now: datetime,
            error: SmtpError | None, report: SendReport) -> None:
    with transaction(factory) as session:
        row = session.get(OutboxItem, item.id)
        if row is None:  # pragma: no cover - rows are never deleted
            return
        row.lease_until = None
        if error is not None and not error.attempted:
            # It never reached the server (refused connection, outage, login, a dropped
            # connection before its turn): no attempt is charged, so an outage of any length
            # ends with it sent, never failed; it waits a short while like the whole outbox.
            row.status, row.last_error = OutboxStatus.QUEUED, error.detail[:2000]
            row.attempts = max(row.attempts - 1, 0)
            row.next_attempt_at = now + timedelta(seconds=cfg.backoff_initial)
            report.deferred += 1
        elif error is None:
            row.status, row.sent_at, row.last_error = OutboxStatus.SENT, now, None
            report.sent += 1
            log.info("sent outbox %s (%s) message-id <%s>", item.id, row.kind, item.message_id)
        elif error.permanent or item.attempts >= cfg.max_attempts:
            row.status, row.last_error = OutboxStatus.FAILED, error.detail[:2000]
            report.failed += 1
            log.warning("outbox %s failed after %d attempt(s): %s", item.id, item.attempts, error.detail)
        else:
            row.status, row.last_error = OutboxStatus.QUEUED, error.detail[:2000]
            row.next_attempt_at = now + backoff(cfg, item.attempts)
            report.retried += 1
            log.info("outbox %s will be retried at %s: %s", item.id, row.next_attempt_at, error.detail)


ResultCallback = Callable[[Claimed, SmtpError | None], None]


def make_client(cfg: SmtpConfig, login: SmtpLogin | None) -> aiosmtplib.SMTP:
    """An SMTP client that logs in on connect: with the password, or with SASL XOAUTH2 and a
    token from [oauth2] (fetched in a thread: the token endpoint is plain blocking HTTP)."""
    if login is None:
        return aiosmtplib.SMTP(hostname=cfg.host, port=cfg.port, use_tls=cfg.ssl, start_tls=cfg.starttls,
                               timeout=cfg.timeout, username=cfg.username or None, password=cfg.password or None)
    manager = login.manager

    async def token() -> str:
        return await asyncio.to_thread(manager.access_token)

    return aiosmtplib.SMTP(hostname=cfg.host, port=cfg.port, use_tls=cfg.ssl, start_tls=cfg.starttls,
                           timeout=cfg.timeout, username=login.user, oauth_token_generator=token)


async def _deliver(items: list[Claimed], cfg: SmtpConfig, on_result: ResultCallback,
                   login: SmtpLogin | None = None) -> None:
    client = make_client(cfg, login)
    pending = list(items)
    try:
        await client.connect()
    except Exception as exc:  # connection refused, TLS failure, auth failure, no token, timeout
        # Nothing was tried: whatever the server said (even a 5xx to AUTH), no notice is at fault.
        error = SmtpError(f"not attempted: {classify(exc).detail}", permanent=False, attempted=False)
        if login is not None and isinstance(exc, aiosmtplib.SMTPAuthenticationError):
            login.manager.invalidate()  # revoked or expired early: renew before the next try
        for item in pending:
            on_result(item, error)
        return
    try:
        while pending:
            item = pending[0]
            try:
                errors, _ = await client.sendmail(item.from_address or cfg.from_address, [item.to_address], item.raw)
                if errors:
                    code, message = next(iter(errors.values()))
                    raise aiosmtplib.SMTPResponseException(code, message)
            except aiosmtplib.SMTPServerDisconnected as exc:
                pending.pop(0)
                on_result(item, classify(exc))
                for rest in pending:  # the connection is gone: the rest wait for the next run
                    on_result(rest, SmtpError("not attempted: connection lost", permanent=False, attempted=False))
                return
            except Exception as exc:
                pending.pop(0)
                on_result(item, classify(exc))
                if isinstance(exc, aiosmtplib.SMTPResponseException) and not client.is_connected:
                    for rest in pending:
                        on_result(rest, SmtpError("not attempted: connection lost", permanent=False, attempted=False))
                    return
                continue
            pending.pop(0)
            crash_point("sender.after_smtp")
            on_result(item, None)
    finally:
        if client.is_connected:
            try:
                await client.quit()
            except Exception:
                client.close()


@dataclass(frozen=True)
class SmtpLogin:
    user: str
    manager: TokenManager


def smtp_login_for(cfg: Config, tokens: Tokens | None) -> SmtpLogin | None:
    """The OAuth 2.0 login for SMTP, when ``smtp.auth = "oauth2"``."""
    if cfg.smtp.auth != "oauth2":
        return None
    if tokens is None:
        raise TypeError("smtp.auth = oauth2 needs the [oauth2] tokens")
    manager = tokens.manager(cfg.smtp.username or cfg.imap.username)
    return SmtpLogin(user=manager.user, manager=manager)


def smtp_login(ctx: Context) -> SmtpLogin | None:
    return smtp_login_for(ctx.config, ctx.tokens)


def send_once(factory: sessionmaker[Session], ctx: Context, *, now: Callable[[], datetime],
              limit: int | None = None) -> SendReport:
    """Deliver every due outbox row (in batches), then return what happened."""
    engine, config, env = engine_of(factory), ctx.config, ctx.env
    cfg = config.smtp
    report = SendReport()
    batch = max(1, min(cfg.batch_size, limit or cfg.batch_size))
    while limit is None or report.claimed < limit:
        items = claim(factory, engine, config, env, now(), batch)
        if not items:
            break
        report.claimed += len(items)

        def on_result(item: Claimed, error: SmtpError | None) -> None:
            _record(factory, item, cfg, now(), error, report)

        asyncio.run(_deliver(items, cfg, on_result, smtp_login(ctx)))
        if (report.retried or report.deferred) and report.sent == 0 and report.failed == 0:
            break  # the server is unwell: leave the rest for the next run
    return report
