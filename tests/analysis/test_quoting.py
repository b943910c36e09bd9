"""split_body and is_forward_subject: new text, quoted history and forwarded content.

Each case is a body as the named client writes it (plain-text part, NFC, ``\\n`` line ends)
and the three parts a reader would cut it into by hand: what the customer typed now, the
history they replied to, and a forwarded complaint.
"""

from __future__ import annotations

import pytest

from mailproc.analysis.quoting import SplitBody, is_forward_subject, split_body

NEW = "Tôi vẫn chưa xem được K+.\nSố thẻ: 0123 4567 8901"
OLD = "Kính gửi Quý khách,\nXin cung cấp số thẻ giải mã."


def _body(*blocks: str) -> str:
    return "\n".join(blocks)


# (id, body, subject, new_text, quoted_text, forwarded_text)
CASES: list[tuple[str, str, str, str, str, str]] = [
    (
        "no markers",
        "Kính gửi K+,\n\nNhà tôi mất sóng từ hôm qua.\n\nTrân trọng,\nAn\n",
        "Mất sóng",
        "Kính gửi K+,\n\nNhà tôi mất sóng từ hôm qua.\n\nTrân trọng,\nAn",
        "",
        "",
    ),
    (
        "empty body",
        "",
        "",
        "",
        "",
        "",
    ),
    (
        "gmail english attribution",
        _body(NEW, "", "On Mon, Oct 5, 2026 at 8:15 AM CSKH K+ <cskh@kplus.example> wrote:", "", OLD),
        "Re: [KP-2026-000123] Mất sóng",
        NEW,
        "On Mon, Oct 5, 2026 at 8:15 AM CSKH K+ <cskh@kplus.example> wrote:\n\n" + OLD,
        "",
    ),
    (
        "gmail vietnamese attribution",
        _body(NEW, "", "Vào Th 2, 5 thg 10, 2026 lúc 08:15 Nguyễn <a@b> đã viết:", "", OLD),
        "Re: Mất sóng",
        NEW,
        "Vào Th 2, 5 thg 10, 2026 lúc 08:15 Nguyễn <a@b> đã viết:\n\n" + OLD,
        "",
    ),
    (
        "gmail vietnamese attribution wrapped over two lines",
        _body(
            NEW,
            "",
            "Vào Th 2, 5 thg 10, 2026 lúc 08:15 Phòng Chăm sóc Khách hàng K+ <",
            "cskh@kplus.example> đã viết:",
            "",
            OLD,
        ),
        "Re: Mất sóng",
        NEW,
        "Vào Th 2, 5 thg 10, 2026 lúc 08:15 Phòng Chăm sóc Khách hàng K+ <\n"
        "cskh@kplus.example> đã viết:\n\n" + OLD,
        "",
    ),
    (
        "english attribution wrapped over two lines",
        _body(NEW, "", "On Mon, Oct 5, 2026 at 8:15 AM CSKH K+ <cskh@kplus.example>", "wrote:", "", OLD),
        "Re: Mất sóng",
        NEW,
        "On Mon, Oct 5, 2026 at 8:15 AM CSKH K+ <cskh@kplus.example>\nwrote:\n\n" + OLD,
        "",
    ),
    (
        "thunderbird attribution",
        _body(NEW, "", "On 05/10/2026 08:15, CSKH K+ wrote:", OLD),
        "Re: Mất sóng",
        NEW,
        "On 05/10/2026 08:15, CSKH K+ wrote:\n" + OLD,
        "",
    ),
    (
        "apple mail attribution",
        _body(NEW, "", "On Oct 5, 2026, at 08:15, CSKH K+ <cskh@kplus.example> wrote:", "", OLD),
        "Re: Mất sóng",
        NEW,
        "On Oct 5, 2026, at 08:15, CSKH K+ <cskh@kplus.example> wrote:\n\n" + OLD,
        "",
    ),
    (
        "yahoo attribution",
        _body(
            NEW,
            "",
            "On Monday, October 5, 2026, 08:15:00 AM GMT+7, CSKH K+ <cskh@kplus.example> wrote:",
            "",
            OLD,
        ),
        "Re: Mất sóng",
        NEW,
        "On Monday, October 5, 2026, 08:15:00 AM GMT+7, CSKH K+ <cskh@kplus.example> wrote:\n\n" + OLD,
        "",
    ),
    (
        "outlook original message",
        _body(NEW, "", "-----Original Message-----", "From: CSKH K+", OLD),
        "RE: Mất sóng",
        NEW,
        "-----Original Message-----\nFrom: CSKH K+\n" + OLD,
        "",
    ),
    (
        "yahoo original message with spaces",
        _body(NEW, "", "----- Original Message -----", "From: CSKH K+", OLD),
        "Re: Mất sóng",
        NEW,
        "----- Original Message -----\nFrom: CSKH K+\n" + OLD,
        "",
    ),
    (
        "outlook header block",
        _body(
            NEW,
            "",
            "From: CSKH K+ <cskh@kplus.example>",
            "Sent: Monday, October 5, 2026 8:15 AM",
            "To: An <an@gmail.com>",
            "Subject: [KP-2026-000123] Mất sóng",
            "",
            OLD,
        ),
        "RE: [KP-2026-000123] Mất sóng",
        NEW,
        "From: CSKH K+ <cskh@kplus.example>\nSent: Monday, October 5, 2026 8:15 AM\n"
        "To: An <an@gmail.com>\nSubject: [KP-2026-000123] Mất sóng\n\n" + OLD,
        "",
    ),
    (
        "outlook header block in vietnamese",
        _body(
            NEW,
            "",
            "Từ: CSKH K+ <cskh@kplus.example>",
            "Đã gửi: Thứ Hai, 5 tháng 10, 2026 8:15 SA",
            "Đến: An <an@gmail.com>",
            "Chủ đề: [KP-2026-000123] Mất sóng",
            "",
            OLD,
        ),
        "TL: [KP-2026-000123] Mất sóng",
        NEW,
        "Từ: CSKH K+ <cskh@kplus.example>\nĐã gửi: Thứ Hai, 5 tháng 10, 2026 8:15 SA\n"
        "Đến: An <an@gmail.com>\nChủ đề: [KP-2026-000123] Mất sóng\n\n" + OLD,
        "",
    ),
    (
        "outlook bold header block (HTML converted)",
        _body(
            NEW,
            "",
            "*From:* CSKH K+ <cskh@kplus.example>",
            "*Sent:* Monday, October 5, 2026 8:15 AM",
            "*To:* An <an@gmail.com>",
            "*Subject:* Mất sóng",
            OLD,
        ),
        "RE: Mất sóng",
        NEW,
        "*From:* CSKH K+ <cskh@kplus.example>\n*Sent:* Monday, October 5, 2026 8:15 AM\n"
        "*To:* An <an@gmail.com>\n*Subject:* Mất sóng\n" + OLD,
        "",
    ),
    (
        "outlook header block under a forward subject is a forward",
        _body(
            "Nhờ K+ xử lý giúp khiếu nại của mẹ tôi.",
            "",
            "From: Trần Thị Bình <binh@yahoo.com>",
            "Sent: Monday, October 5, 2026 8:15 AM",
            "To: An <an@gmail.com>",
            "Subject: Mất sóng",
            "",
            "Số thẻ: 0123 4567 8901",
        ),
        "FW: Mất sóng",
        "Nhờ K+ xử lý giúp khiếu nại của mẹ tôi.",
        "",
        "From: Trần Thị Bình <binh@yahoo.com>\nSent: Monday, October 5, 2026 8:15 AM\n"
        "To: An <an@gmail.com>\nSubject: Mất sóng\n\nSố thẻ: 0123 4567 8901",
    ),
    (
        "vietnamese outlook header block under Chuyển tiếp",
        _body(
            "Chuyển K+ xem giúp.",
            "Từ: Trần Thị Bình <binh@yahoo.com>",
            "Đã gửi: Thứ Hai, 5 tháng 10, 2026 8:15 SA",
            "Đến: An <an@gmail.com>",
            "Chủ đề: Mất sóng",
            "Số thẻ: 0123 4567 8901",
        ),
        "Chuyển tiếp: Mất sóng",
        "Chuyển K+ xem giúp.",
        "",
        "Từ: Trần Thị Bình <binh@yahoo.com>\nĐã gửi: Thứ Hai, 5 tháng 10, 2026 8:15 SA\n"
        "Đến: An <an@gmail.com>\nChủ đề: Mất sóng\nSố thẻ: 0123 4567 8901",
    ),
    (
        "gmail forwarded message",
        _body(
            "Em chuyển tiếp khiếu nại của khách.",
            "",
            "---------- Forwarded message ---------",
            "From: Trần Thị Bình <binh@yahoo.com>",
            "Date: Mon, Oct 5, 2026 at 8:15 AM",
            "Subject: Mất sóng",
            "To: <an@gmail.com>",
            "",
            "Số thẻ: 0123 4567 8901",
        ),
        "Fwd: Mất sóng",
        "Em chuyển tiếp khiếu nại của khách.",
        "",
        "---------- Forwarded message ---------\nFrom: Trần Thị Bình <binh@yahoo.com>\n"
        "Date: Mon, Oct 5, 2026 at 8:15 AM\nSubject: Mất sóng\nTo: <an@gmail.com>\n\n"
        "Số thẻ: 0123 4567 8901",
    ),
    (
        "gmail forwarded message in vietnamese",
        _body(
            "Em chuyển tiếp khiếu nại của khách.",
            "",
            "---------- Thư đã chuyển tiếp ----------",
            "Từ: Trần Thị Bình <binh@yahoo.com>",
            "Date: Th 2, 5 thg 10, 2026 lúc 08:15",
            "Subject: Mất sóng",
            "",
            "Số thẻ: 0123 4567 8901",
        ),
        "Fwd: Mất sóng",
        "Em chuyển tiếp khiếu nại của khách.",
        "",
        "---------- Thư đã chuyển tiếp ----------\nTừ: Trần Thị Bình <binh@yahoo.com>\n"
        "Date: Th 2, 5 thg 10, 2026 lúc 08:15\nSubject: Mất sóng\n\nSố thẻ: 0123 4567 8901",
    ),
    (
        "forward marker without a forward subject is still a forward",
        _body("Xem giúp em.", "---------- Forwarded message ---------", "Số thẻ: 0123 4567 8901"),
        "Mất sóng",
        "Xem giúp em.",
        "",
        "---------- Forwarded message ---------\nSố thẻ: 0123 4567 8901",
    ),
    (
        "apple begin forwarded message",
        _body(
            "Gửi K+.",
            "",
            "Begin forwarded message:",
            "",
            "From: Trần Thị Bình <binh@yahoo.com>",
            "Subject: Mất sóng",
            "Date: October 5, 2026 at 08:15:00 GMT+7",
            "",
            "Số thẻ: 0123 4567 8901",
        ),
        "Fwd: Mất sóng",
        "Gửi K+.",
        "",
        "Begin forwarded message:\n\nFrom: Trần Thị Bình <binh@yahoo.com>\nSubject: Mất sóng\n"
        "Date: October 5, 2026 at 08:15:00 GMT+7\n\nSố thẻ: 0123 4567 8901",
    ),
    (
        "a forward with nothing typed above it",
        _body("---------- Forwarded message ---------", "From: B <b@yahoo.com>", "", "Mất sóng"),
        "Fwd: Mất sóng",
        "",
        "",
        "---------- Forwarded message ---------\nFrom: B <b@yahoo.com>\n\nMất sóng",
    ),
    (
        "signature stays in new text",
        _body(
            "Tôi gửi bổ sung số điện thoại: 0912 345 678",
            "",
            "-- ",
            "Nguyễn Văn An",
            "Phòng Kế toán - Công ty ABC",
            "ĐT: 024 3821 2345",
            "",
            "Vào Th 2, 5 thg 10, 2026 lúc 08:15 CSKH K+ <cskh@kplus.example> đã viết:",
            "> " + OLD.replace("\n", "\n> "),
        ),
        "Re: Mất sóng",
        "Tôi gửi bổ sung số điện thoại: 0912 345 678\n\n-- \nNguyễn Văn An\n"
        "Phòng Kế toán - Công ty ABC\nĐT: 024 3821 2345",
        None,  # the attribution line may or may not be kept with the history
        "",
    ),
    (
        "signature with no history",
        "Cảm ơn K+.\n\nTrân trọng,\n--\nLê Văn Cường\nSĐT: 0987 654 321\n",
        "Mất sóng",
        "Cảm ơn K+.\n\nTrân trọng,\n--\nLê Văn Cường\nSĐT: 0987 654 321",
        "",
        "",
    ),
    (
        "'>' quoting with inline answers",
        _body(
            "> Xin Quý khách cho biết số thẻ giải mã?",
            "Số thẻ: 0123 4567 8901",
            "",
            "> Và số điện thoại liên hệ?",
            "0912 345 678",
        ),
        "Re: Mất sóng",
        "Số thẻ: 0123 4567 8901\n\n0912 345 678",
        "Xin Quý khách cho biết số thẻ giải mã?\nVà số điện thoại liên hệ?",
        "",
    ),
    (
        "'>' quoting with inline answers under an english attribution",
        _body(
            "On Mon, Oct 5, 2026 at 8:15 AM CSKH K+ <cskh@kplus.example> wrote:",
            "> Xin Quý khách cho biết số thẻ giải mã?",
            "Số thẻ: 0123 4567 8901",
            "> Và số điện thoại liên hệ?",
            "0912 345 678",
        ),
        "Re: Mất sóng",
        "Số thẻ: 0123 4567 8901\n0912 345 678",
        "Xin Quý khách cho biết số thẻ giải mã?\nVà số điện thoại liên hệ?",
        "",
    ),
    (
        "'>' quoting with inline answers under a vietnamese attribution",
        _body(
            "Vào Th 2, 5 thg 10, 2026 lúc 08:15 CSKH K+ <cskh@kplus.example> đã viết:",
            "> Xin Quý khách cho biết số thẻ giải mã?",
            "Số thẻ: 0123 4567 8901",
        ),
        "Re: Mất sóng",
        "Số thẻ: 0123 4567 8901",
        "Xin Quý khách cho biết số thẻ giải mã?",
        "",
    ),
    (
        "'>' quoting with inline answers under a wrapped attribution",
        _body(
            "Vào Th 2, 5 thg 10, 2026 lúc 08:15 Phòng Chăm sóc Khách hàng K+ <",
            "cskh@kplus.example> đã viết:",
            "",
            "> Xin Quý khách cho biết số thẻ giải mã?",
            "Số thẻ: 0123 4567 8901",
        ),
        "Re: Mất sóng",
        "Số thẻ: 0123 4567 8901",
        "Xin Quý khách cho biết số thẻ giải mã?",
        "",
    ),
    (
        "top posting over a fully '>' quoted history",
        _body(NEW, "", "On Mon, Oct 5, 2026 at 8:15 AM CSKH K+ <cskh@kplus.example> wrote:",
              "> Kính gửi Quý khách,", "> Xin cung cấp số thẻ giải mã."),
        "Re: Mất sóng",
        NEW,
        OLD,
        "",
    ),
    (
        "nested '>>' quoting",
        _body("Đã gửi rồi ạ.", "> Xin bổ sung.", ">> Mất sóng từ hôm qua."),
        "Re: Re: Mất sóng",
        "Đã gửi rồi ạ.",
        "Xin bổ sung.\n> Mất sóng từ hôm qua.",
        "",
    ),
]


@pytest.mark.parametrize(
    ("body", "subject", "new_text", "quoted_text", "forwarded_text"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_split_body(body: str, subject: str, new_text: str, quoted_text: str | None,
                    forwarded_text: str) -> None:
    result = split_body(body, subject=subject)
    assert isinstance(result, SplitBody)
    assert result.new_text == new_text
    if quoted_text is not None:
        assert result.quoted_text == quoted_text
    else:
        # Only the history's own lines are pinned; the attribution line may go with it.
        assert "Xin cung cấp số thẻ giải mã." in result.quoted_text
        assert "0912 345 678" not in result.quoted_text
    assert result.forwarded_text == forwarded_text


@pytest.mark.parametrize(
    ("line"),
    [
        # Ordinary sentences that merely contain the trigger words are not history markers.
        "On the phone they said it would be fixed.",
        "Vào ngày 05/10 tôi đã gọi tổng đài.",
        "Từ hôm qua tôi không xem được.",
        "Tôi đã viết thư này để khiếu nại.",
        "Đến nay vẫn chưa có ai liên hệ.",
    ],
)
def test_ordinary_lines_are_not_markers(line: str) -> None:
    body = f"Kính gửi K+,\n{line}\nSố thẻ: 0123 4567 8901"
    assert split_body(body, subject="Mất sóng") == SplitBody(body, "", "")


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Fwd: Mất sóng", True),
        ("FW: Mất sóng", True),
        ("Fw: Mất sóng", True),
        ("fwd : Mất sóng", True),
        ("Chuyển tiếp: Mất sóng", True),
        ("CHUYỂN TIẾP: Mất sóng", True),
        ("Chuyen tiep: Mat song", True),
        ("CT: Mất sóng", True),
        ("Re: Fwd: Mất sóng", True),  # a reply to a forward: the forward is still in the body
        ("TL: FW: Mất sóng", True),
        ("Trả lời: Chuyển tiếp: Mất sóng", True),
        ("Re: Mất sóng", False),
        ("TL: Mất sóng", False),
        ("Mất sóng", False),
        ("", False),
        ("Fwd khiếu nại mất sóng", False),  # no colon: just a word
        ("Forward lỗi E48", False),
        ("Re: Phí chuyển tiếp cuộc gọi", False),
    ],
)
def test_is_forward_subject(subject: str, expected: bool) -> None:
    assert is_forward_subject(subject) is expected
