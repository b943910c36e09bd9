"""Turn bytes and messy Unicode into clean NFC text, and fold text for keyword matching.

Vietnamese mail arrives in UTF-8, windows-1258 (often *decomposed*: base letter plus a
combining tone mark), mislabelled charsets and UTF-8-read-as-cp1252 mojibake. Everything
downstream works on the output of :func:`normalize`; matching works on :func:`fold`.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

import ftfy

# Charsets some clients declare that Python knows under another name, or not at all.
_CHARSET_ALIASES = {
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "ks_c_5601-1987": "cp949",
    "x-user-defined": "windows-1252",
    "unicode-1-1-utf-7": "utf-7",
    "utf8": "utf-8",
    "x-unknown": "",
    "unknown-8bit": "",
    "us-ascii": "utf-8",  # ASCII-declared mail with 8-bit bytes is nearly always UTF-8
    "ascii": "utf-8",
}
# UTF-8 read as cp1252/latin-1 leaves a lead byte (Â..ô) followed by a continuation byte
# (U+0080..U+00BF or a cp1252 special). ftfy is slow: only texts that show this run it. The
# pair is searched from the rarer continuation character, looking behind it for the lead:
# the same pairs, and ``re`` stops at fewer candidates.
MOJIBAKE_LEAD = "[\u00c2-\u00f4]"
MOJIBAKE_CONTINUATION = (
    "[\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014"
    "\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]")
_MOJIBAKE_HINT = re.compile(MOJIBAKE_CONTINUATION + f"(?<={MOJIBAKE_LEAD}.)")
# Control and invisible characters that normalize() drops (CR, LF and TAB are kept).
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u200e\u200f\ufeff]")
_FTFY_CONFIG = ftfy.TextFixerConfig(
    unescape_html=False,
    fix_latin_ligatures=False,
    fix_character_width=False,
    uncurl_quotes=False,
    normalization="NFC",
    explain=False,
)
# Letters that NFD decomposition does not split but that fold to ASCII for matching
# (str.replace per letter beats a translate table, a dict lookup per character, on long texts).
_FOLD_EXTRA = (("đ", "d"), ("Đ", "d"), ("ð", "d"), ("Ð", "d"), ("ø", "o"), ("ł", "l"))


def canonical_charset(declared: str | None) -> str | None:
    """Return a Python codec name for a declared MIME charset, or None if unusable."""
    if not declared:
        return None
    name = declared.strip().strip('"').lower()
    name = _CHARSET_ALIASES.get(name, name)
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError):  # unknown, or hostile (embedded NUL)
        return None


def decode_bytes(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Decode ``data``: declared charset, then UTF-8, then windows-1258, then detection.

    Returns ``(text, charset_used)``; the text is already :func:`normalize`-d.
    A strict decode is tried for each candidate; only detection may be lossy.
    """
    candidates: list[str] = []
    declared_codec = canonical_charset(declared)
    if declared_codec:
        candidates.append(declared_codec)
    for fallback in ("utf-8", "cp1258"):
        if fallback not in candidates:
            candidates.append(fallback)
    # A declared single-byte Western charset decodes any bytes "successfully"; when the
    # bytes are valid UTF-8 they are almost certainly UTF-8 mislabelled by the client.
    if declared_codec in {"latin-1", "iso8859-1", "cp1252", "ascii"}:
        try:
            return normalize(data.decode("utf-8")), "utf-8"
        except UnicodeDecodeError:
            pass
    for codec in candidates:
        try:
            return normalize(data.decode(codec)), codec
        except (UnicodeDecodeError, LookupError):
            continue
    from charset_normalizer import from_bytes  # pragma: no cover - (imported for this rare case only)

    best = from_bytes(data).best()  # pragma: no cover - cp1258 decodes nearly anything
    if best is not None:  # pragma: no cover
        return normalize(str(best)), best.encoding
    return normalize(data.decode("utf-8", "replace")), "utf-8/replace"  # pragma: no cover


def normalize(text: str) -> str:
    """Repair mojibake, normalise to NFC, map Ð to Đ, drop control and zero-width characters."""
    if not text:
        return ""
    if not text.isascii():
        if _MOJIBAKE_HINT.search(text):
            text = ftfy.fix_text(text, _FTFY_CONFIG)
        text = unicodedata.normalize("NFC", text)
        # U+00D0 (Icelandic eth) is what cp1252 fonts and some keyboards give for Đ.
        text = text.replace("\u00d0", "\u0110")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Every character CONTROL_RE removes is non-printable; tab and newline are the only
    # non-printable characters mail text normally has, so most texts skip the substitution.
    if text.replace("\n", "").replace("\t", "").isprintable():
        return text
    return CONTROL_RE.sub("", text)


# Combining marks (the blocks Latin-script text uses): what NFD splits off a toned letter.
_COMBINING_RE = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")


def fold(text: str) -> str:
    """Fold for matching: casefold, strip diacritics, đ→d. Length may change; use for search only."""
    if text.isascii():
        return text.casefold()
    for letter, plain in _FOLD_EXTRA:
        if letter in text:
            text = text.replace(letter, plain)
    return _COMBINING_RE.sub("", unicodedata.normalize("NFD", text)).casefold()


def fold_keep_length(text: str) -> str:
    """Like :func:`fold` but one output character per input character (NFC input).

    Offsets found in the folded text then point at the same places in the original.
    """
    out = []
    for ch in text:
        folded = fold(ch)
        out.append(folded[:1] if folded else ch)
    return "".join(out)
