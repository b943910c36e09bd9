"""Step 2 of the K+ process, as a pure decision: what is missing, is it in time, where it goes.

Input: the identifiers extracted so far, the category, the incident/payment date and the day
the complaint was received (Asia/Ho_Chi_Minh). Output: an :class:`Assessment` value the
pipeline writes to the ticket. Nothing here rejects a complaint: late or undated complaints
are flagged for an agent (K+ handles late complaints "in good faith").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from mailproc.analysis.extract.fields import Extracted
from mailproc.config import AssessConfig, CalendarConfig
from mailproc.core.workdays import WorkCalendar
from mailproc.vocabulary import Flag, Queue, Status
from mailproc.workflow.timelimit import assess_time_limit

# Vietnamese names of the identifiers, as the customer sees them in our e-mails.
FIELD_LABELS_VI = {
    "name": "Họ và tên chủ thuê bao",
    "address": "Địa chỉ lắp đặt",
    "phone": "Số điện thoại liên hệ",
    "email": "Địa chỉ thư điện tử",
    "smartcard": "Số thẻ giải mã",
    "decoder": "Số đầu thu",
    "card_or_decoder": "Số thẻ giải mã hoặc số đầu thu",
}


@dataclass(frozen=True)
class Assessment:
    missing: tuple[str, ...]
    status: str
    queue: str | None
    flags: tuple[str, ...]
    time_limit: str
    time_limit_reason: str
    accept_due: date
    reply_due: date


def missing_fields(found: Extracted, required: list[str]) -> tuple[str, ...]:
    """The required identifiers not yet known, in the configured order. One found with low
    confidence (a card by its shape alone, a relative's phone, a number the customer called
    old) counts as not known: the need-info mail asks for it rather than trusting it (the
    value stays on the ticket for the agent)."""
    unsure = set(found.unsure())

    def known(name: str) -> bool:
        return bool(getattr(found, name)) and name not in unsure

    missing: list[str] = []
    for item in required:
        if item == "card_or_decoder":
            if not (known("smartcard") or known("decoder")):
                missing.append(item)
        elif not known(item):
            missing.append(item)
    return tuple(missing)


def due_dates(received: date, cal: WorkCalendar, cfg: CalendarConfig) -> tuple[date, date]:
    """The acceptance-notice and written-reply deadlines, counted from the day of receipt."""
    return cal.add_working_days(received, cfg.accept_days), cal.add_working_days(received, cfg.reply_days)


def assess(found: Extracted, received: date, *, cfg: AssessConfig, cal_cfg: CalendarConfig,
           cal: WorkCalendar) -> Assessment:
    missing = missing_fields(found, cfg.required)
    limit = assess_time_limit(found.category, found.incident_date, received, cfg, cal)
    flags: list[str] = []
    if missing:
        flags.append(Flag.MISSING_INFO)
    if limit.status == "late":
        flags.append(Flag.LATE)
    elif limit.status == "unknown":
        flags.append(Flag.TIME_LIMIT_UNKNOWN)
    accept_due, reply_due = due_dates(received, cal, cal_cfg)
    return Assessment(
        missing=missing,
        status=Status.ASSESSING if missing else Status.L1,
        queue=None if missing else Queue.L1,
        flags=tuple(flags),
        time_limit=limit.status,
        time_limit_reason=limit.reason,
        accept_due=accept_due,
        reply_due=reply_due,
    )
