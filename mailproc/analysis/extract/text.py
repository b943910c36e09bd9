"""Text helpers of the extractor: normalisation, the length-aligned fold, masks, lines.

Every step of :mod:`mailproc.analysis.extract.fields` reads the same strings: the normalised text, its fold
(one character per character, so an offset found in one is valid in the other), and two views
of the fold made for ``re``: the *title view* for word patterns and the *digit shape* for
number patterns (see :func:`title_view`, :func:`digit_shape`). Extraction has to keep up with
the mail flow, so each helper here is the fast form of a plain definition; its comment says
why the result is the same, and tests/test_extract.py holds it to that.
"""

from __future__ import annotations

import codecs
import functools
import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

from mailproc.analysis.extract import phone as extract_phone
from mailproc.config import ExtractConfig
from mailproc.core import textnorm

MAX_HITS = 500  # per pass: a real complaint never has more; a hostile text must stay cheap
_T = TypeVar("_T")


def capped(items: Iterable[_T]) -> Iterator[_T]:
    return itertools.islice(items, MAX_HITS)


# --- the length-aligned fold ----------------------------------------------------------------

# Mail is mostly ASCII, Vietnamese letters and a little punctuation: give each of these
# characters a byte "slot" of a charmap codec. Encoding to slots runs in C; decoding the slots
# with a table of each character's own fold gives the fold (what fold_keep_length does one
# character at a time), and text made only of these characters needs little normalising.


def _vietnamese_letters() -> list[str]:
    tones = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")
    letters = {unicodedata.normalize("NFC", base + tone)
               for base in "aăâeêioôơuưyAĂÂEÊIOÔƠUƯY" for tone in tones}
    return sorted({c for c in letters if not c.isascii()} | {"đ", "Đ"})


_PUNCTUATION = "\u00a0–—‘’“”…•°«»·×₫©®™€"
_UNMAPPED = "\ufffe"  # charmap_build's "no character" mark


def _slot_table() -> str:
    """Slot -> character: ASCII in its own slot (NUL first: charmap_build needs it), then the
    Vietnamese letters and the punctuation in the slots of the ASCII control characters (which
    normalize() removes) and of bytes 128-255."""
    table = [_UNMAPPED] * 256
    for i in (0, 9, 10, 13, *range(32, 127)):
        table[i] = chr(i)
    free = [i for i, c in enumerate(table) if c == _UNMAPPED]
    others = _vietnamese_letters() + list(_PUNCTUATION)
    assert len(others) <= len(free)
    for i, c in zip(free, others, strict=False):
        table[i] = c
    return "".join(table)


_SLOT_CHARS = _slot_table()
_SLOTS = codecs.charmap_build(_SLOT_CHARS)
_FOLDED_SLOTS = "".join(c if c == _UNMAPPED else textnorm.fold_keep_length(c) for c in _SLOT_CHARS)
# textnorm's mojibake hint, by slot: 1 for a lead character (Â..ô), 2 for a continuation one.
_MOJIBAKE_CLASSES = bytes(1 if re.fullmatch(textnorm.MOJIBAKE_LEAD, c)
                           else 2 if re.fullmatch(textnorm.MOJIBAKE_CONTINUATION, c) else 0
                           for c in _SLOT_CHARS)
_NOT_CONTINUATIONS = bytes(i for i, k in enumerate(_MOJIBAKE_CLASSES) if k != 2)


def to_slots(text: str) -> bytes | None:
    """``text`` as slot bytes, or None when it holds a character that has no slot."""
    try:
        return codecs.charmap_encode(text, "strict", _SLOTS)[0]
    except UnicodeEncodeError:
        return None


def normalize_and_fold(text: str) -> tuple[str, str, bool]:
    """``(normalize(text), fold_aligned(normalize(text)), slotted)``: ``slotted`` when the text
    is made of slot characters only, the case made fast. Such text has no control character
    (NUL aside), and its characters are NFC on their own and never combine, so it is NFC:
    only line ends and mojibake need looking at."""
    slots = to_slots(text)
    if (slots is None or b"\x00" in slots
            or (slots.translate(None, _NOT_CONTINUATIONS)  # rarely any left: skip the pairs
                and b"\x01\x02" in slots.translate(_MOJIBAKE_CLASSES))):
        text = textnorm.normalize(text)
        return text, fold_aligned(text), False
    if b"\r" in slots:  # "\r" and "\n" are in their own slots
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        slots = slots.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return text, codecs.charmap_decode(slots, "strict", _FOLDED_SLOTS)[0], True


# --- invisible and look-alike characters ---------------------------------------------------

# Phones and webmail put invisible and look-alike characters inside numbers and after labels:
# no-break spaces (a web form's "&nbsp;", iOS's narrow no-break space), zero-width space and
# joiner, soft hyphen, word joiner, BOM, the non-breaking hyphen, full-width digits (an East
# Asian keyboard layout). Each becomes what it looks like; nothing else changes.
_INVISIBLE = "\u00ad\u034f\u061c\u180e\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff"
_SPACES = "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
_HYPHENS = "\u2010\u2011\u2012\u2043\u2212\ufe63\uff0d"
_DASHES = "\u2013\u2014\u2015\ufe58"
_LOOKALIKES = str.maketrans({
    **dict.fromkeys(map(ord, _INVISIBLE), None),
    **dict.fromkeys(map(ord, _SPACES), " "),
    **dict.fromkeys(map(ord, _HYPHENS), "-"),
    # Full-width ASCII (U+FF01..U+FF5E) is ASCII shifted by 0xFEE0.
    **{code: chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F) if code != 0xFF0D},
})
_LOOKALIKE_RE = re.compile(f"[{_INVISIBLE}{_SPACES}{_HYPHENS}\uff01-\uff5e]")
# A dash between two digits joins a number ("0912–345–678", "8401 — 2345"), and one between
# letters or digits with no blank beside it a code ("STB–2024–00123"): a hyphen.
_DASH_IN_NUMBER_RE = re.compile(
    f"(?<=[0-9])[ \t]?[{_DASHES}][ \t]?(?=[0-9])|(?<=[A-Za-z0-9])[{_DASHES}](?=[A-Za-z0-9])")


def plain_lookalikes(text: str) -> str:
    """``text`` with invisible characters dropped and look-alikes made plain (see above).

    Most mail has none of them: one search decides, and only the rest is translated."""
    if text.isascii():
        return text
    if _LOOKALIKE_RE.search(text):
        text = text.translate(_LOOKALIKES)
    if "\u2013" in text or "\u2014" in text or "\u2015" in text or "\ufe58" in text:
        text = _DASH_IN_NUMBER_RE.sub("-", text)
    return text


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

    Text of slot characters is decoded from its slots. Other long text: map đ/Đ to d (what
    fold does first), decompose (NFD) and keep the ASCII characters. No character's NFD holds
    two or more ASCII characters, and when it holds one, that one (lower-cased) is what fold
    keeps (tests check every code point). So if the length is unchanged, each character gave
    exactly its fold; if not, some character folds to nothing or to non-ASCII: use the table.
    """
    if text.isascii():
        return text.lower()
    slots = to_slots(text)
    if slots is not None:
        return codecs.charmap_decode(slots, "strict", _FOLDED_SLOTS)[0]
    if len(text) >= _SHORT:
        base = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "d"))
        ascii_only = base.encode("ascii", "ignore")
        if len(ascii_only) == len(text):
            return ascii_only.decode("ascii").lower()
    return text.translate(_FOLD_TABLE)


def title_view(folded: str) -> bytes:
    """The fold with every letter that starts a word in upper case ("toi ten la" -> "Toi Ten La").

    Non-ASCII characters become "?" first, so a letter is upper case exactly when it is an
    ASCII letter not preceded by one: ``Toi`` in the view matches where ``(?<![a-z])toi`` matches
    in the fold. Word regexes search the view, since a first-letter set lets ``re`` skip ahead
    (a leading lookbehind makes it try every position, ~3x slower on long mail). It stays bytes
    (ASCII, so bytes patterns match as str patterns would): bytes.title() is str.title() for
    ASCII, without the Unicode case tables.
    """
    return folded.encode("ascii", "replace").title()


_ZERO_DIGITS = bytes(0x30 if 0x30 <= i <= 0x39 else i for i in range(256))


def digit_shape(folded: str) -> bytes:
    """The fold as ASCII bytes, every digit "0" and every other non-ASCII character "?".

    For the fold of a text made of slot characters only: its digits are ASCII, and its
    non-ASCII characters are punctuation, no more a word character, digit or blank than "?"
    is. Patterns on digits then match the same spans on the shape with "0" for ``\\d``, and
    ``re`` finds their literal first character ten times faster than a set of digits.
    """
    return folded.encode("ascii", "replace").translate(_ZERO_DIGITS)


# --- masks, lines, numbers ------------------------------------------------------------------

_BLANK_RE = re.compile(r"[^\n]")


def masked(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """``text`` with the spans blanked (newlines kept, so lines and offsets stay put)."""
    out: list[str] = []
    append, find, size, prev = out.append, text.find, len(text), 0
    for start, end in sorted(spans):
        if start < prev:
            start = prev
        if end > start:
            append(text[prev:start])
            if find("\n", start, end) < 0:
                append(" " * ((end if end < size else size) - start))
            else:
                append(_BLANK_RE.sub(" ", text[start:end]))
            prev = end
    if not out:
        return text
    append(text[prev:])
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


def last_lines(text: str, end: int, count: int) -> list[tuple[int, int]]:
    """The last ``count`` lines of ``text[:end]``, the last one first (blank lines count)."""
    out: list[tuple[int, int]] = []
    stop = end
    while len(out) < count:
        newline = text.rfind("\n", 0, stop)
        out.append((newline + 1, stop))
        if newline < 0:
            break
        stop = newline
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
    the lookbehind (phrases start with a letter, and so does every word after a space).
    Phrases are grouped by first letter, longest first within a group as in :func:`words`
    (only one group can match at a place): `re` tries one branch per letter, not per phrase."""
    assert all(p[:1].isalpha() for p in phrases)
    groups: dict[str, list[str]] = {}
    for phrase in sorted(phrases, key=len, reverse=True):
        rest = re.escape(phrase.title()[1:]).replace(r"\ ", r"[ \t]{1,3}")
        groups.setdefault(phrase[0].upper(), []).append(rest)
    alts = (re.escape(first) + "(?:" + "|".join(rests) + ")" for first, rests in groups.items())
    return r"(?:" + "|".join(alts) + r")(?![a-zA-Z])"


# --- the document every step reads ----------------------------------------------------------


@dataclass(frozen=True)
class Patterns:
    card: re.Pattern[str]
    decoder: re.Pattern[str]
    decoder_min_digits: int
    company_numbers: frozenset[str]
    company_domains: tuple[str, ...]
    region: str


@functools.lru_cache(maxsize=16)
def _compile(card: str, decoder: str, min_digits: int, numbers: tuple[str, ...],
             domains: tuple[str, ...], region: str) -> Patterns:
    return Patterns(re.compile(card), re.compile(decoder), min_digits,
                    frozenset(re.sub(r"\D", "", n) for n in numbers),
                    tuple(d.lower().lstrip("@.") for d in domains), region)


def patterns(config: ExtractConfig) -> Patterns:
    """Compiled once per distinct config (ExtractConfig holds lists, so it is not hashable)."""
    return _compile(config.card_pattern, config.decoder_pattern, config.decoder_min_digits,
                    tuple(config.company_numbers), tuple(config.company_domains), config.region)


class Doc(NamedTuple):
    text: str  # normalised, forwarded headers masked
    folded: str  # fold_aligned(text)
    title: bytes  # title_view(folded)
    pats: Patterns
    slotted: bool  # text made of slot characters only (see normalize_and_fold)

    def shape(self, folded: str) -> bytes | None:
        """digit_shape(folded) where it is valid: ``folded`` is the fold, masked."""
        return digit_shape(folded) if self.slotted else None

    def classify_phone(self, raw: str) -> extract_phone.PhoneHit | None:
        return extract_phone.classify(raw, region=self.pats.region,
                                      company_numbers=self.pats.company_numbers)

    def is_company_email(self, address: str) -> bool:
        domain = address.rpartition("@")[2]
        return any(domain == d or domain.endswith("." + d) for d in self.pats.company_domains)
