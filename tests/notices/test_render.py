"""Notices: the real templates render safely and build_message makes a clean, threaded e-mail."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from mailproc.config import Config
from mailproc.notices.render import (
    InvalidAddress,
    Rendered,
    build_message,
    make_environment,
    mask,
    parse_address,
    render,
    vn_amount,
    vn_date,
    vn_long_date,
)

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
REF = "KP-2026-000123"
NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # Mon 02/11/2026 09:00 in Hà Nội
CONFIG = Config()
ENV = make_environment()
XSS = "<script>alert(1)</script>"


def context(**overrides: Any) -> dict[str, Any]:
    """The keys pipeline.notice_context builds, with plain values."""
    received = datetime(2026, 11, 2, 9, 5, tzinfo=HANOI)
    values: dict[str, Any] = {
        "ref": REF,
        "name": "Nguyễn Văn An",
        "subject": "Mất sóng K+ từ 3 ngày nay",
        "received_at": received,
        "received_date": received.date(),
        "accept_due": date(2026, 11, 9),
        "reply_due": date(2026, 11, 30),
        "accept_days": 5,
        "reply_days": 20,
        "missing": ["Số điện thoại", "Số thẻ giải mã hoặc số đầu thu"],
        "identifiers": [("Số điện thoại", mask("0912345678")), ("Địa chỉ", "12 Nguyễn Trãi, Hà Nội")],
        "excerpt": "Nhà tôi bị mất sóng.",
        "late": False,
        "company": CONFIG.notices.company_name,
        "department": CONFIG.notices.department,
        "hotline": CONFIG.notices.hotline,
    }
    values.update(overrides)
    return values


KINDS = ["receipt", "need_info"]


@pytest.mark.parametrize("kind", KINDS)
def test_renders_the_facts(kind: str) -> None:
    out = render(ENV, kind, context())
    assert isinstance(out, Rendered)
    for body in (out.text, out.html):
        assert "Kính gửi Quý khách" in body
        assert "Nguyễn Văn An" in body
        assert REF in body
        assert "02/11/2026 lúc 09:05" in body
        assert "09/11/2026" in body
        assert "30/11/2026" in body
        assert "••••••5678" in body
        assert "0912345678" not in body
        assert "1900 1592" in body
        assert "Trân trọng," in body
        assert "Phòng Chăm sóc Khách hàng" in body
    assert out.subject.startswith(f"[{REF}] V/v ")
    assert out.subject.endswith("Mất sóng K+ từ 3 ngày nay")


def test_need_info_lists_what_is_missing() -> None:
    out = render(ENV, "need_info", context())
    assert "  - Số điện thoại\n" in out.text
    assert "<li>Số thẻ giải mã hoặc số đầu thu</li>" in out.html


@pytest.mark.parametrize(("late", "shown"), [(True, True), (False, False)])
def test_receipt_late_note(late: bool, shown: bool) -> None:
    out = render(ENV, "receipt", context(late=late))
    assert ("sau thời hạn khiếu nại" in out.text) is shown
    assert ("sau thời hạn khiếu nại" in out.html) is shown


@pytest.mark.parametrize("kind", KINDS)
def test_without_a_name(kind: str) -> None:
    out = render(ENV, kind, context(name=None))
    assert "Kính gửi Quý khách,\n" in out.text
    assert "Kính gửi Quý khách,</p>" in out.html


@pytest.mark.parametrize("kind", KINDS)
def test_html_is_autoescaped_and_text_verbatim(kind: str) -> None:
    out = render(ENV, kind, context(
        name=XSS,
        subject='Mất sóng <b>gấp</b> & "khẩn"',
        identifiers=[("Địa chỉ", "<img src=x onerror=alert(2)>")],
        missing=["<i>Số thẻ</i>"],
    ))
    assert XSS not in out.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out.html
    assert "<img" not in out.html
    assert "&lt;b&gt;gấp&lt;/b&gt; &amp; " in out.html
    assert XSS in out.text
    assert "<img src=x onerror=alert(2)>" in out.text
    assert 'Mất sóng <b>gấp</b> & "khẩn"' in out.text
    # The subject is a header, not HTML: no entities.
    assert out.subject.endswith('Mất sóng <b>gấp</b> & "khẩn"')


@pytest.mark.parametrize("kind", KINDS)
def test_missing_context_key_is_an_error(kind: str) -> None:
    values = context()
    del values["ref"]
    with pytest.raises(Exception, match="ref"):
        render(ENV, kind, values)


@pytest.mark.parametrize(
    "subject",
    ["Mất sóng\r\nBcc: x@evil.example", "Mất sóng\nBcc: x@evil.example", "Mất sóng\rBcc: x@evil.example\x00"],
)
def test_subject_injection_renders_to_one_clean_header(subject: str) -> None:
    out = render(ENV, "receipt", context(subject=subject))
    assert out.subject == f"[{REF}] V/v Tiếp nhận khiếu nại: Mất sóng Bcc: x@evil.example"
    raw = _build(out).as_bytes()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed.get_all("Bcc") is None
    assert parsed["Subject"] == out.subject
    headers = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\nBcc:" not in headers
    assert b"\x00" not in headers


def test_long_subject_is_capped() -> None:
    out = render(ENV, "receipt", context(subject="Mất sóng " * 100))
    assert len(out.subject) <= 200
    assert out.subject.startswith(f"[{REF}] ")


def _build(rendered: Rendered | None = None, **kwargs: Any) -> email.message.EmailMessage:
    args: dict[str, Any] = {
        "to": "an.nguyen@gmail.com",
        "message_id": f"<receipt.{REF}.0a1b2c3d4e5f6a7b@kplus.example>",
        "now": NOW,
        "ref": REF,
    }
    args.update(kwargs)
    return build_message(CONFIG, rendered or render(ENV, "receipt", context()), **args)


def _reparse(msg: email.message.EmailMessage) -> email.message.EmailMessage:
    parsed = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    return parsed


def test_build_message_headers() -> None:
    msg = _reparse(_build(in_reply_to="CAF1x2y3@mail.gmail.com", references=("first@mail.gmail.com",)))
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["Message-ID"] == f"<receipt.{REF}.0a1b2c3d4e5f6a7b@kplus.example>"
    assert msg["In-Reply-To"] == "<CAF1x2y3@mail.gmail.com>"
    assert msg["References"] == "<first@mail.gmail.com> <CAF1x2y3@mail.gmail.com>"
    assert msg["Date"] == "Mon, 02 Nov 2026 09:00:00 +0700"
    assert msg["To"].addresses[0].addr_spec == "an.nguyen@gmail.com"
    assert msg["From"].addresses[0].addr_spec == CONFIG.smtp.from_address
    assert msg["From"].addresses[0].display_name == CONFIG.smtp.from_name
    assert msg["X-Mailproc-Ref"] == REF
    assert msg["Subject"].startswith(f"[{REF}] V/v Tiếp nhận khiếu nại")
    assert msg.get_content_type() == "multipart/alternative"
    plain = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert plain is not None and html is not None
    assert "Kính gửi Quý khách Nguyễn Văn An," in plain.get_content()
    assert "<b>Nguyễn Văn An</b>" in html.get_content()


def test_build_message_keeps_the_message_id_exactly() -> None:
    message_id = "<need_info.KP-2026-000123.ffffffffffffffff@kplus.example>"
    raw = _build(message_id=message_id).as_bytes()
    assert f"Message-ID: {message_id}\r\n".encode() in raw


def test_build_message_without_a_thread() -> None:
    msg = _reparse(_build())
    assert msg["In-Reply-To"] is None
    assert msg["References"] is None


def test_build_message_dedupes_and_caps_references() -> None:
    refs = tuple(f"r{i}@x.example" for i in range(12))
    msg = _reparse(_build(in_reply_to="r11@x.example", references=refs))
    ids = msg["References"].split()
    assert ids[-1] == "<r11@x.example>"
    assert len(ids) == len(set(ids))
    assert len(ids) <= 9


def test_build_message_date_is_hanoi_time_whatever_the_input_zone() -> None:
    for now in (NOW, NOW.astimezone(ZoneInfo("America/New_York")), NOW.astimezone(HANOI)):
        assert _reparse(_build(now=now))["Date"] == "Mon, 02 Nov 2026 09:00:00 +0700"


@pytest.mark.parametrize(
    "to",
    [
        "a@b.c, evil@x.y",
        "a@b.c,evil@x.y",
        "a@b.c; evil@x.y",
        "x@y.z\r\nBcc: z@w.example",
        "x@y.z\nBcc: z@w.example",
        "x@y.z\x00",
        "Nguyễn An <an@gmail.com>",
        '"a@b.c" <evil@x.y>',
        "a@b.c (comment)",
        "a@b@c.example",
        "@b.example",
        "a@localhost",
        "",
        "   ",
    ],
)
def test_build_message_refuses_unsafe_recipients(to: str) -> None:
    with pytest.raises(InvalidAddress):
        _build(to=to)
    with pytest.raises(InvalidAddress):
        parse_address(to)


@pytest.mark.parametrize(
    ("value", "username", "domain"),
    [
        ("an.nguyen@gmail.com", "an.nguyen", "gmail.com"),
        ("  an@gmail.com  ", "an", "gmail.com"),
        ("an+kplus@mail.example.vn", "an+kplus", "mail.example.vn"),
    ],
)
def test_parse_address(value: str, username: str, domain: str) -> None:
    address = parse_address(value)
    assert (address.username, address.domain) == (username, domain)


def test_build_message_attachment_name_is_cleaned() -> None:
    msg = _reparse(_build(attachments=(("Biên bản\r\n.pdf", "application/pdf", b"%PDF-1.4"),)))
    (part,) = list(msg.iter_attachments())
    assert part.get_filename() == "Biên bản .pdf"
    assert part.get_content() == b"%PDF-1.4"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (date(2026, 1, 5), "05/01/2026"),
        (date(2026, 12, 31), "31/12/2026"),
        (datetime(2026, 11, 2, 9, 5, tzinfo=HANOI), "02/11/2026"),
        (None, ""),
    ],
)
def test_vn_date(value: date | None, expected: str) -> None:
    assert vn_date(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (date(2026, 1, 5), "ngày 05 tháng 01 năm 2026"),
        (date(2026, 11, 30), "ngày 30 tháng 11 năm 2026"),
    ],
)
def test_vn_long_date(value: date, expected: str) -> None:
    assert vn_long_date(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (175000, "175.000đ"),
        (0, "0đ"),
        (500, "500đ"),
        (1000, "1.000đ"),
        (1750000, "1.750.000đ"),
        (2_500_000_000, "2.500.000.000đ"),
    ],
)
def test_vn_amount(value: int, expected: str) -> None:
    assert vn_amount(value) == expected


@pytest.mark.parametrize(
    ("value", "keep", "expected"),
    [
        ("0912345678", 4, "••••••5678"),
        ("012345678901", 4, "••••••••8901"),
        ("0123", 4, "0123"),
        ("12", 4, "12"),
        ("012345678901", 3, "•••••••••901"),
        ("", 4, ""),
        (None, 4, ""),
    ],
)
def test_mask(value: str | None, keep: int, expected: str) -> None:
    assert mask(value, keep) == expected


def test_template_filters_are_registered() -> None:
    tpl = ENV.from_string("{{ d|vn_date }} {{ d|vn_long_date }} {{ a|vn_amount }} {{ p|mask }}")
    assert tpl.render(d=date(2026, 1, 5), a=175000, p="0912345678") == (
        "05/01/2026 ngày 05 tháng 01 năm 2026 175.000đ ••••••5678"
    )


@pytest.mark.parametrize("subject", [
    "[KP-2026-000001] V/v Thông báo kết quả giải quyết khiếu nại: Mất sóng K+ từ 3 ngày nay, khảo sát mức độ "
    "hài lòng của quý khách",
    "[KP-2026-000002] V/v Khảo sát mức độ hài lòng của Quý khách về việc giải quyết khiếu nại",
    "Re: " + "Mất sóng K+ ở nhà " * 12,
    "ascii only " * 20,
])
def test_a_long_vietnamese_subject_arrives_word_for_word(subject: str) -> None:
    """Python 3.11's 78-character folding lost the space between two encoded words."""
    from mailproc.notices.render import message_bytes

    msg = build_message(CONFIG, Rendered(subject, "x", ""), to="an.nguyen@gmail.com", message_id="<a@b>", now=NOW)
    raw = message_bytes(msg)
    back = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(back["Subject"]) == subject
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
