"""Text helpers of the extractor: normalisation, the length-aligned fold, masks, lines.

Every step of :mod:`mailproc.extract` reads the same strings: the normalised text, its fold
(one character per character, so an offset found in one is valid in the other) and the fold's
*title view* (see :func:`title_view`). Extraction has to keep up with the mail flow, so each
helper here is the fast form of a plain definition; its comment says why the result is the same.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from typing import TypeVar

from mailproc import textnorm

MAX_HITS = 500  # per pass: a real complaint never has more; a hostile text must stay cheap
_T = TypeVar("_T")


def capped(items: Iterable[_T]) -> Iterator[_T]:
    return itertools.islice(items, MAX_HITS)


# --- normalisation --------------------------------------------------------------------------

# textnorm's mojibake hint (a lead byte Â..ô then a continuation), searched from the rarer
# continuation character: the same pairs exist, and `re` stops at fewer candidates.
_MOJIBAKE_TAIL_RE = re.compile(
    "[\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014"
    "\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122](?<=[\u00c2-\u00f4].)")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u200e\u200f\ufeff]")


def normalize(text: str) -> str:
    """Same result as :func:`textnorm.normalize` (a test compares them), without its costly
    steps on text that does not need them."""
    if not text:
        return ""
    if not text.isascii():
        if _MOJIBAKE_TAIL_RE.search(text):
            return textnorm.normalize(text)  # ftfy's repair: leave it to the original
        text = unicodedata.normalize("NFC", text).replace("\u00d0", "\u0110")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Every character _CONTROL_RE removes is non-printable; tab and newline are the only
    # non-printable characters mail text normally has.
    if text.replace("\n", "").replace("\t", "").isprintable():
        return text
    return _CONTROL_RE.sub("", text)


# --- the length-aligned fold ----------------------------------------------------------------


class _FoldTable(dict[int, str]):
    """``str.translate`` table filled lazily from :func:`textnorm.fold`, one char per char."""

    def __missing__(self, key: int) -> str:
        folded = textnorm.fold(chr(key))
        out = folded[:1] if folded else chr(key)
        if key < 0x3000:  # keep the cache small on hostile input
            self[key] = out
        return out


_FOLD_TABLE = _FoldTable()
_SHORT = 64  # below this, the cached table is faster than the decomposition below


def fold_aligned(text: str) -> str:
    """Same result as :func:`textnorm.fold_keep_length`: one folded character per character.

    Fast path: map đ/Đ to d (what fold does first), decompose (NFD) and keep only the ASCII
    characters. No character decomposes to two or more ASCII characters (tests check every
    code point), so when the length is unchanged each character gave exactly one ASCII
    character: its base letter, which is what fold keeps first. Otherwise a character folded
    to nothing or to something that is not ASCII: use the per-character table.
    """
    if text.isascii():
        return text.lower()
    if len(text) >= _SHORT:
        base = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "d"))
        ascii_only = base.encode("ascii", "ignore")
        if len(ascii_only) == len(text):
            return ascii_only.decode("ascii").lower()
    return text.translate(_FOLD_TABLE)


def title_view(folded: str) -> str:
    """The fold with every letter that starts a word in upper case ("toi ten la" -> "Toi Ten La").

    Non-ASCII characters become "?" first, so a letter is upper case exactly when it is an
    ASCII letter not preceded by one: ``Toi`` in the view matches where ``(?<![a-z])toi`` matches
    in the fold. Word regexes search the view, since a first-letter set lets ``re`` skip ahead
    (a leading lookbehind makes it try every position, ~3x slower on long mail).
    """
    # bytes.title() is str.title() for ASCII, without the Unicode case tables (4x faster).
    return folded.encode("ascii", "replace").title().decode("ascii")


# --- masks, lines, numbers ------------------------------------------------------------------

_BLANK_RE = re.compile(r"[^\n]")


def masked(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """``text`` with the spans blanked (newlines kept, so lines and offsets stay put)."""
    out, prev = [], 0
    for start, end in sorted(spans):
        start = max(start, prev)
        if end > start:
            part = text[start:end]
            out += [text[prev:start], _BLANK_RE.sub(" ", part) if "\n" in part else " " * len(part)]
            prev = end
    if not out:
        return text
    out.append(text[prev:])
    return "".join(out)


def line_end(text: str, pos: int) -> int:
    end = text.find("\n", pos)
    return len(text) if end < 0 else end


def lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    while start < end and len(out) < MAX_HITS:
        stop = min(line_end(text, start), end)
        out.append((start, stop))
        start = stop + 1
    return out


_NON_DIGIT_RE = re.compile(r"\D")


def digits(text: str) -> str:
    return _NON_DIGIT_RE.sub("", text)


def number_continues(text: str, end: int) -> bool:
    """True when the value goes on ("…5678.9", "…5678 9012" past the longest card, "…78abc")."""
    after = text[end:end + 2]
    return bool(after) and (after[0].isalnum() or (after[:1] in ".,-/ " and after[1:2].isdigit()))


# --- word regexes ---------------------------------------------------------------------------


def words(*phrases: str) -> str:
    """A regex for any of the folded phrases as whole words (a space matches 1-3 blanks)."""
    longest_first = sorted(phrases, key=len, reverse=True)
    alts = (re.escape(p).replace(r"\ ", r"[ \t]{1,3}") for p in longest_first)
    return r"(?<![a-z])(?:" + "|".join(alts) + r")(?![a-z])"


def title_words(*phrases: str) -> str:
    """:func:`words` for the title view: each word's first letter in upper case stands for
    the lookbehind (phrases start with a letter, and so does every word after a space)."""
    assert all(p[:1].isalpha() for p in phrases)
    longest_first = sorted(phrases, key=len, reverse=True)
    alts = (re.escape(p.title()).replace(r"\ ", r"[ \t]{1,3}") for p in longest_first)
    return r"(?:" + "|".join(alts) + r")(?![a-zA-Z])"
