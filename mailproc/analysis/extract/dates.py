"""Find dates in folded complaint text and choose the incident/payment date (pure helpers).

Input is the folded, length-aligned text (see ``extract.fold_aligned``) with the spans that
must not count (forwarded headers, signatures, datelines, values already taken) blanked out.
Day comes before month, always: Vietnamese customers never write month first.
:func:`find_and_choose` is :func:`choose` of :func:`find_dates`, tagging only the dates that
the choice depends on (tagging is most of the work).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

PAYMENT, INCIDENT = "payment", "incident"

# dd/mm/yyyy, d/m/yyyy, dd-mm-yyyy, dd.mm.yyyy, dd/mm/yy (two-digit year only with "/"), dd/mm.
_NUMERIC = (r"(?P<d>\d(?<![\d/.\-]\d)\d?)(?P<sep>[/.\-])(?P<m>\d{1,2})"
            r"(?:(?P=sep)(?P<y>\d{4}|(?<=/\d\d/)\d\d|(?<=/\d/)\d\d))?(?![\d]|[/.\-]\d)")
_NUMERIC_RE = re.compile(_NUMERIC)
# The same on a digit shape (extract_text.digit_shape); the values are read from the fold.
_NUMERIC_SHAPE_RE = re.compile(_NUMERIC.replace(r"\d", "0").encode())
_D, _M, _Y = (_NUMERIC_RE.groupindex[g] for g in ("d", "m", "y"))
assert _NUMERIC_SHAPE_RE.groupindex == _NUMERIC_RE.groupindex
# "ngày 5 tháng 10 năm 2026", "ngày 5 tháng 10", "5 tháng 10 năm 2026" (folded).
_WORDS_RE = re.compile(
    r"(?<![a-z0-9])(?:(?P<ngay>ngay|mung)[ \t]{1,3})?(?P<d>\d{1,2})[ \t]{1,3}thang[ \t]{1,3}"
    r"(?P<m>\d{1,2})(?!\d)(?:,?[ \t]{1,3}(?:nam[ \t]{1,3})?(?P<y>\d{4})(?!\d))?"
)
# Every _WORDS_RE match holds "\d[ \t]{1,3}thang[ \t]{1,3}\d" (the regex is searched only when
# the text does: "tháng" alone, "cước tháng 10", is common). Written from "thang", a literal
# that `re` finds fast, with one fixed-width lookbehind per number of blanks before it.
_DAY_MONTH_WORDS_RE = re.compile(
    r"thang(?:(?<=\d[ \t]thang)|(?<=\d[ \t]{2}thang)|(?<=\d[ \t]{3}thang))[ \t]{1,3}\d")
# A day/month without a year counts only right after "ngày"/"hôm"/"mùng".
_YEARLESS_CUE_RE = re.compile(r"(?<![a-z])(?:ngay|hom|mung|tu)[ \t]{1,3}$")
# Right before the date: a birth/issue date (never the incident) or the end of a period.
_IGNORE_BEFORE_RE = re.compile(
    r"(?<![a-z])(?:sinh|ngay cap|(?:cmnd|cccd|can cuoc|ho chieu)[^\n]{0,30}cap)"
    r"[ \t:]{0,3}(?:ngay|nam)?[ \t:]{0,3}$"
)
_END_BEFORE_RE = re.compile(
    r"(?<![a-z])(?:den|het han|han|het)[ \t:]{0,3}(?:het[ \t]{1,3})?(?:ngay)?[ \t]{0,3}$")

# Words that tag a date, searched within its clause: before it, then after it.
_PAYMENT_BEFORE = ("thanh toan", "nap (?:tien|the)", "hoa don", "gia han", "tru tien",
                   "dong (?:tien|cuoc)", "chuyen (?:khoan|tien)", "tinh tien", "thu tien",
                   "mua goi", "dang ky goi")
_PAYMENT_AFTER = ("thanh toan", "nap (?:tien|the)", "gia han", "bi tru", "tru tien",
                  "dong (?:tien|cuoc)", "chuyen (?:khoan|tien)")
# "từ" only right before the date ("từ ngày 05/10"): elsewhere it is too common a word.
_INCIDENT_BEFORE = (r"(?:ke )?tu(?:[ \t]{1,3}(?:ngay|hom))?[ \t]{0,3}$", r"since[ \t]{0,3}$",
                    "bat dau", "mat song", "mat tin hieu", "su co", "bi loi", "xay ra", "hong")
_INCIDENT_AFTER = ("bi", "mat song", "mat tin hieu", "khong xem", "khong co song", "hong", "su co",
                   "khong len hinh", "khong len", "bao loi", "loi", "mat kenh", "mat hinh", "treo",
                   "khong vao", "error", "no signal", "not working", "stopped", "lost", "shows")


def _words_re(*alternatives: str) -> str:
    return r"(?<![a-z])(?:" + "|".join(alternatives) + r")(?![a-z])"


# Both "before" lists in one regex, each match naming its tag: matches are whole words, and
# the lists share no word, so no match of one overlaps a match of the other (and finditer
# finds the matches of both). The "after" lists share "bi": they are searched apart.
assert not ({w for a in _PAYMENT_BEFORE for w in re.findall("[a-z]+", a)}
            & {w for a in _INCIDENT_BEFORE for w in re.findall("[a-z]+", a)})
_BEFORE_RE = re.compile(_words_re(f"(?P<{PAYMENT}>{'|'.join(_PAYMENT_BEFORE)})",
                                  f"(?P<{INCIDENT}>{'|'.join(_INCIDENT_BEFORE)})"))
_AFTER_RES = ((PAYMENT, re.compile(_words_re(*_PAYMENT_AFTER))),
              (INCIDENT, re.compile(_words_re(*_INCIDENT_AFTER))))
_WINDOW = 60
_MAX_DATES = 500  # a hostile text must stay cheap
# A clause ends at sentence punctuation or a line break (a period inside 175.000đ does not):
# "[!?;\n]|\.(?=\s)" with a set first, so that `re` skips ahead.
_CLAUSE_BREAK_RE = re.compile(r"[!?;\n.](?:(?<!\.)|(?=\s))")
_MIN_YEAR = 2000


@dataclass(frozen=True)
class DateHit:
    start: int
    end: int
    value: date
    tag: str | None  # PAYMENT | INCIDENT | None
    relative: bool = False  # "tối qua", "thứ 7 tuần trước": counts only when tagged


def _year(raw: str | None, day: int, month: int, mail_date: date | None) -> int | None:
    if raw is not None:
        return int(raw) + 2000 if len(raw) == 2 else int(raw)
    if mail_date is None:
        return None  # no year and nothing to infer it from
    try:
        after_mail = date(mail_date.year, month, day) > mail_date
    except ValueError:  # 29/02 in a common year: let the caller's date() reject it
        after_mail = False
    return mail_date.year - 1 if after_mail else mail_date.year


def _ignored(folded: str, core: int) -> bool:
    """A birth or ID-card issue date: every such wording holds "sinh" or "cap"."""
    start = max(0, core - 45)
    return ((folded.find("sinh", start, core) >= 0 or folded.find("cap", start, core) >= 0)
            and _IGNORE_BEFORE_RE.search(folded, start, core) is not None)


def _ends_period(folded: str, floor: int, core: int) -> bool:
    """The end of a period ("hết hạn ngày …"): every such wording holds "den", "han" or "het"."""
    start = max(floor, core - 20)
    return ((folded.find("den", start, core) >= 0 or folded.find("han", start, core) >= 0
             or folded.find("het", start, core) >= 0)
            and _END_BEFORE_RE.search(folded, start, core) is not None)


def _before_clause(folded: str, core: int, floor: int) -> str:
    """The clause before a date, never reaching back past the previous date."""
    return folded[_before_clause_start(folded, core, floor):core]


def _before_clause_start(folded: str, core: int, floor: int) -> int:
    start = max(floor, core - _WINDOW)
    # After the last _CLAUSE_BREAK_RE match in the window: the last "!?;\n", or a later "."
    # before a blank (in the window: a "." ending it is followed by nothing).
    cut = max(folded.rfind("!", start, core), folded.rfind("?", start, core),
              folded.rfind(";", start, core), folded.rfind("\n", start, core), start - 1)
    dot = folded.rfind(".", cut + 1, core)
    while dot >= 0:
        if dot + 1 < core and folded[dot + 1].isspace():
            return dot + 1
        dot = folded.rfind(".", cut + 1, dot)
    return cut + 1


def _after_clause(folded: str, end: int, ceiling: int) -> str:
    """The clause after a date, never reaching the next date."""
    return folded[end:_after_clause_end(folded, end, ceiling)]


def _after_clause_end(folded: str, end: int, ceiling: int) -> int:
    stop = min(ceiling, end + _WINDOW)
    brk = _CLAUSE_BREAK_RE.search(folded, end, stop)  # (its lookahead stops at stop, too)
    return brk.start() if brk else max(end, stop)


def _nearest_tag(before: str, after: str) -> str | None:
    """The trigger closest to the date decides: "thanh toán ngày X nhưng từ ngày Y bị mất sóng".

    Ties go to the first found, payment (before, after) first, then incident (before, after).
    """
    last_end: dict[str | None, int] = {}
    for m in _BEFORE_RE.finditer(before):
        last_end[m.lastgroup] = m.end()  # a tag's last match is its nearest
    best: tuple[int, str] | None = None
    for tag, after_re in _AFTER_RES:
        if tag in last_end:
            distance = len(before) - last_end[tag]
            if best is None or distance < best[0]:
                best = (distance, tag)
        after_m = after_re.search(after)
        if after_m is not None and (best is None or after_m.start() < best[0]):
            best = (after_m.start(), tag)
    return best[1] if best else None


def _candidates(folded: str,
                shape: bytes | None) -> Iterator[tuple[int, int, int, str, str, str | None]]:
    """(start, core start, end, day, month, year) for every date-shaped match."""
    numeric = (_NUMERIC_RE.finditer(folded) if shape is None
               else _NUMERIC_SHAPE_RE.finditer(shape))  # on the shape, digits are read from the fold
    for match in numeric:
        spans = match.regs
        (start, end), (d0, d1), (m0, m1), (y0, y1) = spans[0], spans[_D], spans[_M], spans[_Y]
        if y0 < 0 and not _YEARLESS_CUE_RE.search(folded, max(0, start - 12), start):
            continue
        yield start, start, end, folded[d0:d1], folded[m0:m1], folded[y0:y1] if y0 >= 0 else None
    if not _DAY_MONTH_WORDS_RE.search(folded):
        return
    for m in _WORDS_RE.finditer(folded):
        if m.group("ngay") is None and m.group("y") is None:
            continue
        yield m.start(), m.start("d"), m.end(), m.group("d"), m.group("m"), m.group("y")


# --- dates written relative to the mail's date ----------------------------------------------

# "hôm qua", "tối qua", "sáng nay", "hôm kia", "yesterday", "last night": days before the mail.
_PART_OF_DAY = r"(?:(?:sang|trua|chieu|toi|dem)(?:[ \t]{1,3}hom)?|hom)"
_DAY_WORDS = {"nay": 0, "qua": 1, "kia": 2}
_RELATIVE_DAY_RE = re.compile(
    rf"(?<![a-z])(?P<part>{_PART_OF_DAY})[ \t]{{1,3}}(?P<which>nay|qua|kia)(?![a-z])"
    r"|(?<![a-z])(?P<en>today|this morning|this afternoon|this evening|tonight|yesterday"
    r"|last night|the day before yesterday)(?![a-z])")
# The same on the title view (see extract_text.title_view: a capital stands for "no letter
# before"), where `re` skips to the capitals: found fast, then read with the plain regex.
_RELATIVE_DAY_TITLE_RE = re.compile(
    rb"(?:Sang|Trua|Chieu|Toi|Dem|Hom|Today|This|Tonight|Yesterday|Last|The)(?![a-zA-Z])")
# "mấy hôm nay", "vài hôm qua", "3 hôm nay": a span of days, not a day.
_SEVERAL_BEFORE_RE = re.compile(r"(?<![a-z])(?:may|vai|mot vai|nhieu|cac|nhung|\d{1,3})[ \t]{1,3}$")
_ENGLISH_DAYS = {"today": 0, "this morning": 0, "this afternoon": 0, "this evening": 0,
                 "tonight": 0, "yesterday": 1, "last night": 1, "the day before yesterday": 2}
# Folding merges these words with others ("tối" evening / "tôi" I, "qua" past / "quá" too,
# "đêm" night / "đem" bring, "sáng" morning / "sang" over): the original spelling decides.
_SPELLING = {"sang": "sáng", "trua": "trưa", "chieu": "chiều", "toi": "tối", "dem": "đêm",
             "hom": "hôm", "nay": "nay", "qua": "qua", "kia": "kia"}
# The same for a weekday's words, group by group ("tu" is "từ" as a cue, "tư" as Wednesday).
_WEEKDAY_SPELLING = {
    "cue": {**_SPELLING, "tu": "từ"},
    "thu": {"thu": "thứ"},
    "vi": {"hai": "hai", "ba": "ba", "tu": "tư", "nam": "năm", "sau": "sáu", "bay": "bảy"},
    "sun": {"chu": "chủ", "nhat": "nhật"},
}
# A weekday: "thứ 7 tuần trước", "chủ nhật vừa rồi", "hôm thứ ba", "last Monday". Alone it is
# no date ("lần thứ 2" is the second time): it needs a word of time before it or after it.
_WEEKDAYS = {"2": 0, "hai": 0, "3": 1, "ba": 1, "4": 2, "tu": 2, "5": 3, "nam": 3, "6": 4,
             "sau": 4, "7": 5, "bay": 5, "chu nhat": 6, "cn": 6, "monday": 0, "tuesday": 1,
             "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6}
_WEEKDAY_TITLE_RE = re.compile(
    rb"(?:Thu[ \t]{1,3}(?:[2-7]|Hai|Ba|Tu|Nam|Sau|Bay)|Chu[ \t]{1,3}Nhat|Cn|Monday|Tuesday|Wednesday"
    rb"|Thursday|Friday|Saturday|Sunday)(?![a-zA-Z0-9])")
_WEEKDAY_RE = re.compile(
    r"(?<![a-z0-9])(?:(?P<cue>hom|tu|sang|trua|chieu|toi|dem|last|since|on)[ \t]{1,3})?"
    r"(?:(?P<thu>thu)[ \t]{1,3}(?P<vi>[2-7]|hai|ba|tu|nam|sau|bay)|(?P<sun>chu[ \t]{1,3}nhat|cn)"
    r"|(?P<en>monday|tuesday|wednesday|thursday|friday|saturday|sunday))(?![a-z0-9])"
    r"(?:[ \t]{1,3}(?P<week>tuan[ \t]{1,3}(?:truoc|roi|vua[ \t]{1,3}roi|vua[ \t]{1,3}qua|nay)"
    r"|vua[ \t]{1,3}(?:roi|qua)|last week|this week)(?![a-z]))?")
_WEEKDAY_CUE_BEFORE_RE = re.compile(
    r"(?<![a-z0-9])(?:hom|tu|sang|trua|chieu|toi|dem|last|since|on)[ \t]{1,3}$")
_LAST_WEEK = ("tuan truoc", "tuan roi", "tuan vua roi", "tuan vua qua", "last week")
_THIS_WEEK = ("tuan nay", "this week")


_WORD_RE = re.compile(r"[a-z]+")


def _spelt(text: str | None, folded: str, start: int, end: int,
           spelling: dict[str, str] = _SPELLING) -> bool:
    """Every word of ``folded[start:end]`` in ``spelling`` is spelt so in ``text`` (the
    original at the same offsets), or the text has no diacritics there."""
    if text is None or start < 0:
        return True
    original = text[start:end].lower()
    if original.isascii():
        return True
    for m in _WORD_RE.finditer(folded, start, end):
        expected = spelling.get(m.group())
        if expected is not None and original[m.start() - start:m.end() - start] != expected:
            return False
    return True


def _weekday_spelt(text: str | None, folded: str, m: re.Match[str]) -> bool:
    return all(_spelt(text, folded, m.start(group), m.end(group), spelling)
               for group, spelling in _WEEKDAY_SPELLING.items())


def _weekday_date(m: re.Match[str], mail_date: date) -> date | None:
    word = m.group("vi") or m.group("en") or ("chu nhat" if m.group("sun") else None)
    if word is None:
        return None
    weekday = _WEEKDAYS[" ".join(word.split())]
    week = " ".join((m.group("week") or "").split())
    monday = mail_date.toordinal() - mail_date.weekday()
    if week in _LAST_WEEK:
        return date.fromordinal(monday - 7 + weekday)
    if week in _THIS_WEEK:
        value = date.fromordinal(monday + weekday)
        return value if value <= mail_date else None
    if not week and m.group("cue") is None:
        return None  # "lần thứ 2", "thứ 7 này": no date said
    if weekday == mail_date.weekday():
        return None  # today, or a week ago?
    return date.fromordinal(mail_date.toordinal() - (mail_date.weekday() - weekday) % 7)


def _relative(folded: str, text: str | None, mail_date: date | None, until: int,
              title: bytes | None = None) -> list[tuple[int, int, int, date]]:
    """(start, core start, end, value) of the dates said relative to the mail's date, before
    ``until`` (a forwarded mail's "hôm qua" is the day before *its* date, not ours)."""
    if mail_date is None:
        return []
    found: list[tuple[int, int, int, date]] = []
    # Hints are found on the title view (extract_text.title_view) and read on ``folded``: the
    # view of the unmasked fold serves, as a masked span matches nothing on ``folded``.
    if title is None:
        title = folded.encode("ascii", "replace").title()
    after = -1
    for hint in _RELATIVE_DAY_TITLE_RE.finditer(title, 0, until):
        m = _RELATIVE_DAY_RE.match(folded, hint.start(), until)
        if m is None or m.start() < after:
            continue
        after = m.end()
        if (not _spelt(text, folded, m.start(), m.end())
                or _SEVERAL_BEFORE_RE.search(folded, max(0, m.start() - 12), m.start())):
            continue
        days = (_ENGLISH_DAYS[" ".join(m.group("en").split())] if m.group("en")
                else _DAY_WORDS[m.group("which")])
        found.append((m.start(), m.start(), m.end(), date.fromordinal(mail_date.toordinal() - days)))
    after = -1
    for hint in _WEEKDAY_TITLE_RE.finditer(title, 0, until):
        # A cue word may stand before the weekday ("từ thứ 7"): match from that word.
        cue = _WEEKDAY_CUE_BEFORE_RE.search(folded, max(0, hint.start() - 10), hint.start())
        begin = cue.start() if cue and cue.start() >= after else hint.start()
        m = _WEEKDAY_RE.match(folded, begin, until) or _WEEKDAY_RE.match(folded, hint.start(), until)
        if m is None or m.start() < after:
            continue
        after = m.end()
        if not _weekday_spelt(text, folded, m):
            continue
        if m.group("vi") and m.start() >= 4 and folded[max(0, m.start() - 4):m.start()] == "dau ":
            continue  # "đầu thu 2 …" written without diacritics: the decoder
        value = _weekday_date(m, mail_date)
        if value is not None:
            found.append((m.start(), m.start(), m.end(), value))
        if len(found) >= _MAX_DATES:
            break
    return found


def _found(folded: str, mail_date: date | None, shape: bytes | None, text: str | None = None,
           until: int | None = None,
           title: bytes | None = None) -> tuple[list[tuple[int, int, int, date]], set[int]]:
    """(start, core start, end, value) of every plausible date, in text order, and the starts
    of those said relative to the mail's date (see :func:`_relative`)."""
    found, relative = _found_written(folded, mail_date, shape)
    if mail_date is not None and len(found) < _MAX_DATES:
        said = _relative(folded, text, mail_date, len(folded) if until is None else until, title)
        taken = [(start, end) for start, _, end, _ in found]
        for item in said:
            if not any(start < item[2] and item[0] < end for start, end in taken):
                found.append(item)
                relative.add(item[0])
        found.sort()
    return found[:_MAX_DATES], relative


def _found_written(folded: str, mail_date: date | None,
                   shape: bytes | None) -> tuple[list[tuple[int, int, int, date]], set[int]]:
    found: list[tuple[int, int, int, date]] = []
    for start, core, end, d, m, y in _candidates(folded, shape):
        day, month = int(d), int(m)
        year = _year(y, day, month, mail_date)
        if year is None or year < _MIN_YEAR:
            continue
        try:
            value = date(year, month, day)
        except ValueError:
            continue
        if not _ignored(folded, core):
            found.append((start, core, end, value))
            if len(found) >= _MAX_DATES:
                break
    found.sort()
    return found, set()


def _tag(folded: str, found: list[tuple[int, int, int, date]], i: int) -> str | None:
    """The tag of ``found[i]``, from the wording between it and its neighbours."""
    _, core, end, _ = found[i]
    floor = found[i - 1][2] if i else 0
    if _ends_period(folded, floor, core):
        return None
    ceiling = found[i + 1][0] if i + 1 < len(found) else len(folded)
    return _nearest_tag(_before_clause(folded, core, floor), _after_clause(folded, end, ceiling))


def find_dates(folded: str, *, mail_date: date | None, shape: bytes | None = None,
               text: str | None = None, until: int | None = None) -> list[DateHit]:
    """Every plausible date in the (masked, folded) text, tagged by nearby wording.

    ``shape``, when given, is the text's digit shape (``extract_text.digit_shape``): the same
    dates are found faster on it. ``text`` is the original at the fold's offsets (it tells
    "tối qua" from "tôi qua"); dates relative to ``mail_date`` are read before ``until``.
    """
    found, relative = _found(folded, mail_date, shape, text, until)
    return [DateHit(start, end, value, _tag(folded, found, i), start in relative)
            for i, (start, _, end, value) in enumerate(found)]


def find_and_choose(folded: str, *, mail_date: date | None, prefer: str,
                    shape: bytes | None = None, text: str | None = None, until: int | None = None,
                    title: bytes | None = None) -> tuple[list[tuple[int, int]], DateHit | None]:
    """The spans of ``find_dates(…)`` and what :func:`choose` picks among them, tagging only
    the dates it looks at: the usable ones from the earliest, until one has the tag sought.
    ``title``: the title view of the fold ``folded`` was masked from, if at hand."""
    found, relative = _found(folded, mail_date, shape, text, until, title)
    usable = sorted((i for i, f in enumerate(found) if mail_date is None or f[3] <= mail_date),
                    key=lambda i: (found[i][3], found[i][0]))  # stable: min() keeps the first
    tags: dict[int, str | None] = {}
    clauses: dict[int, tuple[int, int]] = {}  # (before clause start, after clause end)
    other = INCIDENT if prefer == PAYMENT else PAYMENT
    for tag in (prefer, other, None):
        for i in usable:
            if i not in tags:
                if tag == PAYMENT and not _may_be_payment(folded, found, i, tags, clauses):
                    continue  # not a payment date; its own tag is worked out if needed later
                if i in clauses:
                    _, core, end, _ = found[i]
                    before_start, after_end = clauses[i]
                    tags[i] = _nearest_tag(folded[before_start:core], folded[end:after_end])
                else:
                    tags[i] = _tag(folded, found, i)
            if tags[i] == tag and (tag is not None or found[i][0] not in relative):
                start, _, end, value = found[i]
                return [(f[0], f[2]) for f in found], DateHit(start, end, value, tag,
                                                              start in relative)
    return [(f[0], f[2]) for f in found], None


# Every payment trigger (before or after a date) holds one of these (tests check every phrase
# the triggers match): a date whose clauses hold none is no payment date, whatever its tag.
_PAYMENT_HINT_RE = re.compile("tien|toan|cuoc|khoan|nap the|hoa don|gia han|mua goi|ky goi|bi tru")
assert all(_PAYMENT_HINT_RE.search(alt) for alt in (*_PAYMENT_BEFORE, *_PAYMENT_AFTER))


def _may_be_payment(folded: str, found: list[tuple[int, int, int, date]], i: int,
                    tags: dict[int, str | None], clauses: dict[int, tuple[int, int]]) -> bool:
    """False when ``found[i]`` cannot be tagged payment (see :func:`_tag`). Records what it
    learns on the way: the tag None of a period's end, else where its two clauses end."""
    _, core, end, _ = found[i]
    floor = found[i - 1][2] if i else 0
    if _ends_period(folded, floor, core):
        tags[i] = None
        return False
    ceiling = found[i + 1][0] if i + 1 < len(found) else len(folded)
    before_start = _before_clause_start(folded, core, floor)
    after_end = _after_clause_end(folded, end, ceiling)
    clauses[i] = before_start, after_end
    # (Literals only: searching the fold between the bounds is searching the clause.)
    return (_PAYMENT_HINT_RE.search(folded, before_start, core) is not None
            or _PAYMENT_HINT_RE.search(folded, end, after_end) is not None)


def choose(hits: list[DateHit], *, mail_date: date | None, prefer: str) -> DateHit | None:
    """The tied date of the preferred kind, then of the other kind, then any; earliest first.

    Dates after the mail's date never count (a subscription's end date, a typo).
    """
    usable = [h for h in hits if mail_date is None or h.value <= mail_date]
    other = INCIDENT if prefer == PAYMENT else PAYMENT
    for tag in (prefer, other, None):
        tied = [h for h in usable if h.tag == tag and (tag is not None or not h.relative)]
        if tied:
            return min(tied, key=lambda h: (h.value, h.start))
    return None
