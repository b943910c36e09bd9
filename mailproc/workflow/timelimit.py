"""Decide whether a complaint arrived within its complaint time limit.

K+'s rule (and Circular 05/2011/TT-BTTTT): fee complaints within 1 month of the payment or
invoice date, anything else within 3 months of the service use or violation; both windows
come from config. Counting follows Civil Code 2015 Art. 147–148: the first day is not
counted, a month ends on the corresponding day (or the month's last day), and a period ending
on a weekend or holiday ends at the end of the next working day. A late complaint is flagged,
never rejected automatically, and a complaint without a usable date is left to an agent.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from mailproc.config import AssessConfig
from mailproc.core.workdays import WorkCalendar

FEE = "fee"
IN_TIME = "in_time"
LATE = "late"
UNKNOWN = "unknown"
# Spelled out: strftime("%A") follows the process locale, and the event log is English.
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def add_months(start: date, months: int) -> date:
    """The day corresponding to ``start`` ``months`` later, or that month's last day."""
    index = start.year * 12 + (start.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(start.day, last))


def _window_months(category: str, cfg: AssessConfig) -> int:
    return cfg.fee_window_months if category == FEE else cfg.other_window_months


def complaint_window_end(
    category: str, event_date: date, cfg: AssessConfig, cal: WorkCalendar
) -> date:
    """The last day (inclusive) on which a complaint about ``event_date`` is in time.

    ``category`` "fee" counts ``fee_window_months`` from the payment or invoice date; any
    other category counts ``other_window_months`` from the incident.
    """
    nominal = add_months(event_date, _window_months(category, cfg))
    return cal.add_working_days(nominal, 0)


@dataclass(frozen=True)
class TimeLimitResult:
    """The outcome of the time-limit check, with a reason for the ticket's event log."""

    status: str  # IN_TIME | LATE | UNKNOWN
    window_end: date | None
    reason: str


def _describe_day_off(d: date, cal: WorkCalendar) -> str:
    name = cal.holiday_name(d)
    if name is not None:
        return f"{d.isoformat()} is a day off: {name}"
    return f"{d.isoformat()} is {_WEEKDAYS[d.weekday()]}"


def assess_time_limit(
    category: str, event_date: date | None, received: date, cfg: AssessConfig, cal: WorkCalendar
) -> TimeLimitResult:
    """Check a complaint received on ``received`` (its Asia/Ho_Chi_Minh calendar date).

    Without an event date, or with one after ``received`` (a typo or a future date), the
    status is "unknown": an agent decides.
    """
    label = f"{category} complaint"
    if event_date is None:
        return TimeLimitResult(UNKNOWN, None, f"{label}: no event date found; an agent decides")
    if event_date > received:
        return TimeLimitResult(
            UNKNOWN,
            None,
            f"{label}: event date {event_date.isoformat()} is after the received date "
            f"{received.isoformat()} (typo or future date); an agent decides",
        )
    months = _window_months(category, cfg)
    nominal = add_months(event_date, months)
    end = cal.add_working_days(nominal, 0)
    shifted = f" ({_describe_day_off(nominal, cal)})" if end != nominal else ""
    status = IN_TIME if received <= end else LATE
    unit = "month" if months == 1 else "months"
    reason = (
        f"{label}: {months} {unit} from {event_date.isoformat()} ends {end.isoformat()}{shifted}; "
        f"received {received.isoformat()}: {status.replace('_', ' ')}"
    )
    return TimeLimitResult(status, end, reason)
