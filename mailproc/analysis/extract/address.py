"""Find the customer's address: what an address looks like, and addresses written in prose.

"Nhà tôi ở số 5 ngõ 10 Kim Mã, Ba Đình. Từ hôm qua mất sóng" -> "số 5 ngõ 10 Kim Mã, Ba Đình":
after "tôi ở", the comma-parts that look like parts of an address, up to the sentence's end.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from mailproc.analysis.extract.gazetteer import Place, recognise
from mailproc.analysis.extract.text import Doc, capped, fold_aligned, line_end, lines, words

ADDRESS_WORDS_RE = re.compile(words(
    "so", "duong", "pho", "ngo", "ngach", "hem", "kiet", "phuong", "xa", "quan", "huyen", "tinh",
    "thanh pho", "tp", "thon", "ap", "xom", "khu", "to", "chung cu", "toa", "can ho", "thi tran",
    "thi xa", "lo", "p", "q", "tt"))
MAX_ADDRESS = 200
_DIGIT_RE = re.compile(r"\d")
_ALNUM_RE = re.compile(r"[^\W_]")  # str.isalnum(), one character: \w is alnum or "_"


def clean_address(raw: str) -> str | None:
    value = " ".join(raw.split()).strip(" .,;:-–—")
    if not 3 <= len(value) <= MAX_ADDRESS or "@" in value:
        return None
    return value if _ALNUM_RE.search(value) else None


def looks_like_address(folded: str) -> bool:
    return bool(_DIGIT_RE.search(folded) or ADDRESS_WORDS_RE.search(folded))


# A line that goes on with an address: it starts with an administrative unit, full or
# abbreviated ("P. Bến Thành, Q.1, TP.HCM", "Xã Tân Phú, H. Đồng Phú", "thôn 3, xã …").
UNIT_START_RE = re.compile(
    r"[ \t]{0,8}(?:(?:p|q|tp|tx|tt|h|x|kp|tdp)[ \t]{0,2}\.|(?:phuong|xa|quan|huyen|tinh|thanh pho|"
    r"thi xa|thi tran|khu pho|to dan pho|to|khom|ap|thon|xom|ban|buon|ngo|ngach|hem|kiet|duong|"
    r"pho|tp|tx|kp|tdp)(?![a-z]))")
_MAX_CONTINUED_LINES = 2


def continued_address(doc: Doc, start: int, cut: int, limit: int) -> int:
    """Where an address that starts at ``start`` ends: at ``cut`` (its line's end), or at the
    end of the next lines that go on with it — each starts with an administrative unit, or
    follows a line that ends with a comma — up to ``limit`` (the next label)."""
    text, folded = doc.text, doc.folded
    for _ in range(_MAX_CONTINUED_LINES):
        if not folded.startswith("\n", cut) or not folded[start:cut].strip():
            break
        begin = cut + 1
        end = min(line_end(text, begin), limit)
        line = folded[begin:end]
        if end <= begin or not line.strip() or (end == limit and limit < line_end(text, begin)):
            break
        if not (UNIT_START_RE.match(line)
                or (folded[start:cut].rstrip().endswith(",")
                    and (looks_like_address(line) or _place_names(text[begin:end])))):
            break
        cut = end
    return cut


_PLACE_PART_RE = re.compile(r"[^\W\d_][^\W_]*(?:[ \t]{1,2}[^\W_]+){0,4}")


def _place_names(line: str) -> bool:
    """"Cầu Giấy, Hà Nội": comma parts of a few words each, every word capitalised."""
    parts = [p.strip() for p in line.strip().rstrip(".").split(",")]
    return 0 < len(parts) <= 4 and all(
        _PLACE_PART_RE.fullmatch(p) and all(w[0].isupper() or w[0].isdigit() for w in p.split())
        for p in parts)


def join_lines(raw: str) -> str:
    """An address written over lines, on one: the lines joined by commas."""
    if "\n" not in raw:
        return raw
    parts = [line.strip().rstrip(",").strip() for line in raw.split("\n")]
    return ", ".join(part for part in parts if part)


# "tôi ở", "nhà em ở", "mình đang sống tại" (+ "địa chỉ"), on the fold ...
_PROSE_ADDRESS_RE = re.compile(
    r"(?<![a-z])(?:(?:(?:nha|gia dinh)[ \t]{1,3})?(?:toi|em|minh|tui)[ \t]{1,3}(?:hien[ \t]{1,3})?"
    r"(?:dang[ \t]{1,3})?(?:o|song o|song tai|o tai|cu tru tai)|"
    r"nha[ \t]{1,3}(?:toi|em|minh|tui)[ \t]{1,3}(?:o|tai)|lap(?:[ \t]{1,3}dat)?[ \t]{1,3}(?:o|tai))"
    r"[ \t]{1,3}(?:(?:dia chi|so nha)[ \t]{1,3})?(?=[^\W_])")
# ... and on the title view, for an ASCII fold (the view turns other letters into "?", which
# the final lookahead would see). Each branch starts with its own capital so that `re` can
# skip ahead: the optional "nhà" is spelt out as a branch of its own, tried first as the
# greedy "?" does, and so is each pronoun.
_PRONOUN_PLACE = (r"[ \t]{1,3}(?:Hien[ \t]{1,3})?(?:Dang[ \t]{1,3})?"
                  r"(?:O|Song O|Song Tai|O Tai|Cu Tru Tai)")
_PROSE_ADDRESS_TITLE_RE = re.compile((
    r"(?:Nha[ \t]{1,3}(?:Toi|Em|Minh|Tui)" + _PRONOUN_PLACE
    + r"|Gia[ \t]{1,3}Dinh[ \t]{1,3}(?:Toi|Em|Minh|Tui)" + _PRONOUN_PLACE
    + "|Toi" + _PRONOUN_PLACE + "|Em" + _PRONOUN_PLACE + "|Minh" + _PRONOUN_PLACE + "|Tui" + _PRONOUN_PLACE
    + r"|Nha[ \t]{1,3}(?:Toi|Em|Minh|Tui)[ \t]{1,3}(?:O|Tai)"
    + r"|Lap(?:[ \t]{1,3}Dat)?[ \t]{1,3}(?:O|Tai))"
    r"[ \t]{1,3}(?:(?:Dia Chi|So Nha)[ \t]{1,3})?(?=[^\W_])").encode())  # the view is bytes
# "[\n!?;]|\.(?=\s|$)" with a character set first, so that `re` skips ahead.
_SENTENCE_END_RE = re.compile(r"[\n!?;.](?:(?<!\.)|(?=\s|$))")
# Lower-case conjunctions end an address; matched on the original text, as folded "mà" is "Mã".
# "(?<![^\W\d_])(?:nhưng|nhung|mà|nên|nen|thì|thi)", each first letter a branch of its own
# (in the same order) with the lookbehind after it, so that `re` can skip ahead.
_CONJUNCTION_RE = re.compile(r"(?:n(?<![^\W\d_]n)(?:hưng|hung|ên|en)|m(?<![^\W\d_]m)à"
                             r"|t(?<![^\W\d_]t)(?:hì|hi))(?![^\W\d_])")
# A period after these is an abbreviation inside an address ("P. Bến Nghé", "Q.1", "TP.HCM").
_ABBREVIATION_RE = re.compile(r"(?<![a-z])(?:p|q|tp|tx|tt|h|x|d|kp|ql|tl|so|no|st)$")
_ADDRESS_PART_RE = re.compile(r"[^,]{1,200}")
# Particles that end a spoken sentence, not the address: "… quận 3 ạ", "… Huế nhé".
_PARTICLE_RE = re.compile(r"(?:\s+(?:ạ|ah|ak|nhé|nhe|nha|à|luôn))+\s*$", re.I)


def _sentence_end(doc: Doc, start: int, limit: int) -> int:
    conjunction = _CONJUNCTION_RE.search(doc.text, start, limit)
    limit = conjunction.start() if conjunction else limit
    for m in _SENTENCE_END_RE.finditer(doc.folded, start, limit):
        if m.group() != "." or not _ABBREVIATION_RE.search(doc.folded, max(start, m.start() - 3),
                                                            m.start()):
            return m.start()
    return limit


def _address_parts(doc: Doc, start: int, end: int) -> list[str]:
    """The leading comma-parts that look like parts of an address (a number, a capital, a word
    like "phường"); "Hà Nội, mất sóng 3 ngày" keeps only "Hà Nội"."""
    parts = []
    for part in _ADDRESS_PART_RE.finditer(doc.text, start, end):
        text = part.group().strip()
        folded = doc.folded[part.start():part.end()].strip()
        if not text or not (text[0].isupper() or text[0].isdigit()
                            or ADDRESS_WORDS_RE.match(folded)):
            break
        parts.append(text)
    return parts


def prose_address(doc: Doc, label_starts: Sequence[int]) -> str | None:
    """The first address written in prose; it ends before the next label (starts in order)."""
    ends = ((m.end() for m in _PROSE_ADDRESS_TITLE_RE.finditer(doc.title)) if doc.folded.isascii()
            else (m.end() for m in _PROSE_ADDRESS_RE.finditer(doc.folded)))
    for start in capped(ends):  # where each "tôi ở …" leaves off: the address starts
        next_label = next((s for s in label_starts if s >= start), len(doc.text))
        limit = min(line_end(doc.text, start), start + MAX_ADDRESS, next_label)
        parts = _address_parts(doc, start, _sentence_end(doc, start, limit))
        value = clean_address(_PARTICLE_RE.sub("", ", ".join(parts)))
        if value and (looks_like_address(fold_aligned(value)) or len(parts) > 1):
            return value
    return None


# --- an address line in a signature ----------------------------------------------------------

_STREET_RE = re.compile(words("so", "so nha", "duong", "pho", "ngo", "ngach", "hem", "kiet", "lo",
                              "toa", "chung cu", "street", "st", "road"))
_UNIT_TOKEN_RE = re.compile(words(
    "phuong", "xa", "quan", "huyen", "tinh", "thanh pho", "tp", "thon", "ap", "xom", "khu pho",
    "to dan pho", "to", "khom", "ban", "buon", "thi tran", "thi xa", "p", "q", "tx", "kp", "tdp",
    "district", "ward", "province", "city"))
_LONG_NUMBER_RE = re.compile(r"\d[\d .]{6,}\d")
_SENTENCES_RE = re.compile(r"[.!?]\s+\S")  # a line of sentences is prose, not an address line
_SIGNATURE_ZONE = 6  # lines after the sign-off (or the text's last lines) an address may be in


def address_line(doc: Doc, start: int, end: int) -> str | None:
    """The line ``doc.text[start:end]`` if it is an address on its own, with no label: two
    kinds of administrative unit and a number ("Số 12 ngõ 34 Nguyễn Lương Bằng, Đống Đa, Hà
    Nội"), or three comma parts and one unit. No colon (a labelled line is read as one), no
    e-mail, no phone."""
    folded = doc.folded[start:end]
    if (":" in folded or "@" in folded or _LONG_NUMBER_RE.search(folded) or len(folded) > MAX_ADDRESS
            or _SENTENCES_RE.search(folded)):
        return None
    text = doc.text[start:end].strip()
    if not text[:1].isupper() and not text[:1].isdigit():
        return None
    units = {" ".join(m.group().split()) for m in _UNIT_TOKEN_RE.finditer(folded)}
    street = _STREET_RE.search(folded) is not None or _DIGIT_RE.search(folded) is not None
    rest = text.partition(",")[2]
    if (len(units) >= 2 or (units and street and rest)
            or (street and rest.count(",") >= 1 and _place_names(rest))
            # "Hoàng Mai, Hà Nội": place names ending with a province
            or (rest and _place_names(text) and recognise(text) is not None)):
        return clean_address(text)
    return None


def signature_address(doc: Doc, zones: Sequence[tuple[int, int]]) -> str | None:
    """An address line alone in a signature; ``zones`` are (start, end) of the signature
    blocks, the last one first."""
    for zone_start, zone_end in zones:
        for start, end in lines(doc.text, zone_start, zone_end)[:_SIGNATURE_ZONE + 1]:
            value = address_line(doc, start, end)
            if value:
                return value
    return None


_COUNTRY_RE = re.compile(r"^(?:viet ?nam|vn)\W*$")


def bounded_address(address: str) -> tuple[str, Place | None]:
    """The address cut after the province it names when what follows is no part of it
    ("…, Hà Nội, mất sóng từ 05/10" -> "…, Hà Nội"), and the place it names."""
    place = recognise(address)
    if place is None or place.end >= len(address):
        return address, place
    tail = address[place.end:].strip(" ,.;:-–")
    if not tail or _COUNTRY_RE.match(fold_aligned(tail)) or _place_names(tail):
        return address, place
    return address[:place.end].rstrip(" ,.;:-–"), place
