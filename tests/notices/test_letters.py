"""The written reply as a formal letter: its text layout, its PDF, and the final_reply e-mail."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import io
import re
import shutil
import subprocess
import zlib
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from fontTools.ttLib import TTFont

from mailproc.config import Config
from mailproc.notices.letters import (
    Letter,
    LetterError,
    body_paragraphs,
    clean_block,
    letter_pdf,
    letter_text,
)
from mailproc.notices.render import build_message, make_environment, render

REF = "KP-2026-000123"
BODY = (
    "Phòng Chăm sóc Khách hàng đã xem xét khiếu nại của Quý khách về việc mất sóng kênh K+ Sport 1.\n"
    "\n"
    "Kết quả kiểm tra: đầu thu bị lỗi phần mềm; kỹ thuật viên đã cập nhật ngày 03/01/2026.\n"
    "K+ hoàn lại phí thuê bao 7 ngày là 175.000đ.\n"
    "\n"
    "Nếu còn vướng mắc, xin Quý khách liên hệ Tổng đài 1900 1592."
)
LETTER = Letter(
    ref=REF,
    customer_name="Nguyễn Thị Ánh Tuyết",
    customer_address="12 Nguyễn Trãi, Thanh Xuân, Hà Nội",
    subject="Mất sóng K+ từ 3 ngày nay",
    body=BODY,
    city="Hà Nội",
    date=date(2026, 1, 5),
    department="Phòng Chăm sóc Khách hàng",
    company="K+",
    hotline="1900 1592",
    received=date(2025, 12, 29),
)
EXPECTED_TEXT = """\
Hà Nội, ngày 05 tháng 01 năm 2026

Kính gửi: Quý khách Nguyễn Thị Ánh Tuyết
Địa chỉ: 12 Nguyễn Trãi, Thanh Xuân, Hà Nội
V/v: Trả lời khiếu nại số KP-2026-000123 ngày 29/12/2025

Phòng Chăm sóc Khách hàng đã xem xét khiếu nại của Quý khách về việc mất sóng kênh K+ Sport 1.

Kết quả kiểm tra: đầu thu bị lỗi phần mềm; kỹ thuật viên đã cập nhật ngày 03/01/2026.
K+ hoàn lại phí thuê bao 7 ngày là 175.000đ.

Nếu còn vướng mắc, xin Quý khách liên hệ Tổng đài 1900 1592.

Trân trọng,
Phòng Chăm sóc Khách hàng
K+
Tổng đài: 1900 1592
"""
HAS_PDFTOTEXT = shutil.which("pdftotext") is not None
needs_pdftotext = pytest.mark.skipif(not HAS_PDFTOTEXT, reason="pdftotext (Debian poppler-utils) not installed")


# -- text ------------------------------------------------------------------------------------------

def test_letter_text_layout() -> None:
    assert letter_text(LETTER) == EXPECTED_TEXT


def test_letter_text_without_name_or_address() -> None:
    text = letter_text(dataclasses.replace(LETTER, customer_name=None, customer_address="  "))
    assert "Kính gửi: Quý khách\nV/v: Trả lời khiếu nại số KP-2026-000123 ngày 29/12/2025\n" in text
    assert "Địa chỉ" not in text


def test_text_is_cleaned() -> None:
    hostile = dataclasses.replace(
        LETTER,
        customer_name="Nguyê\u0303n\r\nBcc: x@evil.example",   # decomposed ễ, a line break
        body="Đoạn 1\x00\x07\x1b[31m\u202e\r\n\r\n\r\n\r\n\tĐoạn 2   \n\n\n",
    )
    text = letter_text(hostile)
    assert "Kính gửi: Quý khách Nguyễn Bcc: x@evil.example\n" in text
    assert "\nĐoạn 1[31m\n\n    Đoạn 2\n\nTrân trọng," in text
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f\u202e]", text)


def test_paragraphs() -> None:
    assert body_paragraphs("a\nb\n\n\n\nc\n \n") == ["a\nb", "c"]
    assert body_paragraphs("  \n\n") == []
    assert clean_block("x\u2028y\u2029z") == "x\ny\n\nz"


# -- PDF -------------------------------------------------------------------------------------------

def _streams(pdf: bytes) -> list[bytes]:
    """Every stream's data, inflated where it is Flate-compressed."""
    out = []
    for match in re.finditer(rb"<<(.*?)>>\s*stream\r?\n", pdf, re.S):
        start = match.end()
        end = pdf.index(b"endstream", start)
        data = pdf[start:end].rstrip(b"\r\n")
        out.append(zlib.decompress(data) if b"/FlateDecode" in match.group(1) else data)
    return out


def _page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))


def _embedded_fonts(pdf: bytes) -> list[TTFont]:
    fonts = []
    for match in re.finditer(rb"<<([^<>]*?/Length1[^<>]*?)>>\s*stream\r?\n", pdf, re.S):
        start = match.end()
        data = pdf[start:pdf.index(b"endstream", start)].rstrip(b"\r\n")
        fonts.append(TTFont(io.BytesIO(zlib.decompress(data))))
    return fonts


def _pdftotext(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "letter.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True,
                          text=True, timeout=60).stdout


def test_pdf_is_valid_and_embeds_its_font() -> None:
    pdf = letter_pdf(LETTER)
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert _page_count(pdf) == 1
    assert b"/FontFile2" in pdf
    assert re.search(rb"/BaseFont\s*/[A-Z]{6}\+DejaVuSerif", pdf)
    fonts = _embedded_fonts(pdf)
    assert len(fonts) == 2  # regular and bold subsets
    # The embedded subsets can draw the Vietnamese letters of the letter.
    drawn = set().union(*(font.getBestCmap() for font in fonts))
    for char in "ễịÁảạđĐưỗ":
        assert ord(char) in drawn, char


def test_pdf_is_deterministic() -> None:
    first = letter_pdf(LETTER)
    assert first == letter_pdf(LETTER)
    assert b"/CreationDate (D:20260105000000+07'00')" in first
    assert first != letter_pdf(dataclasses.replace(LETTER, body=BODY + " Cảm ơn."))


@needs_pdftotext
def test_pdf_gives_back_the_vietnamese_text(tmp_path: Path) -> None:
    text = _pdftotext(letter_pdf(LETTER), tmp_path)
    flat = " ".join(text.split())
    for expected in (
        "THƯ TRẢ LỜI KHIẾU NẠI",
        "Hà Nội, ngày 05 tháng 01 năm 2026",
        "Kính gửi: Quý khách Nguyễn Thị Ánh Tuyết",
        "Địa chỉ: 12 Nguyễn Trãi, Thanh Xuân, Hà Nội",
        "V/v: Trả lời khiếu nại số KP-2026-000123 ngày 29/12/2025",
        "kỹ thuật viên đã cập nhật ngày 03/01/2026",
        "175.000đ",
        "Trân trọng,",
        "Tổng đài: 1900 1592",
    ):
        assert expected in flat, expected
    assert "Trang" not in flat  # one page: no page numbers


def test_long_body_makes_numbered_pages(tmp_path: Path) -> None:
    long_letter = dataclasses.replace(LETTER, body="\n\n".join([BODY] * 15))
    pdf = letter_pdf(long_letter)
    pages = _page_count(pdf)
    assert pages >= 2
    if HAS_PDFTOTEXT:
        text = _pdftotext(pdf, tmp_path)
        for n in range(1, pages + 1):
            assert f"Trang {n}/{pages}" in text
        assert text.count("Trân trọng,") == 1


def test_hostile_body_does_not_crash(tmp_path: Path) -> None:
    hostile = dataclasses.replace(
        LETTER,
        customer_name="\x00<b>Tên</b>\u202e😀",
        customer_address="\x1b" * 50,
        body="\x00\x01\x02\x7f\x85\ud800" + "A" * 10_000 + "\n\n" + "😀中文\u200d\ue000 " * 50 + "\n\n" + "Ư" * 3000,
    )
    pdf = letter_pdf(hostile)
    assert pdf.startswith(b"%PDF-")
    assert _page_count(pdf) >= 2
    assert "A" * 10_000 in letter_text(hostile)
    if HAS_PDFTOTEXT:
        text = _pdftotext(pdf, tmp_path)
        assert "Kính gửi: Quý khách <b>Tên</b>?\n" in text  # U+202E dropped, 😀 (no glyph) drawn as "?"
        assert text.count("A") >= 10_000


def test_missing_font_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LetterError, match="fonts-dejavu-core"):
        letter_pdf(LETTER, font_dir=tmp_path)


# -- the e-mail ------------------------------------------------------------------------------------

ENV = make_environment()


def _context(letter: Letter) -> dict[str, Any]:
    """What the deadline sweep gives templates/final_reply/* (the ticket's facts and the letter)."""
    return {"ref": letter.ref, "name": letter.customer_name, "subject": letter.subject,
            "letter_text": letter_text(letter), "received_date": letter.received, "company": letter.company,
            "department": letter.department, "hotline": letter.hotline}


def test_final_reply_templates() -> None:
    out = render(ENV, "final_reply", _context(LETTER))
    assert out.subject == "[KP-2026-000123] V/v Trả lời khiếu nại: Mất sóng K+ từ 3 ngày nay"
    assert out.text.startswith(EXPECTED_TEXT)
    assert "[KP-2026-000123]" in out.text.removeprefix(EXPECTED_TEXT)
    assert '<p style="margin:0 0 12px 0;line-height:1.5;text-align:right">Hà Nội, ngày 05 tháng 01 năm 2026</p>' \
        in out.html
    assert "Kính gửi: Quý khách Nguyễn Thị Ánh Tuyết<br>Địa chỉ: 12 Nguyễn Trãi" in out.html
    assert "ngày 03/01/2026.<br>K+ hoàn lại phí thuê bao 7 ngày là 175.000đ.</p>" in out.html
    assert "Trân trọng,<br>Phòng Chăm sóc Khách hàng<br>K+<br>Tổng đài: 1900 1592</p>" in out.html


def test_final_reply_html_is_escaped() -> None:
    hostile = dataclasses.replace(LETTER, customer_name="<b>An</b>", body="<script>alert(1)</script> & <img src=x>",
                                  subject="<i>gấp</i>")
    out = render(ENV, "final_reply", _context(hostile))
    assert "<script>" not in out.html and "<img" not in out.html and "<b>An</b>" not in out.html
    assert "&lt;b&gt;An&lt;/b&gt;" in out.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;img src=x&gt;" in out.html
    assert "<script>alert(1)</script> & <img src=x>" in out.text
    assert out.subject.endswith("<i>gấp</i>")


def test_final_reply_message_carries_the_pdf() -> None:
    pdf = letter_pdf(LETTER)
    msg = build_message(
        Config(), render(ENV, "final_reply", _context(LETTER)),
        to="tuyet.nguyen@gmail.com", message_id=f"<final_reply.{REF}.0123456789abcdef@kplus.example>",
        now=datetime(2026, 1, 5, 2, 0, tzinfo=UTC), ref=REF,
        attachments=((f"{REF}-tra-loi.pdf", "application/pdf", pdf),),
    )
    parsed = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    attachments = list(parsed.iter_attachments())
    assert [a.get_filename() for a in attachments] == [f"{REF}-tra-loi.pdf"]
    assert attachments[0].get_content_type() == "application/pdf"
    assert attachments[0].get_content() == pdf
    plain = parsed.get_body(("plain",))
    assert plain is not None and "V/v: Trả lời khiếu nại số KP-2026-000123 ngày 29/12/2025" in plain.get_content()
