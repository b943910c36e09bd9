"""Working days: Vietnamese holidays from the holidays package plus the company's lists.

Every expected date below was worked out by hand on a printed calendar (the reasoning is in
the comment next to it), never copied from the function's output. Calendar facts used:
2026-01-01 is a Thursday; 2026 is not a leap year, so Sat 28/02 is followed by Sun 01/03.
Tết Bính Ngọ (mùng 1) is Tue 17/02/2026; the 5 Tết days off are Mon 16/02 – Fri 20/02.
Hùng Kings (10/3 lunar) 2026 is Sun 26/04, made up Mon 27/04. 30/04 Thu, 01/05 Fri.
National Day 2026: Wed 02/09 plus Tue 01/09; decreed swap Mon 31/08 off, Sat 22/08 worked.
Culture Day Tue 24/11/2026.
"""

from __future__ import annotations

from datetime import date

import pytest

from mailproc.config import CalendarConfig
from mailproc.core.workdays import COMPANY_DAY_OFF, WorkCalendar
from mailproc.errors import ConfigError

D = date
PLAIN = WorkCalendar()
# The 2026 New Year swap the package does not know: Fri 02/01 off, made up Sat 10/01.
COMPANY = WorkCalendar.from_config(
    CalendarConfig(extra_days_off=["2026-01-02"], extra_working_days=["2026-01-10"])
)
SATURDAYS = WorkCalendar(saturday_working=True)


@pytest.mark.parametrize(
    ("cal", "day", "expected"),
    [
        (PLAIN, D(2026, 10, 14), True),  # an ordinary Wednesday
        (PLAIN, D(2026, 10, 10), False),  # Saturday
        (PLAIN, D(2026, 10, 11), False),  # Sunday
        (PLAIN, D(2026, 1, 1), False),  # New Year's Day (Thu)
        (PLAIN, D(2026, 1, 2), True),  # package gap: the decreed day off is not known
        (PLAIN, D(2026, 1, 10), False),  # ... nor its make-up Saturday
        (COMPANY, D(2026, 1, 2), False),  # company extra day off wins over a weekday
        (COMPANY, D(2026, 1, 10), True),  # company extra working day wins over a Saturday
        (PLAIN, D(2026, 2, 13), True),  # Fri before Tết
        (PLAIN, D(2026, 2, 16), False),  # Mon, 30 Tết (Giao thừa)
        (PLAIN, D(2026, 2, 17), False),  # Tue, mùng 1
        (PLAIN, D(2026, 2, 20), False),  # Fri, mùng 4: last of the 5 days
        (PLAIN, D(2026, 2, 23), True),  # Mon, back at work
        (PLAIN, D(2026, 4, 26), False),  # Hùng Kings on a Sunday
        (PLAIN, D(2026, 4, 27), False),  # ... made up on Monday
        (PLAIN, D(2026, 4, 28), True),  # Tue, ordinary
        (PLAIN, D(2026, 4, 30), False),  # Reunification Day (Thu)
        (PLAIN, D(2026, 5, 1), False),  # Labour Day (Fri)
        (PLAIN, D(2026, 8, 22), True),  # decreed make-up Saturday for Mon 31/08
        (PLAIN, D(2026, 8, 31), False),  # the swapped day off (Mon)
        (PLAIN, D(2026, 9, 1), False),  # day adjacent to National Day (Tue)
        (PLAIN, D(2026, 9, 2), False),  # National Day (Wed)
        (PLAIN, D(2026, 9, 3), True),  # Thu after
        (PLAIN, D(2026, 11, 24), False),  # Culture Day, new from 2026 (Tue)
        (PLAIN, D(2025, 11, 24), True),  # not yet a holiday in 2025 (Mon)
        # Cross-year swap: Fri 02/01/2015 off, made up on Sat 27/12/2014 (decree listed
        # under 2015), so the 2014 Saturday is a working day.
        (PLAIN, D(2014, 12, 27), True),
        (SATURDAYS, D(2026, 10, 10), True),  # Saturday working
        (SATURDAYS, D(2026, 10, 11), False),  # Sunday stays off
        (SATURDAYS, D(2027, 5, 1), False),  # Labour Day on a Saturday stays off
        (WorkCalendar(extra_working_days=[D(2026, 4, 30)]), D(2026, 4, 30), True),  # over holiday
        (WorkCalendar(extra_days_off=[D(2026, 10, 14)]), D(2026, 10, 14), False),  # over weekday
    ],
)
def test_is_working_day(cal: WorkCalendar, day: date, expected: bool) -> None:
    assert cal.is_working_day(day) is expected


@pytest.mark.parametrize(
    ("cal", "day", "expected"),
    [
        (PLAIN, D(2026, 11, 24), "Ngày Văn hóa Việt Nam"),
        (PLAIN, D(2026, 2, 17), "Tết Nguyên Đán"),
        (PLAIN, D(2026, 4, 27), "Ngày Giỗ Tổ Hùng Vương (nghỉ bù)"),
        (PLAIN, D(2026, 9, 2), "Quốc khánh"),
        (PLAIN, D(2026, 10, 14), None),
        (PLAIN, D(2026, 10, 10), None),  # a plain Saturday is not a holiday
        (COMPANY, D(2026, 1, 2), COMPANY_DAY_OFF),
        (COMPANY, D(2026, 1, 10), None),
    ],
)
def test_holiday_name(cal: WorkCalendar, day: date, expected: str | None) -> None:
    assert cal.holiday_name(day) == expected


@pytest.mark.parametrize(
    ("cal", "start", "n", "expected"),
    [
        (PLAIN, D(2026, 10, 14), 0, D(2026, 10, 14)),  # working day: itself
        (PLAIN, D(2026, 10, 10), 0, D(2026, 10, 12)),  # Sat -> Sun -> Mon 12
        (PLAIN, D(2026, 2, 14), 0, D(2026, 2, 23)),  # Sat before Tết -> Mon after Tết
        # Ordinary Friday receipt, Fri 09/10/2026: 5 working days = Mon 12 .. Fri 16;
        # 20 = four full weeks -> Fri 06/11 (9 + 28 = 37 = 31 + 6).
        (PLAIN, D(2026, 10, 9), 1, D(2026, 10, 12)),
        (PLAIN, D(2026, 10, 9), 5, D(2026, 10, 16)),
        (PLAIN, D(2026, 10, 9), 20, D(2026, 11, 6)),
        # Friday receipt before Tết, Fri 13/02/2026: 14-15 weekend, 16-20 Tết, 21-22 weekend;
        # 1..5 = Mon 23 .. Fri 27/02. Then 6..10 = Mon 02 .. Fri 06/03, 11..15 = 09..13/03,
        # 16..20 = 16..20/03.
        (PLAIN, D(2026, 2, 13), 1, D(2026, 2, 23)),
        (PLAIN, D(2026, 2, 13), 5, D(2026, 2, 27)),
        (PLAIN, D(2026, 2, 13), 20, D(2026, 3, 20)),
        # Friday receipt before Hùng Kings + 30/4 + 1/5, Fri 24/04/2026: 25 Sat, 26 Sun,
        # 27 Mon off; 1 = Tue 28, 2 = Wed 29; 30/4, 1/5, 2-3 weekend off; 3 = Mon 04/05,
        # 4 = Tue 05, 5 = Wed 06. 6 = Thu 07, 7 = Fri 08, 8..12 = 11..15, 13..17 = 18..22,
        # 18 = Mon 25, 19 = Tue 26, 20 = Wed 27/05.
        (PLAIN, D(2026, 4, 24), 5, D(2026, 5, 6)),
        (PLAIN, D(2026, 4, 24), 20, D(2026, 5, 27)),
        # Friday receipt before 2/9, Fri 28/08/2026: 29 Sat, 30 Sun, 31 Mon (swap), 1-2/9 off;
        # 1 = Thu 03, 2 = Fri 04, 3..5 = Mon 07 .. Wed 09. 6 = Thu 10, 7 = Fri 11,
        # 8..12 = 14..18, 13..17 = 21..25, 18..20 = Mon 28 .. Wed 30/09.
        (PLAIN, D(2026, 8, 28), 5, D(2026, 9, 9)),
        (PLAIN, D(2026, 8, 28), 20, D(2026, 9, 30)),
        # Fri 21/08/2026: the next working day is the decreed make-up Saturday 22/08.
        (PLAIN, D(2026, 8, 21), 1, D(2026, 8, 22)),
        # Fri 20/11/2026: 1 = Mon 23, Tue 24 Culture Day, 2..4 = Wed 25 .. Fri 27, 5 = Mon 30.
        (PLAIN, D(2026, 11, 20), 5, D(2026, 11, 30)),
        # Wed 31/12/2025 with the company swap: Thu 01 holiday, Fri 02 company off, 03-04
        # weekend; 1..5 = Mon 05 .. Fri 09/01; 6 = Sat 10/01 (worked).
        (COMPANY, D(2025, 12, 31), 5, D(2026, 1, 9)),
        (COMPANY, D(2025, 12, 31), 6, D(2026, 1, 10)),
        # Same without the swap: 1 = Fri 02/01, 2..5 = Mon 05 .. Thu 08, 6 = Fri 09.
        (PLAIN, D(2025, 12, 31), 5, D(2026, 1, 8)),
        (PLAIN, D(2025, 12, 31), 6, D(2026, 1, 9)),
        # Saturdays worked, Fri 09/10/2026: 1 = Sat 10, 2..5 = Mon 12 .. Thu 15.
        (SATURDAYS, D(2026, 10, 9), 5, D(2026, 10, 15)),
    ],
)
def test_add_working_days(cal: WorkCalendar, start: date, n: int, expected: date) -> None:
    assert cal.add_working_days(start, n) == expected


def test_add_working_days_rejects_negative() -> None:
    with pytest.raises(ValueError):
        PLAIN.add_working_days(D(2026, 10, 9), -1)


def test_skipped_days_across_tet() -> None:
    # Fri 13/02 (not counted) to Mon 23/02/2026: weekend, the 5 Tết days, weekend.
    assert PLAIN.skipped_days(D(2026, 2, 13), D(2026, 2, 23)) == [
        (D(2026, 2, 14), "Thứ Bảy"),
        (D(2026, 2, 15), "Chủ Nhật"),
        (D(2026, 2, 16), "Giao thừa Tết Nguyên Đán"),
        (D(2026, 2, 17), "Tết Nguyên Đán"),
        (D(2026, 2, 18), "Mùng hai Tết Nguyên Đán"),
        (D(2026, 2, 19), "Mùng ba Tết Nguyên Đán"),
        (D(2026, 2, 20), "Mùng bốn Tết Nguyên Đán"),
        (D(2026, 2, 21), "Thứ Bảy"),
        (D(2026, 2, 22), "Chủ Nhật"),
    ]


def test_skipped_days_names_holiday_over_weekday_and_company_days() -> None:
    # Sun 26/04/2026 is Hùng Kings: the holiday name is the better reason than "Chủ Nhật".
    assert PLAIN.skipped_days(D(2026, 4, 25), D(2026, 4, 28)) == [
        (D(2026, 4, 26), "Ngày Giỗ Tổ Hùng Vương"),
        (D(2026, 4, 27), "Ngày Giỗ Tổ Hùng Vương (nghỉ bù)"),
    ]
    # Wed 31/12/2025 .. Sat 10/01/2026 with the company swap; 10/01 is worked.
    assert COMPANY.skipped_days(D(2025, 12, 31), D(2026, 1, 10)) == [
        (D(2026, 1, 1), "Tết Dương lịch"),
        (D(2026, 1, 2), COMPANY_DAY_OFF),
        (D(2026, 1, 3), "Thứ Bảy"),
        (D(2026, 1, 4), "Chủ Nhật"),
    ]
    assert PLAIN.skipped_days(D(2026, 10, 12), D(2026, 10, 9)) == []


def test_from_config_rejects_bad_date() -> None:
    with pytest.raises(ConfigError) as info:
        WorkCalendar.from_config(CalendarConfig(extra_days_off=["02/01/2026"]))
    assert info.value.key == "calendar.extra_days_off"


def test_from_config_reads_saturday_working() -> None:
    cal = WorkCalendar.from_config(CalendarConfig(saturday_working=True))
    assert cal.is_working_day(D(2026, 10, 10))
