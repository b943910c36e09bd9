"""The IMAP side of intake: connect and log in, learn what the server offers after login, and
move our stored messages out of the shared folder without touching anyone else's mail.

Every failure is an :class:`~mailproc.errors.ImapError` naming the operation.
"""

from __future__ import annotations

import contextlib
import enum
import imaplib
import re
import socket
import ssl
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from imap_tools import AND, BaseMailBox, H, MailBox, MailBoxStartTls, MailBoxUnencrypted, MailMessage
from imap_tools.errors import MailboxLoginError, UnexpectedCommandStatusError
from imap_tools.utils import encode_folder

from mailproc.config import ImapConfig
from mailproc.core.crashpoints import crash_point
from mailproc.errors import ImapError, OAuthError
from mailproc.oauth2 import sasl
from mailproc.oauth2.tokens import Tokens

# Set on stored messages copied to the processed folder by a server that can neither MOVE nor
# expunge single UIDs (no UIDPLUS): they stay in the folder and polls pass over them.
MOVED_KEYWORD = "$MailprocMoved"
# Set on messages just before the fallback's UID COPY (and so carried by the copies): a kill
# between the COPY and the clean-up leaves them marked, and the next poll finishes that move
# instead of copying them a second time (see :func:`finish_interrupted_move`).
MOVING_KEYWORD = "$MailprocMoving"
# Network-level failures that mean "try again later", never "stop the daemon".
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    ImapError, imaplib.IMAP4.error, OSError, socket.timeout, ssl.SSLError, UnexpectedCommandStatusError, EOFError,
)


class RawMessage(MailMessage):
    """An imap-tools message that keeps the raw bytes and skips imap-tools' own parsing.

    Parsing happens later, in the pipeline, from the stored bytes.
    """

    def __init__(self, fetch_data: list[Any]) -> None:
        raw, uid_data, flag_data = self._get_message_data_parts(fetch_data)
        self.raw: bytes = raw
        self._raw_uid_data = uid_data
        self._raw_flag_data = flag_data


class _RawMailBox(MailBox):
    email_message_class = RawMessage


class _RawMailBoxStartTls(MailBoxStartTls):
    email_message_class = RawMessage


class _RawMailBoxUnencrypted(MailBoxUnencrypted):
    email_message_class = RawMessage


def _mailbox_class(cfg: ImapConfig) -> type[BaseMailBox]:
    return _RawMailBox if cfg.ssl else _RawMailBoxStartTls if cfg.starttls else _RawMailBoxUnencrypted


def open_mailbox(cfg: ImapConfig, tokens: Tokens | None = None) -> BaseMailBox:
    """Connect and log in; every failure becomes ImapError (with the operation named).

    The box's ``client.capabilities`` is the list the server sends *after* login: imaplib
    keeps the one from before it, where Dovecot and most servers leave out MOVE, UIDPLUS and
    the other extensions (acting on that list, the move fell back to a COPY whose clean-up
    could remove colleagues' deleted mail)."""
    cls = _mailbox_class(cfg)
    try:
        box = cls(cfg.host, cfg.port, timeout=cfg.timeout)  # type: ignore[call-arg]
    except (OSError, imaplib.IMAP4.error) as exc:
        raise ImapError("connect", f"{cfg.host}:{cfg.port}: {exc}") from exc
    try:
        if cfg.auth == "oauth2":
            _login_oauth2(box, cfg, tokens)
        else:
            box.login(cfg.username, cfg.password, initial_folder=None)
        refresh_capabilities(box)
        return box
    except OAuthError as exc:
        with contextlib.suppress(Exception):
            box.client.shutdown()
        raise ImapError("login", str(exc)) from exc
    except (MailboxLoginError, OSError, imaplib.IMAP4.error) as exc:
        with contextlib.suppress(Exception):
            box.client.shutdown()  # a failed login must not leak the socket
        detail = f"user {cfg.username!r} rejected: {exc}" if isinstance(exc, MailboxLoginError) else str(exc)
        raise ImapError("login", detail) from exc


def _login_oauth2(box: BaseMailBox, cfg: ImapConfig, tokens: Tokens | None) -> None:
    """SASL OAUTHBEARER (RFC 7628) where the server offers it, else XOAUTH2, with an access
    token from [oauth2]. A refused token is forgotten, so the next login renews it."""
    if tokens is None:
        raise ImapError("login", "imap.auth = oauth2 but no [oauth2] tokens were set up")
    manager = tokens.manager(cfg.username)
    token = manager.access_token()
    if "AUTH=OAUTHBEARER" in box.client.capabilities:
        mechanism, initial = "OAUTHBEARER", sasl.oauthbearer(manager.user, token, host=cfg.host, port=cfg.port)
    else:
        mechanism, initial = "XOAUTH2", sasl.xoauth2(manager.user, token)
    try:
        typ, data = box.client.authenticate(mechanism, sasl.responder(initial))
    except imaplib.IMAP4.error as exc:
        manager.invalidate()
        raise MailboxLoginError((f"{mechanism} as {manager.user}", str(exc)), "OK") from exc
    if typ != "OK":
        manager.invalidate()
        raise MailboxLoginError((typ, data), "OK")


def refresh_capabilities(box: BaseMailBox) -> tuple[str, ...]:
    """Ask the server for its capabilities now (after login or STARTTLS) and keep them on the
    client, where imap-tools and :func:`move_uids` look."""
    typ, data = box.client.capability()
    if typ != "OK" or not data or not isinstance(data[-1], bytes):
        raise ImapError("capability", f"unexpected answer {typ} {data!r}"[:300])
    caps = tuple(data[-1].decode("ascii", "replace").upper().split())
    box.client.capabilities = caps
    return caps


class MoveMethod(enum.StrEnum):
    """How stored messages leave the complaints folder, by what the server offers."""

    MOVE = "UID MOVE"
    COPY_EXPUNGE = "UID COPY + UID EXPUNGE of our UIDs"
    COPY_KEYWORD = f"UID COPY, then keyword {MOVED_KEYWORD} (left in place, never fetched again)"


def move_method(caps: Sequence[str]) -> MoveMethod:
    if "MOVE" in caps:
        return MoveMethod.MOVE
    if "UIDPLUS" in caps:
        return MoveMethod.COPY_EXPUNGE
    return MoveMethod.COPY_KEYWORD


T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _uid_command(box: BaseMailBox, command: str, *args: str | bytes) -> None:
    typ, data = box.client.uid(command, *args)  # type: ignore[arg-type]  # imaplib sends bytes as they are
    if typ != "OK":
        raise ImapError(f"UID {command}", f"{typ} {data!r}"[:300])


def move_uids(box: BaseMailBox, uids: Sequence[int], dest: str, chunk: int) -> int:
    """Move our stored UIDs to ``dest`` without touching any other message in the folder.

    ``UID MOVE`` where the server offers it; else ``UID COPY`` and, with UIDPLUS, ``\\Deleted``
    plus ``UID EXPUNGE`` of exactly these UIDs. A plain ``EXPUNGE`` (or CLOSE) would also
    remove every message a colleague has marked ``\\Deleted`` in the shared folder, so without
    UIDPLUS the copies are made and the originals only get the keyword :data:`MOVED_KEYWORD`,
    which makes later polls pass over them. (imap-tools' ``flag()``, ``delete()`` and its own
    ``move()`` fallback all end with a plain ``EXPUNGE``: none of them is used here.)"""
    if not uids:
        return 0
    method = move_method(box.client.capabilities)
    folder = encode_folder(dest)  # quoted modified UTF-7, as imap-tools sends it
    for part in chunks([str(u) for u in uids], chunk):
        uid_set = ",".join(part)
        if method is MoveMethod.MOVE:
            _uid_command(box, "MOVE", uid_set, folder)
            continue
        # The fallback is not atomic: mark first, so that a kill after the COPY is recognised.
        _uid_command(box, "STORE", uid_set, "+FLAGS.SILENT", f"({MOVING_KEYWORD})")
        _uid_command(box, "COPY", uid_set, folder)
        crash_point("move.after_copy")
        _clean_up_copied(box, method, uid_set)
    return len(uids)


def _clean_up_copied(box: BaseMailBox, method: MoveMethod, uid_set: str) -> None:
    """The second half of the fallback: the originals leave (UIDPLUS) or are marked moved."""
    if method is MoveMethod.COPY_EXPUNGE:
        _uid_command(box, "STORE", uid_set, "+FLAGS.SILENT", "(\\Deleted)")
        _uid_command(box, "EXPUNGE", uid_set)
    else:
        _uid_command(box, "STORE", uid_set, "+FLAGS.SILENT", f"({MOVED_KEYWORD})")


def _message_ids(box: BaseMailBox, uids: Sequence[int]) -> dict[int, str]:
    typ, data = box.client.uid("FETCH", ",".join(map(str, uids)), "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    if typ != "OK":
        raise ImapError("UID FETCH Message-ID", f"{typ} {data!r}"[:300])
    found: dict[int, str] = {}
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            uid = re.search(rb"UID (\d+)", item[0])
            mid = re.search(rb"<[^<>\s]{1,900}>", item[1])
            if uid and mid:
                found[int(uid[1])] = mid[0].decode("ascii", "replace")
    return found


def finish_interrupted_move(box: BaseMailBox, folder: str, dest: str) -> int:
    """Finish a fallback move that a kill cut between its COPY and its clean-up.

    Messages still in ``folder`` with :data:`MOVING_KEYWORD` (and not yet moved) were marked
    for a COPY that may or may not have happened (a COPY is all or nothing, RFC 3501). A copy
    in ``dest`` carrying the same keyword and Message-ID means it did: the originals are only
    cleaned up. Otherwise they are left to the ordinary move, which copies them. (A message
    without a Message-ID cannot be looked up and is copied again: the one case where the
    processed folder can hold it twice.) Returns how many were finished; ``folder`` is
    selected again on return."""
    method = move_method(box.client.capabilities)
    if method is MoveMethod.MOVE:
        return 0
    marked = [int(u) for u in box.uids(f"KEYWORD {MOVING_KEYWORD} UNKEYWORD {MOVED_KEYWORD} UNDELETED")]
    deleted = [int(u) for u in box.uids(f"KEYWORD {MOVING_KEYWORD} DELETED")]
    if not marked and not deleted:
        return 0
    ids = _message_ids(box, marked) if marked else {}
    copied: list[int] = list(deleted) if method is MoveMethod.COPY_EXPUNGE else []
    if ids:
        box.folder.set(dest, readonly=True)
        try:
            for uid, mid in ids.items():
                if box.uids(AND(header=H("Message-ID", mid), keyword=MOVING_KEYWORD)):
                    copied.append(uid)
        finally:
            box.folder.set(folder)
    for part in chunks(sorted(copied), 500):
        _clean_up_copied(box, method, ",".join(map(str, part)))
    return len(copied)


def already_moved(box: BaseMailBox) -> set[int]:
    """UIDs left in the folder with our keyword (servers with neither MOVE nor UIDPLUS)."""
    if move_method(box.client.capabilities) is not MoveMethod.COPY_KEYWORD:
        return set()
    return {int(u) for u in box.uids(f"KEYWORD {MOVED_KEYWORD}")}
