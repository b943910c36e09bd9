"""Find Vietnamese phone numbers in complaint text and normalise them to E.164 (pure helpers).

Why not ``phonenumbers.PhoneNumberMatcher`` over the whole text: it drops old 11-digit 01xx
mobiles (invalid today, but customers still write them), it does not split two numbers written
in space-separated groups ("0912 345 678 0987 654 321"), and its cost on a hostile 1 MB text is
large. Instead a linear regex finds runs of digits and separators, each run is cut into
space-separated groups, and the longest group sequence from the left that ``phonenumbers.parse``
accepts (after the 01xx prefix table) is taken. Cheap digit-count and prefix checks run before
every parse, and a work budget bounds the total per text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

# Old 11-digit mobile prefixes renumbered in 2018 (Ministry of Information and Communications).
OLD_MOBILE_PREFIXES: dict[str, str] = {
    **{f"016{d}": f"03{d}" for d in "23456789"},
    "0120": "070", "0121": "079", "0122": "077", "0123": "083", "0124": "084",
    "0125": "085", "0126": "076", "0127": "081", "0128": "078", "0129": "082",
    "0186": "056", "0188": "058", "0199": "059",
}
# Kinds of a phone-like number: the customer's, a company/hotline number, or a valid number
# that is neither (foreign, toll-free...). All three are masked so they never become a card.
CUSTOMER, COMPANY, OTHER = "customer", "company", "other"
_ACCEPTED_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE,
                   PhoneNumberType.FIXED_LINE_OR_MOBILE}
_HOTLINE_PREFIXES = ("1900", "1800")
_MAX_GROUPS = 6  # "+84 (0) 912 345 678" is five groups
# A run of digits and the separators people put inside phone numbers: one character class,
# bounded (a longer run is cut; only hostile text has one).
_RUN_RE = re.compile(r"(?<![\w+])\+?\(?\d[\d \t().\-]{0,120}")
_GROUP_RE = re.compile(r"[^ \t]{1,120}")
_NON_DIGIT_RE = re.compile(r"\D")


@dataclass(frozen=True)
class PhoneHit:
    start: int
    end: int
    kind: str  # CUSTOMER | COMPANY | OTHER
    e164: str | None = None


@dataclass
class Budget:
    """Work left for one text: prefix checks and ``phonenumbers`` parses (hostile-input bound)."""

    checks: int = 20_000
    parses: int = 400


def _national(digits: str, plus: bool, country: str) -> str | None:
    """Return the national form ("0912345678") of a digit string, or None if not national."""
    if digits.startswith(country) and (plus or len(digits) >= 10 + len(country) - 1):
        rest = digits[len(country):]
        return rest if rest.startswith("0") else "0" + rest  # "+84 (0) 912..." carries a 0
    if plus:
        return None
    return digits if digits.startswith("0") else None


def upgrade_old_mobile(national: str) -> str:
    """Convert an old 11-digit 01xx mobile to its 10-digit form; other numbers unchanged."""
    if len(national) == 11 and national[:4] in OLD_MOBILE_PREFIXES:
        return OLD_MOBILE_PREFIXES[national[:4]] + national[4:]
    return national


def classify(raw: str, *, region: str, company_numbers: frozenset[str],
             budget: Budget | None = None) -> PhoneHit | None:
    """Classify one candidate string; the returned hit has offsets 0..len(raw)."""
    digits = _NON_DIGIT_RE.sub("", raw)
    if not 8 <= len(digits) <= 13:
        return None
    plus = raw.lstrip("(").startswith("+")
    if digits in company_numbers or (digits.startswith(_HOTLINE_PREFIXES) and len(digits) <= 10):
        return PhoneHit(0, len(raw), COMPANY)
    country = str(phonenumbers.country_code_for_region(region))
    national = _national(digits, plus, country)
    if national is None and not plus:
        return None
    if budget is not None:
        if budget.parses <= 0:
            return None
        budget.parses -= 1
    try:
        if national is None:  # an international number of another country
            number = phonenumbers.parse("+" + digits, None)
        else:
            national = upgrade_old_mobile(national)
            if not 10 <= len(national) <= 11:
                return None
            number = phonenumbers.parse(national, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    if national is None or phonenumbers.number_type(number) not in _ACCEPTED_TYPES:
        return PhoneHit(0, len(raw), OTHER)
    if national.lstrip("0") in company_numbers or national in company_numbers:
        return PhoneHit(0, len(raw), COMPANY)
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return PhoneHit(0, len(raw), CUSTOMER, e164)


def _trim(raw: str) -> str:
    """Drop trailing punctuation that belongs to the sentence, not the number."""
    raw = raw.rstrip(".-(")
    while raw.endswith(")") and raw.count(")") > raw.count("("):
        raw = raw[:-1].rstrip(".-(")
    return raw


def _may_start_phone(digits: str, plus: bool) -> bool:
    """Cheap check before joining groups: could a number start with these digits?"""
    return plus or digits.startswith(("0", "8", "1")) or not digits


def _segment(text: str, start: int, end: int, *, region: str, company_numbers: frozenset[str],
             budget: Budget) -> Iterator[PhoneHit]:
    """Cut one run into phone numbers: at each group, the longest sequence that classifies."""
    groups = [(m.start(), m.end()) for m in _GROUP_RE.finditer(text, start, end)]
    i = 0
    while i < len(groups) and budget.checks > 0:
        first = text[groups[i][0]:groups[i][1]]
        hit = None
        if _may_start_phone(_NON_DIGIT_RE.sub("", first), first.lstrip("(").startswith("+")):
            for j in range(min(len(groups), i + _MAX_GROUPS), i, -1):
                budget.checks -= 1
                raw = _trim(text[groups[i][0]:groups[j - 1][1]])
                hit = classify(raw, region=region, company_numbers=company_numbers, budget=budget)
                if hit is not None:
                    s = groups[i][0]
                    yield PhoneHit(s, s + len(raw), hit.kind, hit.e164)
                    i = j
                    break
        if hit is None:
            i += 1


def scan(text: str, *, region: str, company_numbers: frozenset[str], start: int = 0,
         end: int | None = None, budget: Budget | None = None) -> Iterator[PhoneHit]:
    """Yield every phone-like number in ``text[start:end]`` in order."""
    budget = budget if budget is not None else Budget()
    for run in _RUN_RE.finditer(text, start, len(text) if end is None else end):
        if budget.checks <= 0 or budget.parses <= 0:
            return
        yield from _segment(text, run.start(), run.end(), region=region,
                            company_numbers=company_numbers, budget=budget)


def phones_at(text: str, pos: int, *, end: int, region: str,
              company_numbers: frozenset[str]) -> tuple[list[PhoneHit], int]:
    """Phone-like numbers in the run that starts exactly at ``pos`` (a labelled value), and
    where that run ends (``pos`` when no number starts there)."""
    run = _RUN_RE.match(text, pos, end)
    if run is None:
        return [], pos
    hits = _segment(text, run.start(), run.end(), region=region, company_numbers=company_numbers,
                    budget=Budget())
    return list(hits), run.end()
