"""Find dates in folded complaint text and choose the incident/payment date (pure helpers).

Input is the folded, length-aligned text (see ``extract.fold_aligned``) with the spans that
must not count (forwarded headers, signatures, datelines, values already taken) blanked out.
Day comes before month, always: Vietnamese customers never write month first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

PAYMENT, INCIDENT = "payment", "incident"

# dd/mm/yyyy, d/m/yyyy, dd-mm-yyyy, dd.mm.yyyy, dd/mm/yy (two-digit year only with "/"), dd/mm.
_NUMERIC_RE = re.compile(
    r"(?P<d>\d(?<![\d/.\-]\d)\d?)(?P<sep>[/.\-])(?P<m>\d{1,2})"
    r"(?:(?P=sep)(?P<y>\d{4}|(?<=/\d\d/)\d\d|(?<=/\d/)\d\d))?(?![\d]|[/.\-]\d)"
)
# "ngày 5 tháng 10 năm 2026", "ngày 5 tháng 10", "5 tháng 10 năm 2026" (folded).
_WORDS_RE = re.compile(
    r"(?<![a-z0-9])(?:(?P<ngay>ngay|mung)[ \t]{1,3})?(?P<d>\d{1,2})[ \t]{1,3}thang[ \t]{1,3}"
    r"(?P<m>\d{1,2})(?!\d)(?:,?[ \t]{1,3}(?:nam[ \t]{1,3})?(?P<y>\d{4})(?!\d))?"
)
# A day/month without a year counts only right after "ngày"/"hôm"/"mùng".
_YEARLESS_CUE_RE = re.compile(r"(?:ngay|hom|mung)[ \t]{1,3}$")
# Right before the date: a birth/issue date (never the incident) or the end of a period.
_IGNORE_BEFORE_RE = re.compile(
    r"(?<![a-z])(?:sinh|ngay cap|(?:cmnd|cccd|can cuoc|ho chieu)[^\n]{0,30}cap)"
    r"[ \t:]{0,3}(?:ngay|nam)?[ \t:]{0,3}$"
)
_END_BEFORE_RE = re.compile(
    r"(?<![a-z])(?:den|het han|han|het)[ \t:]{0,3}(?:het[ \t]{1,3})?(?:ngay)?[ \t]{0,3}$")
_TRIGGERS: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {
    # (before the date, after the date), searched within the same clause.
    PAYMENT: (
        re.compile(r"(?<![a-z])(?:thanh toan|nap (?:tien|the)|hoa don|gia han|tru tien|"
                   r"dong (?:tien|cuoc)|chuyen (?:khoan|tien)|tinh tien|thu tien|mua goi|"
                   r"dang ky goi)(?![a-z])"),
        re.compile(r"(?<![a-z])(?:thanh toan|nap (?:tien|the)|gia han|bi tru|tru tien|"
                   r"dong (?:tien|cuoc)|chuyen (?:khoan|tien))(?![a-z])"),
    ),
    INCIDENT: (
        # "từ" only right before the date ("từ ngày 05/10"): elsewhere it is too common a word.
        re.compile(r"(?<![a-z])(?:(?:ke )?tu(?:[ \t]{1,3}(?:ngay|hom))?[ \t]{0,3}$|bat dau|"
                   r"mat song|mat tin hieu|su co|bi loi|xay ra|hong)(?![a-z])"),
        re.compile(r"(?<![a-z])(?:bi|mat song|mat tin hieu|khong xem|khong co song|hong|su co)"
                   r"(?![a-z])"),
    ),
}
_WINDOW = 60
_MAX_DATES = 500  # a hostile text must stay cheap
# A clause ends at sentence punctuation or a line break (a period inside 175.000đ does not).
_CLAUSE_BREAK_RE = re.compile(r"[!?;\n]|\.(?=\s)")
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


def _before_clause(folded: str, core: int, floor: int) -> str:
    """The clause before a date, never reaching back past the previous date."""
    window = folded[max(floor, core - _WINDOW):core]
    breaks = list(_CLAUSE_BREAK_RE.finditer(window))
    return window[breaks[-1].end():] if breaks else window


def _after_clause(folded: str, end: int, ceiling: int) -> str:
    """The clause after a date, never reaching the next date."""
    window = folded[end:min(ceiling, end + _WINDOW)]
    brk = _CLAUSE_BREAK_RE.search(window)
    return window[:brk.start()] if brk else window


def _nearest_tag(before: str, after: str) -> str | None:
    """The trigger closest to the date decides: "thanh toán ngày X nhưng từ ngày Y bị mất sóng"."""
    best: tuple[int, str] | None = None
    for tag, (before_re, after_re) in _TRIGGERS.items():
        for m in before_re.finditer(before):
            distance = len(before) - m.end()
            if best is None or distance < best[0]:
                best = (distance, tag)
        after_m = after_re.search(after)
        if after_m is not None and (best is None or after_m.start() < best[0]):
            best = (after_m.start(), tag)
    return best[1] if best else None


def _candidates(folded: str) -> Iterator[tuple[int, int, int, str, str, str | None]]:
    """(start, core start, end, day, month, year) for every date-shaped match."""
    for m in _NUMERIC_RE.finditer(folded):
        cue = _YEARLESS_CUE_RE.search(folded, max(0, m.start() - 12), m.start())
        if m.group("y") is None and cue is None:
            continue
        yield m.start(), m.start(), m.end(), m.group("d"), m.group("m"), m.group("y")
    if "thang" not in folded:
        return
    for m in _WORDS_RE.finditer(folded):
        if m.group("ngay") is None and m.group("y") is None:
            continue
        yield m.start(), m.start("d"), m.end(), m.group("d"), m.group("m"), m.group("y")


def find_dates(folded: str, *, mail_date: date | None) -> list[DateHit]:
    """Every plausible date in the (masked, folded) text, tagged by nearby wording."""
    found: list[tuple[int, int, int, date]] = []
    for start, core, end, d, m, y in _candidates(folded):
        day, month = int(d), int(m)
        year = _year(y, day, month, mail_date)
        if year is None or year < _MIN_YEAR:
            continue
        try:
            value = date(year, month, day)
        except ValueError:
            continue
        if not _IGNORE_BEFORE_RE.search(folded, max(0, core - 45), core):
            found.append((start, core, end, value))
        if len(found) >= _MAX_DATES:
            break
    found.sort()
    hits = []
    for i, (start, core, end, value) in enumerate(found):
        floor = found[i - 1][2] if i else 0
        ceiling = found[i + 1][0] if i + 1 < len(found) else len(folded)
        if _END_BEFORE_RE.search(folded, max(floor, core - 20), core):
            tag = None
        else:
            before = _before_clause(folded, core, floor)
            tag = _nearest_tag(before, _after_clause(folded, end, ceiling))
        hits.append(DateHit(start, end, value, tag))
    return hits


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
