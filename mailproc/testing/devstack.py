"""A throwaway mail stack on loopback: a real Dovecot IMAP server plus an aiosmtpd SMTP server
that delivers through dovecot-lda, for the test fixtures and the operator demo.

Nothing here is a mock. ``MailStack`` writes its own Dovecot config under ``base_dir``, runs
its own Dovecot master (own run dir, log file, instance name and port), so several stacks can
run side by side, and leaves no process behind after ``stop()``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import grp
import json
import logging
import os
import pwd
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from imap_tools import MailBoxUnencrypted
from imap_tools.errors import MailboxFolderCreateError, MailboxFolderSelectError

from mailproc.errors import MailprocError
from mailproc.testing.idp import IdentityProvider

log = logging.getLogger(__name__)

DOVECOT = Path("/usr/sbin/dovecot")
DOVECOT_LDA = Path("/usr/lib/dovecot/dovecot-lda")
SIEVE_PLUGIN = Path("/usr/lib/dovecot/modules/lib90_sieve_plugin.so")
MAIL_USER = "mail"  # the unprivileged system user mail processes run as when we are root
SMTP_HOSTNAME = "devstack.localhost"  # explicit, so aiosmtpd never asks DNS for our FQDN
STARTUP_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
POLL_INTERVAL = 0.01
LDA_TIMEOUT = 30.0
SMTP_OAUTH_MECHANISMS = ("XOAUTH2", "OAUTHBEARER")  # what the SMTP server can take bearer tokens with
OAUTH2_TIMEOUT = 5.0  # seconds the IMAP and SMTP servers wait for the IdP's introspection
# sun_path holds 108 bytes; Dovecot's longest socket name under base_dir is 24 characters.
MAX_RUN_DIR_LENGTH = 107 - len("/replication-notify-fifo")

# RFC 7352 "duplicate": with no arguments it tracks the Message-ID header, per user.
DEDUPE_SIEVE = 'require "duplicate";\nif duplicate {\n  discard;\n  stop;\n}\n'


class DevStackError(MailprocError):
    """The local mail stack could not be started, used or stopped."""


def require_dovecot(*, sieve: bool = False) -> None:
    """Raise ``DevStackError`` with an install hint unless Dovecot (and Pigeonhole) is here."""
    missing = [p for p in (DOVECOT, DOVECOT_LDA) if not p.exists()]
    if missing:
        raise DevStackError(
            f"Dovecot is not installed ({', '.join(map(str, missing))} missing); "
            "install it with: apt-get install dovecot-core dovecot-imapd"
        )
    if sieve and not SIEVE_PLUGIN.exists():
        raise DevStackError(
            f"Pigeonhole sieve is not installed ({SIEVE_PLUGIN} missing), needed for "
            "dedupe_by_message_id; install it with: apt-get install dovecot-sieve"
        )


@dataclass(frozen=True)
class _Layout:
    """Where one stack keeps its files; ``inner`` is the mail dir as mail processes see it."""

    base: Path
    chroot: bool

    @property
    def conf(self) -> Path:
        return self.base / "dovecot.conf"

    @property
    def run(self) -> Path:
        return self.base / "run"

    @property
    def log(self) -> Path:
        return self.base / "dovecot.log"

    @property
    def console(self) -> Path:
        return self.base / "dovecot.console.log"

    @property
    def mail(self) -> Path:
        return self.base / "mail"

    @property
    def private(self) -> Path:
        return self.mail / ".devstack"

    @property
    def inner(self) -> str:
        # Started as root, mail processes run as MAIL_USER chrooted into mail/, because
        # that user may not be allowed through base_dir's parents (pytest's are mode 0700).
        return "" if self.chroot else str(self.mail)


@dataclass(frozen=True)
class _Identity:
    user: str
    group: str
    uid: int
    gid: int


def _identity() -> _Identity:
    """The account mail processes run as: ``mail`` when we are root, else ourselves."""
    entry = pwd.getpwnam(MAIL_USER) if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())
    return _Identity(entry.pw_name, grp.getgrgid(entry.pw_gid).gr_name, entry.pw_uid, entry.pw_gid)


def _dovecot_conf(
    layout: _Layout, who: _Identity, *, host: str, port: int, password: str, dedupe: bool,
    imap_capability: str | None = None, oauth2_args: Path | None = None,
) -> str:
    """The whole Dovecot config of one stack; nothing is read from /etc/dovecot.

    With ``oauth2_args`` (see :func:`_oauth2_args`), XOAUTH2 and OAUTHBEARER logins are checked
    by the oauth2 passdb; each passdb serves only its own mechanisms, so a token is never taken
    for a password, nor a password for a token.
    """
    home = f"{layout.mail}/./%u" if layout.chroot else f"{layout.mail}/%u"
    # A passdb limited to some mechanisms is skipped by userdb lookups (dovecot-lda's), so the
    # static userdb must then take every user without asking a passdb.
    password_only = "  mechanisms = plain login\n" if oauth2_args else ""
    all_users = " allow_all_users=yes" if oauth2_args else ""
    private = f"{layout.inner}/.devstack"
    lines = [
        "# Generated by mailproc.testing.devstack for one throwaway stack.",
        f"instance_name = devstack-{port}",
        f'base_dir = "{layout.run}"',
        f'state_dir = "{layout.base / "state"}"',
        f'log_path = "{layout.log}"',
        f"listen = {host}",
        "protocols = imap",
        "ssl = no",
        "disable_plaintext_auth = no",
        "auth_mechanisms = plain login" + (" xoauth2 oauthbearer" if oauth2_args else ""),
        "auth_failure_delay = 0",  # tests of a wrong password need not wait 2 s
        f"first_valid_uid = {who.uid}",
        f"last_valid_uid = {who.uid}",
        f"first_valid_gid = {who.gid}",
        f"last_valid_gid = {who.gid}",
        f'valid_chroot_dirs = "{layout.mail}"',
        # fs layout: folder names may contain "." (Maildir++ would drop such mail into INBOX).
        "mail_location = maildir:~/Maildir:LAYOUT=fs:INBOX=~/Maildir/INBOX",
        f'mail_temp_dir = "{private}/tmp"',
        "mail_fsync = never",  # a throwaway stack: speed over durability
        "mailbox_list_index = yes",
        "mail_max_userip_connections = 100",
        f"passdb {{\n  driver = static\n{password_only}  args = password={password}\n}}",
        # No auth penalty (Dovecot's documented switch): one test's deliberate wrong
        # password must not slow every later login from 127.0.0.1 for up to 15 s.
        "service anvil {\n  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n}",
        f"userdb {{\n  driver = static\n  args = uid={who.uid} gid={who.gid} home={home}{all_users}\n}}",
        f"service imap-login {{\n  inet_listener imap {{\n    port = {port}\n  }}\n}}",
        _NAMESPACE,
    ]
    if oauth2_args is not None:
        lines.append(f'passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = "{oauth2_args}"\n}}')
    if imap_capability is not None:
        lines.append(f"protocol imap {{\n  imap_capability = {imap_capability}\n}}")
    if not layout.chroot:
        lines += _rootless_lines(who)
    if dedupe:
        lines += [
            "protocol lda {\n  mail_plugins = $mail_plugins sieve\n}",
            f'plugin {{\n  sieve_before = "{private}/dedupe.sieve"\n}}',
        ]
    return "\n".join(lines) + "\n"


def _oauth2_args(idp: IdentityProvider) -> str:
    """Dovecot's oauth2 passdb settings: every login asks the IdP's RFC 7662 endpoint."""
    return "\n".join([
        "# Generated by mailproc.testing.devstack: tokens are checked by the stand-in IdP.",
        "introspection_mode = post",  # POST token=… (what an RFC 7662 endpoint takes)
        f"introspection_url = {idp.introspection_url}",
        "force_introspection = yes",  # no tokeninfo_url: introspection is the only check
        "username_attribute = username",  # must equal the login name (both normalised by %Lu)
        "active_attribute = active",
        "active_value = true",
        f"openid_configuration_url = {idp.discovery_url}",  # sent in OAUTHBEARER's error JSON
        f"timeout_msecs = {int(OAUTH2_TIMEOUT * 1000)}",  # a stopped IdP fails a login, not hangs it
        "",
    ])


_NAMESPACE = """namespace inbox {
  inbox = yes
  separator = /
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
}"""


def _rootless_lines(who: _Identity) -> list[str]:
    """Settings for a Dovecot started by an ordinary user: no chroots, one account for all."""
    return [
        f"default_internal_user = {who.user}",
        f"default_internal_group = {who.group}",
        f"default_login_user = {who.user}",
        "service anvil {\n  chroot =\n}",
        "service imap-login {\n  chroot =\n}",
        "service imap-urlauth-login {\n  chroot =\n}",
    ]


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"({path} not readable)"
    return "\n".join(text.splitlines()[-lines:])


def _fatal_logged(path: Path, offset: int) -> bool:
    """Whether Dovecot logged a Fatal line after ``offset`` (then it is about to give up)."""
    try:
        with path.open("rb") as log_file:
            log_file.seek(offset)
            return b": Fatal: " in log_file.read()
    except FileNotFoundError:
        return False


def _proc(pid: int) -> tuple[int, str] | None:
    """(parent pid, title) of a live, non-zombie process, or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return None  # it has exited
    state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
    return None if state == "Z" else (int(ppid), title.strip())


def _children(parent: int) -> dict[int, str]:
    """Live children of ``parent``: pid -> process title."""
    found: dict[int, str] = {}
    for name in os.listdir("/proc"):
        info = _proc(int(name)) if name.isdigit() else None
        if info is not None and info[0] == parent:
            found[int(name)] = info[1]
    return found


def _greets(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.25) as sock:
            return sock.recv(64).startswith(b"* OK")
    except OSError:
        return False


def _received_header(
    *, helo: str, peer_ip: str, by: str, protocol: str, queue_id: str, rcpt: str, now: datetime
) -> bytes:
    """An RFC 5321 trace header, as an MTA prepends it on delivery."""
    return (
        f"Received: from {helo} (unknown [{peer_ip}])\r\n"
        f"\tby {by} (mailproc devstack) with {protocol} id {queue_id}\r\n"
        f"\tfor <{rcpt}>; {format_datetime(now)}\r\n"
    ).encode()


_DROP = "drop"  # a queued fault: deliver, then hang up instead of answering 250


@dataclass(frozen=True)
class SmtpAuth:
    """One AUTH attempt on the SMTP server: the SASL mechanism (``PLAIN``, ``LOGIN``, ``XOAUTH2``,
    ``OAUTHBEARER``), the identity (the token's user once accepted, else the one claimed) and
    whether it was accepted."""

    mechanism: str
    identity: str
    accepted: bool


@dataclass(frozen=True)
class SmtpTransaction:
    """One message the SMTP server accepted, with the AUTH its session had passed (or None)."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    auth: SmtpAuth | None


class _DeliveringHandler:
    """aiosmtpd handler: delivers each accepted message to every recipient's INBOX."""

    def __init__(self, deliver: Callable[[bytes, str, str], None], password: str) -> None:
        self._deliver = deliver  # (data, recipient, mail_from); raises DevStackError
        self._password = password.encode()
        self._lock = threading.Lock()
        self._log: list[SmtpTransaction] = []
        self._auths: list[SmtpAuth] = []
        self._faults: deque[str] = deque()
        # (data, owner): files a copy of each accepted message for its sender (MailStack's
        # sent_copy_folder); None: no copy is kept.
        self.file_copy: Callable[[bytes, str], None] | None = None

    def queue_faults(self, fault: str, times: int) -> None:
        with self._lock:
            self._faults.extend([fault] * times)

    def accepted(self) -> list[SmtpTransaction]:
        with self._lock:
            return list(self._log)

    def auths(self) -> list[SmtpAuth]:
        with self._lock:
            return list(self._auths)

    def note_auth(self, mechanism: str, identity: str, accepted: bool) -> SmtpAuth:
        attempt = SmtpAuth(mechanism, identity, accepted)
        with self._lock:
            self._auths.append(attempt)
        return attempt

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and auth_data.password == self._password
        login = auth_data.login.decode(errors="replace") if isinstance(auth_data, LoginPassword) else ""
        attempt = self.note_auth(mechanism, login, ok)
        return AuthResult(success=ok, handled=False, auth_data=attempt if ok else None)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._lock:
            fault = self._faults.popleft() if self._faults else None
        if fault is not None and fault != _DROP:
            return fault
        data = envelope.original_content or b""
        mail_from = envelope.mail_from or ""
        queue_id = uuid.uuid4().hex[:12].upper()
        auth = session.auth_data if isinstance(session.auth_data, SmtpAuth) else None
        traced = [(rcpt, self._trace(session, queue_id, rcpt) + data) for rcpt in envelope.rcpt_tos]

        def accept() -> None:
            # One piece, in a thread: once the final dot is in, the message is the server's
            # (RFC 5321 4.1.1.4), and a client that hangs up now cannot cancel its delivery,
            # its sent copy (filed before the 250, as Gmail does) or its place in the log.
            for rcpt, message in traced:
                self._deliver(message, rcpt, mail_from)
            if self.file_copy is not None:
                self.file_copy(data, auth.identity if auth else mail_from)
            with self._lock:
                self._log.append(SmtpTransaction(mail_from, tuple(envelope.rcpt_tos), data, auth))

        try:
            await asyncio.shield(asyncio.to_thread(accept))
        except DevStackError as error:
            return f"451 4.3.0 Local delivery failed: {str(error).splitlines()[0]}"
        if fault == _DROP and server.transport is not None:
            server.transport.close()  # the 250 below is never sent
        return f"250 2.0.0 OK queued as {queue_id}"

    def _trace(self, session: Session, queue_id: str, rcpt: str) -> bytes:
        return _received_header(
            helo=session.host_name or "unknown",
            peer_ip=str(session.peer[0]) if session.peer else "unknown",
            by=SMTP_HOSTNAME,
            protocol="ESMTP" if session.extended_smtp else "SMTP",
            queue_id=queue_id,
            rcpt=rcpt,
            now=datetime.now().astimezone(),
        )


class _OAuthDeliveringHandler(_DeliveringHandler):
    """The same handler, which also takes OAuth 2.0 bearer tokens (AUTH XOAUTH2 and OAUTHBEARER)
    and checks each one with the identity provider's RFC 7662 introspection endpoint, as a
    mail provider checks tokens with its own sign-in service. aiosmtpd offers every handler
    method named ``auth_<MECHANISM>`` as a SASL mechanism."""

    def __init__(self, deliver: Callable[[bytes, str, str], None], password: str, idp: IdentityProvider) -> None:
        super().__init__(deliver, password)
        self._idp = idp

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        response = await _initial_response(server, args)
        if response is None:
            return AuthResult(success=False, handled=True)  # aiosmtpd has answered already
        fields = _sasl_fields(response)
        bearer = fields.get("auth", "")
        if "user" not in fields or not bearer.startswith("Bearer "):
            return AuthResult(success=False, handled=False, message="501 5.5.2 Malformed XOAUTH2 response")
        # Gmail's answer to a bad token: a JSON status as a challenge, then 535 after the empty reply.
        error = {"status": "401", "schemes": "bearer", "scope": self._idp.default_scope}
        return await self._check_bearer(server, "XOAUTH2", fields["user"], bearer[7:], error)

    async def auth_OAUTHBEARER(self, server: SMTP, args: list[str]) -> AuthResult:
        response = await _initial_response(server, args)
        if response is None:
            return AuthResult(success=False, handled=True)
        gs2, _, rest = response.partition("\x01")
        flags = gs2.split(",")
        authzid = next((f[2:] for f in flags[1:] if f.startswith("a=")), None)
        bearer = _sasl_fields(rest).get("auth", "")
        if len(flags) < 3 or flags[0] not in ("n", "y") or not bearer.startswith("Bearer "):
            return AuthResult(success=False, handled=False, message="501 5.5.2 Malformed OAUTHBEARER response")
        user = authzid.replace("=2C", ",").replace("=3D", "=") if authzid is not None else None
        # RFC 7628 section 3.2.2: the error JSON as a challenge, the client's ^A, then 535.
        error = {"status": "invalid_token", "scope": self._idp.default_scope,
                 "openid-configuration": self._idp.discovery_url}
        return await self._check_bearer(server, "OAUTHBEARER", user, bearer[7:], error)

    async def _check_bearer(
        self, server: SMTP, mechanism: str, user: str | None, token: str, error: dict[str, str]
    ) -> AuthResult:
        """Accept ``token`` if the IdP calls it active and it belongs to ``user`` (when named)."""
        try:
            info = await asyncio.to_thread(_introspect, self._idp.introspection_url, token)
        except DevStackError as failure:
            log.warning("SMTP %s: %s", mechanism, failure)
            self.note_auth(mechanism, user or "", False)
            return AuthResult(success=False, handled=False, message="454 4.7.0 Temporary authentication failure")
        owner = info.get("username")
        # Like Dovecot's username_attribute check: the token must be the named user's.
        if info.get("active") is True and isinstance(owner, str) and (user is None or owner.lower() == user.lower()):
            return AuthResult(success=True, auth_data=self.note_auth(mechanism, owner, True))
        self.note_auth(mechanism, user or "", False)
        reply = await server.challenge_auth(json.dumps(error))
        return AuthResult(success=False, handled=not isinstance(reply, bytes))


async def _initial_response(server: SMTP, args: list[str]) -> str | None:
    """The SASL initial response (RFC 4954: on the AUTH line, or after an empty 334), or None
    when the client aborted or sent bad base64 (aiosmtpd has answered it then)."""
    if len(args) < 2:
        reply = await server.challenge_auth("")
        return reply.decode(errors="replace") if isinstance(reply, bytes) else None
    if args[1] == "=":
        return ""
    try:
        return base64.b64decode(args[1], validate=True).decode(errors="replace")
    except binascii.Error:
        await server.push("501 5.5.2 Can't decode base64")
        return None


def _sasl_fields(text: str) -> dict[str, str]:
    """``key=value`` pairs separated by ^A, as XOAUTH2 and OAUTHBEARER send them."""
    return dict(part.split("=", 1) for part in text.split("\x01") if "=" in part)


def _introspect(url: str, token: str) -> dict[str, Any]:
    """The RFC 7662 answer for ``token``; DevStackError when the endpoint cannot be asked."""
    request = urllib.request.Request(url, data=urllib.parse.urlencode({"token": token}).encode())
    try:
        with urllib.request.urlopen(request, timeout=OAUTH2_TIMEOUT) as response:
            answer = json.load(response)
    except (OSError, ValueError) as error:  # URLError and HTTPError are OSErrors
        raise DevStackError(f"token introspection at {url} failed: {error}") from error
    if not isinstance(answer, dict):
        raise DevStackError(f"token introspection at {url} answered no JSON object")
    return answer


class _Controller(Controller):
    """aiosmtpd's threaded controller, taught to listen on port 0 and report the real port."""

    def _trigger_server(self) -> None:
        # aiosmtpd connects to self.port to check readiness; with port 0 that must be the
        # port the kernel chose. (_trigger_server is aiosmtpd's own hook for this step.)
        if self.port == 0 and isinstance(self.server, asyncio.Server):
            self.port = int(self.server.sockets[0].getsockname()[1])
        super()._trigger_server()  # type: ignore[no-untyped-call]


class MailStack:
    """Dovecot (IMAP) plus an SMTP server on loopback, all files under ``base_dir``.

    Any user name logs in to IMAP with ``password``; use full addresses as user names.

    With ``oauth2`` (an :class:`~mailproc.testing.idp.IdentityProvider`, started before the
    stack), IMAP also takes AUTHENTICATE XOAUTH2 and OAUTHBEARER, and SMTP AUTH the mechanisms
    of ``smtp_oauth_mechanisms``: XOAUTH2 alone by default, as Exchange Online's SMTP offers;
    ``("XOAUTH2", "OAUTHBEARER")`` as Gmail's does. Each token is checked with that provider's
    introspection endpoint (a token acts for the user it was issued for, and only that user).
    Passwords keep working beside them.

    With ``sent_copy_folder``, the SMTP server keeps a copy of what it accepted in the sender's
    own mailbox, as Gmail does with its Sent Mail.
    """

    def __init__(
        self,
        *,
        base_dir: Path,
        host: str = "127.0.0.1",
        imap_port: int = 0,
        smtp_port: int = 0,
        password: str = "secret",
        dedupe_by_message_id: bool = True,
        imap_capability: str | None = None,
        oauth2: IdentityProvider | None = None,
        smtp_oauth_mechanisms: tuple[str, ...] = ("XOAUTH2",),
        sent_copy_folder: str | None = None,
    ) -> None:
        unknown = set(smtp_oauth_mechanisms) - set(SMTP_OAUTH_MECHANISMS)
        if unknown or not smtp_oauth_mechanisms:
            raise ValueError(f"smtp_oauth_mechanisms: one or more of {', '.join(SMTP_OAUTH_MECHANISMS)}")
        if not password or any(c.isspace() or c in '%"\\' for c in password):
            raise ValueError('password must be non-empty, without spaces, %, " or \\')
        self.host = host
        self.imap_port = imap_port
        self.smtp_port = smtp_port
        self.password = password
        self.dedupe_by_message_id = dedupe_by_message_id
        # Replaces the capability list Dovecot sends after login (e.g. one without MOVE and
        # UIDPLUS, to try how mailproc copes with a lesser server).
        self.imap_capability = imap_capability
        self._layout = _Layout(Path(base_dir).resolve(), chroot=os.geteuid() == 0)
        self._who: _Identity | None = None
        self._dovecot: subprocess.Popen[bytes] | None = None
        self.oauth2 = oauth2
        self.smtp_oauth_mechanisms = smtp_oauth_mechanisms
        self._handler = (
            _DeliveringHandler(self._deliver_smtp, password)
            if oauth2 is None
            else _OAuthDeliveringHandler(self._deliver_smtp, password, oauth2)
        )
        self._controller: _Controller | None = None
        # Like Gmail (and Exchange Online, for its own mailboxes), the SMTP server files a copy
        # of every message it accepts in this folder of the sender's own mailbox (the SMTP
        # AUTH identity, else the envelope sender), before answering 250.
        self.sent_copy_folder = sent_copy_folder
        if sent_copy_folder:
            folder = sent_copy_folder
            self._handler.file_copy = lambda data, owner: self.deliver(data, owner, folder)

    @property
    def config_path(self) -> Path:
        return self._layout.conf

    @property
    def log_path(self) -> Path:
        """Dovecot's log file: the first place to look when something fails."""
        return self._layout.log

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> MailStack:
        if self._dovecot is not None:
            raise DevStackError("this MailStack is already running")
        require_dovecot(sieve=self.dedupe_by_message_id)
        if self.oauth2 is not None and not self.oauth2.running:
            raise DevStackError("start the IdentityProvider before the MailStack that checks tokens with it")
        try:
            self._start_dovecot()
            self._start_smtp()
        except BaseException:
            self.stop()
            raise
        log.info(
            "devstack up: IMAP %s:%d, SMTP %s:%d, log %s",
            self.host,
            self.imap_port,
            self.host,
            self.smtp_port,
            self.log_path,
        )
        return self

    def stop(self) -> None:
        """Stop the SMTP server, then Dovecot; wait until every Dovecot process has exited."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
        if self._dovecot is not None:
            _stop_master(self._dovecot, self._layout.run / "master.pid")
            self._dovecot = None

    def __enter__(self) -> MailStack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- mail ------------------------------------------------------------------------

    def deliver(self, raw: bytes, recipient: str, folder: str = "INBOX") -> None:
        """Put ``raw`` into ``recipient``'s ``folder`` (created if missing) with dovecot-lda.

        Exactly as given: no trace header and no Message-ID dedupe, so fixtures can place
        the same message twice on purpose.
        """
        if folder != "INBOX":
            # dovecot-lda -m quietly falls back to INBOX when it cannot open the folder.
            self._ensure_folder(recipient, folder)
        self._run_lda(raw, recipient, ["-m", folder, "-o", "mail_plugins="])

    def messages(self, user: str, folder: str = "INBOX") -> list[bytes]:
        """Raw bytes (CRLF line ends) of every message in ``folder``, in UID order.

        Read-only (EXAMINE + BODY.PEEK[]): flags such as \\Seen are left untouched.
        """
        with self._login(user) as mailbox:
            try:
                mailbox.folder.set(folder, readonly=True)
            except MailboxFolderSelectError as error:
                raise DevStackError(f"{user} has no folder {folder!r}: {error}") from error
            status, data = mailbox.client.uid("FETCH", "1:*", "(BODY.PEEK[])")
        if status != "OK":
            raise DevStackError(f"UID FETCH in {user}/{folder} failed: {data!r}")
        return [bytes(item[1]) for item in data if isinstance(item, tuple)]

    def smtp_log(self) -> list[tuple[str, list[str], bytes]]:
        """(mail_from, rcpt_tos, data) of every transaction the SMTP server accepted."""
        return [(t.mail_from, list(t.rcpt_tos), t.data) for t in self._handler.accepted()]

    def smtp_transactions(self) -> list[SmtpTransaction]:
        """Every transaction the SMTP server accepted, each with the AUTH its session passed."""
        return self._handler.accepted()

    def smtp_auths(self) -> list[SmtpAuth]:
        """Every SMTP AUTH attempt, accepted or not, oldest first."""
        return self._handler.auths()

    def fail_smtp(self, code: int, message: str, times: int = 1) -> None:
        """The next ``times`` DATA commands get ``code message`` and deliver nothing."""
        if not 400 <= code <= 599 or "\r" in message or "\n" in message:
            raise ValueError(f"fail_smtp needs a 4xx/5xx code and a one-line message: {code}")
        self._handler.queue_faults(f"{code} {message}", times)

    def drop_after_data(self, times: int = 1) -> None:
        """The next ``times`` messages are delivered, then the connection closes before 250."""
        self._handler.queue_faults(_DROP, times)

    # -- internals -------------------------------------------------------------------

    def _start_dovecot(self) -> None:
        layout = self._layout
        if len(str(layout.run)) > MAX_RUN_DIR_LENGTH:
            raise DevStackError(
                f"base_dir too long for Dovecot's socket paths (max {MAX_RUN_DIR_LENGTH - 4} "
                f"characters): {layout.base}"
            )
        self._who = _identity()
        self._prepare_dirs()
        if self.imap_port == 0:
            self.imap_port = _free_port(self.host)
        layout.conf.write_text(
            _dovecot_conf(
                layout,
                self._who,
                host=self.host,
                port=self.imap_port,
                password=self.password,
                dedupe=self.dedupe_by_message_id,
                imap_capability=self.imap_capability,
                oauth2_args=self._write_oauth2_args(),
            )
        )
        log_start = layout.log.stat().st_size if layout.log.exists() else 0
        with layout.console.open("ab") as console:
            # -F keeps the master our child: we know its pid and can reap it.
            self._dovecot = subprocess.Popen(
                [str(DOVECOT), "-F", "-c", str(layout.conf)],
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=console,
                start_new_session=True,  # Ctrl-C in a demo must not bypass stop()
            )
        self._wait_for_imap(log_start)

    def _write_oauth2_args(self) -> Path | None:
        if self.oauth2 is None:
            return None
        path = self._layout.base / "dovecot-oauth2.conf.ext"
        path.write_text(_oauth2_args(self.oauth2))
        return path

    def _prepare_dirs(self) -> None:
        layout, who = self._layout, self._who
        assert who is not None
        layout.base.mkdir(parents=True, exist_ok=True)
        for path in (layout.mail, layout.private, layout.private / "tmp"):
            path.mkdir(mode=0o700, exist_ok=True)
            os.chown(path, who.uid, who.gid)
        if self.dedupe_by_message_id:
            script = layout.private / "dedupe.sieve"
            script.write_text(DEDUPE_SIEVE)
            os.chown(script, who.uid, who.gid)

    def _wait_for_imap(self, log_start: int) -> None:
        assert self._dovecot is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not _greets(self.host, self.imap_port):
            if self._dovecot.poll() is not None:
                raise self._startup_error(f"dovecot exited with {self._dovecot.returncode}")
            if _fatal_logged(self.log_path, log_start):
                raise self._startup_error("a Fatal error was logged")
            if time.monotonic() > deadline:
                raise self._startup_error(f"no IMAP greeting within {STARTUP_TIMEOUT:g}s")
            time.sleep(POLL_INTERVAL)

    def _startup_error(self, reason: str) -> DevStackError:
        return DevStackError(
            f"Dovecot failed to start ({reason}); see {self.log_path}:\n"
            f"{_tail(self.log_path)}\n{_tail(self._layout.console)}".rstrip()
        )

    def _start_smtp(self) -> None:
        self._controller = _Controller(
            self._handler,
            hostname=self.host,
            port=self.smtp_port,
            server_hostname=SMTP_HOSTNAME,
            ready_timeout=STARTUP_TIMEOUT,
            authenticator=self._handler.authenticate,
            auth_require_tls=False,  # loopback only; AUTH is offered, never required
            # aiosmtpd offers every auth_<NAME> of the handler: drop the token mechanisms not asked for.
            auth_exclude_mechanism=[m for m in SMTP_OAUTH_MECHANISMS if m not in self.smtp_oauth_mechanisms],
        )
        self._controller.start()
        self.smtp_port = self._controller.port

    def _login(self, user: str) -> MailBoxUnencrypted:
        return MailBoxUnencrypted(self.host, self.imap_port, timeout=10).login(
            user, self.password, initial_folder=None
        )

    def _ensure_folder(self, user: str, folder: str) -> None:
        with self._login(user) as mailbox:
            if mailbox.folder.exists(folder):
                return
            try:
                mailbox.folder.create(folder)
            except MailboxFolderCreateError as error:
                raise DevStackError(f"cannot create {folder!r} for {user}: {error}") from error

    def _deliver_smtp(self, data: bytes, recipient: str, mail_from: str) -> None:
        self._run_lda(data, recipient, ["-f", mail_from or "<>"])

    def _run_lda(self, raw: bytes, recipient: str, options: list[str]) -> None:
        if self._dovecot is None:
            raise DevStackError("the MailStack is not running")
        self._ensure_home(recipient)
        command = [str(DOVECOT_LDA), "-c", str(self.config_path), "-d", recipient, *options]
        done = subprocess.run(command, input=raw, capture_output=True, timeout=LDA_TIMEOUT)
        if done.returncode != 0:
            raise DevStackError(
                f"dovecot-lda for {recipient} exited with {done.returncode}: "
                f"{done.stderr.decode(errors='replace').strip()}\n"
                f"{self.log_path}:\n{_tail(self.log_path)}"
            )

    def _ensure_home(self, user: str) -> None:
        """Create the user's home first: the chroot and Sieve's duplicate DB expect it."""
        name = user.lower()  # Dovecot's default auth_username_format is %Lu
        if not name or name.startswith(".") or "/" in name:
            raise DevStackError(f"not a usable mailbox name: {user!r}")
        home = self._layout.mail / name
        if not home.exists():
            assert self._who is not None
            home.mkdir(mode=0o700, exist_ok=True)
            os.chown(home, self._who.uid, self._who.gid)


def _stop_master(master: subprocess.Popen[bytes], pid_file: Path) -> None:
    """Stop the Dovecot master and every process it started; return once all have exited.

    Left alone, Dovecot's master gives open IMAP sessions a second, keeps its log process
    until last, then sleeps a fixed second (services_monitor_wait_and_kill in Dovecot 2.3)
    before exiting. So we SIGTERM the sessions at once, the log process once it is the only
    child left, and kill the master once it has none: all it still had to do was sleep and
    remove its pid file, which we remove instead.
    """
    seen = _children(master.pid)
    if master.poll() is None:
        master.terminate()
    signalled: set[int] = set()
    deadline = time.monotonic() + STOP_TIMEOUT
    while master.poll() is None:
        live = _children(master.pid)
        seen.update(live)
        if not live or time.monotonic() > deadline:
            master.kill()
            break
        for pid in _next_to_stop(live).difference(signalled):
            _signal(pid, signal.SIGTERM)
            signalled.add(pid)
        time.sleep(POLL_INTERVAL)
    master.wait()
    pid_file.unlink(missing_ok=True)
    _kill_leftovers(seen)


def _next_to_stop(live: dict[int, str]) -> set[int]:
    """Client sessions at once; the log process when it is alone; the rest is the master's."""
    if len(live) == 1:
        return set(live)
    return {pid for pid, title in live.items() if title.endswith(("/imap", "/imap-login"))}


def _kill_leftovers(seen: dict[int, str]) -> None:
    """SIGKILL any former child that outlived the master and still has its Dovecot title."""
    deadline = time.monotonic() + STOP_TIMEOUT
    for pid, title in seen.items():
        while (info := _proc(pid)) is not None and info[1] == title:
            if time.monotonic() > deadline:
                raise DevStackError(f"Dovecot process {pid} ({title}) survived SIGKILL")
            _signal(pid, signal.SIGKILL)
            time.sleep(POLL_INTERVAL)


def _signal(pid: int, signo: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signo)
