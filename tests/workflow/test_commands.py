"""parse_commands and spellings: the '#command' block at the top of an agent's reply.

Each case is a reply as an agent would type it (NFC, ``\\n`` line ends unless the case says
otherwise) and what a reader finds in it by hand: the commands as (name, arg, known), in
order, and the message left after the block.
"""

from __future__ import annotations

import unicodedata

import pytest

from mailproc.workflow.commands import ALIASES, CANONICAL, Command, ParsedCommands, parse_commands, spellings

BODY = "Kính gửi Quý khách,\nK+ đã kích hoạt lại thẻ của Quý khách."

# (id, reply, [(name, arg, known), ...], body)
CASES: list[tuple[str, str, list[tuple[str, str, bool]], str]] = [
    # English spellings
    ("accept", f"#accept\n{BODY}", [("accept", "", True)], BODY),
    ("upper case", "#ACCEPT\n", [("accept", "", True)], ""),
    ("resolve", "#resolve\nĐã kích hoạt lại.", [("resolve", "", True)], "Đã kích hoạt lại."),
    ("escalate", "#escalate\n", [("escalate", "", True)], ""),
    ("reject with reason", "#reject Khiếu nại gửi sau thời hạn 1 tháng", [
        ("reject", "Khiếu nại gửi sau thời hạn 1 tháng", True)], ""),
    ("reject without reason", "#reject\n", [("reject", "", True)], ""),
    ("assign keeps the address as written", "#assign L2.Le@KPlus.example", [
        ("assign", "L2.Le@KPlus.example", True)], ""),
    ("meeting keeps inner spacing", "#meeting  15/01/2026 9:00   K+ Store 12 Lê Lợi ", [
        ("meeting", "15/01/2026 9:00   K+ Store 12 Lê Lợi", True)], ""),
    ("minutes", "#minutes\nBiên bản đính kèm.", [("minutes", "", True)], "Biên bản đính kèm."),
    ("consult", "#consult Kỹ thuật", [("consult", "Kỹ thuật", True)], ""),
    ("final", f"#final\n{BODY}", [("final", "", True)], BODY),
    ("note", "#note khách gọi lại lúc 9h", [("note", "khách gọi lại lúc 9h", True)], ""),
    # Vietnamese, with diacritics, hyphenated or joined by '_'
    ("chấp-nhận", "#chấp-nhận\n", [("accept", "", True)], ""),
    ("Chấp_Nhận mixed case", "#Chấp_Nhận\n", [("accept", "", True)], ""),
    ("từ-chối reason", "#từ-chối Khiếu nại gửi sau thời hạn", [("reject", "Khiếu nại gửi sau thời hạn", True)], ""),
    ("đã-giải-quyết", "#đã-giải-quyết\nCảm ơn Quý khách.", [("resolve", "", True)], "Cảm ơn Quý khách."),
    ("giải-quyết", "#giải-quyết", [("resolve", "", True)], ""),
    ("xong", "#xong", [("resolve", "", True)], ""),
    ("đã_xong", "#đã_xong", [("resolve", "", True)], ""),
    ("chuyển-cấp-2", "#chuyển-cấp-2", [("escalate", "", True)], ""),
    ("Cấp-2", "#Cấp-2", [("escalate", "", True)], ""),
    ("ghi-chú", "#Ghi_Chú nội bộ: khách khó tính", [("note", "nội bộ: khách khó tính", True)], ""),
    ("giao", "#giao hoa.nguyen@kplus.example", [("assign", "hoa.nguyen@kplus.example", True)], ""),
    ("phân-công", "#phân-công l2.le@kplus.example", [("assign", "l2.le@kplus.example", True)], ""),
    ("hẹn-gặp", "#hẹn-gặp 20/01/2026 14:00 Văn phòng K+ Hà Nội", [
        ("meeting", "20/01/2026 14:00 Văn phòng K+ Hà Nội", True)], ""),
    ("mời-họp", "#mời-họp 21/01/2026 10:00 Phòng họp 3", [("meeting", "21/01/2026 10:00 Phòng họp 3", True)], ""),
    ("biên-bản", "#biên-bản", [("minutes", "", True)], ""),
    ("phối-hợp", "#phối-hợp Kỹ thuật", [("consult", "Kỹ thuật", True)], ""),
    ("hỏi-ý-kiến", "#hỏi-ý-kiến Kế toán", [("consult", "Kế toán", True)], ""),
    ("tham-vấn", "#tham-vấn Pháp chế", [("consult", "Pháp chế", True)], ""),
    ("trả-lời-chính-thức", f"#trả-lời-chính-thức\n{BODY}", [("final", "", True)], BODY),
    ("văn_bản_trả_lời", "#văn_bản_trả_lời", [("final", "", True)], ""),
    # Vietnamese without diacritics, hyphenated, joined or upper case
    ("chap-nhan", "#chap-nhan", [("accept", "", True)], ""),
    ("CHAPNHAN", "#CHAPNHAN", [("accept", "", True)], ""),
    ("tu_choi colon", "#tu_choi: qua han", [("reject", "qua han", True)], ""),
    ("chuyen_cap_2", "#chuyen_cap_2", [("escalate", "", True)], ""),
    ("cap2", "#cap2", [("escalate", "", True)], ""),
    ("da.giai.quyet dots ignored", "#da.giai.quyet", [("resolve", "", True)], ""),
    ("bienban", "#bienban", [("minutes", "", True)], ""),
    ("hengap", "#hengap 22/01 9h K+ Store", [("meeting", "22/01 9h K+ Store", True)], ""),
    ("vanbantraloi", "#vanbantraloi", [("final", "", True)], ""),
    ("phancong", "#phancong l1.an@kplus.example", [("assign", "l1.an@kplus.example", True)], ""),
    # Multi-word spellings typed with spaces
    ("chấp nhận spaced", "#chấp nhận\nabc", [("accept", "", True)], "abc"),
    ("chuyển cấp 2 spaced", "#chuyển cấp 2 khách đòi bồi thường", [("escalate", "khách đòi bồi thường", True)], ""),
    ("hoi y kien spaced with department", "#hoi y kien Ky thuat", [("consult", "Ky thuat", True)], ""),
    ("văn bản trả lời spaced", "#văn bản trả lời", [("final", "", True)], ""),
    ("spaced, then no spelling: unknown first word", "#chấp nhậnx", [("chấp", "nhậnx", False)], ""),
    # Several commands, blank lines, indentation, line ends
    ("several commands", "#accept\n#note đã gọi khách\n#assign l2.le@kplus.example\n\nKính gửi Quý khách,", [
        ("accept", "", True), ("note", "đã gọi khách", True), ("assign", "l2.le@kplus.example", True)],
     "Kính gửi Quý khách,"),
    ("leading blank lines and indentation", "\n\n   \n  #xong\n\tĐã xử lý.\n", [("resolve", "", True)], "Đã xử lý."),
    ("indented second command", "#accept\n   #ghi-chú x", [("accept", "", True), ("note", "x", True)], ""),
    ("CRLF", "#accept\r\n#note a\r\nbody\r\n", [("accept", "", True), ("note", "a", True)], "body"),
    ("tab before the argument", "#reject\tQuá hạn", [("reject", "Quá hạn", True)], ""),
    ("comma after the word", "#accept, cảm ơn", [("accept", "cảm ơn", True)], ""),
    ("colon without space", "#reject:Quá hạn", [("reject", "Quá hạn", True)], ""),
    ("full stop after the word", "#xong.", [("resolve", "", True)], ""),
    ("only commands: empty body", "#accept\n#note x\n", [("accept", "", True), ("note", "x", True)], ""),
    # The block ends at the first other line (a blank line included)
    ("blank line ends the block", "#accept\n\n#note x", [("accept", "", True)], "#note x"),
    ("text line ends the block", "#accept\nDòng 1\n#note x", [("accept", "", True)], "Dòng 1\n#note x"),
    ("ticket ref ends the block", "#accept\n#KP-2026-000001 ghi chú", [("accept", "", True)],
     "#KP-2026-000001 ghi chú"),
    # Not commands at all
    ("no '#'", "  Kính gửi Quý khách,\nNội dung.  \n", [], "Kính gửi Quý khách,\nNội dung."),
    ("empty", "", [], ""),
    ("'#' then space", "# 1. Tiêu đề\n#accept", [], "# 1. Tiêu đề\n#accept"),
    ("'#' then digit", "#1 ưu tiên", [], "#1 ưu tiên"),
    ("ticket ref", "#KP-2026-000001", [], "#KP-2026-000001"),
    ("ticket ref without dashes", "#kp2026000001", [], "#kp2026000001"),
    ("'##'", "##accept", [], "##accept"),
    ("'#' alone", "#\n#accept", [], "#\n#accept"),
    ("'#-'", "#-accept", [], "#-accept"),
    ("command not at the top", "Kính gửi,\n#accept", [], "Kính gửi,\n#accept"),
    # Unknown words: reported as written, lower-case, so the agent can be told
    ("unknown English", "#close now\nbody", [("close", "now", False)], "body"),
    ("unknown Vietnamese", "#Đóng", [("đóng", "", False)], ""),
    ("unknown with one digit", "#cap3", [("cap3", "", False)], ""),
    ("unknown between known", "#accept\n#foo bar\n#note x", [
        ("accept", "", True), ("foo", "bar", False), ("note", "x", True)], ""),
]


@pytest.mark.parametrize(("reply", "expected", "body"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_parse_commands(reply: str, expected: list[tuple[str, str, bool]], body: str) -> None:
    parsed = parse_commands(reply)
    assert [(c.name, c.arg, c.known) for c in parsed.commands] == expected
    assert parsed.body == body


def test_line_is_the_original_line() -> None:
    parsed = parse_commands("  #Từ-Chối  Quá hạn  \r\nbody")
    assert parsed == ParsedCommands(
        commands=(Command(name="reject", arg="Quá hạn", line="  #Từ-Chối  Quá hạn  ", known=True),), body="body"
    )


def test_decomposed_input() -> None:
    reply = unicodedata.normalize("NFD", "#chấp-nhận\n#từ-chối quá hạn")
    assert [(c.name, c.known) for c in parse_commands(reply).commands] == [("accept", True), ("reject", True)]


ALL_SPELLINGS = [(name, s) for name, spelled in ALIASES.items() for s in spelled]


@pytest.mark.parametrize(("name", "spelling"), ALL_SPELLINGS, ids=[s for _, s in ALL_SPELLINGS])
def test_every_listed_spelling(name: str, spelling: str) -> None:
    for written in (spelling, spelling.upper()):
        assert parse_commands(f"#{written} x").commands == (Command(name, "x", f"#{written} x", True),)


def test_aliases_table() -> None:
    assert tuple(ALIASES) == CANONICAL
    for name, spelled in ALIASES.items():
        assert spelled[0] == name  # English first
        assert any(not s.isascii() for s in spelled[1:])  # Vietnamese with diacritics
        assert any(s.isascii() and s.isalnum() for s in spelled[1:])  # a joined form without diacritics


def test_no_spelling_means_two_commands() -> None:
    seen: dict[str, str] = {}
    for name, spelled in ALIASES.items():
        for spelling in spelled:
            key = spelling.replace("-", "").replace("_", "")
            key = "".join(c for c in unicodedata.normalize("NFD", key.replace("đ", "d")) if c.isascii()).lower()
            assert seen.setdefault(key, name) == name, spelling


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("accept", "#accept / #chấp-nhận / #chapnhan"),
        ("reject", "#reject / #từ-chối / #tuchoi"),
        ("escalate", "#escalate / #chuyển-cấp-2 / #chuyencap2 / #cấp-2 / #cap2"),
        ("assign", "#assign / #giao / #phân-công / #phancong"),
        ("resolve", "#resolve / #đã-giải-quyết / #dagiaiquyet / #giải-quyết / #giaiquyet / #xong"
                    " / #đã-xong / #daxong"),
        ("minutes", "#minutes / #biên-bản / #bienban"),
    ],
)
def test_spellings(name: str, expected: str) -> None:
    assert spellings(name) == expected


def test_spellings_unknown() -> None:
    with pytest.raises(ValueError, match="unknown command 'close'"):
        spellings("close")
