"""Values found by their shape alone: e-mail addresses, amounts of money, a card number, and
the complaint's category (a fee or billing problem, or any other).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from mailproc.analysis.extract.text import (
    Doc,
    capped,
    digits,
    masked,
    number_continues,
    title_words,
    words,
)

EMAIL_RE = re.compile(
    r"(?<![\w.%+\-])[\w.%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63}){1,6}(?![\w\-])")
# The local part of EMAIL_RE, up to its "@" (searched only in the 65 characters before an "@").
_LOCAL_PART_RE = re.compile(r"(?<![\w.%+\-])[\w.%+\-]{1,64}@")


def _emails(text: str) -> Iterator[re.Match[str]]:
    """``EMAIL_RE.finditer(text)``, but tried only at each "@" rather than at every position.

    A match's local part is a whole run of local-part characters (the lookbehind) ending at the
    first "@" after the search position, so only one start per "@" can match.
    """
    pos = 0
    while (at := text.find("@", pos)) >= 0:
        local = _LOCAL_PART_RE.search(text, max(pos, at - 64), at + 1)
        m = EMAIL_RE.match(text, local.start()) if local else None
        if m is None:
            pos = at + 1
            continue
        yield m
        pos = m.end()


def prose_email(doc: Doc, text: str) -> tuple[str | None, list[tuple[int, int]]]:
    """The first e-mail address in ``text`` that is not the company's, and every address's span."""
    first, spans = None, []
    for m in capped(_emails(text)):
        spans.append(m.span())
        if first is None and not doc.is_company_email(m.group().lower()):
            first = m.group().lower()
    return first, spans


_UNITS = ("d", "dong", "vnd", "k", "nghin", "ngan", "trieu", "tr", "usd")
# Starts with a digit, not a lookbehind, so the regex engine skips quickly to digits.
_AMOUNT = (r"\d(?<![\d.,]\d)(?:\d{0,2}(?:[.,]\d{3}){1,6}(?:[.,]\d{1,2})?(?!\d)"
           r"|\d{0,14}[ \t]{0,2}" + words(*_UNITS) + ")")
_AMOUNT_RE = re.compile(_AMOUNT)
_AMOUNT_SHAPE_RE = re.compile(_AMOUNT.replace(r"\d", "0").encode())  # see digit_shape
_UNIT_AFTER_RE = re.compile(r"[ \t]{0,2}(?:%|" + words(*_UNITS) + ")")
_DATE_SHAPE_RE = re.compile(r"\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}")
# Numbers after these are some other identifier (bank account, order, ID card), never a card.
_OTHER_ID_RE = re.compile(words(
    "stk", "so tai khoan", "tai khoan", "ma giao dich", "ma gd", "ma don", "don hang", "hop dong",
    "cmnd", "cccd", "can cuoc", "ho chieu", "ma khach hang", "ma kh", "ma yeu cau", "ticket",
    "the ngan hang", "the atm", "the tin dung", "otp", "ma so thue", "mst", "ma hoa don",
    "so hoa don") + r"[^\n]{0,25}$")
# A bare number right after money words is an amount ("bị trừ 15000000"), not a card.
_MONEY_BEFORE_RE = re.compile(words(
    "tien", "so tien", "tru", "phi", "cuoc", "gia", "thanh toan", "nap", "chuyen", "hoan", "mat",
    "tong") + r"[ \t:]{0,3}$")


def amount_spans(folded: str, shape: bytes | None = None) -> list[tuple[int, int]]:
    """Spans of amounts of money ("175.000đ", "25000000 VNĐ") in the (masked) fold, found on
    its digit shape when given (``extract_text.digit_shape``)."""
    if shape is None:
        return [m.span() for m in capped(_AMOUNT_RE.finditer(folded))]
    return [m.span() for m in capped(_AMOUNT_SHAPE_RE.finditer(shape))]


# A card by shape is a token of its own; "#KN-2026-10-0412" and "KP-5530-29177" are not.
_TOKEN_BEFORE = frozenset(" \t\n(:;,\"'[")


def _is_card_shape(doc: Doc, text: str, m: re.Match[str]) -> bool:
    start, raw = m.start(), m.group()
    if (start > 0 and text[start - 1] not in _TOKEN_BEFORE) or number_continues(text, m.end()):
        return False
    number = digits(raw)
    if (number.startswith("0") and len(number) in (10, 11)) or _DATE_SHAPE_RE.fullmatch(raw):
        return False  # phone-like or a date: never a card by shape alone
    if doc.classify_phone(raw) is not None or _UNIT_AFTER_RE.match(doc.folded, m.end()):
        return False
    if _MONEY_BEFORE_RE.search(doc.folded, max(0, start - 16), start):
        return False
    return not _OTHER_ID_RE.search(doc.folded, max(0, start - 40), start)


_MAX_SHAPE_CARDS = 8


def shape_cards(doc: Doc, claimed: list[tuple[int, int]]) -> list[tuple[str, int, int]]:
    """Card numbers by their shape alone, (digits, start, end), from what no other step
    claimed (the first few: a real complaint gives one or two)."""
    text = masked(doc.text, claimed)
    found = []
    for m in capped(doc.pats.card.finditer(text)):
        if _is_card_shape(doc, text, m):
            found.append((digits(m.group()), m.start(), m.end()))
            if len(found) >= _MAX_SHAPE_CARDS:
                break
    return found


def shape_card(doc: Doc, claimed: list[tuple[int, int]]) -> str | None:
    """The first card number by its shape alone, from what no other step claimed."""
    found = shape_cards(doc, claimed)
    return found[0][0] if found else None


_FEE_WORDS = (
    "cuoc", "phi", "tru tien", "bi tru", "gia han", "thanh toan", "hoa don", "nap", "hoan tien",
    "tinh tien", "thu tien", "mat tien", "chuyen khoan", "dong tien", "tien thue bao", "billing",
    "refund", "payment", "fee", "fees", "charge", "charged", "overcharged", "billed", "invoice",
    "deducted", "debited")
# Words that say money was taken: a promotion around them does not make them free.
_CHARGE_WORDS = frozenset({"bi tru", "tru tien", "hoan tien", "tinh tien", "thu tien", "mat tien",
                           "refund", "charged", "overcharged", "billed", "deducted", "debited"})
# Searched on the title view (same matches as words(*_FEE_WORDS) on the fold, found faster).
_FEE_RE = re.compile(title_words(*_FEE_WORDS).encode())  # the view is bytes
# Folding merges "cước" (charge) with "cuộc" (a call), "phí" with "phi", "nạp" with "nắp": the
# original spelling decides; without diacritics, the next word does.
_FEE_SPELLING = {"cuoc": "cước", "phi": "phí", "nap": "nạp"}
_NOT_FEE_AFTER_RE = re.compile(
    r"[ \t]{1,3}"
    + words("goi", "song", "hop", "hen", "thi", "doi", "chien", "tro chuyen", "cong"))
# "Tôi vẫn đóng cước đầy đủ hàng tháng mà … mất sóng": paying is context, not the complaint.
_PAID_UP_AFTER_RE = re.compile(r"[ \t]{1,3}(?:[a-z]{1,8}[ \t]{1,3}){0,2}"
                               + words("day du", "dung han", "deu dan", "binh thuong"))


# "miễn phí" (free), "không mất phí", "free of charge": the word names no charge.
_FREE_BEFORE_RE = re.compile(words("mien", "khong mat", "khong thu", "khong tinh", "free of", "no",
                                   "without") + r"[ \t]{1,3}$")
_FREE_AFTER_RE = re.compile(r"[ \t]{1,3}" + words("mien phi", "free"))
# A promotion ("khuyến mãi nạp 6 tháng tặng 1 tháng", "ưu đãi giá") is an offer, not a charge:
# a fee word after one in the same clause counts only if it says money was taken.
_PROMOTION_BEFORE_RE = re.compile(
    words("khuyen mai", "uu dai", "promotion", "promo", "offer", "free") + r"[^\n.;!?]{0,40}$")
# "tặng" (given free) folds to "tang", as "tăng" (raised: "tăng giá cước" is a fee complaint).
_GIVEN_RE = re.compile(r"(?<![^\W\d_])tặng(?![^\W\d_])[^\n.;!?]{0,40}$", re.I)


def _not_a_charge(doc: Doc, start: int, end: int) -> bool:
    folded = doc.folded
    if _FREE_BEFORE_RE.search(folded, max(0, start - 12), start):
        return True
    word = " ".join(folded[start:end].split())
    return word not in _CHARGE_WORDS and bool(
        _FREE_AFTER_RE.match(folded, end)
        or _PROMOTION_BEFORE_RE.search(folded, max(0, start - 60), start)
        or _GIVEN_RE.search(doc.text, max(0, start - 50), start))


def category(doc: Doc) -> str:
    for m in capped(_FEE_RE.finditer(doc.title)):
        if _PAID_UP_AFTER_RE.match(doc.folded, m.end()) or _not_a_charge(doc, m.start(), m.end()):
            continue
        expected = _FEE_SPELLING.get(doc.folded[m.start():m.end()])
        if expected is not None:
            original = doc.text[m.start():m.end()].lower()
            if not original.isascii() and original != expected:
                continue
            if original.isascii() and _NOT_FEE_AFTER_RE.match(doc.folded, m.end()):
                continue
        return "fee"
    return "other"
