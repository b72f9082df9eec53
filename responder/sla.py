"""Business-hours arithmetic for SLA due times: pure date math, like a scheduler's triggers.

A team that works 09:00-17:30 on weekdays owes a first response "within 60 minutes" of business
time, so a complaint sent on Friday at 17:00 is due on Monday at 09:30, not at 18:00 on Friday. The
clock runs only inside the opening hours of open days, in the team's own time zone; weekends, public
holidays (from the `holidays` package) and extra closed dates stop it.

Opening hours are wall-clock times in the team's zone, so an hour of business time is always an
hour of real time: on the day clocks go forward a 00:00-24:00 day lasts 23 hours, on the day they go
back 25. Every instant handed in and out is an aware datetime; results are in UTC. A wall-clock time
the clock skips (an opening inside the hour lost in spring) is read with the offset in force before
the change, Python's `fold=0`, which for an opening at the very moment of the jump is the jump.

Choosing which policy applies to a case is `responder.rules`' business; this module only computes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterator
from zoneinfo import ZoneInfo

import holidays as holiday_calendars

from core.config import SlaConfig, SlaPolicy
from core.errors import ConfigError

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
# A calendar with no business time in this many consecutive days can never reach a due time.
MAX_CLOSED_DAYS = 3 * 366


def minutes_of(hhmm: str) -> int:
    """Minutes after midnight of an "HH:MM" wall-clock time; "24:00" (the end of a day) is 1440."""
    hours, _, minutes = hhmm.partition(":")
    if not (hours.isdigit() and minutes.isdigit()):
        raise ValueError(f"{hhmm!r} is not a time of day; write it as HH:MM, e.g. 09:00 or 24:00")
    value = int(hours) * 60 + int(minutes)
    if not 0 <= value <= MINUTES_PER_DAY or int(minutes) >= 60:
        raise ValueError(f"{hhmm!r} is not a time of day; use 00:00 to 23:59, or 24:00 for the end of a day")
    return value


@dataclass(frozen=True)
class BusinessCalendar:
    """When the SLA clock runs: the same opening hours on each open weekday, in one time zone.

    `open_minute`/`close_minute` are wall-clock minutes after local midnight (1440 is 24:00).
    `holiday_region` is a country, optionally with a subdivision ("GB", "GB-SCT", "US-CA"); its public
    holidays are loaded one year at a time, when a computation first reaches that year.
    """

    zone: ZoneInfo
    open_weekdays: frozenset[int]  # 0 is Monday, as date.weekday()
    open_minute: int
    close_minute: int
    holiday_region: str | None = None
    closed_dates: frozenset[date] = frozenset()
    _holidays_by_year: dict[int, frozenset[date]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if not 0 <= self.open_minute < self.close_minute <= MINUTES_PER_DAY:
            raise ValueError(
                f"opening hours {self.open_minute} to {self.close_minute} minutes after midnight are not a "
                "range within a day; the start must come before the end (24:00 at the latest)"
            )
        if not self.open_weekdays or not self.open_weekdays <= set(range(7)):
            raise ValueError("open_weekdays must hold at least one weekday number, 0 (Monday) to 6 (Sunday)")

    @classmethod
    def from_config(cls, sla: SlaConfig) -> BusinessCalendar:
        hours = sla.business_hours
        return cls(
            zone=ZoneInfo(sla.timezone),
            open_weekdays=frozenset(WEEKDAYS.index(day) for day in hours.days),
            open_minute=minutes_of(hours.start),
            close_minute=minutes_of(hours.end),
            holiday_region=sla.holidays,
            closed_dates=frozenset(sla.closed_dates),
        )

    # --- which days are open --------------------------------------------------------------------

    def is_open_day(self, day: date) -> bool:
        """True when `day` (a local date) is an open weekday, not a public holiday, not closed."""
        if day.weekday() not in self.open_weekdays or day in self.closed_dates:
            return False
        return day not in self._public_holidays(day.year)

    def _public_holidays(self, year: int) -> frozenset[date]:
        if self.holiday_region is None:
            return frozenset()
        if year not in self._holidays_by_year:
            country, _, subdivision = self.holiday_region.partition("-")
            try:
                found = holiday_calendars.country_holidays(
                    country.upper(), subdiv=subdivision.upper() or None, years=year
                )
            except (NotImplementedError, KeyError) as exc:
                raise ConfigError(
                    f"{self.holiday_region!r} is not a country (or subdivision) the holidays package knows "
                    f"({exc}); use a code such as GB, GB-SCT or US-CA, or null for none",
                    key="responder.sla.holidays",
                ) from None
            self._holidays_by_year[year] = frozenset(found.keys())
        return self._holidays_by_year[year]

    # --- business intervals as real instants -----------------------------------------------------

    def opening_hours(self, day: date) -> tuple[datetime, datetime] | None:
        """The UTC instants `day` opens and closes, or None when the day is closed."""
        if not self.is_open_day(day):
            return None
        opens, closes = self._at_wall_minute(day, self.open_minute), self._at_wall_minute(day, self.close_minute)
        # Hours inside a skipped DST hour can collapse to nothing; never let them run backwards.
        return (opens, max(opens, closes))

    def _at_wall_minute(self, day: date, minute: int) -> datetime:
        day += timedelta(days=minute // MINUTES_PER_DAY)
        minute %= MINUTES_PER_DAY
        local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=self.zone)
        return local.astimezone(timezone.utc)

    def _intervals_from(self, instant: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals (UTC, in order) that end after `instant`, starting with the one it is in."""
        day = instant.astimezone(self.zone).date()
        closed_in_a_row = 0
        while True:
            hours = self.opening_hours(day)
            if hours is None or hours[0] == hours[1]:
                closed_in_a_row += 1
                if closed_in_a_row > MAX_CLOSED_DAYS:
                    raise ConfigError(
                        f"the SLA calendar has no business hours in the {MAX_CLOSED_DAYS} days after "
                        f"{instant.isoformat()}; check business_hours.days, holidays and closed_dates",
                        key="responder.sla",
                    )
            else:
                closed_in_a_row = 0
                if hours[1] > instant:
                    yield hours
            day += timedelta(days=1)

    # --- the arithmetic ---------------------------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        at = as_utc(at)
        hours = self.opening_hours(at.astimezone(self.zone).date())
        return hours is not None and hours[0] <= at < hours[1]

    def next_opening(self, at: datetime) -> datetime:
        """`at` itself when the clock runs then, else the moment it next starts running."""
        at = as_utc(at)
        opens, _ = next(self._intervals_from(at))
        return max(opens, at)

    def add_business_time(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant by which `duration` of business time has passed since `start`.

        A start outside business hours starts counting at the next opening; a duration that runs out
        exactly at closing time is due at closing, not at the next opening.
        """
        start = as_utc(start)
        if duration < timedelta(0):
            raise ValueError(f"duration {duration} is negative; SLA targets are positive")
        if duration == timedelta(0):
            return start
        remaining = duration
        for opens, closes in self._intervals_from(start):
            counting_from = max(opens, start)
            available = closes - counting_from
            if remaining <= available:
                return counting_from + remaining
            remaining -= available
        raise AssertionError("unreachable: _intervals_from never ends")  # pragma: no cover

    def business_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Business time from `start` to `end`; negative when `end` comes first (time overdue)."""
        start, end = as_utc(start), as_utc(end)
        if end < start:
            return -self.business_time_between(end, start)
        elapsed = timedelta(0)
        for opens, closes in self._intervals_from(start):
            if opens >= end:
                break
            elapsed += min(closes, end) - max(opens, start)
        return elapsed


def as_utc(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(
            f"{instant.isoformat()} has no time zone; pass an aware datetime such as datetime.now(timezone.utc)"
        )
    return instant.astimezone(timezone.utc)


def due_time(start: datetime, duration: timedelta, calendar: BusinessCalendar | None) -> datetime:
    """When `duration` runs out: on the business clock of `calendar`, or around the clock without one."""
    if calendar is None:
        if duration < timedelta(0):
            raise ValueError(f"duration {duration} is negative; SLA targets are positive")
        return as_utc(start) + duration
    return calendar.add_business_time(start, duration)


def elapsed_time(start: datetime, end: datetime, calendar: BusinessCalendar | None) -> timedelta:
    """The inverse of `due_time`: business time with a calendar, plain time without one."""
    if calendar is None:
        return as_utc(end) - as_utc(start)
    return calendar.business_time_between(start, end)


@dataclass(frozen=True, slots=True)
class SlaTargets:
    """The due times one policy sets for a case opened at a given moment (UTC)."""

    policy: str
    first_response_due: datetime
    resolution_due: datetime


def calendar_for(policy: SlaPolicy, calendar: BusinessCalendar | None) -> BusinessCalendar | None:
    """The calendar a policy's clock runs on: None (around the clock) for a 24/7 policy."""
    return calendar if policy.business_hours_only else None


def due_times(policy: SlaPolicy, opened_at: datetime, calendar: BusinessCalendar | None) -> SlaTargets:
    """First-response and resolution due times; `calendar` is ignored for a 24/7 policy."""
    clock = calendar_for(policy, calendar)
    return SlaTargets(
        policy=policy.name,
        first_response_due=due_time(opened_at, timedelta(minutes=policy.first_response_minutes), clock),
        resolution_due=due_time(opened_at, timedelta(hours=policy.resolution_hours), clock),
    )
