"""Poll the IMAP folder and store every new message's raw bytes, exactly once.

Per batch: fetch with ``BODY.PEEK[]`` (never sets ``\\Seen``), insert the raw rows and advance
``last_uid`` in one transaction, commit, and only then move the batch to the processed
folder. UIDs at or below ``last_uid`` are therefore already stored: if a crash left them in
the folder they are moved on the next poll without being fetched again. A changed
UIDVALIDITY resets ``last_uid``; content de-duplication (Message-ID plus body hash) keeps the
re-fetched messages from being stored twice.
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import re
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from imap_tools import BaseMailBox
from sqlalchemy import Table, select
from sqlalchemy.orm import Session, sessionmaker

from mailproc.analysis.parsing import OVERSIZE_HEADER
from mailproc.config import MailboxConfig
from mailproc.core.context import Context
from mailproc.core.crashpoints import crash_point
from mailproc.core.report import StageReport
from mailproc.errors import ImapError
from mailproc.intake.imap import (
    TRANSIENT_ERRORS,
    already_moved,
    chunks,
    finish_interrupted_move,
    move_uids,
    open_mailbox,
)
from mailproc.store.db import allocate_ids, fit, insert_blobs, insert_ignoring_conflicts, transaction
from mailproc.store.models import InboundMessage, InboundRaw, MailboxState
from mailproc.vocabulary import InboundStatus

log = logging.getLogger(__name__)
# Stored messages are moved to the processed folder this many at a time (one UID MOVE each):
# Dovecot moves 500 for about the cost of moving 100. Until then they wait in the folder,
# already stored; a poll that dies first leaves them to the next poll to move, not to fetch.
MOVE_BATCH = 500

_MSGID_HEADER = re.compile(rb"(?im)^message-id:[ \t]*(?:\r?\n[ \t]+)?(<[^<>\r\n]{1,900}>)")
_INBOUND = cast(Table, InboundMessage.__table__)
_RAW = cast(Table, InboundRaw.__table__)
@dataclass
class PollReport(StageReport):
    stage = "poll"
    folder: str
    mailbox: str = ""  # "" = [imap]
    seen: int = 0
    stored: int = 0
    duplicates: int = 0
    moved: int = 0
    left_behind: int = 0
    uidvalidity_reset: bool = False
    skipped_backoff: bool = False
    error: str | None = None

    def __str__(self) -> str:
        where = f"{self.mailbox}/{self.folder}" if self.mailbox else self.folder
        text = (f"poll {where}: seen={self.seen} stored={self.stored} already_stored={self.duplicates} "
                f"moved={self.moved} left_behind={self.left_behind}")
        if self.uidvalidity_reset:
            text += " (UIDVALIDITY changed: resynchronised)"
        if self.error:
            text += f" error={self.error}"
        return text


_HASH_CHUNK = 1 << 20
_TRAILING_SPACE = b" \t\r\n\x0b\x0c"


def dedupe_key(raw: bytes, message_id: str | None) -> str:
    """Same Message-ID and same body = same message, whatever the trace headers say.

    The body is hashed with its line ends as LF and without trailing white space, a
    megabyte at a time (never a normalised copy of a 25 MB body)."""
    if not message_id:
        digest = hashlib.sha256(b"raw\0")
        digest.update(raw)
        return digest.hexdigest()
    split = raw.find(b"\r\n\r\n")
    start = split + 4 if split >= 0 else raw.find(b"\n\n") + 2 if b"\n\n" in raw else len(raw)
    end = len(raw)
    while end > start and raw[end - 1] in _TRAILING_SPACE:
        end -= 1
    digest = hashlib.sha256(b"mid\0" + message_id.encode("utf-8", "replace") + b"\0")
    at = start
    while at < end:
        stop = min(at + _HASH_CHUNK, end)
        if stop < end and raw[stop - 1] == 0x0D:  # never split a CRLF between two chunks
            stop += 1
        digest.update(raw[at:stop].replace(b"\r\n", b"\n"))
        at = stop
    return digest.hexdigest()


def header_message_id(raw: bytes) -> str | None:
    head = raw[: raw.find(b"\r\n\r\n") if b"\r\n\r\n" in raw else 65536]
    match = _MSGID_HEADER.search(head)
    return match.group(1).decode("utf-8", "replace").strip("<>") if match else None


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]], raws: list[bytes]) -> int:
    """Insert the rows whose dedupe_key is new, each with its raw bytes (``raws``, in step
    with ``rows``); return how many were inserted."""
    if not rows:
        return 0
    keys = [r["dedupe_key"] for r in rows]
    existing = set(session.scalars(select(InboundMessage.dedupe_key).where(InboundMessage.dedupe_key.in_(keys))))
    fresh: dict[str, tuple[dict[str, Any], bytes]] = {}
    for row, raw in zip(rows, raws, strict=True):
        if row["dedupe_key"] not in existing:
            fresh.setdefault(row["dedupe_key"], (row, raw))
    if not fresh:
        return 0
    ids = allocate_ids(session, _INBOUND, len(fresh))
    values = [fit(_INBOUND, {**row, "id": row_id}) for row_id, (row, _) in zip(ids, fresh.values(), strict=True)]
    session.execute(insert_ignoring_conflicts(session, _INBOUND, "dedupe_key"), values)
    # Only the rows that went in (another poller may have stored the same mail meanwhile).
    stored = set(session.scalars(select(InboundMessage.id).where(InboundMessage.id.in_(ids))))
    raw_rows = [(row_id, raw) for row_id, (_, raw) in zip(ids, fresh.values(), strict=True) if row_id in stored]
    insert_blobs(session, _RAW, "raw", raw_rows)
    return len(raw_rows)


def _state(session: Session, mailbox: str, folder: str) -> MailboxState:
    state = session.get(MailboxState, (mailbox, folder))
    if state is None:
        state = MailboxState(mailbox=mailbox, folder=folder, last_uid=0, failures=0)
        session.add(state)
        session.flush()
    return state


def poll_once(factory: sessionmaker[Session], ctx: Context, *, now: Callable[[], datetime],
              ignore_backoff: bool = False, on_stored: Callable[[], None] | None = None,
              mailbox: MailboxConfig | None = None) -> PollReport:
    """Fetch and store up to ``max_per_poll`` new messages of one complaints mailbox ([imap]
    unless ``mailbox`` names another); never raises for IMAP trouble.

    ``on_stored`` is called after each batch is committed (processing can start on it)."""
    cfg = mailbox or ctx.config.all_mailboxes()[0]
    if mailbox is None or not mailbox.name:
        if ctx.mailbox is None:
            raise TypeError("poll_once needs a context with a mailbox factory")
        opener = ctx.mailbox
    else:
        def opener() -> BaseMailBox:
            return open_mailbox(cfg, ctx.tokens)
    report = PollReport(folder=cfg.folder, mailbox=cfg.name)
    with transaction(factory) as session:
        state = _state(session, cfg.name, cfg.folder)
        if not ignore_backoff and state.next_attempt_at and state.next_attempt_at > now():
            report.skipped_backoff = True
            return report
    try:
        with opener() as box:
            limit = ctx.config.parsing.max_message_bytes
            _poll(box, factory, cfg, report, now, cfg.folder, cfg.processed_folder, on_stored, limit)
            if cfg.sent_folder and box.folder.exists(cfg.sent_folder):
                # Agents' replies sent straight from the shared mailbox: read, never moved.
                sent = PollReport(folder=cfg.sent_folder, mailbox=cfg.name)
                _poll(box, factory, cfg, sent, now, cfg.sent_folder, "", on_stored, limit)
    except TRANSIENT_ERRORS as exc:
        report.error = f"{type(exc).__name__}: {exc}"[:500]
        with transaction(factory) as session:
            state = _state(session, cfg.name, cfg.folder)
            state.failures += 1
            delay = min(cfg.backoff_initial * 2 ** (state.failures - 1), cfg.backoff_max)
            state.last_poll_at = now()
            state.next_attempt_at = now() + timedelta(seconds=delay)
            state.last_error = report.error
        log.warning("%s; next attempt in %.0fs", report, delay)
        return report
    with transaction(factory) as session:
        state = _state(session, cfg.name, cfg.folder)
        state.last_poll_at = state.last_ok_at = now()
        state.failures, state.next_attempt_at, state.last_error = 0, None, None
    log.info("%s", report)
    return report


def _poll(box: BaseMailBox, factory: sessionmaker[Session], cfg: MailboxConfig, report: PollReport,
          now: Callable[[], datetime], folder: str, dest: str, on_stored: Callable[[], None] | None,
          limit: int) -> None:
    if dest and not box.folder.exists(dest):
        box.folder.create(dest)
        log.info("created IMAP folder %r", dest)
    box.folder.set(folder)
    uidvalidity = int(box.folder.status(folder, ["UIDVALIDITY"])["UIDVALIDITY"])
    with transaction(factory) as session:
        state = _state(session, cfg.name, folder)
        if state.uidvalidity != uidvalidity:
            if state.uidvalidity is not None:
                report.uidvalidity_reset = True
                log.warning("UIDVALIDITY of %s changed %s -> %s: re-reading the folder, de-duplicating by content",
                            folder, state.uidvalidity, uidvalidity)
            state.uidvalidity, state.last_uid = uidvalidity, 0
        last_uid = state.last_uid
    if dest:  # a kill inside an earlier (COPY-fallback) move: finish it, never copy twice
        report.moved += finish_interrupted_move(box, folder, dest)
    # Compact (8 bytes a UID): the lists live as long as the poll, and a folder can hold 100,000.
    uids = array("L", sorted(int(u) for u in box.uids("ALL")))
    if dest:
        moved = already_moved(box)
        if moved:
            uids = array("L", (u for u in uids if u not in moved))
    report.seen = len(uids)
    split = bisect.bisect_right(uids, last_uid)
    stored_before, pending = uids[:split], uids[split:]
    todo = pending[: cfg.max_per_poll]
    report.left_behind = len(pending) - len(todo)
    if dest and stored_before:
        # Stored by an earlier poll that died before moving them.
        report.moved += move_uids(box, stored_before, dest, MOVE_BATCH)
    elif stored_before:
        report.left_behind += len(stored_before)
    unmoved: list[int] = []  # stored (committed), not moved yet
    for chunk in _batches(box, todo, cfg, limit):
        _store_batch(box, factory, cfg, folder, uidvalidity, chunk, report, now, limit)
        crash_point("ingest.after_commit")
        if on_stored is not None:
            on_stored()
        if not dest:
            report.left_behind += len(chunk.uids)
            continue
        unmoved.extend(chunk.uids)
        if len(unmoved) >= MOVE_BATCH:
            report.moved += move_uids(box, unmoved, dest, MOVE_BATCH)
            unmoved = []
    if unmoved:
        report.moved += move_uids(box, unmoved, dest, MOVE_BATCH)


@dataclass
class Batch:
    """UIDs fetched, stored and committed together; ``sizes`` from RFC822.SIZE."""

    uids: list[int]
    sizes: dict[int, int]
    oversize: set[int]  # over parsing.max_message_bytes: only their headers are fetched


_SIZE_RE = re.compile(rb"UID (\d+)[^)]*?RFC822\.SIZE (\d+)|RFC822\.SIZE (\d+)[^)]*?UID (\d+)")


def message_sizes(box: BaseMailBox, uids: Sequence[int]) -> dict[int, int]:
    """RFC822.SIZE of each UID, asked before anything is fetched (500 UIDs a command)."""
    sizes: dict[int, int] = {}
    for part in chunks(list(uids), 500):
        typ, data = box.client.uid("FETCH", ",".join(map(str, part)), "(RFC822.SIZE)")
        if typ != "OK":
            raise ImapError("UID FETCH RFC822.SIZE", f"{typ} {data!r}"[:300])
        for line in data:
            if isinstance(line, bytes):
                for match in _SIZE_RE.finditer(line):
                    uid, size = (match[1], match[2]) if match[1] else (match[4], match[3])
                    sizes[int(uid)] = int(size)
    return sizes


def _batches(box: BaseMailBox, todo: Sequence[int], cfg: MailboxConfig, limit: int) -> Iterator[Batch]:
    """``todo`` in batches bounded in count (``batch_size``) and in bytes (``batch_bytes``); a
    message over ``parsing``'s size limit costs only its headers."""
    for window in chunks(list(todo), 4 * cfg.batch_size):
        sizes = message_sizes(box, window)
        batch: list[int] = []
        total = 0
        for uid in window:
            cost = min(sizes.get(uid, 0), limit)
            if batch and (len(batch) >= cfg.batch_size or total + cost > cfg.batch_bytes):
                yield Batch(batch, sizes, {u for u in batch if sizes.get(u, 0) > limit})
                batch, total = [], 0
            batch.append(uid)
            total += cost
        if batch:
            yield Batch(batch, sizes, {u for u in batch if sizes.get(u, 0) > limit})


def _oversize_stand_in(headers: bytes, size: int, limit: int) -> bytes:
    """What is stored for a message over the size limit: our marker on top, its own headers
    (so it gets a ticket, threads and is filtered as any other) and a short note as its body."""
    head = headers.rstrip(b"\r\n") + b"\r\n"
    note = (f"[mailproc] Thư này lớn {size / 1_048_576:.1f} MB, vượt giới hạn {limit / 1_048_576:.0f} MB: nội dung "
            f"và tệp đính kèm không được tải về; thư vẫn ở trong hộp thư. / This message of {size} bytes is over "
            f"the {limit}-byte limit: its body and attachments were not fetched; it is still in the mailbox.")
    return (OVERSIZE_HEADER + b": " + str(size).encode() + b"\r\n" + head +
            b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + note.encode() + b"\r\n")


def _fetch(box: BaseMailBox, batch: Batch, limit: int) -> Iterator[tuple[int, bytes]]:
    whole = [str(u) for u in batch.uids if u not in batch.oversize]
    if whole:
        for msg in box.fetch(uid_list=whole, mark_seen=False, bulk=True):
            raw: bytes = msg.raw  # type: ignore[attr-defined]
            if raw and msg.uid is not None:
                yield int(msg.uid), raw
    if batch.oversize:
        log.warning("%d message(s) over the %d-byte limit: only their headers are fetched", len(batch.oversize),
                    limit)
        for msg in box.fetch(uid_list=[str(u) for u in sorted(batch.oversize)], mark_seen=False, bulk=True,
                             headers_only=True):
            raw = msg.raw  # type: ignore[attr-defined]
            if msg.uid is not None:
                uid = int(msg.uid)
                yield uid, _oversize_stand_in(raw or b"", batch.sizes.get(uid, 0), limit)


def _store_batch(box: BaseMailBox, factory: sessionmaker[Session], cfg: MailboxConfig, folder: str, uidvalidity: int,
                 chunk: Batch, report: PollReport, now: Callable[[], datetime], limit: int) -> None:
    fetched_at = now()
    rows: list[dict[str, Any]] = []
    raws: list[bytes] = []
    for uid, raw in _fetch(box, chunk, limit):
        message_id = header_message_id(raw)
        rows.append({
            "dedupe_key": dedupe_key(raw, message_id),
            "sha256": hashlib.sha256(raw).hexdigest(),
            "message_id": message_id,
            "mailbox": cfg.name,
            "folder": folder,
            "uidvalidity": uidvalidity,
            "uid": uid,
            "size": chunk.sizes.get(uid, len(raw)),
            "fetched_at": fetched_at,
            "status": InboundStatus.NEW,
            "attempts": 0,
        })
        raws.append(raw)
    crash_point("ingest.after_fetch")
    with transaction(factory) as session:
        inserted = _insert_ignoring_duplicates(session, rows, raws)
        state = _state(session, cfg.name, folder)
        state.last_uid = max(state.last_uid, max(chunk.uids))
    report.stored += inserted
    report.duplicates += len(rows) - inserted
