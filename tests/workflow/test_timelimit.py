"""Complaint time limit: Civil Code 2015 Art. 147–148 counting over the work calendar.

Expected dates were worked out by hand on a printed calendar (reasoning next to each case),
never copied from the function's output. Facts used: 2026-01-01 is a Thursday; Feb 2026 has
28 days (Sat 28/02, Sun 01/03); Feb 2024 has 29 (Thu 29/02); Tết 2026 is Mon 16 – Fri 20/02;
Hùng Kings Sun 26/04/2026 made up Mon 27/04; 30/04 Thu, 01/05 Fri; 02/09/2026 Wed plus
Tue 01/09; Sat 10/10/2026, Sun 11/10/2026.
"""

from __future__ import annotations

from datetime import date

import pytest

from mailproc.config import AssessConfig
from mailproc.core.workdays import COMPANY_DAY_OFF, WorkCalendar
from mailproc.workflow.timelimit import (
    TimeLimitResult,
    add_months,
    assess_time_limit,
    complaint_window_end,
)

D = date
CFG = AssessConfig()  # fee 1 month, other 3 months
PLAIN = WorkCalendar()
COMPANY = WorkCalendar(extra_days_off=[D(2026, 1, 2)], extra_working_days=[D(2026, 1, 10)])
SATURDAYS = WorkCalendar(saturday_working=True)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (D(2026, 5, 10), 0, D(2026, 5, 10)),
        (D(2026, 9, 10), 1, D(2026, 10, 10)),  # corresponding day
        (D(2026, 1, 31), 1, D(2026, 2, 28)),  # no 31/02: last day of February (2026 not leap)
        (D(2024, 1, 31), 1, D(2024, 2, 29)),  # leap year: 29/02
        (D(2024, 2, 29), 12, D(2025, 2, 28)),  # from a leap day to a common year
        (D(2024, 2, 29), 48, D(2028, 2, 29)),  # leap to leap
        (D(2026, 3, 31), 3, D(2026, 6, 30)),  # June has 30 days
        (D(2026, 10, 31), 1, D(2026, 11, 30)),
        (D(2025, 11, 30), 3, D(2026, 2, 28)),  # across the year end and into February
        (D(2026, 12, 15), 1, D(2027, 1, 15)),  # December -> January
        (D(2026, 2, 28), 1, D(2026, 3, 28)),  # a month-end start keeps its day number
    ],
)
def test_add_months(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


@pytest.mark.parametrize(
    ("category", "event", "cal", "expected"),
    [
        # 10/09 + 1 month = Sat 10/10/2026; Sun 11 -> ends Mon 12/10.
        ("fee", D(2026, 9, 10), PLAIN, D(2026, 10, 12)),
        # Saturdays worked: Sat 10/10 is itself the last day.
        ("fee", D(2026, 9, 10), SATURDAYS, D(2026, 10, 10)),
        # 31/01 + 1 month = 28/02/2026, a Saturday; Sun 01/03 -> Mon 02/03.
        ("fee", D(2026, 1, 31), PLAIN, D(2026, 3, 2)),
        # Leap year: 31/01/2024 + 1 month = Thu 29/02/2024, a working day.
        ("fee", D(2024, 1, 31), PLAIN, D(2024, 2, 29)),
        # Ends on mùng 1 Tết, Tue 17/02/2026: 18-20 Tết, 21-22 weekend -> Mon 23/02.
        ("fee", D(2026, 1, 17), PLAIN, D(2026, 2, 23)),
        # Other complaints: 3 months. 17/11/2025 + 3 = 17/02/2026 (Tết) -> Mon 23/02.
        ("signal", D(2025, 11, 17), PLAIN, D(2026, 2, 23)),
        # 30/01 + 3 = Thu 30/04/2026; Fri 01/05 off, 02-03 weekend -> Mon 04/05.
        ("signal", D(2026, 1, 30), PLAIN, D(2026, 5, 4)),
        # 02/06 + 3 = Wed 02/09/2026 -> Thu 03/09.
        ("equipment", D(2026, 6, 2), PLAIN, D(2026, 9, 3)),
        # 11/07 + 3 = Sun 11/10/2026 -> Mon 12/10.
        ("other", D(2026, 7, 11), PLAIN, D(2026, 10, 12)),
        # 26/03 + 1 = Sun 26/04/2026 (Hùng Kings), Mon 27 made up -> Tue 28/04.
        ("fee", D(2026, 3, 26), PLAIN, D(2026, 4, 28)),
        # 02/12/2025 + 1 = Fri 02/01/2026: a working day for the package ...
        ("fee", D(2025, 12, 2), PLAIN, D(2026, 1, 2)),
        # ... a company day off: Sat 03, Sun 04 -> Mon 05/01.
        ("fee", D(2025, 12, 2), COMPANY, D(2026, 1, 5)),
        # 10/12/2025 + 1 = Sat 10/01/2026, a company working day: it is the last day.
        ("fee", D(2025, 12, 10), COMPANY, D(2026, 1, 10)),
        # ... but not without the company list: Sun 11 -> Mon 12/01.
        ("fee", D(2025, 12, 10), PLAIN, D(2026, 1, 12)),
    ],
)
def test_complaint_window_end(
    category: str, event: date, cal: WorkCalendar, expected: date
) -> None:
    assert complaint_window_end(category, event, CFG, cal) == expected


def test_window_lengths_come_from_config() -> None:
    cfg = AssessConfig(fee_window_months=2, other_window_months=6)
    # 14/10 + 2 = Mon 14/12/2026 (a working day).
    assert complaint_window_end("fee", D(2026, 10, 14), cfg, PLAIN) == D(2026, 12, 14)
    # 14/04 + 6 = Wed 14/10/2026.
    assert complaint_window_end("signal", D(2026, 4, 14), cfg, PLAIN) == D(2026, 10, 14)


@pytest.mark.parametrize(
    ("category", "event", "received", "cal", "expected"),
    [
        (
            "fee", D(2026, 9, 10), D(2026, 10, 20), PLAIN,
            TimeLimitResult(
                "late", D(2026, 10, 12),
                "fee complaint: 1 month from 2026-09-10 ends 2026-10-12 (2026-10-10 is Saturday);"
                " received 2026-10-20: late",
            ),
        ),
        (  # the shifted last day is still in time (end of the day, inclusive)
            "fee", D(2026, 9, 10), D(2026, 10, 12), PLAIN,
            TimeLimitResult(
                "in_time", D(2026, 10, 12),
                "fee complaint: 1 month from 2026-09-10 ends 2026-10-12 (2026-10-10 is Saturday);"
                " received 2026-10-12: in time",
            ),
        ),
        (  # no shift, received the next day: late
            "fee", D(2026, 9, 14), D(2026, 10, 15), PLAIN,
            TimeLimitResult(
                "late", D(2026, 10, 14),
                "fee complaint: 1 month from 2026-09-14 ends 2026-10-14; received 2026-10-15: late",
            ),
        ),
        (  # ends on Tết: the reason names the holiday
            "signal", D(2025, 11, 17), D(2026, 2, 23), PLAIN,
            TimeLimitResult(
                "in_time", D(2026, 2, 23),
                "signal complaint: 3 months from 2025-11-17 ends 2026-02-23"
                " (2026-02-17 is a day off: Tết Nguyên Đán); received 2026-02-23: in time",
            ),
        ),
        (  # company day off
            "fee", D(2025, 12, 2), D(2026, 1, 5), COMPANY,
            TimeLimitResult(
                "in_time", D(2026, 1, 5),
                "fee complaint: 1 month from 2025-12-02 ends 2026-01-05"
                f" (2026-01-02 is a day off: {COMPANY_DAY_OFF}); received 2026-01-05: in time",
            ),
        ),
        (  # received on the event day
            "fee", D(2026, 10, 14), D(2026, 10, 14), PLAIN,
            TimeLimitResult(
                "in_time", D(2026, 11, 16),
                "fee complaint: 1 month from 2026-10-14 ends 2026-11-16 (2026-11-14 is Saturday);"
                " received 2026-10-14: in time",
            ),
        ),
    ],
)
def test_assess_time_limit(
    category: str, event: date, received: date, cal: WorkCalendar, expected: TimeLimitResult
) -> None:
    assert assess_time_limit(category, event, received, CFG, cal) == expected


def test_no_event_date_is_unknown_never_late() -> None:
    result = assess_time_limit("fee", None, D(2026, 10, 20), CFG, PLAIN)
    assert result.status == "unknown"
    assert result.window_end is None
    assert "no event date" in result.reason


def test_event_after_received_is_unknown() -> None:
    result = assess_time_limit("fee", D(2026, 12, 1), D(2026, 10, 20), CFG, PLAIN)
    assert result.status == "unknown"
    assert result.window_end is None
    assert "2026-12-01" in result.reason and "after" in result.reason
