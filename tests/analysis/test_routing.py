"""Routing rules: keywords as whole words with their tone marks, repeat cards, category, order."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta

import pytest

from mailproc.analysis.routing import DEFAULT_RULE, find_keywords, route
from mailproc.config import RoutingConfig, RoutingRuleConfig

RULES = RoutingConfig().rules  # the shipped defaults: repeat_card, legal_threat, ...
NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", [
    "Tôi sẽ kiện công ty ra tòa.",
    "toi se kien cong ty",                      # written without tone marks: could be "kiện"
    "TÔI SẼ KIỆN, nếu không hoàn tiền",         # upper case, a comma right after
    "Tôi sẽ gửi đơn lên BÁO\n  CHÍ",            # a line break and spaces inside the keyword
    "I will call my lawyer.",
    unicodedata.normalize("NFD", "Tôi sẽ nhờ luật sư"),
])
def test_a_legal_threat_is_found_however_it_is_written(text: str) -> None:
    assert "legal_threat" in find_keywords(text, RULES)


@pytest.mark.parametrize("text", [
    "Tôi xin góp ý kiến về chất lượng dịch vụ",  # kiến (opinion) folds as kiện (to sue)
    "Tôi đã kiên nhẫn chờ hai tuần",             # kiên (patient) too
    "Cảm ơn quý công ty đã lắng nghe",
    "The signal is expressly weak",              # press inside a longer word
    "kiệnhàng",                                  # not a word of its own
])
def test_words_that_only_fold_like_a_keyword_do_not_fire(text: str) -> None:
    assert find_keywords(text, RULES) == {}


def test_the_first_keyword_of_a_rule_in_its_order_is_reported() -> None:
    rules = [RoutingRuleConfig(name="r", keywords=["báo chí", "luật sư"])]
    assert find_keywords("luật sư ... báo chí", rules) == {"r": "báo chí"}
    assert find_keywords("chỉ có luật sư", rules) == {"r": "luật sư"}


def test_a_keyword_written_without_tone_marks_matches_any_tones() -> None:
    rules = [RoutingRuleConfig(name="r", keywords=["kien"])]
    assert find_keywords("góp ý kiến", rules) == {"r": "kien"}


def test_no_rule_fires_so_level_1() -> None:
    decided = route("Mất tín hiệu kênh K+ Sport", "other", rules=RULES, card_history=[], received_at=NOW)
    assert (decided.queue, decided.priority, decided.fired) == ("L1", "normal", (DEFAULT_RULE,))


def test_a_keyword_rule_sends_to_its_queue_with_its_reason() -> None:
    decided = route("Tôi sẽ kiện", "other", rules=RULES, card_history=[], received_at=NOW)
    assert (decided.queue, decided.priority) == ("L2", "high")
    assert decided.fired == ("legal_threat",)
    assert decided.reasons == ("legal_threat: keyword 'kiện'",)


def test_repeat_card_counts_only_earlier_complaints_within_the_window() -> None:
    inside, outside, later = NOW - timedelta(days=29), NOW - timedelta(days=31), NOW + timedelta(hours=1)
    assert route("x", "other", rules=RULES, card_history=[outside, later], received_at=NOW).fired == (DEFAULT_RULE,)
    decided = route("x", "other", rules=RULES, card_history=[inside], received_at=NOW)
    assert decided.fired == ("repeat_card",)
    assert "1 earlier complaint(s)" in decided.reasons[0]


def test_every_fired_rule_is_recorded_the_first_sets_the_queue_the_highest_priority_wins() -> None:
    rules = [RoutingRuleConfig(name="fees", category="fee", queue="L1", priority="low"),
             RoutingRuleConfig(name="press", keywords=["báo chí"], queue="L2", priority="urgent")]
    decided = route("gửi báo chí", "fee", rules=rules, card_history=[], received_at=NOW)
    assert (decided.queue, decided.priority, decided.fired) == ("L1", "urgent", ("fees", "press"))


def test_hits_computed_beforehand_are_used_as_given() -> None:
    decided = route("no keyword here", "other", rules=RULES, card_history=[], received_at=NOW,
                    keyword_hits={"legal_threat": "lawsuit"})
    assert decided.fired == ("legal_threat",)
