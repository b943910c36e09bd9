"""Decide which days are working days in Vietnam, and count working days for deadlines.

Public holidays (Labour Code 2019 Art. 112, 24/11 Culture Day from 2026, substitute days and
the government-decreed swaps it knows) come from the ``holidays`` package with Vietnamese
names. The company's own lists sit on top and win over everything: an extra working day is
worked even on a holiday, an extra day off is off even on a weekday. Those lists are where
decrees the package does not know yet belong (e.g. 02/01/2026 off, made up on Sat 10/01/2026).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import holidays

from mailproc.config import CalendarConfig
from mailproc.errors import ConfigError

COMPANY_DAY_OFF = "Ngày nghỉ bù/nghỉ theo quy định công ty"
_WEEKDAY_NAMES = {5: "Thứ Bảy", 6: "Chủ Nhật"}
_SATURDAY = 5
_ONE_DAY = timedelta(days=1)


def _parse_dates(key: str, values: Iterable[str]) -> list[date]:
    parsed = []
    for value in values:
        try:
            parsed.append(date.fromisoformat(value))
        except ValueError as exc:
            raise ConfigError(key, f"{value!r} is not a YYYY-MM-DD date") from exc
    return parsed


class WorkCalendar:
    """Vietnamese public holidays plus the company's extra days off and extra working days.

    ``saturday_working`` makes every Saturday a working day unless it is a holiday (or an
    extra day off); substitute days the package derives for a Saturday holiday stay off —
    list them in ``extra_working_days`` if the company works them.
    """

    def __init__(
        self,
        *,
        extra_days_off: Iterable[date] = (),
        extra_working_days: Iterable[date] = (),
        saturday_working: bool = False,
    ) -> None:
        self._extra_days_off = frozenset(extra_days_off)
        self._extra_working_days = frozenset(extra_working_days)
        self._saturday_working = saturday_working
        # One holidays object per year, built on first use: building is cheap, but the
        # objects are large and every deadline computation asks about many days.
        self._by_year: dict[int, holidays.HolidayBase] = {}
        self._cache: dict[date, bool] = {}  # the calendar is immutable: answers never change
        self._added: dict[tuple[date, int], date] = {}  # add_working_days answers, same reason

    @classmethod
    def from_config(cls, cfg: CalendarConfig) -> WorkCalendar:
        """Build the calendar from the ``[calendar]`` config section (dates as YYYY-MM-DD)."""
        return cls(
            extra_days_off=_parse_dates("calendar.extra_days_off", cfg.extra_days_off),
            extra_working_days=_parse_dates("calendar.extra_working_days", cfg.extra_working_days),
            saturday_working=cfg.saturday_working,
        )

    def _holidays(self, year: int) -> holidays.HolidayBase:
        found = self._by_year.get(year)
        if found is None:
            # expand=False: each object answers for its own year only, so a lookup can never
            # silently grow it. Cross-year swaps (a Saturday in December made up for a day
            # off in January) are still known: the package records them in every object.
            found = holidays.country_holidays("VN", language="vi", years=year, expand=False)
            self._by_year[year] = found
        return found

    def is_working_day(self, d: date) -> bool:
        """True if ``d`` is worked: company lists first, then holidays, then the weekend."""
        cached = self._cache.get(d)
        if cached is None:
            cached = self._cache[d] = self._is_working_day(d)
        return cached

    def _is_working_day(self, d: date) -> bool:
        if d in self._extra_working_days:
            return True
        if d in self._extra_days_off:
            return False
        official = self._holidays(d.year)
        if self._saturday_working and d.weekday() == _SATURDAY:
            return d not in official
        # The package's own answer honours decreed made-up Saturdays (weekend_workdays).
        return bool(official.is_working_day(d))

    def holiday_name(self, d: date) -> str | None:
        """The Vietnamese name of the holiday on ``d``, the company label, or None.

        An extra working day that is also a public holiday keeps its holiday name (it is
        still that holiday, only worked); :meth:`is_working_day` decides whether it is off.
        """
        if d in self._extra_days_off and d not in self._extra_working_days:
            return COMPANY_DAY_OFF
        name = self._holidays(d.year).get(d)
        return str(name) if name is not None else None

    def day_off_reason(self, d: date) -> str | None:
        """Why ``d`` is not a working day ("Thứ Bảy", "Chủ Nhật", a holiday name), or None."""
        if self.is_working_day(d):
            return None
        return self.holiday_name(d) or _WEEKDAY_NAMES.get(d.weekday(), COMPANY_DAY_OFF)

    def add_working_days(self, start: date, n: int) -> date:
        """The ``n``-th working day after ``start`` (``start`` itself is not counted).

        ``n == 0`` gives ``start`` if it is a working day, else the next working day.
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        found = self._added.get((start, n))
        if found is None:
            if len(self._added) >= 4096:  # dates come from mail too: keep it bounded
                self._added.clear()
            found = self._added[(start, n)] = self._add_working_days(start, n)
        return found

    def _add_working_days(self, start: date, n: int) -> date:
        d = start
        if n == 0:
            while not self.is_working_day(d):
                d += _ONE_DAY
            return d
        remaining = n
        while remaining:
            d += _ONE_DAY
            if self.is_working_day(d):
                remaining -= 1
        return d

    def working_days_before(self, end: date, n: int) -> date:
        """The day ``n`` working days before ``end`` (``end`` itself not counted); n=0 gives ``end``."""
        d = end
        remaining = n
        while remaining:
            d -= _ONE_DAY
            if self.is_working_day(d):
                remaining -= 1
        return d

    def skipped_days(self, start: date, end: date) -> list[tuple[date, str]]:
        """Non-working days strictly after ``start`` up to ``end``, each with its reason."""
        skipped = []
        d = start + _ONE_DAY
        while d <= end:
            reason = self.day_off_reason(d)
            if reason is not None:
                skipped.append((d, reason))
            d += _ONE_DAY
        return skipped

