"""Decide a new complaint's queue and priority from declarative rules in the config.

Pure. Each rule has a name and a description; it fires on any of its conditions (keywords
in the customer's text, as whole words; the same smart card complained about within N days;
the category). By default a complaint goes to L1; the first rule that fires sets the queue
(and the highest priority among the fired rules wins); every rule that fired is recorded.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from mailproc.analysis.extract.text import fold_aligned
from mailproc.config import RoutingRuleConfig
from mailproc.vocabulary import Queue

DEFAULT_RULE = "default_l1"
_PRIORITY = {"low": 0, "normal": 1, "high": 2, "urgent": 3}


@dataclass(frozen=True)
class Route:
    queue: str
    priority: str
    fired: tuple[str, ...]
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class _Keyword:
    word: str  # as configured
    pattern: re.Pattern[str]  # its words in the fold, with any white space between them
    toned: str | None  # lower case with its tone marks, single-spaced; None if written without


@lru_cache(maxsize=256)
def _keywords(words: tuple[str, ...]) -> tuple[_Keyword, ...]:
    """Each rule's keywords compiled once, not once per message."""
    found = []
    for word in words:
        toned = " ".join(unicodedata.normalize("NFC", word).lower().split())
        plain = fold_aligned(toned).split()
        if plain:
            # No boundary assertions in the pattern: a leading one would make ``re`` try every
            # position instead of jumping to the first letter (10x slower here); _whole checks them.
            pattern = re.compile(r"\s+".join(map(re.escape, plain)))
            found.append(_Keyword(word, pattern, None if toned.isascii() else toned))
    return tuple(found)


def _whole(folded: str, start: int, end: int) -> bool:
    """Not part of a longer word: no letter, digit or underscore right before or after."""
    return not ((start > 0 and _is_word_char(folded[start - 1])) or (end < len(folded) and _is_word_char(folded[end])))


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def _same_tones(keyword: _Keyword, written: str) -> bool:
    """Folding drops tone marks, and with them the meaning: "kiện" (to sue) folds as "kiến"
    (in "ý kiến", an opinion) and "kiên" (in "kiên nhẫn", patience) do. A keyword written with
    its marks therefore matches text with the same marks, or text written without any (which
    could be either, and is taken as the keyword)."""
    return keyword.toned is None or written.isascii() or " ".join(written.lower().split()) == keyword.toned


def find_keywords(text: str, rules: Sequence[RoutingRuleConfig]) -> dict[str, str]:
    """Rule name -> the first of its keywords the text contains (as whole words, see
    :func:`_same_tones` for the tone marks)."""
    text = unicodedata.normalize("NFC", text)
    folded = fold_aligned(text)  # one character per character of text: spans carry over
    hits: dict[str, str] = {}
    for rule in rules:
        for keyword in _keywords(tuple(rule.keywords)):
            if any(_whole(folded, m.start(), m.end()) and _same_tones(keyword, text[m.start():m.end()])
                   for m in keyword.pattern.finditer(folded)):
                hits[rule.name] = keyword.word
                break
    return hits


def _fires(rule: RoutingRuleConfig, hits: dict[str, str], category: str, card_history: Sequence[datetime],
           received_at: datetime) -> str | None:
    if rule.name in hits:
        return f"keyword {hits[rule.name]!r}"
    if rule.repeat_card_days:
        since = received_at - timedelta(days=rule.repeat_card_days)
        earlier = [t for t in card_history if since <= t < received_at]
        if earlier:
            return f"{len(earlier)} earlier complaint(s) about this smart card within {rule.repeat_card_days} days"
    if rule.category and rule.category == category:
        return f"category {category}"
    return None


def route(text: str, category: str, *, rules: Sequence[RoutingRuleConfig], card_history: Sequence[datetime],
          received_at: datetime, keyword_hits: dict[str, str] | None = None) -> Route:
    """Where a new complaint goes; ``card_history`` is when earlier tickets for its card arrived.

    ``keyword_hits`` may be computed beforehand (by the analysis workers) from ``text``.
    """
    hits = keyword_hits if keyword_hits is not None else find_keywords(text, rules)
    fired: list[RoutingRuleConfig] = []
    reasons: list[str] = []
    for rule in rules:
        reason = _fires(rule, hits, category, card_history, received_at)
        if reason:
            fired.append(rule)
            reasons.append(f"{rule.name}: {reason}")
    if not fired:
        return Route(Queue.L1, "normal", (DEFAULT_RULE,), ("no rule fired: level 1 by default",))
    priority = max((r.priority for r in fired), key=lambda p: _PRIORITY.get(p, 1))
    return Route(fired[0].queue, priority, tuple(r.name for r in fired), tuple(reasons))
