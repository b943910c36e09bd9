"""Read the ``#command`` lines at the top of an agent's reply, in English or Vietnamese.

An agent answers a ticket notice by replying to the shared mailbox. The first lines of the
reply may be commands (``#accept``, ``#từ-chối Quá hạn``, ``#giao l2.le@kplus.example``); the
text after them is the agent's message. This module only reads the commands: who may run which
one, and what it does to a ticket, is decided elsewhere.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from mailproc.analysis.extract import phone as extract_phone
from mailproc.analysis.extract.shapes import EMAIL_RE
from mailproc.config import ExtractConfig
from mailproc.core.textnorm import fold

CANONICAL = ("resolve", "escalate", "accept", "reject", "note", "assign", "meeting", "minutes", "consult", "final",
             "set", "list", "queue", "show", "report", "new", "received", "channel")

# Every accepted spelling: the English name first, then each Vietnamese phrase as an agent at
# K+ would type it, with diacritics (joined by '-' and by '_') and without (hyphenated and
# joined). Matching folds the word and ignores '-', '_' and '.', so these lists are also the
# documentation: any casing, tone placement or separator of a listed spelling is accepted.
# The phrases are the words of the published process and of everyday office Vietnamese:
#   resolve  – "đã giải quyết" / "giải quyết" (resolved), "xong" / "đã xong" (done)
#   escalate – "chuyển cấp 2" (pass to level 2), short "cấp 2"
#   accept   – "chấp nhận" (accept the complaint: the acceptance notice of step 4)
#   reject   – "từ chối" (refuse, with the reason)
#   note     – "ghi chú" (internal note)
#   assign   – "giao" (hand to), "phân công" (assign)
#   meeting  – "hẹn gặp" (arrange to meet), "mời họp" (invite to a meeting)
#   minutes  – "biên bản" (the signed minutes of the meeting)
#   consult  – "phối hợp" (coordinate with), "hỏi ý kiến" (ask the opinion of), "tham vấn"
#   final    – "trả lời chính thức" (official answer), "văn bản trả lời" (written answer)
#   set      – "sửa" (correct), "sửa lại" (correct again), "cập nhật" (update): FIELD VALUE
# The queries (they need no ticket and change none; see workflow.queries):
#   list     – "danh sách" (list: my open tickets)
#   queue    – "hàng đợi" (queue): L1 | L2
#   show     – "xem" (look at), "chi tiết" / "xem chi tiết" (details): REF
#   report   – "báo cáo" (report: the digest, now)
# Logging a complaint taken elsewhere (a mail of its own; see workflow.logged):
#   new      – "mới" (new), "tạo" / "tạo mới" (create), "ghi nhận" (record)
#   received – "ngày nhận" (day received), "tiếp nhận" (taken in): DD/MM/YYYY [HH:MM]
#   channel  – "kênh" (channel): hotline | store | …
ALIASES: dict[str, tuple[str, ...]] = {
    "resolve": (
        "resolve",
        "đã-giải-quyết", "đã_giải_quyết", "da-giai-quyet", "dagiaiquyet",
        "giải-quyết", "giải_quyết", "giai-quyet", "giaiquyet",
        "xong",
        "đã-xong", "đã_xong", "da-xong", "daxong",
    ),
    "escalate": (
        "escalate",
        "chuyển-cấp-2", "chuyển_cấp_2", "chuyen-cap-2", "chuyencap2",
        "cấp-2", "cấp_2", "cap-2", "cap2",
    ),
    "accept": ("accept", "chấp-nhận", "chấp_nhận", "chap-nhan", "chapnhan"),
    "reject": ("reject", "từ-chối", "từ_chối", "tu-choi", "tuchoi"),
    "note": ("note", "ghi-chú", "ghi_chú", "ghi-chu", "ghichu"),
    "assign": ("assign", "giao", "phân-công", "phân_công", "phan-cong", "phancong"),
    "meeting": (
        "meeting",
        "hẹn-gặp", "hẹn_gặp", "hen-gap", "hengap",
        "mời-họp", "mời_họp", "moi-hop", "moihop",
    ),
    "minutes": ("minutes", "biên-bản", "biên_bản", "bien-ban", "bienban"),
    "consult": (
        "consult",
        "phối-hợp", "phối_hợp", "phoi-hop", "phoihop",
        "hỏi-ý-kiến", "hỏi_ý_kiến", "hoi-y-kien", "hoiykien",
        "tham-vấn", "tham_vấn", "tham-van", "thamvan",
    ),
    "final": (
        "final",
        "trả-lời-chính-thức", "trả_lời_chính_thức", "tra-loi-chinh-thuc", "traloichinhthuc",
        "văn-bản-trả-lời", "văn_bản_trả_lời", "van-ban-tra-loi", "vanbantraloi",
    ),
    "set": (
        "set",
        "sửa", "sua",
        "sửa-lại", "sửa_lại", "sua-lai", "sualai",
        "cập-nhật", "cập_nhật", "cap-nhat", "capnhat",
    ),
    "list": ("list", "danh-sách", "danh_sách", "danh-sach", "danhsach"),
    "queue": ("queue", "hàng-đợi", "hàng_đợi", "hang-doi", "hangdoi"),
    "show": (
        "show",
        "xem",
        "chi-tiết", "chi_tiết", "chi-tiet", "chitiet",
        "xem-chi-tiết", "xem_chi_tiết", "xem-chi-tiet", "xemchitiet",
    ),
    "report": ("report", "báo-cáo", "báo_cáo", "bao-cao", "baocao"),
    "new": (
        "new",
        "mới", "moi",
        "tạo", "tao",
        "tạo-mới", "tạo_mới", "tao-moi", "taomoi",
        "ghi-nhận", "ghi_nhận", "ghi-nhan", "ghinhan",
    ),
    "received": (
        "received",
        "ngày-nhận", "ngày_nhận", "ngay-nhan", "ngaynhan",
        "tiếp-nhận", "tiếp_nhận", "tiep-nhan", "tiepnhan",
    ),
    "channel": ("channel", "kênh", "kenh"),
}


@dataclass(frozen=True)
class Command:
    name: str  # canonical English name, or the unknown word as written (lower-case) when unknown
    arg: str  # rest of the line after the word, stripped: reason / e-mail / "WHEN WHERE" / department
    line: str  # the original line
    known: bool


@dataclass(frozen=True)
class ParsedCommands:
    commands: tuple[Command, ...]  # in order; unknown '#words' included with known=False
    body: str  # the text after the command block, stripped (the agent's message)


# A command line: '#' and a word that starts with a letter ("#1" and "# 1" are not commands),
# ended by a space, ':', ',', ';', '!', '?' or the end of the line.
_COMMAND_RE = re.compile(r"#(?P<word>[^\W\d_][\w.\-]{0,63})(?=[\s:,;!?]|$)(?P<rest>.*)")
# The next word of a multi-word spelling typed with spaces ("#chấp nhận", "#chuyển cấp 2").
_NEXT_WORD_RE = re.compile(r"\s{1,8}(?P<word>[^\W_][\w.\-]{0,31})(?=[\s:,;!?]|$)")
# Three digits in a row: a ticket reference ("#KP-2026-000001"), a number, a tag — not a command.
_REFERENCE_RE = re.compile(r"\d{3}")
_SEPARATORS = str.maketrans("", "", "-_.")
_ARG_LEAD = " \t:,;!?"
_MAX_EXTRA_WORDS = 3  # the longest spelling has four words ("trả lời chính thức")


def _key(word: str) -> str:
    """The form spellings are compared in: folded, without '-', '_' and '.'."""
    return fold(word).translate(_SEPARATORS)


_LOOKUP: dict[str, str] = {_key(s): name for name, spelled in ALIASES.items() for s in spelled}


def parse_commands(text: str) -> ParsedCommands:
    """Split an agent's reply into the command block at its top and the message after it."""
    lines = text.splitlines(keepends=True)
    index = 0
    while index < len(lines) and not lines[index].strip():
        index += 1
    commands: list[Command] = []
    while index < len(lines):
        command = _command(lines[index].rstrip("\r\n"))
        if command is None:
            break
        commands.append(command)
        index += 1
    return ParsedCommands(commands=tuple(commands), body="".join(lines[index:]).strip())


def _command(line: str) -> Command | None:
    """The command on one line, or None if the line is not a command line."""
    match = _COMMAND_RE.fullmatch(unicodedata.normalize("NFC", line.strip()))
    if match is None:
        return None
    word, rest = match["word"].rstrip(".-"), match["rest"]
    name = _LOOKUP.get(_key(word))
    if name is None:
        spaced = _spaced_spelling(word, rest)
        if spaced is not None:
            name, rest = spaced
    if name is None and _REFERENCE_RE.search(word):
        return None
    arg = rest.lstrip(_ARG_LEAD).strip()
    if name is None:
        return Command(name=word.lower(), arg=arg, line=line, known=False)
    return Command(name=name, arg=arg, line=line, known=True)


def _spaced_spelling(word: str, rest: str) -> tuple[str, str] | None:
    """A multi-word spelling typed with spaces: (canonical name, the rest after it), or None."""
    key = _key(word)
    position = 0
    for _ in range(_MAX_EXTRA_WORDS):
        match = _NEXT_WORD_RE.match(rest, position)
        if match is None:
            return None
        key += _key(match["word"])
        position = match.end()
        if key in _LOOKUP:
            return _LOOKUP[key], rest[position:]
    return None


def spellings(name: str) -> str:
    """A command's spellings for help texts, e.g. ``"#accept / #chấp-nhận / #chapnhan"``.

    Shows, for each distinct phrase, its first listed spelling and its plain joined form.
    """
    if name not in ALIASES:
        raise ValueError(f"unknown command {name!r}; known: {', '.join(CANONICAL)}")
    shown: list[str] = []
    seen: set[str] = set()
    for spelling in ALIASES[name]:
        key = _key(spelling)
        if key in seen:
            continue
        seen.add(key)
        shown.extend(form for form in (spelling, key) if form not in shown)
    return " / ".join(f"#{form}" for form in shown)


# --- #set FIELD VALUE: an agent corrects an identifier ---------------------------------------
# The fields an agent may set, each with the words for it (folded, separators dropped), so
# "#sửa số thẻ 8401 …", "#set sđt: 0912 …" and "#cập-nhật ngày-sự-cố 05/11/2026" all read.
SET_FIELDS: dict[str, tuple[str, ...]] = {
    "phone": ("phone", "sdt", "sodienthoai", "dienthoai", "dt", "didong", "mobile"),
    "smartcard": ("smartcard", "card", "the", "sothe", "thegiaima", "sothegiaima", "mathe"),
    "decoder": ("decoder", "dauthu", "sodauthu", "madauthu", "stb", "serial", "sn"),
    "email": ("email", "mail", "thudientu"),
    "name": ("name", "ten", "hoten", "hovaten"),
    "address": ("address", "diachi", "dc"),
    "incident_date": ("incidentdate", "date", "ngay", "ngaysuco", "ngayxayra", "ngaythanhtoan"),
    "category": ("category", "loai", "phanloai"),
}
# The categories a complaint may have (as extraction and the time limits know them): "fee"
# (subscription fees: the 1-month window) and "other" (the 3-month window).
CATEGORIES: dict[str, tuple[str, ...]] = {
    "fee": ("fee", "cuoc", "phi", "cuocphi", "tiencuoc"),
    "other": ("other", "khac"),
}
_FIELD_LOOKUP = {word: name for name, words in SET_FIELDS.items() for word in words}
_CATEGORY_LOOKUP = {word: name for name, words in CATEGORIES.items() for word in words}
# Up to four words naming the field ("số điện thoại"), then ':' or '=' or a space, then the value.
_FIELD_WORD_RE = re.compile(r"[^\W\d_][\w./\-]{0,30}")
_FIELD_END_RE = re.compile(r"\s*[:=]\s*|\s+")
_MAX_FIELD_WORDS = 4
_DATE_RE = re.compile(r"(?P<d>\d{1,2})[/.\-](?P<m>\d{1,2})[/.\-](?P<y>\d{4})|(?P<iy>\d{4})-(?P<im>\d{2})-(?P<id>\d{2})")


@dataclass(frozen=True)
class Correction:
    field: str  # one of SET_FIELDS
    value: str  # normalised as extraction stores it (phone E.164, card digits, decoder upper
    #             case, e-mail lower case, the date as YYYY-MM-DD, category "fee" or "other")

    def event_detail(self, old: str | None) -> dict[str, str | None]:
        """What the event that records the change holds: the field, its old and new value."""
        return {"field": self.field, "old": old, "new": self.value}


class CorrectionError(ValueError):
    """A ``#set`` line that cannot be carried out; the message says why (for the agent)."""


def is_set_command(word: str) -> bool:
    """True when ``word`` (the command word, without '#') is a spelling of ``#set``."""
    return _LOOKUP.get(_key(word)) == "set"


def parse_correction(arg: str, config: ExtractConfig) -> Correction:
    """Read and validate ``FIELD VALUE`` (``#set sdt 0912 345 678``, ``#sửa số thẻ: 8401 2345
    6789``); the value normalised as extraction stores it. Raises :class:`CorrectionError`."""
    if _key(arg.split(maxsplit=1)[0] if arg.split() else "") == "lai":
        arg = arg.split(maxsplit=1)[1] if len(arg.split()) > 1 else ""  # "#sửa lại sđt …" typed with a space
    field, value = _field_and_value(arg)
    checked = _CHECKS[field](value, config)
    if checked is None:
        raise CorrectionError(f"{value!r} is not a valid {field}{_HINTS.get(field, '')}")
    return Correction(field, checked)


def _field_and_value(arg: str) -> tuple[str, str]:
    """The field the first words name (the longest match of up to four words) and the value."""
    words: list[tuple[str, int]] = []  # (folded key so far, where the value may start)
    position, key = 0, ""
    for _ in range(_MAX_FIELD_WORDS):
        word = _FIELD_WORD_RE.match(arg, position)
        if word is None:
            break
        key += _key(word.group())
        end = _FIELD_END_RE.match(arg, word.end())
        words.append((key, end.end() if end else word.end()))
        if end is None or end.group().strip():  # a ':' or '=' ends the field's name
            break
        position = end.end()
    if not words or not arg[words[0][1]:].strip():
        raise CorrectionError("#set needs a field and a value, e.g. '#set phone 0912 345 678'")
    for key, start in reversed(words):
        if key in _FIELD_LOOKUP and arg[start:].strip():
            return _FIELD_LOOKUP[key], " ".join(arg[start:].split())
    first = _FIELD_WORD_RE.match(arg)
    raise CorrectionError(f"unknown field {first.group() if first else arg!r}; fields: {', '.join(SET_FIELDS)}")


_HINTS = {"incident_date": " (write it as dd/mm/yyyy)", "category": f" (one of: {', '.join(CATEGORIES)})"}


def _phone(value: str, config: ExtractConfig) -> str | None:
    hit = extract_phone.classify(value, region=config.region,
                                 company_numbers=frozenset(re.sub(r"\D", "", n) for n in config.company_numbers))
    return hit.e164 if hit is not None and hit.kind == extract_phone.CUSTOMER else None


def _card(value: str, config: ExtractConfig) -> str | None:
    return re.sub(r"\D", "", value) if re.fullmatch(config.card_pattern, value) else None


def _decoder(value: str, config: ExtractConfig) -> str | None:
    code = "".join(value.split()).upper()
    digits = sum(c.isdigit() for c in code)
    return code if re.fullmatch(config.decoder_pattern, code) and digits >= config.decoder_min_digits else None


def _email(value: str, config: ExtractConfig) -> str | None:
    return value.lower() if EMAIL_RE.fullmatch(value) else None


def _text(value: str, config: ExtractConfig) -> str | None:
    return value if any(c.isalnum() for c in value) and len(value) <= 200 else None


def _date(value: str, config: ExtractConfig) -> str | None:
    match = _DATE_RE.fullmatch(value)
    if match is None:
        return None
    day, month, year = ((match["d"], match["m"], match["y"]) if match["d"] else
                        (match["id"], match["im"], match["iy"]))
    try:
        return date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


def _category(value: str, config: ExtractConfig) -> str | None:
    return _CATEGORY_LOOKUP.get(_key(value))


_CHECKS = {"phone": _phone, "smartcard": _card, "decoder": _decoder, "email": _email,
           "name": _text, "address": _text, "incident_date": _date, "category": _category}
