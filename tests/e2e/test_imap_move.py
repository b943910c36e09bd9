"""Moving stored mail never removes a colleague's mail, whatever the server offers.

Each test runs on a real Dovecot: the shared one (MOVE and UIDPLUS, listed only after login)
and throwaway ones whose capability list lacks MOVE, or MOVE and UIDPLUS.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from imap_tools import MailBoxUnencrypted

from mailproc.app import App
from mailproc.intake.imap import MOVED_KEYWORD, MoveMethod, move_method, open_mailbox
from mailproc.ops.checks import check_imap
from mailproc.store.migrate import upgrade
from mailproc.testing.devstack import MailStack
from tests.helpers import Clock, make_config
from tests.helpers.cli import CRASH_EXIT_CODE, Workspace
from tests.helpers.mail import complaint

pytestmark = pytest.mark.e2e

# Dovecot's own list without MOVE, and without MOVE and UIDPLUS (what an older or a
# minimal server offers).
BASE_CAPS = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ NAMESPACE CHILDREN SPECIAL-USE"
NO_MOVE = f"{BASE_CAPS} UIDPLUS"
NEITHER = BASE_CAPS


@pytest.fixture(scope="module", params=["full", "no-move", "neither"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
           mailstack: MailStack) -> Iterator[MailStack]:
    if request.param == "full":
        yield mailstack
        return
    caps = NO_MOVE if request.param == "no-move" else NEITHER
    with MailStack(base_dir=tmp_path_factory.mktemp(f"stack-{request.param}"), imap_capability=caps) as stack:
        yield stack


@pytest.fixture
def box_user() -> str:
    return f"cskh.{uuid.uuid4().hex[:10]}@kplus.example"


def _app(stack: MailStack, user: str, url: str, tmp_path: Path, clock: Clock) -> App:
    app = App.build(make_config(stack, user, url, tmp_path), now=clock)
    upgrade(app.engine)
    return app


def _login(stack: MailStack, user: str) -> MailBoxUnencrypted:
    return MailBoxUnencrypted(stack.host, stack.imap_port, timeout=10).login(user, stack.password, initial_folder=None)


def _flags(stack: MailStack, user: str, folder: str = "INBOX") -> list[tuple[str, ...]]:
    with _login(stack, user) as box:
        box.folder.set(folder, readonly=True)
        return [msg.flags for msg in box.fetch(mark_seen=False, headers_only=True)]


def test_the_move_method_follows_the_capabilities_sent_after_login() -> None:
    assert move_method(("IMAP4REV1", "MOVE", "UIDPLUS")) is MoveMethod.MOVE
    assert move_method(("IMAP4REV1", "UIDPLUS")) is MoveMethod.COPY_EXPUNGE
    assert move_method(("IMAP4REV1",)) is MoveMethod.COPY_KEYWORD


def test_open_mailbox_reads_the_capabilities_after_login(mailstack: MailStack, box_user: str, database_url: str,
                                                          tmp_path: Path) -> None:
    config = make_config(mailstack, box_user, database_url, tmp_path)
    with open_mailbox(config.imap) as box:
        # Dovecot announces MOVE and UIDPLUS only once logged in.
        assert {"MOVE", "UIDPLUS"} <= set(box.client.capabilities)
    _, ok, detail = check_imap(config)
    assert ok and "lacks MOVE" not in detail, detail


def test_a_colleagues_deleted_message_survives_a_poll(server: MailStack, box_user: str, database_url: str,
                                                       tmp_path: Path, clock: Clock) -> None:
    """A colleague marks a message \\Deleted (not expunged yet) while the poll is running:
    however the poll moves its own messages, that message is still there afterwards."""
    app = _app(server, box_user, database_url, tmp_path, clock)
    for i in range(3):
        server.deliver(complaint(phone=f"09123456{i:02d}"), box_user)
    colleague_mail = complaint(phone="0912000999", subject="Thư của đồng nghiệp")
    placed: list[bool] = []

    def colleague_deletes() -> None:  # after the first batch is committed, before the move
        if placed:
            return
        server.deliver(colleague_mail, box_user)
        with _login(server, box_user) as box:
            box.folder.set("INBOX")
            newest = box.uids("ALL")[-1]
            # As a mail client marks it (imap-tools' own flag() would EXPUNGE right away).
            assert box.client.uid("STORE", newest, "+FLAGS", "(\\Deleted)")[0] == "OK"
        placed.append(True)

    report = app.poll_once(on_stored=colleague_deletes)
    app.close()

    assert (report.stored, report.moved, report.error) == (3, 3, None)
    assert len(server.messages(box_user, "Processed")) == 3
    inbox = server.messages(box_user)
    assert colleague_mail in inbox  # not expunged by anything we did
    assert any("\\Deleted" in flags for flags in _flags(server, box_user))


def test_each_server_kind_ends_with_one_copy_and_no_refetch(server: MailStack, box_user: str, database_url: str,
                                                            tmp_path: Path, clock: Clock) -> None:
    app = _app(server, box_user, database_url, tmp_path, clock)
    for i in range(4):
        server.deliver(complaint(phone=f"09123457{i:02d}"), box_user)

    first = app.poll_once()
    second = app.poll_once()
    server.deliver(complaint(phone="0912345799"), box_user)
    third = app.poll_once()
    app.close()

    assert (first.stored, first.moved) == (4, 4)
    assert (second.seen, second.stored, second.moved) == (0, 0, 0)  # nothing fetched or copied again
    assert (third.seen, third.stored, third.moved) == (1, 1, 1)
    assert len(server.messages(box_user, "Processed")) == 5
    left = _flags(server, box_user)
    if server.imap_capability == NEITHER:
        # Left in place with our keyword, never marked \Deleted (nothing may expunge them).
        assert len(left) == 5
        assert all(MOVED_KEYWORD in flags and "\\Deleted" not in flags for flags in left)
    else:
        assert left == []


def test_a_kill_between_copy_and_clean_up_leaves_each_message_in_one_folder(
        server: MailStack, box_user: str, database_url: str, tmp_path: Path) -> None:
    """Issue 16, item 4: with the COPY fallback, a kill after the COPY (before the originals
    are expunged or marked) must not copy them a second time on the next poll."""
    ws = Workspace(server, box_user, database_url, tmp_path)
    ws.configure()
    ws.cli("db", "upgrade")
    delivered = ws.deliver(*[complaint(sender=f"k{i}.{box_user.split('@')[0]}@example.vn", to=box_user,
                                       phone=f"09123458{i:02d}") for i in range(3)])

    killed = ws.spawn("poll", "--once", crash_at="move.after_copy")

    if server.imap_capability is None:  # UID MOVE: atomic, no copy step to die in
        assert killed.returncode == 0, killed.stderr
    else:
        assert killed.returncode == CRASH_EXIT_CODE, killed.stderr
        assert ws.folder_ids("Processed") == delivered and ws.folder_ids("INBOX") == delivered  # copied, not cleaned
    for _ in range(2):  # the next poll finishes the move; another changes nothing
        done = ws.spawn("poll", "--once")
        assert done.returncode == 0, done.stderr

    assert Counter(ws.folder_ids("Processed")) == Counter(delivered)
    left = _flags(server, box_user)
    if server.imap_capability == NEITHER:
        assert len(left) == 3 and all(MOVED_KEYWORD in flags for flags in left)
    else:
        assert ws.folder_ids("INBOX") == []
    assert [mid for mid, _, _ in ws.snapshot().inbound] == delivered
