"""Decide a new complaint's queue and priority from declarative rules in the config.

Pure. Each rule has a name and a description; it fires on any of its conditions (keywords
in the customer's text, folded; the same smart card complained about within N days; the
category). By default a complaint goes to L1; the first rule that fires sets the queue
(and the highest priority among the fired rules wins); every rule that fired is recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from mailproc.config import RoutingRuleConfig
from mailproc.extract_text import fold_aligned

DEFAULT_RULE = "default_l1"
_PRIORITY = {"low": 0, "normal": 1, "high": 2, "urgent": 3}


@dataclass(frozen=True)
class Route:
    queue: str
    priority: str
    fired: tuple[str, ...]
    reasons: tuple[str, ...]


@lru_cache(maxsize=256)
def _needles(keywords: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """(keyword, " folded keyword ") pairs, folded once per rule rather than per message."""
    folded = ((keyword, " ".join(fold_aligned(keyword).split())) for keyword in keywords)
    return tuple((keyword, f" {needle} ") for keyword, needle in folded if needle)


def find_keywords(text: str, rules: Sequence[RoutingRuleConfig]) -> dict[str, str]:
    """Rule name -> the first of its keywords the text contains (folded, whole words)."""
    folded = f" {' '.join(fold_aligned(text).split())} "
    hits: dict[str, str] = {}
    for rule in rules:
        for keyword, needle in _needles(tuple(rule.keywords)):
            if needle in folded:
                hits[rule.name] = keyword
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
        return Route("L1", "normal", (DEFAULT_RULE,), ("no rule fired: level 1 by default",))
    priority = max((r.priority for r in fired), key=lambda p: _PRIORITY.get(p, 1))
    return Route(fired[0].queue, priority, tuple(r.name for r in fired), tuple(reasons))
