"""``mailproc demo``: the whole flow on a throwaway local mail stack, for a newcomer to watch.

Starts Dovecot and an SMTP server on loopback (:mod:`mailproc.testing.devstack`), a SQLite database,
and the real daemon scheduler with short intervals; customers e-mail realistic complaints
through the SMTP server; the demo then shows the tickets and the receipts that really arrived
in the customers' mailboxes, and one customer answering a request for missing information.
"""

from __future__ import annotations

import email
import email.policy
import shutil
import smtplib
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import click
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from mailproc.app import App
from mailproc.config import from_mapping
from mailproc.ops.logs import setup_logging
from mailproc.ops.scheduler import build_scheduler
from mailproc.ops.views import list_tickets, stats, table, ticket_json
from mailproc.store.migrate import upgrade
from mailproc.store.models import InboundMessage, OutboxItem
from mailproc.testing.devstack import MailStack
from mailproc.vocabulary import InboundStatus, OutboxStatus

SHARED = "cskh@kplus.example"

# (display name, address, subject, body): what K+ customers really write, with and without
# diacritics, complete and incomplete, a fee complaint, a late one, and an auto-reply.
COMPLAINTS: list[tuple[str, str, str, str, dict[str, str]]] = [
    ("Nguyễn Văn An", "an.nguyen@gmail.com", "Mất sóng K+ từ 3 ngày nay",
     "Kính gửi K+,\n\nNhà tôi bị mất sóng từ ngày {d3}, tivi báo lỗi E48.\n"
     "Họ tên: Nguyễn Văn An\nĐịa chỉ: 12 Nguyễn Trãi, Thanh Xuân, Hà Nội\n"
     "SĐT: 0912.345.678\nSố thẻ giải mã: 0123 4567 8901\n\nTrân trọng,\nAn", {}),
    ("Trần Thị Bình", "binh.tran@yahoo.com.vn", "Bị trừ tiền 2 lần khi gia hạn",
     "Chào K+, tôi gia hạn gói Premium và thanh toán ngày {d5} nhưng tài khoản bị trừ 2 lần 175.000đ.\n"
     "Số đầu thu (S/N): k23a-0045871, điện thoại 0987 654 321.\nĐề nghị hoàn tiền.\nBình", {}),
    ("Le Hoang Cuong", "cuong.le@outlook.com", "Mat kenh K+ Sport 1",
     "Chao K+, tu hom qua nha toi mat kenh K+ Sport 1. Toi ten la Le Hoang Cuong, "
     "sdt 0903 111 222. Dia chi: 45 Le Loi, Quan 1, TP.HCM.", {}),
    ("Phạm Thu Dung", "dung.pham@fpt.vn", "Khiếu nại cước tháng 7",
     "Tôi thanh toán cước ngày 05/07/2026 nhưng bị tính thêm phí. Số thẻ: 8401-2345-6789, "
     "ĐT: (028) 3821 2345.", {}),
    ("Nguyễn Văn An", "an.nguyen@gmail.com", "Trả lời tự động: Tôi đang nghỉ phép",
     "Tôi đang nghỉ phép đến hết tuần, sẽ trả lời khi quay lại.", {"Auto-Submitted": "auto-replied"}),
]


def _send(stack: MailStack, sender: tuple[str, str], subject: str, body: str, headers: dict[str, str]) -> str:
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = f"{sender[0]} <{sender[1]}>"
    msg["To"] = SHARED
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now().astimezone())
    msg["Message-ID"] = make_msgid(domain=sender[1].split("@")[1])
    for name, value in headers.items():
        msg[name] = value
    msg.set_content(body)
    with smtplib.SMTP(stack.host, stack.smtp_port, timeout=10) as smtp:
        smtp.send_message(msg)
    return str(msg["Message-ID"])


def _wait(app: App, done: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise click.ClickException(f"demo: timed out waiting for {what}")
        time.sleep(0.2)


def _settled(app: App, expected_inbound: int) -> Callable[[], bool]:
    def check() -> bool:
        with app.sessions() as s:
            inbound = s.scalars(select(InboundMessage.status)).all()
            waiting = (OutboxStatus.QUEUED, OutboxStatus.SENDING)
            queued = s.scalars(select(OutboxItem.id).where(OutboxItem.status.in_(waiting))).all()
        return len(inbound) >= expected_inbound and InboundStatus.NEW not in inbound and not queued
    return check


def _show_tickets(app: App) -> None:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(app.config.calendar.timezone)
    with app.sessions() as s:
        data = [ticket_json(t, n, tz) for t, n in reversed(list_tickets(s)[0])]
    click.echo(table(
        ["ticket", "status", "queue", "name", "phone", "card", "decoder", "category", "accept by", "reply by", "flags"],
        [(d["ref"], d["status"], d["queue"] or "-", d["name"], d["phone"], d["smartcard"], d["decoder"],
          d["category"], d["accept_due"], d["reply_due"], ",".join(d["flags"])) for d in data], max_width=28))


def _show_mailbox(stack: MailStack, user: str, lines: int = 0) -> list[Any]:
    received = [email.message_from_bytes(raw, policy=email.policy.default) for raw in stack.messages(user)]
    for msg in received:
        click.echo(f"  {user} <- {msg['Subject']}")
        if lines:
            body = msg.get_body(("plain",))
            text = body.get_content() if body is not None else ""
            for line in text.splitlines()[:lines]:
                click.echo(f"      | {line}")
    return received


def run_demo(workdir: Path | None, *, keep: bool = False) -> None:
    own_dir = workdir is None
    base = Path(tempfile.mkdtemp(prefix="mailproc-demo-")) if workdir is None else workdir
    base.mkdir(parents=True, exist_ok=True)
    setup_logging("WARNING")
    click.echo(f"mailproc demo: working in {base}")
    try:
        with MailStack(base_dir=base / "mailstack") as stack:
            _demo(stack, base)
            if keep:
                click.echo(f"\nMail stack still running: IMAP {stack.host}:{stack.imap_port}, SMTP {stack.smtp_port}, "
                           f"any user, password {stack.password!r}. Ctrl-C to stop.")
                try:
                    while True:
                        time.sleep(1)
                except KeyboardInterrupt:
                    pass
    finally:
        if own_dir and not keep:
            shutil.rmtree(base, ignore_errors=True)


def _demo(stack: MailStack, base: Path) -> None:
    config = from_mapping({
        "imap": {"host": stack.host, "port": stack.imap_port, "username": SHARED, "password": stack.password},
        "smtp": {"host": stack.host, "port": stack.smtp_port, "from_address": SHARED},
        "database": {"url": f"sqlite:///{base / 'mailproc.sqlite3'}"},
        "scheduler": {"poll_seconds": 1.0, "process_seconds": 1.0, "send_seconds": 1.0,
                      "lock_file": str(base / "mailproc.lock")},
    }, env={}, source="<demo>")
    app = App.build(config)
    upgrade(app.engine)
    click.echo(f"1. Local mail stack up: Dovecot IMAP on {stack.host}:{stack.imap_port}, SMTP on {stack.smtp_port}; "
               f"shared mailbox {SHARED}; database {config.database.url}")

    today = date.today()
    dates = {"d3": (today - timedelta(days=3)).strftime("%d/%m/%Y"),
             "d5": (today - timedelta(days=5)).strftime("%d/%m/%Y")}
    for name, address, subject, body, headers in COMPLAINTS:
        _send(stack, (name, address), subject, body.format(**dates), headers)
    click.echo(f"2. {len(COMPLAINTS)} customers e-mailed {SHARED} (one of them is an out-of-office auto-reply)")

    app.start_workers()  # as `mailproc run` does
    scheduler = build_scheduler(app, BackgroundScheduler)
    scheduler.start()
    try:
        _wait(app, _settled(app, len(COMPLAINTS)), "the daemon to process the complaints")
        click.echo("3. The daemon (poll, process, send jobs) turned them into tickets:\n")
        _show_tickets(app)
        click.echo("\n4. Receipts that arrived in the customers' own mailboxes (IMAP):")
        _show_mailbox(stack, "an.nguyen@gmail.com", lines=18)
        for _, address, *_ in COMPLAINTS[1:4]:
            _show_mailbox(stack, address)

        (request,) = _show_mailbox_quiet(stack, "cuong.le@outlook.com")
        _send(stack, ("Le Hoang Cuong", "cuong.le@outlook.com"), f"Re: {request['Subject']}",
              "So the giai ma cua toi la 0987 1234 5678 9\n\n> Kinh gui Quy khach ...",
              {"In-Reply-To": str(request["Message-ID"])})
        click.echo("\n5. Cuong was asked for his smart-card number and replied; the ticket is complete now:\n")
        _wait(app, _settled(app, len(COMPLAINTS) + 1), "the reply to be processed")
    finally:
        scheduler.shutdown(wait=True)
    _show_tickets(app)
    click.echo("")
    _show_mailbox(stack, "cuong.le@outlook.com")
    with app.sessions() as s:
        counts = stats(s)
    click.echo("\n6. Totals (mailproc stats --json):\n" + table(["what", "count"], list(counts.items())))
    app.close()


def _show_mailbox_quiet(stack: MailStack, user: str) -> list[Any]:
    return [email.message_from_bytes(raw, policy=email.policy.default) for raw in stack.messages(user)]
