"""Extract a complaint's identifiers: name, address, phone, e-mail, card, decoder, date, category.

Pure: text in, :class:`Extracted` out; no I/O, no logging. Labels are matched on the folded,
length-aligned text (offsets stay valid in the original, so values keep case and diacritics).
The label table is data; the steps in :func:`extract` run in a fixed order, and every number,
e-mail or date found *claims* its span so that no later step can read it as something else
(names and addresses are free text and claim nothing: a phone written inside still counts):

1. labelled values ("Số thẻ: …", "SĐT: …") in text order: a label decides what its value is;
2. e-mail addresses; 3. phone-like numbers (customer's, hotline, foreign: all claimed);
4. dates; 5. amounts of money; 6. a card number by shape only, from what is left;
7. names and addresses from prose, then the signature, then the From header.

Phone-versus-card rule: a value right after a card label is a card even when it is also a
valid mobile ("Số thẻ: 0912345678"); a value after a phone label is never a card, even when it
is not a valid phone; an unlabelled number that is a valid Vietnamese phone (old 01xx forms
included), a 1900/1800 number, or any 10-11 digit group starting with 0 is never a card.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from mailproc import extract_dates, extract_phone
from mailproc.config import ExtractConfig
from mailproc.textnorm import fold, normalize

FIELDS = ("name", "address", "phone", "email", "smartcard", "decoder", "incident_date")
JSON_KEYS = (*FIELDS, "category")
_MAX_HITS = 500  # per pass: a real complaint never has more; a hostile text must stay cheap
_T = TypeVar("_T")


@dataclass(frozen=True)
class Extracted:
    name: str | None = None
    address: str | None = None
    phone: str | None = None  # E.164, e.g. "+84912345678"
    email: str | None = None  # lower-case
    smartcard: str | None = None  # digits only
    decoder: str | None = None  # upper case, no spaces
    incident_date: date | None = None
    category: str = "other"  # "fee" | "other"
    # field -> "label" | "prose" | "signature" | "shape" | "sender"
    confidence: Mapping[str, str] = field(default_factory=dict, hash=False)

    def as_json(self) -> dict[str, str | None]:
        """Exactly the contract's eight keys; the date as YYYY-MM-DD."""
        out: dict[str, str | None] = {key: getattr(self, key) for key in JSON_KEYS}
        out["incident_date"] = self.incident_date.isoformat() if self.incident_date else None
        return out

    def merged_with(self, newer: Extracted) -> Extracted:
        """Fill only the fields missing here from ``newer`` (a customer's reply filling gaps)."""
        filled = {name: getattr(newer, name) for name in FIELDS
                  if getattr(self, name) is None and getattr(newer, name) is not None}
        confidence = dict(self.confidence)
        confidence.update((name, newer.confidence[name]) for name in filled
                          if name in newer.confidence)
        category = "fee" if "fee" in (self.category, newer.category) else "other"
        return dataclasses.replace(self, **filled, category=category, confidence=confidence)


def _capped(items: Iterable[_T]) -> Iterator[_T]:
    return itertools.islice(items, _MAX_HITS)


# --- text helpers ---------------------------------------------------------------------------


class _FoldTable(dict[int, str]):
    """``str.translate`` table filled lazily from :func:`textnorm.fold`, one char per char."""

    def __missing__(self, key: int) -> str:
        folded = fold(chr(key))
        out = folded[:1] if folded else chr(key)
        if key < 0x3000:  # keep the cache small on hostile input
            self[key] = out
        return out


_FOLD_TABLE = _FoldTable()
_BLANK_RE = re.compile(r"[^\n]")


def fold_aligned(text: str) -> str:
    """Same result as :func:`textnorm.fold_keep_length`, ~50x faster (cached per character)."""
    return text.lower() if text.isascii() else text.translate(_FOLD_TABLE)


def _masked(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """``text`` with the spans blanked (newlines kept, so lines and offsets stay put)."""
    out, prev = [], 0
    for start, end in sorted(spans):
        start = max(start, prev)
        if end > start:
            out += [text[prev:start], _BLANK_RE.sub(" ", text[start:end])]
            prev = end
    out.append(text[prev:])
    return "".join(out)


def _words(*phrases: str) -> str:
    """A regex for any of the folded phrases as whole words (a space matches 1-3 blanks)."""
    longest_first = sorted(phrases, key=len, reverse=True)
    alts = (re.escape(p).replace(r"\ ", r"[ \t]{1,3}") for p in longest_first)
    return r"(?<![a-z])(?:" + "|".join(alts) + r")(?![a-z])"


def _line_end(text: str, pos: int) -> int:
    end = text.find("\n", pos)
    return len(text) if end < 0 else end


def _lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    while start < end and len(out) < _MAX_HITS:
        stop = min(_line_end(text, start), end)
        out.append((start, stop))
        start = stop + 1
    return out


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


def _trie_pattern(phrases: Iterable[str]) -> str:
    """One regex for many phrases, prefixes shared (fast on long text), longest match first."""
    trie: dict[str, Any] = {}
    for phrase in phrases:
        node = trie
        for ch in phrase:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        alts = [(r"[ \t]{1,3}" if ch == " " else re.escape(ch)) + emit(node[ch])
                for ch in sorted(node) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if "" in node else body

    return emit(trie)


_LABEL_RE = re.compile(r"(?<![a-z0-9])" + _trie_pattern(_LABEL_BY_PHRASE) + r"(?![a-z0-9])")
_PRONOUN = r"(?:toi|em|minh|anh|chi|khach hang)"


# Up to two other words before a colon: "Số đầu thu đúng:", "Điện thoại nhà:", "Số thẻ cũ:" —
# but not words that make it another thing ("Số thẻ ATM:", "Số thẻ ngân hàng:").
_WORDS_BEFORE_COLON = (r"(?!atm|ngan hang|tin dung|visa|master|credit|debit|cong ty)"
                       r"[a-z]{1,10}(?:[ \t]{1,3}[a-z]{1,10})?[ \t]{0,3}(?=:)")


def _separator_re(*words: str, pronouns: str = _PRONOUN, extra: str = "") -> re.Pattern[str]:
    """What may stand between a label and its value: "Số điện thoại (Zalo) của tôi là: …"."""
    alts = "|".join(w.replace(" ", r"[ \t]{1,3}") for w in words)
    word = rf"(?:cua[ \t]{{1,3}}{_PRONOUN}|{pronouns}|{alts})(?![a-z0-9])"
    filler = rf"(?:\([^()\d\n]{{0,30}}\)|[:=#.\-–]|/[ \t]{{0,2}}[a-z+]{{1,10}}|{word}{extra})"
    # Columns aligned with blanks ("Số đầu thu:         K23A0045871") are common.
    return re.compile(rf"(?:[ \t]{{0,3}}{filler}){{0,5}}[ \t]{{0,24}}")


_FILLER_WORDS = ("la", "moi", "cu", "hien tai", "dang ky", "lien he", "nhu sau", "is")
# Before a number "số"/"no." is filler ("thẻ K+ số 1234…"), and so are other words before a
# colon. Before a name or an address they may be the value ("Địa chỉ: Số 5", "Anh Sơn"), so
# only "tôi/em/mình" stand alone there ("Địa chỉ nhà tôi là …").
_SEP_RE = _separator_re(*_FILLER_WORDS, "so", "number", "no", extra="|" + _WORDS_BEFORE_COLON)
_TEXT_SEP_RE = _separator_re(*_FILLER_WORDS, pronouns="(?:toi|em|minh)")
_PROSE_SEP_RE = re.compile(_words("toi", "em", "minh", "la"))
_LABEL_POSITION_CHARS = "\n,;.:(|•*-–>/["


@dataclass(frozen=True)
class _Hit:
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


def _value_start(sep_re: re.Pattern[str], folded: str, pos: int, colon: bool) -> int:
    sep = sep_re.match(folded, pos)
    end = sep.end() if sep else pos
    if colon and folded.startswith("\n", end):  # "Số thẻ:\n1234 5678 9012"
        sep = sep_re.match(folded, end + 1)
        end = sep.end() if sep else end + 1
    return end


_WORD_START_RE = re.compile(r"(?<![^\W\d_])[^\W\d_]")


def _text_value_start(text: str, folded: str, label: re.Match[str], colon: bool) -> int:
    """Like :func:`_value_start`, but a capitalised word is the value, not filler: folded
    "la" is also the surname "La" and the place "La Khê" (unless the label is in capitals)."""
    end = _value_start(_TEXT_SEP_RE, folded, label.end(), colon)
    if not text[label.start():label.end()].isupper():
        for m in _WORD_START_RE.finditer(text, label.end(), end):
            if m.group().isupper():
                return m.start()
    return end


def _label_hits(text: str, folded: str) -> list[_Hit]:
    hits = []
    for m in _capped(_LABEL_RE.finditer(folded)):
        label = _LABEL_BY_PHRASE[" ".join(m.group().split())]
        free_text = _FREE_TEXT.issuperset(label.fields)  # "Tên kênh:" is no name label
        sep = (_TEXT_SEP_RE if free_text else _SEP_RE).match(folded, m.end())
        sep_text = sep.group() if sep else ""
        colon = ":" in sep_text
        if label.colon and not colon:
            continue
        if label.position and not _at_label_position(folded, m.start()):
            continue
        hits.append(_Hit(label, m.start(), _value_start(_SEP_RE, folded, m.end(), colon),
                         _text_value_start(text, folded, m, colon), colon,
                         bool(_PROSE_SEP_RE.search(sep_text))))
    return hits


# --- values after a label -------------------------------------------------------------------


@dataclass(frozen=True)
class _Patterns:
    card: re.Pattern[str]
    decoder: re.Pattern[str]
    decoder_min_digits: int
    company_numbers: frozenset[str]
    company_domains: tuple[str, ...]
    region: str


@functools.lru_cache(maxsize=16)
def _compile(card: str, decoder: str, min_digits: int, numbers: tuple[str, ...],
             domains: tuple[str, ...], region: str) -> _Patterns:
    return _Patterns(re.compile(card), re.compile(decoder), min_digits,
                     frozenset(re.sub(r"\D", "", n) for n in numbers),
                     tuple(d.lower().lstrip("@.") for d in domains), region)


def _patterns(config: ExtractConfig) -> _Patterns:
    """Compiled once per distinct config (ExtractConfig holds lists, so it is not hashable)."""
    return _compile(config.card_pattern, config.decoder_pattern, config.decoder_min_digits,
                    tuple(config.company_numbers), tuple(config.company_domains), config.region)


@dataclass(frozen=True)
class _Doc:
    text: str
    folded: str
    pats: _Patterns

    def classify_phone(self, raw: str) -> extract_phone.PhoneHit | None:
        return extract_phone.classify(raw, region=self.pats.region,
                                      company_numbers=self.pats.company_numbers)

    def is_company_email(self, address: str) -> bool:
        domain = address.rpartition("@")[2]
        return any(domain == d or domain.endswith("." + d) for d in self.pats.company_domains)


@dataclass(frozen=True)
class _Found:
    value: str | None  # None: the span is claimed but holds nothing usable (a hotline number)
    start: int
    end: int


_DIGITS_RE = re.compile(r"\d")
_EMAIL_RE = re.compile(
    r"(?<![\w.%+\-])[\w.%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63}){1,6}(?![\w\-])")
# A decoder value; a space joins the next group only when that group has a digit.
_DECODER_TOKEN_RE = re.compile(
    r"[A-Za-z0-9](?:[A-Za-z0-9\-]|[ \t](?=[A-Za-z0-9\-]{0,24}\d)){0,40}")
_TRAILING_PHONE_GROUPS = 3


def _digits(text: str) -> str:
    return "".join(_DIGITS_RE.findall(text))


def _number_continues(text: str, end: int) -> bool:
    """True when the value goes on ("…5678.9", "…5678 9012" past the longest card, "…78abc")."""
    after = text[end:end + 2]
    return bool(after) and (after[0].isalnum() or (after[:1] in ".,-/ " and after[1:2].isdigit()))


def _card_at(doc: _Doc, pos: int, cut: int) -> _Found | None:
    m = doc.pats.card.match(doc.text, pos, cut)
    if m is None or _number_continues(doc.text, m.end()):
        return None
    end = m.end()
    groups = m.group().split(" ")
    # "Số thẻ 12345678 0912345678": a phone written right after the card is not part of it.
    for k in range(1, min(_TRAILING_PHONE_GROUPS, len(groups) - 1) + 1):
        head = " ".join(groups[:-k])
        if doc.classify_phone(" ".join(groups[-k:])) is not None and len(_digits(head)) >= 8:
            end = m.start() + len(head)
            break
    return _Found(_digits(doc.text[m.start():end]), m.start(), end)


def _decoder_at(doc: _Doc, pos: int, cut: int) -> _Found | None:
    m = _DECODER_TOKEN_RE.match(doc.text, pos, cut)
    if m is None or _number_continues(doc.text, m.end()):
        return None
    raw = m.group().rstrip("-")
    value = "".join(raw.split()).upper()
    if not doc.pats.decoder.fullmatch(value) or len(_digits(value)) < doc.pats.decoder_min_digits:
        return None
    return _Found(value, m.start(), m.start() + len(raw))


def _phone_at(doc: _Doc, pos: int, cut: int) -> _Found | None:
    hits, run_end = extract_phone.phones_at(doc.text, pos, end=cut, region=doc.pats.region,
                                            company_numbers=doc.pats.company_numbers)
    if run_end == pos:
        return None
    customer = next((h for h in hits if h.kind == extract_phone.CUSTOMER), None)
    # The whole run is claimed even without a valid phone: a phone label's value is no card.
    return _Found(customer.e164 if customer else None, pos, run_end)


def _email_at(doc: _Doc, pos: int, cut: int) -> _Found | None:
    m = _EMAIL_RE.match(doc.text, pos, cut)
    if m is None:
        return None
    value = m.group().lower()
    return _Found(None if doc.is_company_email(value) else value, m.start(), m.end())


_NAME_END_RE = re.compile(r"[,;|(\n]|\s[-–]\s|\.(?:\s|$)")


def _name_at(doc: _Doc, pos: int, cut: int) -> _Found | None:
    stop = _NAME_END_RE.search(doc.text, pos, cut)
    end = stop.start() if stop else cut
    words = _WORD_RUN_RE.match(doc.text, pos, end)
    if words is None:
        return None
    raw = words.group()
    if raw[:1].isupper():  # "Họ tên: Nguyễn Văn A sinh năm 1980": the capitalised words only
        raw = _capitalised_prefix(doc.text, pos)
    name = _plausible_name(raw, min_words=1, labelled=True)
    return _Found(name, pos, end) if name else None


_ADDRESS_WORDS_RE = re.compile(_words(
    "so", "duong", "pho", "ngo", "ngach", "hem", "kiet", "phuong", "xa", "quan", "huyen", "tinh",
    "thanh pho", "tp", "thon", "ap", "xom", "khu", "to", "chung cu", "toa", "can ho", "thi tran",
    "thi xa", "lo", "p", "q", "tt"))
_MAX_ADDRESS = 200


def _clean_address(raw: str) -> str | None:
    value = " ".join(raw.split()).strip(" .,;:-–—")
    if not 3 <= len(value) <= _MAX_ADDRESS or "@" in value:
        return None
    return value if any(c.isalnum() for c in value) else None


def _looks_like_address(folded: str) -> bool:
    return bool(_DIGITS_RE.search(folded) or _ADDRESS_WORDS_RE.search(folded))


def _address_at(doc: _Doc, pos: int, cut: int) -> _Found | None:
    value = _clean_address(doc.text[pos:cut])
    return _Found(value, pos, cut) if value else None


_PARSERS: dict[str, Callable[[_Doc, int, int], _Found | None]] = {
    "smartcard": _card_at, "decoder": _decoder_at, "phone": _phone_at,
    "email": _email_at, "name": _name_at, "address": _address_at,
}

_Best = dict[str, tuple[_Found, _Hit]]


def _labelled(doc: _Doc, hits: list[_Hit]) -> tuple[_Best, list[tuple[int, int]]]:
    """The best labelled value of each field, and every span a label's value claimed."""
    best: _Best = {}
    claimed: list[tuple[int, int]] = []
    claimed_until = -1
    for i, hit in enumerate(hits):
        if hit.value < claimed_until:  # the label word sits inside an earlier value
            continue
        cut = _line_end(doc.text, hit.value)
        if _FREE_TEXT.intersection(hit.label.fields):  # "Địa chỉ: … SĐT: …" ends at the next label
            cut = min(cut, next((h.start for h in hits[i + 1:] if h.start > hit.value), cut))
        for name in hit.label.fields:
            found = _PARSERS[name](doc, hit.text_value if name in _FREE_TEXT else hit.value, cut)
            if found is None:
                continue
            if (name == "address" and not hit.colon
                    and not _looks_like_address(doc.folded[found.start:cut])):
                continue
            if name not in _FREE_TEXT:  # a phone or date written inside an address still counts
                claimed.append((found.start, found.end))
                claimed_until = found.end
            current = best.get(name)
            if found.value and (current is None or hit.label.rank > current[1].label.rank):
                best[name] = (found, hit)
            break
    return best, claimed


# --- layout: forwarded headers, signatures, datelines ---------------------------------------

_FORWARD_RE = re.compile(
    r"^[ \t]{0,8}(?:-{2,40}[ \t]{0,4}(?:forwarded message|thu da chuyen tiep|"
    r"tin nhan da chuyen tiep|original message)[ \t]{0,4}-{2,40}|begin forwarded message:?)"
    r"[ \t]{0,8}$", re.M)
_HEADER_RE = re.compile(
    r"[ \t]{0,8}(?P<key>from|to|cc|bcc|date|sent|subject|reply-to|tu|den|toi|ngay|chu de|tieu de|"
    r"gui|gui luc|thoi gian)[ \t]{0,2}:")
_HEADER_KIND = {"from": "from", "tu": "from", "subject": "subject", "chu de": "subject",
                "tieu de": "subject"}
_CLOSER_RE = re.compile(
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


@dataclass(frozen=True)
class _Layout:
    headers: list[tuple[int, int, str]]  # forwarded header lines, kind "from"|"subject"|"other"
    signatures: list[tuple[int, int, int]]  # (closer line start, its end, segment end)
    datelines: list[tuple[int, int]]

    def spans(self, *kinds: str) -> list[tuple[int, int]]:
        return [(s, e) for s, e, kind in self.headers if kind in kinds]


def _forward_headers(folded: str, marker_end: int, segment_end: int) -> list[tuple[int, int, str]]:
    headers: list[tuple[int, int, str]] = []
    for start, end in _lines(folded, marker_end + 1, segment_end)[:12]:
        m = _HEADER_RE.match(folded, start, end)
        if m is None:
            if headers or folded[start:end].strip():
                break
            continue
        headers.append((start, end, _HEADER_KIND.get(" ".join(m.group("key").split()), "other")))
    return headers


def _signature(folded: str, start: int, end: int) -> tuple[int, int, int] | None:
    lines = [line for line in _lines(folded, start, end) if folded[line[0]:line[1]].strip()]
    for line_start, line_end in reversed(lines[-_SIGNATURE_LINES:]):
        if _CLOSER_RE.match(folded, line_start, line_end):
            return line_start, line_end, end
    return None


def _layout(folded: str) -> _Layout:
    markers = list(_capped(_FORWARD_RE.finditer(folded)))
    bounds = [0, *(m.start() for m in markers), len(folded)]
    headers = [(m.start(), m.end(), "other") for m in markers]
    signatures = []
    for i, (seg_start, seg_end) in enumerate(itertools.pairwise(bounds)):
        if i > 0:
            headers += _forward_headers(folded, markers[i - 1].end(), seg_end)
        sig = _signature(folded, seg_start, seg_end)
        if sig is not None:
            signatures.append(sig)
    datelines = [m.span() for m in _capped(_DATELINE_RE.finditer(folded))]
    return _Layout(headers, signatures, datelines)


# --- names ----------------------------------------------------------------------------------

_HONORIFICS = {"anh", "chi", "ong", "ba", "em", "co", "bac", "mr", "mrs", "ms", "miss", "dr", "kh"}
_ROLE_WORDS = {"admin", "support", "cskh", "k+", "kplus", "team", "info", "service", "customer",
               "care", "hotline", "noreply", "sales", "helpdesk", "ltd", "jsc", "corp", "company",
               "shop", "store"}
_ROLE_PHRASES = ("cong ty", "khach hang", "phong cham soc", "phong cskh", "phong kinh doanh",
                 "bo phan", "tong dai", "cham soc", "quy khach", "thue bao", "dich vu",
                 "ban quan ly")
# A lower-case name after a label counts only when it starts with a common surname.
_SURNAMES = {"nguyen", "tran", "le", "pham", "hoang", "huynh", "phan", "vu", "vo", "dang", "bui",
             "do", "ho", "ngo", "duong", "ly", "dinh", "truong", "lam", "mai", "trinh", "doan",
             "luong", "cao", "ha", "ta", "quach", "luu", "kieu", "thai", "tong", "vuong", "dao",
             "trieu", "mac", "lai", "diep", "thach", "giang", "tang", "nghiem", "phung", "ung",
             "nong", "chu", "au"}
_NOT_NAME_WORDS = {"khong", "duoc", "bi", "toi", "da", "cua", "nhung", "xem", "mat", "song", "roi",
                   "cho", "voi", "nay", "thi", "se", "can", "muon", "la", "va", "co"}
_MAX_NAME_WORDS = 6
_WORD_RUN_RE = re.compile(r"[^\W\d_]{1,20}(?:[ \t]{1,2}[^\W\d_]{1,20}){0,7}")


def _is_role(words: list[str]) -> bool:
    folded = fold_aligned(" ".join(words))
    return (any(w.strip(".,") in _ROLE_WORDS for w in folded.split())
            or any(p in folded for p in _ROLE_PHRASES))


def _plausible_name(raw: str, *, min_words: int, labelled: bool = False) -> str | None:
    """A personal name as written (original case), honorifics dropped; None if implausible."""
    words = raw.replace("\u00a0", " ").split()
    while len(words) > 1 and fold_aligned(words[0]).rstrip(".") in _HONORIFICS:
        words = words[1:]
    if len(words) >= 3 and fold_aligned(" ".join(words[:2])) in ("khach hang", "chu thue bao"):
        words = words[2:]
    if not min_words <= len(words) <= _MAX_NAME_WORDS:
        return None
    if not all(w.isalpha() and len(w) <= 20 for w in words) or _is_role(words):
        return None
    if not all(w[0].isupper() for w in words):
        folded = fold_aligned(" ".join(words)).split()
        if not labelled or folded[0] not in _SURNAMES or _NOT_NAME_WORDS.intersection(folded):
            return None
    return " ".join(words)


def _capitalised_prefix(text: str, pos: int) -> str:
    """The capitalised words at ``pos`` ("Nguyễn Văn An, ở Hà Nội" -> "Nguyễn Văn An")."""
    m = _WORD_RUN_RE.match(text, pos)
    words = m.group().split() if m else []
    while len(words) > 1 and fold_aligned(words[0]) in _HONORIFICS:
        words = words[1:]
    return " ".join(itertools.takewhile(lambda w: w[0].isupper(), words[:_MAX_NAME_WORDS]))


_PROSE_NAME_RE = re.compile(
    r"(?<![a-z])(?:(?:toi|em|minh)[ \t]{1,3}(?:ten(?:[ \t]{1,3}la)?|(?P<is>la))|"
    r"ten[ \t]{1,3}(?:cua[ \t]{1,3})?(?:toi|em|minh)[ \t]{1,3}la)[ \t]{1,3}"
    r"(?:(?:khach hang|chu thue bao)[ \t]{1,3})?")
_SIGNATURE_PART_RE = re.compile(r"\s[-–|]\s|[,.:;(|\t]")


def _prose_name(doc: _Doc) -> str | None:
    for m in _capped(_PROSE_NAME_RE.finditer(doc.folded)):
        # "tôi là X" needs two words: "tôi là Khách…" is not a name; "em tên Hùng" is.
        min_words = 2 if m.group("is") else 1
        name = _plausible_name(_capitalised_prefix(doc.text, m.end()), min_words=min_words)
        if name:
            return name
    return None


def _signature_name(doc: _Doc, layout: _Layout) -> str | None:
    for start, end, seg_end in reversed(layout.signatures):
        closer = _CLOSER_RE.match(doc.folded, start, end)
        tail = closer.start("tail") if closer else end
        candidates = []
        if doc.folded[tail:end].lstrip()[:1] in (",", ":", "-"):  # "Trân trọng, Nguyễn Văn A"
            candidates.append(doc.text[tail:end].lstrip(" \t,:-"))
        lines = [ln for ln in _lines(doc.text, end + 1, seg_end) if doc.text[ln[0]:ln[1]].strip()]
        # "Trần Quốc Bảo - 0977 888 999": the name is the line's first part.
        candidates += [_SIGNATURE_PART_RE.split(doc.text[s:e])[0].strip() for s, e in lines[:3]]
        for raw in candidates:
            name = _plausible_name(raw, min_words=1)
            if name:
                return name
    return None


def _sender_name(sender_name: str | None) -> str | None:
    if not sender_name or "@" in sender_name:
        return None
    return _plausible_name(sender_name.strip().strip("\"'"), min_words=2, labelled=True)


# --- prose address --------------------------------------------------------------------------

_PROSE_ADDRESS_RE = re.compile(
    r"(?<![a-z])(?:(?:nha[ \t]{1,3})?(?:toi|em|minh)[ \t]{1,3}(?:hien[ \t]{1,3})?"
    r"(?:dang[ \t]{1,3})?(?:o|song o|song tai|o tai|cu tru tai)|"
    r"nha[ \t]{1,3}(?:toi|em|minh)[ \t]{1,3}(?:o|tai))"
    r"[ \t]{1,3}(?:(?:dia chi|so nha)[ \t]{1,3})?(?=[^\W_])")
_SENTENCE_END_RE = re.compile(r"[\n!?;]|\.(?=\s|$)")
# Lower-case conjunctions end an address; matched on the original text, as folded "mà" is "Mã".
_CONJUNCTION_RE = re.compile(r"(?<![^\W\d_])(?:nhưng|nhung|mà|nên|nen|thì|thi)(?![^\W\d_])")
# A period after these is an abbreviation inside an address ("P. Bến Nghé", "Q.1", "TP.HCM").
_ABBREVIATION_RE = re.compile(r"(?<![a-z])(?:p|q|tp|tx|tt|h|x|d|kp|ql|tl|so|no|st)$")
_ADDRESS_PART_RE = re.compile(r"[^,]{1,200}")


def _sentence_end(doc: _Doc, start: int, limit: int) -> int:
    conjunction = _CONJUNCTION_RE.search(doc.text, start, limit)
    limit = conjunction.start() if conjunction else limit
    for m in _SENTENCE_END_RE.finditer(doc.folded, start, limit):
        if m.group() != "." or not _ABBREVIATION_RE.search(doc.folded, max(start, m.start() - 3),
                                                            m.start()):
            return m.start()
    return limit


def _address_parts(doc: _Doc, start: int, end: int) -> list[str]:
    """The leading comma-parts that look like parts of an address (a number, a capital, a word
    like "phường"); "Hà Nội, mất sóng 3 ngày" keeps only "Hà Nội"."""
    parts = []
    for part in _ADDRESS_PART_RE.finditer(doc.text, start, end):
        text = part.group().strip()
        folded = doc.folded[part.start():part.end()].strip()
        if not text or not (text[0].isupper() or text[0].isdigit()
                            or _ADDRESS_WORDS_RE.match(folded)):
            break
        parts.append(text)
    return parts


def _prose_address(doc: _Doc, hits: list[_Hit]) -> str | None:
    for m in _capped(_PROSE_ADDRESS_RE.finditer(doc.folded)):
        next_label = next((h.start for h in hits if h.start >= m.end()), len(doc.text))
        limit = min(_line_end(doc.text, m.end()), m.end() + _MAX_ADDRESS, next_label)
        parts = _address_parts(doc, m.end(), _sentence_end(doc, m.end(), limit))
        value = _clean_address(", ".join(parts))
        if value and (_looks_like_address(fold_aligned(value)) or len(parts) > 1):
            return value
    return None


# --- e-mail, amounts, card by shape, category -----------------------------------------------


def _prose_email(doc: _Doc, text: str) -> tuple[str | None, list[tuple[int, int]]]:
    first, spans = None, []
    for m in _capped(_EMAIL_RE.finditer(text)):
        spans.append(m.span())
        if first is None and not doc.is_company_email(m.group().lower()):
            first = m.group().lower()
    return first, spans


_UNITS = ("d", "dong", "vnd", "k", "nghin", "ngan", "trieu", "tr", "usd")
# Starts with a digit, not a lookbehind, so the regex engine skips quickly to digits.
_AMOUNT_RE = re.compile(
    r"\d(?<![\d.,]\d)(?:\d{0,2}(?:[.,]\d{3}){1,6}(?:[.,]\d{1,2})?(?!\d)"
    r"|\d{0,14}[ \t]{0,2}" + _words(*_UNITS) + ")")
_UNIT_AFTER_RE = re.compile(r"[ \t]{0,2}(?:%|" + _words(*_UNITS) + ")")
_DATE_SHAPE_RE = re.compile(r"\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}")
# Numbers after these are some other identifier (bank account, order, ID card), never a card.
_OTHER_ID_RE = re.compile(_words(
    "stk", "so tai khoan", "tai khoan", "ma giao dich", "ma gd", "ma don", "don hang", "hop dong",
    "cmnd", "cccd", "can cuoc", "ho chieu", "ma khach hang", "ma kh", "ma yeu cau", "ticket",
    "the ngan hang", "the atm", "the tin dung", "otp", "ma so thue", "mst", "ma hoa don",
    "so hoa don") + r"[^\n]{0,25}$")
# A bare number right after money words is an amount ("bị trừ 15000000"), not a card.
_MONEY_BEFORE_RE = re.compile(_words(
    "tien", "so tien", "tru", "phi", "cuoc", "gia", "thanh toan", "nap", "chuyen", "hoan", "mat",
    "tong") + r"[ \t:]{0,3}$")


# A card by shape is a token of its own; "#KN-2026-10-0412" and "KP-5530-29177" are not.
_TOKEN_BEFORE = frozenset(" \t\n(:;,\"'[")


def _is_card_shape(doc: _Doc, text: str, m: re.Match[str]) -> bool:
    start, raw = m.start(), m.group()
    if (start > 0 and text[start - 1] not in _TOKEN_BEFORE) or _number_continues(text, m.end()):
        return False
    digits = _digits(raw)
    if (digits.startswith("0") and len(digits) in (10, 11)) or _DATE_SHAPE_RE.fullmatch(raw):
        return False  # phone-like or a date: never a card by shape alone
    if doc.classify_phone(raw) is not None or _UNIT_AFTER_RE.match(doc.folded, m.end()):
        return False
    if _MONEY_BEFORE_RE.search(doc.folded, max(0, start - 16), start):
        return False
    return not _OTHER_ID_RE.search(doc.folded, max(0, start - 40), start)


def _shape_card(doc: _Doc, claimed: list[tuple[int, int]]) -> str | None:
    text = _masked(doc.text, claimed)
    for m in _capped(doc.pats.card.finditer(text)):
        if _is_card_shape(doc, text, m):
            return _digits(m.group())
    return None


_FEE_RE = re.compile(_words(
    "cuoc", "phi", "tru tien", "bi tru", "gia han", "thanh toan", "hoa don", "nap", "hoan tien",
    "tinh tien", "thu tien", "mat tien", "chuyen khoan", "dong tien", "tien thue bao", "billing",
    "refund", "payment", "fee", "fees", "charge", "charged"))
# Folding merges "cước" (charge) with "cuộc" (a call), "phí" with "phi", "nạp" with "nắp": the
# original spelling decides; without diacritics, the next word does.
_FEE_SPELLING = {"cuoc": "cước", "phi": "phí", "nap": "nạp"}
_NOT_FEE_AFTER_RE = re.compile(
    r"[ \t]{1,3}"
    + _words("goi", "song", "hop", "hen", "thi", "doi", "chien", "tro chuyen", "cong"))


# "Tôi vẫn đóng cước đầy đủ hàng tháng mà … mất sóng": paying is context, not the complaint.
_PAID_UP_AFTER_RE = re.compile(r"[ \t]{1,3}(?:[a-z]{1,8}[ \t]{1,3}){0,2}"
                               + _words("day du", "dung han", "deu dan", "binh thuong"))


def _category(doc: _Doc) -> str:
    for m in _capped(_FEE_RE.finditer(doc.folded)):
        if _PAID_UP_AFTER_RE.match(doc.folded, m.end()):
            continue
        expected = _FEE_SPELLING.get(m.group())
        if expected is not None:
            original = doc.text[m.start():m.end()].lower()
            if not original.isascii() and original != expected:
                continue
            if original.isascii() and _NOT_FEE_AFTER_RE.match(doc.folded, m.end()):
                continue
        return "fee"
    return "other"


# --- the extractor --------------------------------------------------------------------------


def extract(text: str, *, subject: str = "", sender_address: str | None = None,
            sender_name: str | None = None, mail_date: date | None = None,
            config: ExtractConfig) -> Extracted:
    """Extract the customer's identifiers from the complaint's own text (see the module doc).

    ``text`` is the customer's own text plus any forwarded complaint, quotes removed;
    ``mail_date`` is the complaint's date (year of "05/10", "not after the mail").
    """
    full = normalize(f"{subject}\n\n{text}" if subject else text)
    folded = fold_aligned(full)
    layout = _layout(folded)
    not_content = layout.spans("other", "from")  # forwarded headers, except their Subject
    doc = _Doc(_masked(full, not_content), _masked(folded, not_content), _patterns(config))
    values: dict[str, Any] = {}
    confidence: dict[str, str] = {}

    def put(name: str, value: object, how: str) -> None:
        if value is not None and name not in values:
            values[name], confidence[name] = value, how

    hits = _label_hits(doc.text, doc.folded)
    best, claimed = _labelled(doc, hits)
    for name, (found, hit) in best.items():
        put(name, found.value, "prose" if hit.prose else "label")

    email, spans = _prose_email(doc, _masked(full, layout.spans("other")))  # From: lines count
    put("email", email, "prose")
    claimed += spans

    for phone in extract_phone.scan(_masked(doc.text, claimed), region=doc.pats.region,
                                    company_numbers=doc.pats.company_numbers):
        claimed.append((phone.start, phone.end))
        if phone.kind == extract_phone.CUSTOMER:
            put("phone", phone.e164, "shape")

    category = _category(doc)
    not_dates = [*claimed, *((s, e) for s, _, e in layout.signatures), *layout.datelines]
    dates = extract_dates.find_dates(_masked(doc.folded, not_dates), mail_date=mail_date)
    claimed += [(d.start, d.end) for d in dates]
    prefer = extract_dates.PAYMENT if category == "fee" else extract_dates.INCIDENT
    chosen = extract_dates.choose(dates, mail_date=mail_date, prefer=prefer)
    if chosen is not None:
        put("incident_date", chosen.value, "prose" if chosen.tag else "shape")

    claimed += [m.span() for m in _capped(_AMOUNT_RE.finditer(_masked(doc.folded, claimed)))]
    put("smartcard", _shape_card(doc, claimed), "shape")

    put("name", _prose_name(doc), "prose")
    put("name", _signature_name(doc, layout), "signature")
    put("name", _sender_name(sender_name), "sender")
    put("address", _prose_address(doc, hits), "prose")
    sender = (sender_address or "").strip().lower()
    if "@" in sender and not doc.is_company_email(sender):
        put("email", sender, "sender")
    return Extracted(**values, category=category, confidence=confidence)
