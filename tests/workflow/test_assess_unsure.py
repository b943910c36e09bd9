"""A required identifier found with low confidence is asked for in the need-info mail rather
than trusted (issue 14): assess() lists it as missing; the value stays for the agent."""

from __future__ import annotations

from datetime import date

from mailproc.analysis.extract.fields import Extracted, extract
from mailproc.config import AssessConfig, CalendarConfig, ExtractConfig
from mailproc.core.workdays import WorkCalendar
from mailproc.vocabulary import Flag, Status
from mailproc.workflow.assess import assess, missing_fields

REQUIRED = ["phone", "card_or_decoder"]


def test_low_confidence_required_fields_are_missing() -> None:
    sure = Extracted(phone="+84912345678", smartcard="840123456789",
                     confidence={"phone": "high", "smartcard": "high"})
    assert missing_fields(sure, REQUIRED) == ()
    unsure = Extracted(phone="+84912345678", smartcard="80123456",
                       confidence={"phone": "low", "smartcard": "low"})
    assert missing_fields(unsure, REQUIRED) == ("phone", "card_or_decoder")
    # A sure decoder makes up for an unsure card; a value with no confidence recorded is sure.
    mixed = Extracted(phone="+84912345678", smartcard="80123456", decoder="K23A0045871",
                      confidence={"smartcard": "low", "decoder": "high"})
    assert missing_fields(mixed, REQUIRED) == ()


def test_card_by_shape_alone_and_relatives_phone_are_asked_for() -> None:
    found = extract("Nhà em mất sóng. Thẻ 8012 3456 7890. Gọi giúp số của chồng em 0987654321",
                    mail_date=date(2026, 10, 20), config=ExtractConfig())
    assert (found.smartcard, found.phone) == ("801234567890", "+84987654321")
    verdict = assess(found, date(2026, 10, 20), cfg=AssessConfig(), cal_cfg=CalendarConfig(),
                     cal=WorkCalendar())
    assert verdict.missing == ("phone", "card_or_decoder")
    assert verdict.status == Status.ASSESSING and Flag.MISSING_INFO in verdict.flags
