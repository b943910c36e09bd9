"""Large messages are slimmed before parsing: the same analysis, a fraction of the memory."""

from __future__ import annotations

import base64
import hashlib
import os
import quopri
import tracemalloc
from email.message import EmailMessage
from email.policy import SMTP

import pytest

from mailproc.analysis import parsing
from mailproc.analysis.parsing import ParsedMail, parse_message
from mailproc.analysis.slim import SLIM_ABOVE, omitted, slim
from mailproc.config import ParsingConfig

CFG = ParsingConfig()
TEXT = ("Tôi tên là Trần Văn Bình, nhà tôi bị mất sóng K+ từ hôm qua, màn hình báo lỗi E48.\n"
        "Số thẻ: 0123 4567 8901\nSố điện thoại: 0912 345 678\nĐịa chỉ: 12 Nguyễn Trãi, Thanh Xuân, Hà Nội\n")


def _mail(*attachments: tuple[str, bytes], html: str | None = None, forward: EmailMessage | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Trần Văn Bình <binh@example.vn>"
    msg["To"] = "cskh@kplus.example"
    msg["Subject"] = "Mất sóng K+"
    msg["Message-ID"] = "<slim-test@example.vn>"
    msg.set_content(TEXT)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for name, data in attachments:
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    if forward is not None:
        msg.add_attachment(forward)
    return msg.as_bytes(policy=SMTP)


def _unslimmed(raw: bytes, monkeypatch: pytest.MonkeyPatch) -> ParsedMail:
    with monkeypatch.context() as m:
        m.setattr(parsing, "SLIM_ABOVE", 1 << 40)
        return parse_message(raw, CFG)


def _records(parsed: ParsedMail) -> list[tuple[str, str, int, str, bool]]:
    return [(a.filename, a.content_type, a.size, a.sha256, a.data is None) for a in parsed.attachments]


def test_a_large_attachment_is_measured_not_parsed_and_the_analysis_is_the_same(
        monkeypatch: pytest.MonkeyPatch) -> None:
    video, photo = os.urandom(12 * 1024 * 1024), os.urandom(900 * 1024)
    raw = _mail(("loi.mp4", video), ("anh.jpg", photo))
    assert len(raw) > SLIM_ABOVE

    tracemalloc.start()
    slimmed = parse_message(raw, CFG)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    whole = _unslimmed(raw, monkeypatch)

    assert _records(slimmed) == _records(whole)
    assert _records(slimmed)[0] == ("loi.mp4", "application/octet-stream", len(video),
                                    hashlib.sha256(video).hexdigest(), True)  # too large: not kept
    assert slimmed.attachments[1].data == photo  # small enough: kept, byte for byte
    assert (slimmed.text, slimmed.subject, slimmed.from_address) == (whole.text, whole.subject, whole.from_address)
    assert peak < len(raw)  # less than one copy of the message, where the parser alone takes several


def test_a_huge_html_body_is_cut_where_the_text_would_be_cut_anyway(monkeypatch: pytest.MonkeyPatch) -> None:
    row = '<div style="margin:0"><span style="font-size:14px">K+ K+</span></div>\n'
    html = "<html><body><p>" + TEXT.replace("\n", "<br>") + "</p>" + row * 90_000 + "</body></html>"
    raw = _mail(html=html).replace(b"Content-Type: text/plain", b"Content-Type: text/x-none", 1)
    assert len(raw) > SLIM_ABOVE

    parsed = parse_message(raw, CFG)

    assert parsed.text.startswith("Tôi tên là Trần Văn Bình")
    assert "Nguyễn Trãi" in parsed.text
    assert len(parsed.text) <= CFG.max_text_chars


def test_a_forwarded_mail_is_slimmed_inside_and_keeps_its_text(monkeypatch: pytest.MonkeyPatch) -> None:
    inner = EmailMessage()
    inner["From"] = "khach@example.vn"
    inner["Subject"] = "ảnh lỗi"
    inner.set_content("Nhà tôi ở 12 Nguyễn Trãi, xem ảnh đính kèm")
    inner.add_attachment(os.urandom(11 * 1024 * 1024), maintype="image", subtype="jpeg", filename="loi.jpg")
    raw = _mail(forward=inner)

    parsed, whole = parse_message(raw, CFG), _unslimmed(raw, monkeypatch)

    assert parsed.text == whole.text
    forwarded, photo = parsed.attachments  # the forwarded mail, as kept (its photo left out), and its photo
    assert forwarded.content_type == "message/rfc822" and forwarded.data is not None
    assert b"Subject:" in forwarded.data and len(forwarded.data) < 10_000
    assert _records(parsed)[1] == _records(whole)[1]  # the photo: the same name, size and hash, not kept
    assert photo.data is None


def test_a_large_quoted_printable_attachment_is_measured_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"d\xc3\xb2ng = 1\tx  \n" * 700_000  # 10.5 MB: equals signs, tabs, trailing spaces
    msg = EmailMessage()
    msg["From"] = "binh@example.vn"
    msg["Subject"] = "log"
    msg.set_content(TEXT)
    msg.add_attachment(data, maintype="application", subtype="octet-stream", filename="log.txt",
                       cte="quoted-printable")
    raw = msg.as_bytes(policy=SMTP)

    parsed, whole = parse_message(raw, CFG), _unslimmed(raw, monkeypatch)

    assert _records(parsed) == _records(whole)
    assert parsed.attachments[0].sha256 == hashlib.sha256(quopri.decodestring(quopri.encodestring(data))).hexdigest()


def test_a_forged_marker_is_only_data() -> None:
    forged = b"mailproc-omitted-0000 size=1 sha256=" + b"0" * 64
    assert omitted(forged) is None
    raw = _mail(("x.bin", forged + os.urandom(5 * 1024 * 1024)))
    (attachment,) = parse_message(raw, CFG).attachments
    assert attachment.data is not None and attachment.data.startswith(forged)


def test_slim_keeps_small_parts_byte_for_byte_and_cuts_only_what_is_large() -> None:
    data = os.urandom(11 * 1024 * 1024)
    raw = _mail(("a.bin", data), ("b.bin", b"small"))
    out = slim(raw, keep_text=1000, keep_other=10 * 1024 * 1024)
    assert len(out) < 10_000
    assert base64.b64encode(b"small") in out
    assert out.count(b"Content-Disposition: attachment") == 2
    assert slim(b"Subject: x\r\n\r\nbody", keep_text=10, keep_other=10) == b"Subject: x\r\n\r\nbody"
    assert slim(b"no header at all", keep_text=1, keep_other=1) == b"no header at all"


def test_many_html_parts_share_one_text_budget() -> None:
    """The hostile shape: 400 HTML parts of 60 KB, none large alone, 24 MB together."""
    chunk = ("<div><p>Mất sóng <b>K+</b> " + "<span>x</span>" * 40 + "</p></div>\n") * 100
    parts = "".join(f"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body>{chunk}</body></html>\r\n"
                    for _ in range(400))
    raw = ("From: x@example.vn\r\nSubject: html\r\nMIME-Version: 1.0\r\n"
           f'Content-Type: multipart/mixed; boundary="b"\r\n\r\n{parts}--b--\r\n').encode()

    out = slim(raw, keep_text=CFG.max_text_chars * 6, keep_other=CFG.max_attachment_bytes)

    assert len(raw) > 20_000_000 and len(out) < CFG.max_text_chars * 6 + 100_000
    assert out.count(b"Content-Type: text/html") == 400  # the structure stays; the bodies past the budget go
    tracemalloc.start()
    parsed = parse_message(raw, CFG)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert parsed.text.lstrip().startswith("Mất sóng K+") and peak < 60_000_000
