"""Deliver due outbox rows over SMTP with aiosmtplib: claim, send, record the outcome.

The claim (status ``sending`` with a lease) is committed before any network I/O; each row is
committed as ``sent`` on its own 250, so a kill repeats at most the one message in flight.
What happens to a try depends on how far it got:

* it never reached the server (refused connection, outage, login failure, a connection lost
  before its turn): not charged an attempt, and the whole outbox waits (``OutageBackoff``);
* the server refused it: 5xx fails it with the server's reason; 4xx is retried with
  exponential backoff, and fails only after ``max_attempts`` tries *and* ``give_up_hours``;
* the message went out with DATA and no answer came back (connection lost or timed out after
  the final dot): ``in_doubt``. So is a ``sending`` row whose lease ran out (the sender was
  killed). :mod:`mailproc.notices.doubt` settles those from the platform's own copy of what
  it accepted before anything is sent again.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiosmtplib
from jinja2 import Environment
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from mailproc.config import Config, SmtpConfig
from mailproc.core.context import Context
from mailproc.core.crashpoints import crash_point
from mailproc.core.report import StageReport
from mailproc.errors import SmtpError
from mailproc.notices.doubt import settle_in_doubt
from mailproc.notices.outbox import materialize
from mailproc.oauth2 import sasl
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
    in_doubt: int = 0  # handed over with no answer: settled before any resend
    confirmed: int = 0  # in doubt, then found in the platform's copy of what it accepted
    paused: bool = False  # the SMTP server was unreachable last time: not tried before the outage backoff

    def __str__(self) -> str:
        text = f"claimed={self.claimed} sent={self.sent} retry={self.retried} failed={self.failed}"
        for name in ("deferred", "in_doubt", "confirmed"):
            if getattr(self, name):
                text += f" {name}={getattr(self, name)}"
        return text + (" (paused: SMTP unreachable)" if self.paused else "")


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
            .where(OutboxItem.status == OutboxStatus.QUEUED, OutboxItem.next_attempt_at <= now)
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
        if error is None:
            row.status, row.sent_at, row.last_error = OutboxStatus.SENT, now, None
            report.sent += 1
            log.info("sent outbox %s (%s) message-id <%s>", item.id, row.kind, item.message_id)
        elif error.in_doubt:
            row.status, row.last_error = OutboxStatus.IN_DOUBT, error.detail[:2000]
            row.next_attempt_at = now
            report.in_doubt += 1
            log.warning("outbox %s in doubt (%s): looked up before any resend", item.id, error.detail)
        elif not error.attempted:
            # It never reached the server (refused connection, outage, login, a dropped
            # connection before its turn): no attempt is charged, so an outage of any length
            # ends with it sent, never failed. The whole outbox waits (OutageBackoff).
            row.status, row.last_error = OutboxStatus.QUEUED, error.detail[:2000]
            row.attempts = max(row.attempts - 1, 0)
            row.next_attempt_at = now
            report.deferred += 1
        elif error.permanent or (item.attempts >= cfg.max_attempts
                                 and now - row.created_at >= timedelta(hours=cfg.give_up_hours)):
            row.status, row.last_error = OutboxStatus.FAILED, error.detail[:2000]
            report.failed += 1
            log.warning("outbox %s failed after %d attempt(s): %s", item.id, item.attempts, error.detail)
        else:
            row.status, row.last_error = OutboxStatus.QUEUED, error.detail[:2000]
            row.next_attempt_at = now + backoff(cfg, item.attempts)
            report.retried += 1
            log.info("outbox %s will be retried at %s: %s", item.id, row.next_attempt_at, error.detail)


ResultCallback = Callable[[Claimed, SmtpError | None], None]


class OAuth2SMTP(aiosmtplib.SMTP):
    """aiosmtplib's client, logged in with a bearer token from [oauth2] as soon as it has
    connected (after STARTTLS): SASL OAUTHBEARER (RFC 7628) when the server's EHLO offers it,
    else XOAUTH2. (aiosmtplib itself knows XOAUTH2 only.) ``mechanism`` says which was used."""

    def __init__(self, *, login: SmtpLogin, **options: Any) -> None:
        super().__init__(**options)
        self.login_as = login
        self.mechanism: str | None = None

    async def connect(self, *args: Any, **kwargs: Any) -> aiosmtplib.SMTPResponse:
        response = await super().connect(*args, **kwargs)
        try:
            await self._bearer_login()
        except BaseException:
            self.close()  # as aiosmtplib does when its own login on connect fails
            raise
        return response

    async def _bearer_login(self) -> None:
        if self.is_ehlo_or_helo_needed:
            await self.ehlo()
        mechanism = sasl.preferred_mechanism(self.server_auth_methods)
        if mechanism is None:
            offered = " ".join(self.server_auth_methods).upper() or "no AUTH"
            raise aiosmtplib.SMTPException(f"the server offers neither OAUTHBEARER nor XOAUTH2 ({offered})")
        user = self.login_as.user
        # The token endpoint is plain blocking HTTP: asked in a thread.
        token = await asyncio.to_thread(self.login_as.manager.access_token)
        initial = (sasl.oauthbearer(user, token, host=self.hostname or "", port=self.port or 0)
                   if mechanism == "OAUTHBEARER" else sasl.xoauth2(user, token))
        response = await self.execute_command(b"AUTH", mechanism.encode(), base64.b64encode(initial))
        if response.code == aiosmtplib.SMTPStatus.auth_continue:
            # A refused token comes back as a JSON challenge; the client's answer ends the
            # exchange with 535: ^A for OAUTHBEARER (RFC 7628 section 3.2.3), an empty line
            # for XOAUTH2 (Google's description of it).
            response = await self.execute_command(base64.b64encode(b"\x01") if mechanism == "OAUTHBEARER" else b"")
        if response.code != aiosmtplib.SMTPStatus.auth_successful:
            raise aiosmtplib.SMTPAuthenticationError(response.code, f"{mechanism} as {user}: {response.message}")
        self.mechanism = mechanism


def make_client(cfg: SmtpConfig, login: SmtpLogin | None) -> aiosmtplib.SMTP:
    """An SMTP client that logs in on connect: with the password, or with a token from
    [oauth2] (SASL OAUTHBEARER or XOAUTH2, see :class:`OAuth2SMTP`)."""
    if login is None:
        return aiosmtplib.SMTP(hostname=cfg.host, port=cfg.port, use_tls=cfg.ssl, start_tls=cfg.starttls,
                               timeout=cfg.timeout, username=cfg.username or None, password=cfg.password or None)
    return OAuth2SMTP(login=login, hostname=cfg.host, port=cfg.port, use_tls=cfg.ssl, start_tls=cfg.starttls,
                      timeout=cfg.timeout)


_UNANSWERED = (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, ConnectionError, TimeoutError)


async def _transaction(client: aiosmtplib.SMTP, sender: str, item: Claimed) -> None:
    """MAIL, RCPT, DATA for one notice. A failure before DATA is an ordinary error; once the
    message has gone out with DATA, a lost connection or a timeout is :class:`_InDoubt`: the
    server may have taken it (its 250 never came back)."""
    options = [f"size={len(item.raw)}"] if client.supports_extension("size") else []
    try:
        await client.mail(sender, options=options)
        await client.rcpt(item.to_address)
    except aiosmtplib.SMTPResponseException:
        with contextlib.suppress(ConnectionError, aiosmtplib.SMTPException):
            await client.rset()
        raise
    try:
        await client.data(item.raw)
    except _UNANSWERED as exc:
        raise _InDoubt(exc) from exc
    except aiosmtplib.SMTPResponseException:
        with contextlib.suppress(ConnectionError, aiosmtplib.SMTPException):
            await client.rset()
        raise


class _InDoubt(Exception):
    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.cause = cause


async def _deliver(items: list[Claimed], cfg: SmtpConfig, on_result: ResultCallback,
                   login: SmtpLogin | None = None) -> bool:
    """Send ``items`` over one connection; False when the server could not be reached (or
    refused the login), in which case nothing was tried."""
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
        return False
    try:
        while pending:
            item = pending.pop(0)
            crash_point("sender.before_data")
            try:
                await _transaction(client, item.from_address or cfg.from_address, item)
            except _InDoubt as doubt:
                on_result(item, SmtpError(f"no answer after DATA: {doubt}", permanent=False, in_doubt=True))
            except Exception as exc:
                on_result(item, classify(exc))
            else:
                crash_point("sender.after_smtp")
                on_result(item, None)
                continue
            if not client.is_connected:  # the rest wait for the next run, uncharged
                for rest in pending:
                    on_result(rest, SmtpError("not attempted: connection lost", permanent=False, attempted=False))
                return True
        return True
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


@dataclass
class OutageBackoff:
    """While the SMTP server cannot be reached the whole outbox waits, doubling the wait per
    failed connection (``backoff_initial`` up to ``backoff_max``), rather than each row being
    tried and charged; one good connection ends it. Kept per process (``ctx.caches``)."""

    failures: int = 0
    until: datetime | None = None

    def paused(self, now: datetime) -> bool:
        return self.until is not None and now < self.until

    def failed(self, cfg: SmtpConfig, now: datetime) -> None:
        self.failures += 1
        self.until = now + backoff(cfg, self.failures)

    def reset(self) -> None:
        self.failures, self.until = 0, None


def outage_of(ctx: Context) -> OutageBackoff:
    backoff_state: OutageBackoff = ctx.caches.setdefault("smtp_outage", OutageBackoff())
    return backoff_state


def send_once(factory: sessionmaker[Session], ctx: Context, *, now: Callable[[], datetime],
              limit: int | None = None) -> SendReport:
    """Settle what is in doubt, then deliver every due outbox row (in batches) unless the
    server was unreachable a moment ago; return what happened."""
    engine, config, env = engine_of(factory), ctx.config, ctx.env
    cfg = config.smtp
    report = SendReport()
    settled = settle_in_doubt(factory, ctx, now=now)
    report.confirmed, report.in_doubt = settled.confirmed, settled.waiting
    outage = outage_of(ctx)
    if outage.paused(now()):
        report.paused = True
        return report
    batch = max(1, min(cfg.batch_size, limit or cfg.batch_size))
    while limit is None or report.claimed < limit:
        items = claim(factory, engine, config, env, now(), batch)
        if not items:
            break
        report.claimed += len(items)

        def on_result(item: Claimed, error: SmtpError | None) -> None:
            _record(factory, item, cfg, now(), error, report)

        if not asyncio.run(_deliver(items, cfg, on_result, smtp_login(ctx))):
            outage.failed(cfg, now())
            log.warning("SMTP server %s:%d unreachable (%d time(s) in a row): the outbox waits until %s",
                        cfg.host, cfg.port, outage.failures, outage.until)
            break
        if outage.failures:
            log.warning("SMTP server %s:%d reachable again", cfg.host, cfg.port)
        outage.reset()
        if report.retried and report.sent == 0 and report.failed == 0:
            break  # the server is unwell: leave the rest for the next run
    return report
