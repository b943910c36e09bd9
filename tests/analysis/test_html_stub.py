"""multipart/alternative whose text/plain is only a stub pointing at the HTML part: the body is
read from the HTML (issue 14); a real plain part still wins, and its HTML twin is not decoded."""

from __future__ import annotations

import pytest

from mailproc.analysis.parsing import _is_stub, parse_message
from mailproc.config import ParsingConfig


def _alternative(plain: str, html: str) -> bytes:
    return (
        "From: a@b.vn\nTo: cskh@kplus.example\nSubject: x\nMessage-ID: <s@b.vn>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/alternative; boundary="B"\n\n'
        f"--B\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n{plain}\n"
        f"--B\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n{html}\n--B--\n"
    ).encode()


HTML = "<div>Số thẻ: 8401 2345 6789</div><div>SĐT: 0912 345 678</div>"


@pytest.mark.parametrize("stub", [
    "This message is in HTML format. Please use an HTML-capable mail client.",
    "Thư này được soạn ở định dạng HTML. Vui lòng xem bằng trình duyệt hỗ trợ HTML.",
    "Your email client does not support HTML messages.",
    "",
    "   \n  ",
])
def test_stub_plain_part_yields_the_html_text(stub: str) -> None:
    parsed = parse_message(_alternative(stub, HTML), ParsingConfig())
    assert "8401 2345 6789" in parsed.text
    assert "HTML" not in parsed.text


@pytest.mark.parametrize("plain", [
    "Nhà em mất sóng. Số thẻ: 8401 2345 6789",
    "Em gửi file html đính kèm nhưng nhà em vẫn mất sóng từ hôm qua, số thẻ 8401 2345 6789.",
])
def test_real_plain_part_wins(plain: str) -> None:
    assert not _is_stub(plain)
    parsed = parse_message(_alternative(plain, "<div>khác</div>"), ParsingConfig())
    assert parsed.text.strip() == plain


def test_stub_with_empty_html_keeps_the_plain_part() -> None:
    stub = "This message is in HTML format."
    assert parse_message(_alternative(stub, "<div> </div>"), ParsingConfig()).text.strip() == stub
