"""Choose the right one of several candidates for a number field (phone, card, decoder).

Customers write more than one: an old phone and a new one ("số cũ … đã bỏ, số mới: …"), a
mistyped card and its correction ("em gõ nhầm, đúng là …"), their own number beside a
relative's ("số của chồng em …"), and numbers that belong to someone else (the technician's,
the salesman's, the shop's). Each candidate is judged by the words of its own clause, just
before it and just after it (the nearest cue wins):

* its *owner*: the customer (or nobody said), a relative, or a third party — a third party's
  number is never the customer's, a relative's only when nothing else is given;
* its *standing*: superseded (old, mistyped, no longer used), plain, or current (new,
  corrected, "đúng là").

Folding merges words that the cues must tell apart ("cũ" old / "củ"; "mới" new / "mỗi" each;
"đúng" right / "dùng" use; "bố" father / "bỏ" dropped; "vợ" wife / "vỡ"): for those the
original spelling decides, and text written without diacritics counts as the cue.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from mailproc.analysis.extract.text import Doc, words

OWN, RELATIVE, THIRD = "own", "relative", "third"
SUPERSEDED, PLAIN, CURRENT = 0, 1, 2

_WINDOW = 48
# A clause ends at a line break, sentence punctuation or a comma (a cue never reaches over one).
_BREAK_RE = re.compile(r"[\n,;!?]|\.(?:\s|$)")

# Cue words, folded; a word in _SPELLING counts only as spelt there (or without diacritics).
_OWNER_CUES = {
    THIRD: ("ky thuat", "ky thuat vien", "ktv", "nhan vien", "nv", "tho", "tho lap dat",
            "ban hang", "sale", "sales", "dai ly", "cua hang", "tu van vien", "tong dai vien",
            "nguoi lap dat", "ben lap dat", "doi lap dat", "doi ky thuat", "technician",
            "installer", "salesman", "dealer", "shop", "agent", "staff"),
    RELATIVE: ("chong", "vo", "con trai", "con gai", "bo", "me", "bo me", "ba me", "nguoi nha",
               "nguoi than", "hang xom", "anh trai", "chi gai", "em trai", "em gai", "ong noi",
               "ba noi", "ong ngoai", "ba ngoai", "husband", "wife", "son", "daughter", "father",
               "mother", "neighbour", "neighbor", "relative"),
    OWN: ("cua toi", "cua em", "cua minh", "cua tui", "toi", "em", "minh", "tui", "my", "mine"),
}
# "số của chồng em": the pronoun after a kinship word is part of the cue, not one of its own.
_OWNER_CUES[RELATIVE] = tuple(f"{word}{pronoun}" for word in _OWNER_CUES[RELATIVE]
                              for pronoun in ("", " toi", " em", " minh", " tui"))
_STANDING_CUES = {
    SUPERSEDED: ("cu", "truoc day", "truoc kia", "khong dung nua", "khong con dung", "da bo",
                 "da huy", "nham", "go nham", "ghi nham", "viet nham", "bi sai", "ghi sai",
                 "go sai", "old", "previous", "former", "wrong", "typo", "no longer"),
    CURRENT: ("moi", "hien tai", "hien nay", "dang dung", "dung la", "chinh xac", "chinh xac la",
              "sua lai", "dinh chinh", "doi sang", "doi thanh", "chuyen sang", "thay bang", "new",
              "current", "correct", "corrected", "should be"),
}
_SPELLING = {"cu": "cũ", "moi": "mới", "dung la": "đúng là", "bo": "bố", "me": "mẹ", "vo": "vợ",
             "tho": "thợ", "chong": "chồng", "em": "em", "toi": "tôi", "nham": "nhầm"}


# Every cue phrase, in one regex (one pass over each window): phrase -> (dimension, kind).
_CUE_OF: dict[str, tuple[str, str | int]] = {
    **{phrase: ("owner", kind) for kind, phrases in _OWNER_CUES.items() for phrase in phrases},
    **{phrase: ("standing", kind) for kind, phrases in _STANDING_CUES.items() for phrase in phrases},
}
_CUE_RE = re.compile(words(*_CUE_OF))


class Judged(NamedTuple):
    owner: str
    standing: int


def _spelt(doc: Doc, start: int, end: int, folded: str) -> bool:
    first = folded.split(" ", 1)[0]  # (a kinship word's pronoun is spelt as it may be)
    expected = _SPELLING.get(folded) or _SPELLING.get(first)
    if expected is None:
        return True
    length = len(expected)
    original = doc.text[start:start + length].lower()
    return original == expected or original.isascii()


def _cues(doc: Doc, start: int, end: int, *, last: bool) -> dict[str, str | int]:
    """The cue of each dimension in ``doc.folded[start:end]``: the last one (before a value)
    or the first one (after it)."""
    found: dict[str, str | int] = {}
    for m in _CUE_RE.finditer(doc.folded, start, end):
        phrase = " ".join(m.group().split())
        if _spelt(doc, m.start(), m.end(), phrase):
            dimension, kind = _CUE_OF[phrase]
            if last or dimension not in found:
                found[dimension] = kind
            if not last and len(found) == 2:
                break
    return found


def _before(doc: Doc, start: int, floor: int) -> int:
    begin = max(floor, start - _WINDOW)
    cut = begin
    for m in _BREAK_RE.finditer(doc.folded, begin, start):
        cut = m.end()
    return cut


def _after(doc: Doc, end: int, ceiling: int) -> int:
    stop = min(ceiling, end + _WINDOW)
    m = _BREAK_RE.search(doc.folded, end, stop)
    return m.start() if m else stop


def judge(doc: Doc, start: int, end: int, *, floor: int = 0, ceiling: int | None = None) -> Judged:
    """The owner and standing of the value at ``doc.text[start:end]``; ``floor`` and
    ``ceiling`` bound its clause (the previous and next candidates)."""
    ceiling = len(doc.text) if ceiling is None else ceiling
    end = start + len(doc.text[start:end].rstrip(" \t.-()"))  # (a run may take a period along)
    cues = _cues(doc, _before(doc, start, floor), start, last=True)
    if len(cues) < 2:
        after = _cues(doc, end, _after(doc, end, ceiling), last=False)
        cues = {**after, **cues}
    return Judged(str(cues.get("owner", OWN)), int(cues.get("standing", PLAIN)))


class Candidate(NamedTuple):
    value: str
    start: int
    end: int
    rank: int  # the label's rank (a number label over a generic word); -1 found by shape
    how: str  # "label" | "prose" | "shape"


def choose(doc: Doc, candidates: list[Candidate],
           bounds: list[tuple[int, int]]) -> tuple[Candidate, Judged] | None:
    """The candidate to keep: never a third party's; then current over plain over superseded,
    the customer's own over a relative's, a better label, the first written. ``bounds`` are
    the spans of every number of the text (a clause never reaches past one)."""
    if not candidates:
        return None
    edges = sorted(bounds)
    best: tuple[tuple[int, int, int, int], Candidate, Judged] | None = None
    for cand in candidates:
        floor = max((e for s, e in edges if e <= cand.start), default=0)
        ceiling = min((s for s, e in edges if s >= cand.end), default=len(doc.text))
        judged = judge(doc, cand.start, cand.end, floor=floor, ceiling=ceiling)
        if judged.owner == THIRD:
            continue
        key = (-judged.standing, judged.owner == RELATIVE, -cand.rank, cand.start)
        if best is None or key < best[0]:
            best = (key, cand, judged)
    return None if best is None else (best[1], best[2])
