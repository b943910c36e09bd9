"""``mailproc health``: is the service doing its job? Judged from durable facts only.

The facts come from the database (each mailbox's last good poll, the last notice the SMTP
server accepted, the oldest notice still waiting, failures and quarantine of the last day,
breached deadlines), the OAuth token cache, and the scheduler lock's holder; :func:`judge`
turns them into reasons, a pure function of the facts and ``[health]``. Nothing here talks
to IMAP or SMTP: a probe must be cheap and must not disturb the daemon.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, and_, func, or_, select, text
from sqlalchemy.orm import Session

from mailproc.config import Config, HealthConfig
from mailproc.ops.holder import ADVISORY_LOCK_ID, holder_path, read_holder
from mailproc.store.models import InboundMessage, MailboxState, OutboxItem, Ticket
from mailproc.vocabulary import InboundStatus, OutboxStatus, Status

WAITING = (OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.IN_DOUBT)
HEARTBEAT_STALE_SECONDS = 300.0  # the daemon's heartbeat runs every 30 s at most


@dataclass(frozen=True)
class MailboxFact:
    name: str  # "" = [imap]
    folder: str
    last_ok_at: datetime | None
    failures: int
    last_error: str | None
    known: bool  # polled at least once (a state row exists)


@dataclass
class Facts:
    now: datetime
    mailboxes: list[MailboxFact]
    last_send_ok_at: datetime | None
    oldest_queued_at: datetime | None  # created_at of the oldest notice still waiting
    oldest_queued_error: str | None
    queued: int
    failed_24h: int
    quarantined: int
    quarantined_24h: int
    breached: int  # open tickets past a due date
    token: dict[str, Any] | None = None  # OAuth 2.0: identity, expires_at (epoch), failures, last_error
    scheduler: dict[str, Any] = field(default_factory=dict)  # held, holder, alive, heartbeat_age_s

    @property
    def last_poll_ok_at(self) -> datetime | None:
        """The stalest mailbox's last good poll (None if one was never polled successfully)."""
        times = [m.last_ok_at for m in self.mailboxes]
        return None if not times or any(t is None for t in times) else min(t for t in times if t is not None)

    @property
    def oldest_queued_age_s(self) -> float | None:
        if self.oldest_queued_at is None:
            return None
        return round(max((self.now - self.oldest_queued_at).total_seconds(), 0.0), 1)

    def as_json(self, tz: ZoneInfo) -> dict[str, Any]:
        def when(value: datetime | None) -> str | None:
            return value.astimezone(tz).isoformat() if value else None

        return {
            "now": when(self.now),
            "last_poll_ok_at": when(self.last_poll_ok_at),
            "last_send_ok_at": when(self.last_send_ok_at),
            "oldest_queued_age_s": self.oldest_queued_age_s,
            "outbox_waiting": self.queued,
            "outbox_failed_24h": self.failed_24h,
            "quarantined": self.quarantined,
            "quarantined_24h": self.quarantined_24h,
            "deadlines_breached": self.breached,
            "mailboxes": [{"mailbox": m.name or None, "folder": m.folder, "last_poll_ok_at": when(m.last_ok_at),
                           "failures": m.failures, "last_error": m.last_error} for m in self.mailboxes],
            "oauth2": self.token,
            "scheduler": self.scheduler,
        }


def outbox_facts(session: Session, now: datetime) -> dict[str, Any]:
    """The outbox facts ``stats`` shares with ``health``."""
    last_sent = session.scalar(select(func.max(OutboxItem.sent_at)).where(OutboxItem.status == OutboxStatus.SENT))
    oldest = session.execute(select(OutboxItem.created_at, OutboxItem.last_error)
                             .where(OutboxItem.status.in_(WAITING))
                             .order_by(OutboxItem.created_at, OutboxItem.id).limit(1)).first()
    return {"last_send_ok_at": last_sent, "oldest_queued_at": oldest[0] if oldest else None,
            "oldest_queued_error": oldest[1] if oldest else None}


def mailbox_facts(session: Session, config: Config) -> list[MailboxFact]:
    facts = []
    for box in config.all_mailboxes():
        state = session.get(MailboxState, (box.name, box.folder))
        facts.append(MailboxFact(name=box.name, folder=box.folder, last_ok_at=state.last_ok_at if state else None,
                                 failures=state.failures if state else 0,
                                 last_error=state.last_error if state else None, known=state is not None))
    return facts


def gather(session: Session, config: Config, now: datetime) -> Facts:
    """Every fact, from one read-only session (plus the token cache and the holder file)."""
    def count(stmt: Any) -> int:
        return int(session.scalar(stmt) or 0)

    day_ago = now - timedelta(days=1)
    today = now.astimezone(ZoneInfo(config.calendar.timezone)).date()
    quarantined = select(func.count(InboundMessage.id)).where(InboundMessage.status == InboundStatus.QUARANTINED)
    breached = select(func.count(Ticket.id)).where(or_(
        and_(Ticket.status.in_((Status.L1, Status.L2)), Ticket.decided_at.is_(None), Ticket.accept_due < today),
        and_(Ticket.status.in_((Status.L1, Status.L2, Status.ACCEPTED)), Ticket.answered_at.is_(None),
             Ticket.reply_due < today)))
    return Facts(
        now=now,
        mailboxes=mailbox_facts(session, config),
        **outbox_facts(session, now),
        queued=count(select(func.count(OutboxItem.id)).where(OutboxItem.status.in_(WAITING))),
        failed_24h=count(select(func.count(OutboxItem.id)).where(OutboxItem.status == OutboxStatus.FAILED,
                                                                 OutboxItem.created_at > day_ago)),
        quarantined=count(quarantined),
        quarantined_24h=count(quarantined.where(InboundMessage.processed_at > day_ago)),
        breached=count(breached),
        token=token_facts(config),
        scheduler=scheduler_facts(session.get_bind(), config, now),  # type: ignore[arg-type]
    )


def token_facts(config: Config) -> dict[str, Any] | None:
    """The cached OAuth 2.0 token's state (no network: the daemon renews it)."""
    if not config.uses_oauth2():
        return None
    from mailproc.oauth2.tokens import Tokens

    user = config.imap.username if config.imap.auth == "oauth2" else config.smtp.username or config.imap.username
    try:
        return Tokens(config.oauth2, state_dir=Path(config.paths.state_dir)).manager(user).describe()
    except Exception as exc:  # an unreadable cache is a fact too
        return {"identity": user, "expires_at": None, "failures": 0, "last_error": f"{type(exc).__name__}: {exc}"}


def scheduler_facts(engine: Engine, config: Config, now: datetime) -> dict[str, Any]:
    """Who holds the scheduler lock: PostgreSQL says so itself (any host); the holder file
    next to the lock tells the rest (pid, host, last heartbeat)."""
    holder = read_holder(holder_path(config))
    facts: dict[str, Any] = {"held": None, "holder": None, "alive": None, "heartbeat_age_s": None}
    if holder is not None:
        facts.update(holder=holder.describe(), alive=holder.alive(),
                     heartbeat_age_s=round(holder.heartbeat_age(now), 1))
        facts["held"] = facts["alive"]
    if engine.dialect.name == "postgresql":

        with engine.connect() as conn:
            row = conn.execute(text(
                "SELECT a.pid, host(a.client_addr), a.backend_start FROM pg_locks l "
                "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
                "AND l.classid::bigint = :hi AND l.objid::bigint = :lo AND l.objsubid = 1"),
                {"hi": ADVISORY_LOCK_ID >> 32, "lo": ADVISORY_LOCK_ID & 0xFFFFFFFF}).first()
        facts["held"] = row is not None
        if row is not None and holder is None:
            facts["holder"] = f"database session {row[0]} from {row[1] or 'a local socket'} since {row[2]}"
    return facts


def judge(facts: Facts, cfg: HealthConfig) -> list[str]:
    """The reasons the service is unhealthy (none: healthy)."""
    reasons: list[str] = []
    now = facts.now

    def minutes(at: datetime) -> str:
        return f"{(now - at).total_seconds() / 60:.0f} min ago"

    for box in facts.mailboxes:
        where = f"{box.name}/{box.folder}" if box.name else box.folder
        error = f" (last error: {box.last_error[:200]})" if box.last_error else ""
        if box.last_ok_at is None:
            reasons.append(f"mailbox {where}: never polled successfully{error}")
        elif now - box.last_ok_at > timedelta(minutes=cfg.poll_stale_minutes):
            reasons.append(f"mailbox {where}: last good poll {minutes(box.last_ok_at)}{error}")
    stale_queue = timedelta(minutes=cfg.queued_stale_minutes)
    if facts.oldest_queued_at is not None and now - facts.oldest_queued_at > stale_queue:
        error = f" (last error: {facts.oldest_queued_error[:200]})" if facts.oldest_queued_error else ""
        reasons.append(f"outbox stuck: {facts.queued} notice(s) waiting, the oldest queued "
                       f"{minutes(facts.oldest_queued_at)}{error}")
    if facts.failed_24h >= cfg.failed_per_day:
        reasons.append(f"outbox failing: {facts.failed_24h} notice(s) failed in the last 24 hours")
    if facts.quarantined_24h >= cfg.quarantined_per_day:
        reasons.append(f"quarantine growing: {facts.quarantined_24h} message(s) quarantined in the last 24 hours")
    if facts.breached:
        reasons.append(f"deadlines breached: {facts.breached} open ticket(s) past a due date")
    token = facts.token
    if token is not None:
        expires = token.get("expires_at")
        soon = expires is None or expires - now.timestamp() < cfg.token_margin_minutes * 60
        if token.get("last_error") and soon:
            reasons.append(f"oauth2 token for {token.get('identity')}: "
                           + ("expired or expiring soon" if expires else "none cached")
                           + f", last renewal failed: {str(token['last_error'])[:200]}")
    sched = facts.scheduler
    if not sched.get("held"):
        holder = f" (the holder file names {sched['holder']}, not running)" if sched.get("holder") else ""
        reasons.append(f"no mailproc daemon holds the scheduler lock{holder}")
    elif sched.get("heartbeat_age_s") is not None and sched["heartbeat_age_s"] > HEARTBEAT_STALE_SECONDS:
        reasons.append(f"the scheduler's heartbeat is {sched['heartbeat_age_s']:.0f} s old ({sched['holder']}): hung?")
    return reasons
