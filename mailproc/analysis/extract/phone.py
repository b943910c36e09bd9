"""Find Vietnamese phone numbers in complaint text and normalise them to E.164 (pure helpers).

Why not ``phonenumbers.PhoneNumberMatcher`` over the whole text: it drops old 11-digit 01xx
mobiles (invalid today, but customers still write them), it does not split two numbers written
in space-separated groups ("0912 345 678 0987 654 321"), and its cost on a hostile 1 MB text is
large. Instead a linear regex finds runs of digits and separators, each run is cut into
space-separated groups, and the longest group sequence from the left that ``phonenumbers.parse``
accepts (after the 01xx prefix table) is taken. Cheap digit-count and prefix checks run before
every parse, a run with fewer than 8 digits is not cut at all, parse results and cut runs are
cached (the same numbers come back), and a work budget bounds the total per text.
"""

from __future__ import annotations

import functools
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
_COMPANY = (COMPANY, None)
_HOTLINE_PREFIXES = ("1900", "1800")
_MAX_GROUPS = 6  # "+84 (0) 912 345 678" is five groups
# A run of digits and the separators people put inside phone numbers: one character class,
# bounded (a longer run is cut; only hostile text has one). This is
# "(?<![\w+])\+?\(?\d[\d \t().\-]{0,120}" with its first character taken from a set, so that
# `re` skips ahead to candidates instead of trying the lookbehind at every position; the
# lookbehinds after it check the character before and say which of "+(", "+", "(" it was.
_RUN_START = r"[+(\d](?<![\w+][+(\d])(?:(?<=\+)\(?\d|(?<=\()\d|(?<=\d))"
_RUN_RE = re.compile(_RUN_START + r"[\d \t().\-]{0,120}")
# The runs that may hold 8 digits: after the first digit, 7 more must follow through gaps of
# separators no longer than a run. The lookahead fails at a run's start only if it fails at
# every later start inside that run (those see a subset of its digits), so the matches are
# exactly the runs of _RUN_RE that pass it, every run with 8 digits among them.
_LONG_RUN_TAIL = r"(?=(?:[ \t().\-]{0,120}\d){7})[\d \t().\-]{0,120}"
_LONG_RUN_RE = re.compile(_RUN_START + _LONG_RUN_TAIL)
# The same on a digit shape (see extract_text.digit_shape: digits are "0"), and, when no run
# can start with "+" or "(", from a digit only: a literal first character is found fastest.
_LONG_RUN_SHAPE_RE = re.compile((_RUN_START + _LONG_RUN_TAIL).replace(r"\d", "0").encode())
_LONG_DIGIT_RUN_SHAPE_RE = re.compile(
    (r"0(?<![\w+]0)" + _LONG_RUN_TAIL).replace(r"\d", "0").encode())
_PLUS_START_SHAPE_RE = re.compile(rb"\+(?<![\w+]\+)\(?0")
_PAREN_START_SHAPE_RE = re.compile(rb"\((?<![\w+]\()0")
_MAX_RUN_GROUP = 120
_GROUP_RE = re.compile(rf"[^ \t]{{1,{_MAX_RUN_GROUP}}}")
_NON_DIGIT_RE = re.compile(r"\D")
_MIN_DIGITS = 8  # fewer digits are never a phone number (see classify)


@dataclass(frozen=True)
class PhoneHit:
    start: int
    end: int
    kind: str  # CUSTOMER | COMPANY | OTHER
    e164: str | None = None


# A phone-like number as (start, end, kind, E.164): what PhoneHit holds, without its cost.
Number = tuple[int, int, str, str | None]


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


@functools.lru_cache(maxsize=64)
def _country_code(region: str) -> str:
    return str(phonenumbers.country_code_for_region(region))


def classify(raw: str, *, region: str, company_numbers: frozenset[str],
             budget: Budget | None = None) -> PhoneHit | None:
    """Classify one candidate string; the returned hit has offsets 0..len(raw)."""
    kind = _kind(raw, region, company_numbers, budget)
    return None if kind is None else PhoneHit(0, len(raw), kind[0], kind[1])


def _kind(raw: str, region: str, company_numbers: frozenset[str],
          budget: Budget | None) -> tuple[str, str | None] | None:
    """:func:`classify`'s (kind, E.164), or None."""
    digits = _NON_DIGIT_RE.sub("", raw)
    if not _MIN_DIGITS <= len(digits) <= 13:
        return None
    plus = raw.lstrip("(").startswith("+")
    if digits in company_numbers or (digits.startswith(_HOTLINE_PREFIXES) and len(digits) <= 10):
        return _COMPANY
    national = _national(digits, plus, _country_code(region))
    if national is None and not plus:
        return None
    if budget is not None:
        if budget.parses <= 0:
            return None
        budget.parses -= 1
    return _parsed_kind(digits, national, region, company_numbers)


@functools.lru_cache(maxsize=256)
def _parsed_kind(digits: str, national: str | None, region: str,
                 company_numbers: frozenset[str]) -> tuple[str, str | None] | None:
    """(kind, E.164) of a number ``phonenumbers`` accepts, else None. Pure, so cached: the
    same number is often written twice in a mail (after a label and in the signature)."""
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
    if national is None:
        return (OTHER, None) if phonenumbers.is_valid_number(number) else None
    # number_type() is not UNKNOWN exactly when is_valid_number() holds (both match the
    # number against its region's metadata), so validity needs checking only for other types.
    if phonenumbers.number_type(number) not in _ACCEPTED_TYPES:
        return (OTHER, None) if phonenumbers.is_valid_number(number) else None
    if national.lstrip("0") in company_numbers or national in company_numbers:
        return _COMPANY
    return CUSTOMER, phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _trim(raw: str) -> str:
    """Drop trailing punctuation that belongs to the sentence, not the number."""
    raw = raw.rstrip(".-(")
    while raw.endswith(")") and raw.count(")") > raw.count("("):
        raw = raw[:-1].rstrip(".-(")
    return raw


def _may_start_phone(digits: str, plus: bool) -> bool:
    """Cheap check before joining groups: could a number start with these digits?"""
    return plus or digits.startswith(("0", "8", "1")) or not digits


def _segment(text: str, start: int, end: int, region: str, company_numbers: frozenset[str],
             budget: Budget) -> Iterator[Number]:
    """Cut one run into phone numbers: at each group, the longest sequence that classifies."""
    groups = [m.span() for m in _GROUP_RE.finditer(text, start, end)]
    i, n = 0, len(groups)
    while i < n and budget.checks > 0:
        first_start, first_end = groups[i]
        first = text[first_start:first_end]
        kind = None
        if _may_start_phone(_NON_DIGIT_RE.sub("", first), first.lstrip("(").startswith("+")):
            for j in range(min(n, i + _MAX_GROUPS), i, -1):
                budget.checks -= 1
                raw = _trim(text[first_start:groups[j - 1][1]])
                kind = _kind(raw, region, company_numbers, budget)
                if kind is not None:
                    yield first_start, first_start + len(raw), kind[0], kind[1]
                    i = j
                    break
        if kind is None:
            i += 1


@functools.lru_cache(maxsize=256)
def _cut(run: str, region: str, company_numbers: frozenset[str]) -> tuple[tuple[Number, ...], int, int]:
    """:func:`_segment` on a whole run, as (numbers, checks spent, parses spent).

    A run is at most 121 characters, so a fresh Budget can never run out on it: the result
    depends on the run's characters only (no lookaround leaves the run). Cached, as the same
    numbers come back (the customer's phone after its label and in the signature, a hotline).
    """
    budget = Budget()
    numbers = tuple(_segment(run, 0, len(run), region, company_numbers, budget))
    return numbers, Budget.checks - budget.checks, Budget.parses - budget.parses


def _cut_at(text: str, start: int, end: int, region: str, company_numbers: frozenset[str],
            budget: Budget) -> Iterator[Number]:
    """``_segment(text, start, end, …)`` from the cache when ``budget`` has more parses than
    the run spends (its checks cannot run out here), so that it cannot change the result."""
    numbers, checks, parses = _cut(text[start:end], region, company_numbers)
    if budget.parses <= parses:
        yield from _segment(text, start, end, region, company_numbers, budget)
        return
    budget.checks -= checks
    budget.parses -= parses
    for number_start, number_end, kind, e164 in numbers:
        yield start + number_start, start + number_end, kind, e164


def _spend(text: str, start: int, end: int, budget: Budget) -> None:
    """Take from the budget what :func:`_segment` spends on a run where nothing classifies."""
    groups = [(m.start(), m.end()) for m in _GROUP_RE.finditer(text, start, end)]
    i = 0
    while i < len(groups) and budget.checks > 0:
        first = text[groups[i][0]:groups[i][1]]
        if _may_start_phone(_NON_DIGIT_RE.sub("", first), first.lstrip("(").startswith("+")):
            budget.checks -= min(len(groups), i + _MAX_GROUPS) - i
        i += 1


def scan(text: str, *, region: str, company_numbers: frozenset[str], start: int = 0,
         end: int | None = None, budget: Budget | None = None,
         shape: bytes | None = None) -> Iterator[PhoneHit]:
    """Yield every phone-like number in ``text[start:end]`` in order.

    ``shape``, when given, is the text's digit shape (``extract_text.digit_shape``): the
    same runs are found faster on it.
    """
    for number in find_numbers(text, region=region, company_numbers=company_numbers,
                               start=start, end=end, budget=budget, shape=shape):
        yield PhoneHit(*number)


def find_numbers(text: str, *, region: str, company_numbers: frozenset[str], start: int = 0,
                 end: int | None = None, budget: Budget | None = None,
                 shape: bytes | None = None) -> Iterator[Number]:
    """:func:`scan`, each number as a (start, end, kind, E.164) tuple."""
    stop = len(text) if end is None else end
    # A run with fewer than 8 digits holds no phone: only the checks it would spend matter, and
    # only if a caller sees the budget or it could run out. A text spends at most _MAX_GROUPS
    # checks per group, and every group holds a digit or one of "()+.-".
    groups = len(text)
    if shape is not None and _MAX_GROUPS * groups >= Budget.checks:
        groups = len(shape) - len(shape.translate(None, b"0()+.-"))
    if budget is not None or _MAX_GROUPS * groups >= Budget.checks:
        yield from _scan_every_run(text, start, stop, region, company_numbers,
                                   budget if budget is not None else Budget())
        return
    budget = Budget()
    if shape is None:
        runs = [m.span() for m in _LONG_RUN_RE.finditer(text, start, stop)]
    elif (_PLUS_START_SHAPE_RE.search(shape, start, stop)
          or _PAREN_START_SHAPE_RE.search(shape, start, stop)):
        runs = [m.span() for m in _LONG_RUN_SHAPE_RE.finditer(shape, start, stop)]
    else:
        runs = [m.span() for m in _LONG_DIGIT_RUN_SHAPE_RE.finditer(shape, start, stop)]
    for run_start, run_end in runs:
        if budget.checks <= 0 or budget.parses <= 0:
            return
        if len(_NON_DIGIT_RE.sub("", text[run_start:run_end])) >= _MIN_DIGITS:
            # (This path is taken only when no check can run out: see above.)
            yield from _cut_at(text, run_start, run_end, region, company_numbers, budget)


def _scan_every_run(text: str, start: int, stop: int, region: str,
                    company_numbers: frozenset[str], budget: Budget) -> Iterator[Number]:
    """:func:`find_numbers`, spending the budget on short runs exactly as cutting them would."""
    for run in _RUN_RE.finditer(text, start, stop):
        if budget.checks <= 0 or budget.parses <= 0:
            return
        raw = run.group()
        if len(raw) >= _MIN_DIGITS and len(_NON_DIGIT_RE.sub("", raw)) >= _MIN_DIGITS:
            yield from _segment(text, run.start(), run.end(), region, company_numbers, budget)
        else:
            group = raw.rstrip(" \t")
            if " " in group or "\t" in group or len(group) > _MAX_RUN_GROUP:
                _spend(text, run.start(), run.end(), budget)
            elif _may_start_phone(_NON_DIGIT_RE.sub("", group), group.lstrip("(").startswith("+")):
                budget.checks -= 1  # one group: _segment tries it once


def phones_at(text: str, pos: int, *, end: int, region: str,
              company_numbers: frozenset[str]) -> tuple[list[PhoneHit], int]:
    """Phone-like numbers in the run that starts exactly at ``pos`` (a labelled value), and
    where that run ends (``pos`` when no number starts there)."""
    numbers, run_end = numbers_at(text, pos, end=end, region=region,
                                  company_numbers=company_numbers)
    return [PhoneHit(*number) for number in numbers], run_end


def numbers_at(text: str, pos: int, *, end: int, region: str,
               company_numbers: frozenset[str]) -> tuple[list[Number], int]:
    """:func:`phones_at`, each number as a (start, end, kind, E.164) tuple."""
    run = _RUN_RE.match(text, pos, end)
    if run is None:
        return [], pos
    return list(_cut_at(text, run.start(), run.end(), region, company_numbers, Budget())), run.end()
