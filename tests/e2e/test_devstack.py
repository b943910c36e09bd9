"""End-to-end checks of mailproc.testing.devstack against the real Dovecot and SMTP servers it starts."""

from __future__ import annotations

import email
import imaplib
import smtplib
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from imap_tools import MailBoxUnencrypted
from imap_tools.errors import MailboxLoginError

from mailproc.testing import devstack
from mailproc.testing.devstack import DevStackError, MailStack

pytestmark = pytest.mark.e2e

CSKH = "cskh@kplus.example"
KHACH1 = "khach1@example.vn"
KHACH2 = "khach2@example.vn"


def _raw(message_id: str = "<khieu-nai-1@example.vn>", subject: str = "Khiếu nại") -> bytes:
    """A small 8-bit UTF-8 message, CRLF line ends, as it travels over SMTP and IMAP."""
    return (
        f"From: Khach Hang <{KHACH1}>\r\nTo: <{CSKH}>\r\nSubject: {subject}\r\n"
        f"Message-ID: {message_id}\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "Tôi không xem được kênh K+ từ hôm qua.\r\n"
    ).encode()


def _send(stack: MailStack, raw: bytes, to: list[str], mail_from: str = KHACH1) -> None:
    with smtplib.SMTP(stack.host, stack.smtp_port, local_hostname="client.test", timeout=5) as s:
        s.sendmail(mail_from, to, raw)


def _message_ids(stack: MailStack, user: str = CSKH) -> list[str]:
    return [str(email.message_from_bytes(raw)["Message-ID"]) for raw in stack.messages(user)]


@pytest.fixture
def make_stack(tmp_path: Path) -> Iterator[Callable[..., MailStack]]:
    """Starts MailStacks under tmp_path on demand and stops them all afterwards."""
    stacks: list[MailStack] = []

    def make(**options: Any) -> MailStack:
        stack = MailStack(base_dir=tmp_path / f"stack{len(stacks)}", **options)
        stacks.append(stack)
        return stack.start()

    yield make
    for stack in stacks:
        stack.stop()


@pytest.fixture
def stack(make_stack: Callable[..., MailStack]) -> MailStack:
    return make_stack()


def _live_processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process that is not a zombie."""
    table: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue  # it exited while we looked
        state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
        if state != "Z":
            table[int(entry.name)] = (int(ppid), cmdline)
    return table


def _dovecot_processes(stack: MailStack) -> set[int]:
    """The stack's Dovecot master (found by its config path) and the master's children."""
    table = _live_processes()
    masters = {pid for pid, (_, cmd) in table.items() if str(stack.config_path) in cmd}
    return masters | {pid for pid, (ppid, _) in table.items() if ppid in masters}


def test_any_user_logs_in_with_the_one_password(stack: MailStack) -> None:
    with MailBoxUnencrypted(stack.host, stack.imap_port, timeout=5).login(
        CSKH, stack.password
    ) as mailbox:
        folders = {f.name: f.flags for f in mailbox.folder.list()}
        capabilities = mailbox.client.capability()[1][0].split()
    assert "\\Sent" in folders["Sent"] and "\\Trash" in folders["Trash"] and "INBOX" in folders
    assert {b"MOVE", b"UIDPLUS"} <= set(capabilities)
    mailbox = MailBoxUnencrypted(stack.host, stack.imap_port, timeout=5)
    with pytest.raises(MailboxLoginError):
        mailbox.login(KHACH1, "wrong")
    mailbox.logout()


def test_smtp_delivers_to_every_recipient_with_a_received_header(stack: MailStack) -> None:
    raw = _raw()
    _send(stack, raw, [CSKH, KHACH2])
    for user in (CSKH, KHACH2):
        [stored] = stack.messages(user)
        assert stored.startswith(b"Received: from client.test (unknown [127.0.0.1])")
        assert f"for <{user}>".encode() in stored and stored.endswith(raw)
    assert stack.smtp_log() == [(KHACH1, [CSKH, KHACH2], raw)]


def test_smtp_auth_accepts_the_one_password(stack: MailStack) -> None:
    with smtplib.SMTP(stack.host, stack.smtp_port, local_hostname="client.test", timeout=5) as s:
        s.login(CSKH, stack.password)
    with (
        smtplib.SMTP(stack.host, stack.smtp_port, local_hostname="client.test", timeout=5) as s,
        pytest.raises(smtplib.SMTPAuthenticationError),
    ):
        s.login(CSKH, "wrong")


def test_deliver_places_the_exact_bytes_in_a_folder(stack: MailStack) -> None:
    raw = _raw()
    stack.deliver(raw.replace(b"\r\n", b"\n"), CSKH, folder="Sent")
    stack.deliver(raw, CSKH)
    stack.deliver(raw, CSKH, folder="Đã xử lý/v1.2")
    assert stack.messages(CSKH, "Sent") == [raw]
    assert stack.messages(CSKH) == [raw]
    assert stack.messages(CSKH, "Đã xử lý/v1.2") == [raw]
    assert stack.smtp_log() == []


def test_deliver_to_an_impossible_folder_fails_loudly(stack: MailStack) -> None:
    with pytest.raises(DevStackError, match="cannot create 'A//B'"):
        stack.deliver(_raw(), CSKH, folder="A//B")
    assert stack.messages(CSKH) == []  # not quietly dropped into INBOX instead


def test_messages_leaves_mail_unseen(stack: MailStack) -> None:
    stack.deliver(_raw(), CSKH)
    assert len(stack.messages(CSKH)) == 1
    with MailBoxUnencrypted(stack.host, stack.imap_port, timeout=5).login(
        CSKH, stack.password
    ) as mailbox:
        [flags] = [msg.flags for msg in mailbox.fetch(mark_seen=False)]
    assert "\\Seen" not in flags


@pytest.mark.parametrize("code", [451, 550])
def test_fail_smtp_rejects_data_and_delivers_nothing(stack: MailStack, code: int) -> None:
    stack.fail_smtp(code, "4.3.0 Try again later" if code == 451 else "5.7.1 Rejected")
    with pytest.raises(smtplib.SMTPDataError) as raised:
        _send(stack, _raw(), [CSKH])
    assert raised.value.smtp_code == code
    assert stack.messages(CSKH) == [] and stack.smtp_log() == []
    _send(stack, _raw(), [CSKH])  # the fault was for one DATA only
    assert len(stack.messages(CSKH)) == 1


def test_drop_after_data_delivers_but_never_answers(stack: MailStack) -> None:
    stack.drop_after_data()
    with pytest.raises(smtplib.SMTPServerDisconnected):
        _send(stack, _raw(), [CSKH])
    assert len(stack.messages(CSKH)) == 1 and len(stack.smtp_log()) == 1


@pytest.mark.parametrize(("dedupe", "expected"), [(True, 2), (False, 3)])
def test_dedupe_by_message_id(
    make_stack: Callable[..., MailStack], dedupe: bool, expected: int
) -> None:
    stack = make_stack(dedupe_by_message_id=dedupe)
    for message_id in ("<a@example.vn>", "<a@example.vn>", "<b@example.vn>"):
        _send(stack, _raw(message_id), [CSKH])
    assert len(stack.messages(CSKH)) == expected
    assert len(stack.smtp_log()) == 3


def test_stop_leaves_no_dovecot_process(stack: MailStack) -> None:
    client = imaplib.IMAP4(stack.host, stack.imap_port, timeout=5)
    client.login(CSKH, stack.password)  # so an imap process is running too
    before = _dovecot_processes(stack)
    assert len(before) >= 3
    stack.stop()
    client.shutdown()
    assert _dovecot_processes(stack) == set()
    assert not before & _live_processes().keys()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((stack.host, stack.imap_port), timeout=1).close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((stack.host, stack.smtp_port), timeout=1).close()


def test_two_stacks_run_side_by_side(make_stack: Callable[..., MailStack]) -> None:
    first, second = make_stack(), make_stack()
    assert len({first.imap_port, first.smtp_port, second.imap_port, second.smtp_port}) == 4
    _send(first, _raw("<one@example.vn>"), [CSKH])
    _send(second, _raw("<two@example.vn>"), [CSKH])
    second.stop()
    assert _message_ids(first) == ["<one@example.vn>"]
    second.start()  # mail survives a restart of the same base_dir
    assert _message_ids(second) == ["<two@example.vn>"]


def test_startup_failure_names_the_log_file(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        stack = MailStack(base_dir=tmp_path / "stack", imap_port=busy.getsockname()[1])
        with pytest.raises(DevStackError, match="Address already in use") as raised:
            stack.start()
    assert str(stack.log_path) in str(raised.value)
    assert _dovecot_processes(stack) == set()


def test_require_dovecot_gives_an_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(devstack, "DOVECOT", tmp_path / "no-dovecot")
    with pytest.raises(DevStackError, match="apt-get install dovecot-core"):
        devstack.require_dovecot()
