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
_YEARLESS_CUE_RE = re.compile(r"(?:ngay|hom|mung)[ \t]{1,3}$")
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
_INCIDENT_BEFORE = (r"(?:ke )?tu(?:[ \t]{1,3}(?:ngay|hom))?[ \t]{0,3}$", "bat dau", "mat song",
                    "mat tin hieu", "su co", "bi loi", "xay ra", "hong")
_INCIDENT_AFTER = ("bi", "mat song", "mat tin hieu", "khong xem", "khong co song", "hong", "su co")


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


def _found(folded: str, mail_date: date | None,
           shape: bytes | None) -> list[tuple[int, int, int, date]]:
    """(start, core start, end, value) of every plausible date, in text order."""
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
    return found


def _tag(folded: str, found: list[tuple[int, int, int, date]], i: int) -> str | None:
    """The tag of ``found[i]``, from the wording between it and its neighbours."""
    _, core, end, _ = found[i]
    floor = found[i - 1][2] if i else 0
    if _ends_period(folded, floor, core):
        return None
    ceiling = found[i + 1][0] if i + 1 < len(found) else len(folded)
    return _nearest_tag(_before_clause(folded, core, floor), _after_clause(folded, end, ceiling))


def find_dates(folded: str, *, mail_date: date | None,
               shape: bytes | None = None) -> list[DateHit]:
    """Every plausible date in the (masked, folded) text, tagged by nearby wording.

    ``shape``, when given, is the text's digit shape (``extract_text.digit_shape``): the same
    dates are found faster on it.
    """
    found = _found(folded, mail_date, shape)
    return [DateHit(start, end, value, _tag(folded, found, i))
            for i, (start, _, end, value) in enumerate(found)]


def find_and_choose(folded: str, *, mail_date: date | None, prefer: str,
                    shape: bytes | None = None) -> tuple[list[tuple[int, int]], DateHit | None]:
    """The spans of ``find_dates(…)`` and what :func:`choose` picks among them, tagging only
    the dates it looks at: the usable ones from the earliest, until one has the tag sought."""
    found = _found(folded, mail_date, shape)
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
            if tags[i] == tag:
                start, _, end, value = found[i]
                return [(f[0], f[2]) for f in found], DateHit(start, end, value, tag)
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
        tied = [h for h in usable if h.tag == tag]
        if tied:
            return min(tied, key=lambda h: (h.value, h.start))
    return None
