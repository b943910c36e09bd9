"""Find a complaint's layout in its folded text: forwarded headers, sign-offs, datelines.

These spans are not the customer's words: forwarded header lines are masked before values are
read (except their Subject), a sign-off tells where the signature (name, phone) starts, and a
dateline ("Hà Nội, ngày 05 tháng 10 năm 2026") is the letter's date, never the incident's.
"""

from __future__ import annotations

import itertools
import re
from typing import NamedTuple

from mailproc.analysis.extract.text import MAX_HITS, capped, lines

_FORWARD_RE = re.compile(
    r"^[ \t]{0,8}(?:-{2,40}[ \t]{0,4}(?:forwarded message|thu da chuyen tiep|"
    r"tin nhan da chuyen tiep|original message)[ \t]{0,4}-{2,40}|begin forwarded message:?)"
    r"[ \t]{0,8}$", re.M)
_HEADER_RE = re.compile(
    r"[ \t]{0,8}(?P<key>from|to|cc|bcc|date|sent|subject|reply-to|tu|den|toi|ngay|chu de|tieu de|"
    r"gui|gui luc|thoi gian)[ \t]{0,2}:")
_HEADER_KIND = {"from": "from", "tu": "from", "subject": "subject", "chu de": "subject",
                "tieu de": "subject"}
CLOSER_RE = re.compile(
    r"[ \t]{0,8}(?:(?:xin[ \t]{1,3})?(?:chan thanh[ \t]{1,3})?cam on(?:[ \t]{1,3}nhieu)?|"
    r"tran trong(?:[ \t]{1,3}cam on)?|than ai|kinh thu|thanks?|thank you|many thanks|"
    r"(?:best|kind|warm)[ \t]{1,3}regards|regards|best|cheers|--)(?![a-z])"
    r"(?P<tail>[^\n]{0,60})$", re.M)
_SIGNATURE_LINES = 10  # a closer further than this from the end is not a sign-off
# "Hà Nội, ngày 05 tháng 10 năm 2026" alone on a line: the letter's date, not the incident's.
_DATELINE_RE = re.compile(
    r"^[ \t]{0,8}[a-z][a-z.]{0,12}(?:[ \t][a-z.]{1,12}){0,3},[ \t]{0,3}ngay[ \t]{1,3}\d{1,2}"
    r"(?:[ \t]{1,3}thang[ \t]{1,3}\d{1,2}[ \t]{1,3}nam[ \t]{1,3}\d{4}|[/.\-]\d{1,2}[/.\-]\d{4})"
    r"[ \t.]{0,8}$", re.M)
# Every dateline holds this; it starts with a literal, so `re` finds it fast.
_DATELINE_CORE_RE = re.compile(r",[ \t]{0,3}ngay[ \t]{1,3}\d")


class Layout(NamedTuple):
    headers: list[tuple[int, int, str]]  # forwarded header lines, kind "from"|"subject"|"other"
    signatures: list[tuple[int, int, int]]  # (closer line start, its end, segment end)
    datelines: list[tuple[int, int]]

    def spans(self, *kinds: str) -> list[tuple[int, int]]:
        return [(s, e) for s, e, kind in self.headers if kind in kinds]


def _forward_headers(folded: str, marker_end: int, segment_end: int) -> list[tuple[int, int, str]]:
    headers: list[tuple[int, int, str]] = []
    for start, end in lines(folded, marker_end + 1, segment_end)[:12]:
        m = _HEADER_RE.match(folded, start, end)
        if m is None:
            if headers or folded[start:end].strip():
                break
            continue
        headers.append((start, end, _HEADER_KIND.get(" ".join(m.group("key").split()), "other")))
    return headers


def _is_closer(folded: str, start: int, end: int) -> bool:
    """A sign-off line; a forward marker ("---------- Forwarded message ----") is none."""
    return CLOSER_RE.match(folded, start, end) is not None and _FORWARD_RE.match(folded, start, end) is None


def _signature(folded: str, start: int, end: int) -> tuple[int, int, int] | None:
    """The sign-off line among the segment's last non-blank lines, read from the end."""
    if folded.count("\n", start, end) >= MAX_HITS - 1:  # lines() stops at MAX_HITS lines
        nonblank = [ln for ln in lines(folded, start, end) if folded[ln[0]:ln[1]].strip()]
        for line_start, line_end in reversed(nonblank[-_SIGNATURE_LINES:]):
            if _is_closer(folded, line_start, line_end):
                return line_start, line_end, end
        return None
    seen, stop = 0, end
    while seen < _SIGNATURE_LINES:
        newline = folded.rfind("\n", start, stop)
        begin = newline + 1 if newline >= 0 else start
        if folded[begin:stop].strip():
            seen += 1
            if _is_closer(folded, begin, stop):
                return begin, stop, end
        if newline < 0:
            return None
        stop = newline
    return None


def layout(folded: str) -> Layout:
    # Every forward marker holds one of these words: without them, no line needs trying.
    forward = "message" in folded or "chuyen tiep" in folded
    markers = list(capped(_FORWARD_RE.finditer(folded))) if forward else []
    bounds = [0, *(m.start() for m in markers), len(folded)]
    headers = [(m.start(), m.end(), "other") for m in markers]
    signatures = []
    for i, (seg_start, seg_end) in enumerate(itertools.pairwise(bounds)):
        if i > 0:
            headers += _forward_headers(folded, markers[i - 1].end(), seg_end)
        sig = _signature(folded, seg_start, seg_end)
        if sig is not None:
            signatures.append(sig)
    datelines = ([m.span() for m in capped(_DATELINE_RE.finditer(folded))]
                 if _DATELINE_CORE_RE.search(folded) else [])
    return Layout(headers, signatures, datelines)
