"""Build realistic inbound e-mails for tests (complaints, replies, auto-replies, bounces)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

COMPLAINT_BODY = """Kính gửi K+,

Tôi tên là {name}, nhà tôi bị mất sóng K+ từ ngày 28/10/2026, màn hình báo lỗi E48.
Số thẻ giải mã: {card}
Số điện thoại: {phone}
Địa chỉ: 12 Nguyễn Trãi, Thanh Xuân, Hà Nội

Mong K+ kiểm tra giúp.
Trân trọng,
{name}
"""


def new_id(domain: str = "gmail.com") -> str:
    return f"<{uuid.uuid4().hex}@{domain}>"


def message(*, sender: str, to: str, subject: str, body: str, message_id: str | None = None,
            date: datetime | None = None, headers: dict[str, str] | None = None) -> EmailMessage:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date or datetime(2026, 11, 2, 1, 30, tzinfo=UTC))
    msg["Message-ID"] = message_id or new_id()
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg


def complaint(*, sender: str = "Nguyễn Văn An <an.nguyen@gmail.com>", to: str = "cskh@kplus.example",
              name: str = "Nguyễn Văn An", card: str = "0123 4567 8901", phone: str = "0912.345.678",
              subject: str = "Mất sóng K+ từ 3 ngày nay", body: str | None = None, **kw: object) -> bytes:
    text = body if body is not None else COMPLAINT_BODY.format(name=name, card=card, phone=phone)
    return message(sender=sender, to=to, subject=subject, body=text, **kw).as_bytes()  # type: ignore[arg-type]
