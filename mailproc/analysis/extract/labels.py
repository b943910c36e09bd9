"""Labelled values: the label table, where labels are in a text, and the value after each.

A label decides what its value is ("Số thẻ: …" is a card, "SĐT: …" a phone), so labelled
values are read first, in text order, and each number or e-mail read claims its span.
Labels are found on the title view of the fold (see ``extract_text.title_view``); offsets are
the same in the text, the fold and the view.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from mailproc.analysis.extract import phone as extract_phone
from mailproc.analysis.extract.address import clean_address, continued_address, join_lines, looks_like_address
from mailproc.analysis.extract.names import WORD_RUN_RE, capitalised_prefix, plausible_name
from mailproc.analysis.extract.shapes import EMAIL_RE
from mailproc.analysis.extract.text import Doc, capped, digits, line_end, number_continues, words

# --- the label table ------------------------------------------------------------------------


@dataclass(frozen=True)
class Label:
    phrase: str  # folded; a space stands for 1-3 blanks
    fields: tuple[str, ...]  # tried in order ("ĐT:" is a phone, else a decoder)
    rank: int = 1  # within a field, a higher rank wins (a number label over a generic word)
    colon: bool = False  # counts only as "label:" (generic or ambiguous words)
    position: bool = False  # ... and only at line start or after punctuation (short labels)


def _group(fields: tuple[str, ...], *phrases: str, rank: int = 1, colon: bool = False,
           position: bool = False) -> list[Label]:
    return [Label(p, fields, rank, colon, position) for p in phrases]


LABELS: tuple[Label, ...] = (
    *_group(("smartcard",), "so the giai ma", "the giai ma", "ma the giai ma", "so the k+",
            "the k+", "so the kplus", "the kplus", "so the", "ma the", "ma so the", "smartcard",
            "smart card", "so smartcard", "so smart card", "card", "so card", "ma smartcard",
            "card id"),
    # Number labels: what follows is the decoder's own number, never its model.
    *_group(("decoder",), "so dau thu", "ma dau thu", "ma so dau thu", "serial dau thu",
            "so hieu dau thu", "so serial dau thu", "so seri dau thu", "so serial", "so seri",
            "serial", "seri", "serial number", "s/n", "dau thu sn", "dau thu s/n", "ma stb",
            "so stb", "so decoder", "chip id", rank=2),
    # Generic words: "đầu thu ODS1400NA bị lỗi" names a model; only "Đầu thu: X" is a value.
    *_group(("decoder",), "dau thu", "dau giai ma", "stb", "set-top box", "set top box",
            "settop box", "receiver", "decoder", colon=True),
    *_group(("decoder",), "sn", colon=True, position=True),
    *_group(("phone",), "so dien thoai", "dien thoai", "dien thoai di dong", "dien thoai lien he",
            "so di dong", "di dong", "dtdd", "sdt", "so dt", "so lien he", "so lien lac", "tel",
            "phone", "mobile", "zalo", "so zalo", "so phone", "phone number"),
    *_group(("phone", "decoder"), "dt", rank=0, colon=True, position=True),
    *_group(("email",), "email", "e-mail", "thu dien tu", "dia chi email", "dia chi e-mail",
            "dia chi mail", "dia chi thu", "mail", "gmail"),
    *_group(("name",), "ho ten", "ho va ten", "ten", "chu thue bao", "khach hang",
            "ten khach hang", "ten chu thue bao", "ho ten khach hang", "ho va ten khach hang",
            "ho ten chu thue bao", "nguoi dung ten", "full name", "name",
            colon=True, position=True),
    *_group(("address",), "dia chi lap dat", "noi lap dat", "dia chi lap dat dau thu", rank=2),
    *_group(("address",), "dia chi", "dia chi nha", "dia chi lien he", "dia chi thuong tru",
            "dia chi hien tai", "address"),
    *_group(("address",), "d/c", colon=True, position=True),  # "đc" is "được": never a label
)
_LABEL_BY_PHRASE = {label.phrase: label for label in LABELS}
_FREE_TEXT = frozenset({"name", "address"})  # values that are text, not numbers


def _trie(phrases: Iterable[str]) -> dict[str, Any]:
    trie: dict[str, Any] = {}
    for phrase in phrases:
        node = trie
        for ch in phrase:
            node = node.setdefault(ch, {})
        node[""] = {}
    return trie


def _emit(node: dict[str, Any]) -> str:
    alts = [(r"[ \t]{1,3}" if ch == " " else re.escape(ch)) + _emit(node[ch])
            for ch in sorted(node) if ch]
    if not alts:
        return ""
    body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
    return f"(?:{body})?" if "" in node else body


def _trie_pattern(phrases: Iterable[str]) -> str:
    """One regex for many phrases, prefixes shared (fast on long text), longest match first."""
    return _emit(_trie(phrases))


# Labels on the fold: the plain form, kept as the reference the title form must equal (tests).
_LABEL_FOLD_RE = re.compile(
    r"(?<![a-z0-9])" + _trie_pattern(_LABEL_BY_PHRASE) + r"(?![a-z0-9])")


def _title_label_pattern(phrases: Iterable[str]) -> str:
    """The same on the title view: phrases title-cased ("So The K+", "S/N"), the first letter
    upper case in place of "no letter before", and a check that no digit is before either."""
    trie = _trie(p.title() for p in phrases)
    alts = [re.escape(ch) + f"(?<![0-9]{re.escape(ch)})" + _emit(trie[ch]) for ch in sorted(trie)]
    return "(?:" + "|".join(alts) + r")(?![a-zA-Z0-9])"


_LABEL_RE = re.compile(_title_label_pattern(_LABEL_BY_PHRASE).encode())  # the view is bytes
_PRONOUN = r"(?:toi|em|minh|tui|anh|chi|khach hang)"


# Up to two other words before a colon: "Số đầu thu đúng:", "Điện thoại nhà:", "Số thẻ cũ:" —
# but not words that make it another thing ("Số thẻ ATM:", "Số thẻ ngân hàng:").
_WORDS_BEFORE_COLON = (r"(?!atm|ngan hang|tin dung|visa|master|credit|debit|cong ty)"
                       r"[a-z]{1,10}(?:[ \t]{1,3}[a-z]{1,10})?[ \t]{0,3}(?=:)")


def _separator_re(*fillers: str, pronouns: str = _PRONOUN, extra: str = "") -> re.Pattern[str]:
    """What may stand between a label and its value: "Số điện thoại (Zalo) của tôi là: …"."""
    alts = "|".join(w.replace(" ", r"[ \t]{1,3}") for w in fillers)
    word = rf"(?:cua[ \t]{{1,3}}{_PRONOUN}|{pronouns}|{alts})(?![a-z0-9])"
    filler = rf"(?:\([^()\d\n]{{0,30}}\)|[:=#.\-–]|/[ \t]{{0,2}}[a-z+]{{1,10}}|{word}{extra})"
    # Columns aligned with blanks ("Số đầu thu:         K23A0045871") are common.
    return re.compile(rf"(?:[ \t]{{0,3}}{filler}){{0,5}}[ \t]{{0,24}}")


_FILLER_WORDS = ("la", "moi", "cu", "hien tai", "dang ky", "lien he", "nhu sau", "is")
# Before a number "số"/"no." is filler ("thẻ K+ số 1234…"), and so are other words before a
# colon. Before a name or an address they may be the value ("Địa chỉ: Số 5", "Anh Sơn"), so
# only "tôi/em/mình" stand alone there ("Địa chỉ nhà tôi là …").
_SEP_RE = _separator_re(*_FILLER_WORDS, "so", "number", "no", extra="|" + _WORDS_BEFORE_COLON)
_TEXT_SEP_RE = _separator_re(*_FILLER_WORDS, pronouns="(?:toi|em|minh|tui)")
_PROSE_SEP_RE = re.compile(words("toi", "em", "minh", "tui", "la"))
_LABEL_POSITION_CHARS = "\n,;.:(|•*-–>/["


class Hit(NamedTuple):
    label: Label
    start: int
    value: int  # where a number or e-mail starts
    text_value: int  # where a name or address starts ("Địa chỉ: số 5 …" keeps "số")
    colon: bool
    prose: bool  # "số điện thoại của tôi là …": a label inside a sentence


def _at_label_position(folded: str, start: int) -> bool:
    i = start
    while i > 0 and start - i < 4 and folded[i - 1] in " \t":
        i -= 1
    return i == 0 or folded[i - 1] in _LABEL_POSITION_CHARS


def _value_start(sep_re: re.Pattern[str], folded: str, sep: re.Match[str] | None, pos: int,
                 colon: bool) -> int:
    """Where the value starts, ``sep`` being ``sep_re`` matched at ``pos`` (the label's end)."""
    end = sep.end() if sep else pos
    if colon and folded.startswith("\n", end):  # "Số thẻ:\n1234 5678 9012"
        sep = sep_re.match(folded, end + 1)
        end = sep.end() if sep else end + 1
    return end


_WORD_START_RE = re.compile(r"(?<![^\W\d_])[^\W\d_]")


def _text_value_start(text: str, start: int, end: int, value: int) -> int:
    """Like the value's start, but a capitalised word is the value, not filler: folded
    "la" is also the surname "La" and the place "La Khê" (unless the label is in capitals)."""
    if not text[start:end].isupper():
        for m in _WORD_START_RE.finditer(text, end, value):
            if m.group().isupper():
                return m.start()
    return value


# Per phrase: its label; whether all its fields are free text (then its separator takes fewer
# filler words: "Tên kênh:" is no name label); whether any is (then text_value is read).
_LABEL_INFO = {phrase: (label, _FREE_TEXT.issuperset(label.fields),
                        bool(_FREE_TEXT.intersection(label.fields)))
               for phrase, label in _LABEL_BY_PHRASE.items()}
# A separator holds no newline and is shorter than this: a label that needs "label:" with no
# colon this close after it is not one.
_MAX_SEPARATOR = 256


def label_hits(doc: Doc) -> list[Hit]:
    text, folded = doc.text, doc.folded
    hits = []
    for m in capped(_LABEL_RE.finditer(doc.title)):
        start, end = m.span()
        raw = folded[start:end]
        label, free_text, any_text = _LABEL_INFO.get(raw) or _LABEL_INFO[" ".join(raw.split())]
        if label.colon and folded.find(":", end, end + _MAX_SEPARATOR) < 0:
            continue
        sep_re = _TEXT_SEP_RE if free_text else _SEP_RE
        sep = sep_re.match(folded, end)
        sep_text = sep.group() if sep else ""
        colon = ":" in sep_text
        if label.colon and not colon:
            continue
        if label.position and not _at_label_position(folded, start):
            continue
        # (Each separator regex is matched once at the label's end; `sep` is one of them.)
        value = _value_start(_SEP_RE, folded, sep if not free_text else _SEP_RE.match(folded, end),
                             end, colon)
        text_value = value  # read only for names and addresses, which start after fewer fillers
        if any_text:
            text_sep = sep if free_text else _TEXT_SEP_RE.match(folded, end)
            text_value = _text_value_start(
                text, start, end, _value_start(_TEXT_SEP_RE, folded, text_sep, end, colon))
        prose = bool(sep_text) and _PROSE_SEP_RE.search(sep_text) is not None
        hits.append(Hit(label, start, value, text_value, colon, prose))
    return hits


# --- values after a label -------------------------------------------------------------------


class Found(NamedTuple):
    value: str | None  # None: the span is claimed but holds nothing usable (a hotline number)
    start: int
    end: int


# A decoder value; a space joins the next group only when that group has a digit.
_DECODER_TOKEN_RE = re.compile(
    r"[A-Za-z0-9](?:[A-Za-z0-9\-]|[ \t](?=[A-Za-z0-9\-]{0,24}\d)){0,40}")
_TRAILING_PHONE_GROUPS = 3


def _card_at(doc: Doc, pos: int, cut: int) -> Found | None:
    m = doc.pats.card.match(doc.text, pos, cut)
    if m is None or number_continues(doc.text, m.end()):
        return None
    end = m.end()
    groups = m.group().split(" ")
    # "Số thẻ 12345678 0912345678": a phone written right after the card is not part of it.
    for k in range(1, min(_TRAILING_PHONE_GROUPS, len(groups) - 1) + 1):
        head, tail = " ".join(groups[:-k]), " ".join(groups[-k:])
        # (Under 8 characters, under 8 digits: classify() says no at once.)
        if len(tail) >= 8 and doc.classify_phone(tail) is not None and len(digits(head)) >= 8:
            end = m.start() + len(head)
            break
    return Found(digits(doc.text[m.start():end]), m.start(), end)


def _decoder_at(doc: Doc, pos: int, cut: int) -> Found | None:
    m = _DECODER_TOKEN_RE.match(doc.text, pos, cut)
    if m is None or number_continues(doc.text, m.end()):
        return None
    raw = m.group().rstrip("-")
    value = "".join(raw.split()).upper()
    if not doc.pats.decoder.fullmatch(value) or len(digits(value)) < doc.pats.decoder_min_digits:
        return None
    return Found(value, m.start(), m.start() + len(raw))


_TOKEN_START_RE = re.compile(r"(?<![A-Za-z0-9\-])[A-Za-z0-9]")


def decoders_in(doc: Doc, start: int, end: int) -> list[Found]:
    """Decoder numbers written without a label in ``doc.text[start:end]`` (a correction after
    a labelled one: "… nhầm số đầu thu K24B0012933, đúng là K24B0012399"): tokens of the
    decoder's shape that hold a letter (a number alone is a phone's or a card's)."""
    found = []
    for m in capped(_TOKEN_START_RE.finditer(doc.text, start, end)):
        value = _decoder_at(doc, m.start(), end)
        if value is not None and value.value and not value.value.replace("-", "").isdigit():
            found.append(value)
    return found


def _phone_at(doc: Doc, pos: int, cut: int) -> Found | None:
    numbers, run_end = extract_phone.numbers_at(doc.text, pos, end=cut, region=doc.pats.region,
                                                company_numbers=doc.pats.company_numbers)
    if run_end == pos:
        return None
    e164 = next((e164 for _, _, kind, e164 in numbers if kind == extract_phone.CUSTOMER), None)
    # The whole run is claimed even without a valid phone: a phone label's value is no card.
    return Found(e164, pos, run_end)


def _email_at(doc: Doc, pos: int, cut: int) -> Found | None:
    m = EMAIL_RE.match(doc.text, pos, cut)
    if m is None:
        return None
    value = m.group().lower()
    return Found(None if doc.is_company_email(value) else value, m.start(), m.end())


_NAME_END_RE = re.compile(r"[,;|(\n]|\s[-–]\s|\.(?:\s|$)")


def _name_at(doc: Doc, pos: int, cut: int) -> Found | None:
    stop = _NAME_END_RE.search(doc.text, pos, cut)
    end = stop.start() if stop else cut
    run = WORD_RUN_RE.match(doc.text, pos, end)
    if run is None:
        return None
    raw = run.group()
    if raw[:1].isupper():  # "Họ tên: Nguyễn Văn A sinh năm 1980": the capitalised words only
        raw = capitalised_prefix(doc.text, pos)
    name = plausible_name(raw, min_words=1, labelled=True)
    return Found(name, pos, end) if name else None


def _address_at(doc: Doc, pos: int, cut: int) -> Found | None:
    value = clean_address(join_lines(doc.text[pos:cut]))
    return Found(value, pos, cut) if value else None


_PARSERS: dict[str, Callable[[Doc, int, int], Found | None]] = {
    "smartcard": _card_at, "decoder": _decoder_at, "phone": _phone_at,
    "email": _email_at, "name": _name_at, "address": _address_at,
}

Best = dict[str, tuple[Found, Hit]]
Every = list[tuple[str, Found, Hit]]


def labelled(doc: Doc, hits: list[Hit]) -> tuple[Best, list[tuple[int, int]], Every]:
    """The best labelled value of each field, every span a label's value claimed, and every
    labelled value found (field, value, label) in text order."""
    best: Best = {}
    every: Every = []
    claimed: list[tuple[int, int]] = []
    claimed_until = -1
    for i, hit in enumerate(hits):
        if hit.value < claimed_until:  # the label word sits inside an earlier value
            continue
        cut = line_end(doc.text, hit.value)
        if _FREE_TEXT.intersection(hit.label.fields):  # "Địa chỉ: … SĐT: …" ends at the next label
            next_label = next((h.start for h in hits[i + 1:] if h.start > hit.value), len(doc.text))
            cut = min(cut, next_label)
            if "address" in hit.label.fields:  # "… Nguyễn Trãi\nP. Bến Thành, Q.1, TP.HCM"
                cut = continued_address(doc, hit.value, cut, next_label)
        for name in hit.label.fields:
            found = _PARSERS[name](doc, hit.text_value if name in _FREE_TEXT else hit.value, cut)
            if found is None:
                continue
            if (name == "address" and not hit.colon
                    and not looks_like_address(doc.folded[found.start:cut])):
                continue
            if name not in _FREE_TEXT:  # a phone or date written inside an address still counts
                claimed.append((found.start, found.end))
                claimed_until = found.end
            current = best.get(name)
            if found.value and (current is None or hit.label.rank > current[1].label.rank):
                best[name] = (found, hit)
            if found.value:
                every.append((name, found, hit))
            break
    return best, claimed, every
