"""Settle notices whose send is in doubt, so none is sent twice and none never.

A notice is in doubt when the SMTP server may have accepted it without our hearing so: the
connection was lost (or timed out) after DATA, or a sender was killed while it held the row
(its lease ran out with the row still ``sending``). Sending it again at once would duplicate
it whenever the server had in fact taken it.

Where the platform files its own copy of every message its SMTP server accepted
(``smtp.sent_copy_folder``: Gmail's Sent Mail, an Exchange Online mailbox's Sent Items, a
Postfix + Dovecot set-up with a sent-copy rule; see the README), that folder is the record of
what was accepted: the notice's Message-ID is looked up there over IMAP. Found: it was sent.
Absent once ``sent_copy_wait_seconds`` have passed since the doubt arose (a copy can take a
moment to be filed): it was not, and it is queued again. When the folder cannot be read the
notice stays in doubt and is looked up again at the next run — never resent blind.

With no such folder no copy can exist, and the notice is queued again at once: one resend
with the same bytes and Message-ID is the documented worst case (recipients' stores that
de-duplicate by Message-ID drop it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from imap_tools import AND, BaseMailBox, H
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from mailproc.core.context import Context
from mailproc.store.db import transaction
from mailproc.store.models import OutboxItem
from mailproc.vocabulary import OutboxStatus

log = logging.getLogger(__name__)
# In-doubt rows looked at per run (each is one IMAP SEARCH); the rest wait for the next run.
SETTLE_BATCH = 500
LEASE_EXPIRED = "the sender stopped while it held this notice (lease expired): in doubt"


@dataclass
class Settled:
    expired: int = 0     # ``sending`` rows whose lease ran out, now in doubt
    confirmed: int = 0   # found in the platform's copy: sent
    requeued: int = 0    # surely not accepted: queued again
    waiting: int = 0     # still in doubt (copy not yet due, or the folder could not be read)
    error: str | None = None


def settle_in_doubt(factory: sessionmaker[Session], ctx: Context, *, now: Callable[[], datetime]) -> Settled:
    """Turn expired leases into doubt, then settle what is in doubt (see the module doc)."""
    result = Settled()
    when = now()
    with transaction(factory) as session:
        expired = list(session.scalars(
            update(OutboxItem)
            .where(OutboxItem.status == OutboxStatus.SENDING, OutboxItem.lease_until < when)
            .values(status=OutboxStatus.IN_DOUBT, lease_until=None, next_attempt_at=when, last_error=LEASE_EXPIRED)
            .returning(OutboxItem.id)
            .execution_options(synchronize_session=False)))
        result.expired = len(expired)
        doubts = [(row.id, row.message_id, row.next_attempt_at) for row in session.scalars(
            select(OutboxItem).where(OutboxItem.status == OutboxStatus.IN_DOUBT)
            .order_by(OutboxItem.next_attempt_at, OutboxItem.id).limit(SETTLE_BATCH))]
    if result.expired:
        log.warning("%d notice(s) were held by a sender that stopped: in doubt until looked up", result.expired)
    if not doubts:
        return result
    cfg = ctx.config.smtp
    if not cfg.sent_copy_folder:
        _requeue(factory, [row_id for row_id, _, _ in doubts], when, "no sent-copy folder: sent again once")
        result.requeued = len(doubts)
        return result
    if ctx.mailbox is None:
        raise TypeError("smtp.sent_copy_folder needs a context that can open the [imap] mailbox")
    try:
        with ctx.mailbox() as box:
            found = _look_up(box, cfg.sent_copy_folder, [mid for _, mid, _ in doubts])
    except Exception as exc:  # IMAP down, folder missing, login refused: ask again next run
        result.error = f"{type(exc).__name__}: {exc}"[:300]
        result.waiting = len(doubts)
        log.warning("cannot look in %r for %d notice(s) in doubt (%s): they wait, unsent", cfg.sent_copy_folder,
                    len(doubts), result.error)
        return result
    wait = timedelta(seconds=cfg.sent_copy_wait_seconds)
    confirmed = [row_id for row_id, mid, _ in doubts if mid in found]
    absent = [row_id for row_id, mid, since in doubts if mid not in found and when - since >= wait]
    if confirmed:
        with transaction(factory) as session:
            session.execute(
                update(OutboxItem).where(OutboxItem.id.in_(confirmed), OutboxItem.status == OutboxStatus.IN_DOUBT)
                .values(status=OutboxStatus.SENT, sent_at=when,
                        last_error=f"accepted: its copy is in {cfg.sent_copy_folder}")
                .execution_options(synchronize_session=False))
        log.info("%d notice(s) in doubt were accepted (found in %r): not sent again", len(confirmed),
                 cfg.sent_copy_folder)
    if absent:
        _requeue(factory, absent, when, f"not in {cfg.sent_copy_folder}: not accepted, sent again")
    result.confirmed, result.requeued = len(confirmed), len(absent)
    result.waiting = len(doubts) - len(confirmed) - len(absent)
    return result


def _look_up(box: BaseMailBox, folder: str, message_ids: list[str]) -> set[str]:
    """The Message-IDs (without <>) that have a copy in ``folder``: one SEARCH each, read-only."""
    box.folder.set(folder, readonly=True)
    return {mid for mid in message_ids if box.uids(AND(header=H("Message-ID", f"<{mid}>")))}


def _requeue(factory: sessionmaker[Session], ids: list[int], when: datetime, why: str) -> None:
    with transaction(factory) as session:
        session.execute(
            update(OutboxItem).where(OutboxItem.id.in_(ids), OutboxItem.status == OutboxStatus.IN_DOUBT)
            .values(status=OutboxStatus.QUEUED, next_attempt_at=when, last_error=why)
            .execution_options(synchronize_session=False))
    log.info("%d notice(s) in doubt queued again (%s)", len(ids), why)
