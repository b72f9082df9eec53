"""responder.sla: business-hours arithmetic, with due times worked out by hand.

Europe/London is GMT (UTC+0) in winter and BST (UTC+1) from 2026-03-29 to 2026-10-25; both changes fall
on a Sunday. America/New_York is EST (UTC-5) and EDT (UTC-4) from 2026-03-08 to 2026-11-01. Every
expected instant is written in UTC with its local reading beside it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from core.config import BusinessHours, SlaConfig, SlaPolicy
from core.errors import ConfigError
from responder.sla import (
    BusinessCalendar,
    SlaTargets,
    calendar_for,
    due_time,
    due_times,
    elapsed_time,
    minutes_of,
)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
EVERY_DAY = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=timezone.utc)


def calendar(
    zone: str = "Europe/London",
    *,
    days: tuple[str, ...] = WEEKDAYS,
    start: str = "09:00",
    end: str = "17:30",
    holidays: str | None = "GB",
    closed: tuple[date, ...] = (),
) -> BusinessCalendar:
    sla = SlaConfig(
        timezone=zone,
        business_hours=BusinessHours(days=days, start=start, end=end),  # type: ignore[arg-type]
        holidays=holidays,
        closed_dates=closed,
    )
    return BusinessCalendar.from_config(sla)


LONDON = calendar()
MINUTES_60 = timedelta(minutes=60)


# --- within a week ------------------------------------------------------------------------------


def test_friday_afternoon_runs_over_the_weekend() -> None:
    # Fri 2026-03-06 17:00 GMT: 30 minutes left on Friday, 30 more from Monday 09:00.
    assert LONDON.add_business_time(utc(2026, 3, 6, 17), MINUTES_60) == utc(2026, 3, 9, 9, 30)


def test_friday_afternoon_in_summer_time() -> None:
    # Fri 2026-06-05 17:00 BST is 16:00Z; due Mon 09:30 BST, which is 08:30Z.
    assert LONDON.add_business_time(utc(2026, 6, 5, 16), MINUTES_60) == utc(2026, 6, 8, 8, 30)


def test_start_on_saturday_counts_from_monday_opening() -> None:
    assert LONDON.add_business_time(utc(2026, 3, 7, 11), MINUTES_60) == utc(2026, 3, 9, 10, 0)


def test_start_before_opening_and_after_closing() -> None:
    assert LONDON.add_business_time(utc(2026, 3, 9, 7), timedelta(minutes=30)) == utc(2026, 3, 9, 9, 30)
    assert LONDON.add_business_time(utc(2026, 3, 9, 18), timedelta(minutes=30)) == utc(2026, 3, 10, 9, 30)


def test_inside_hours_is_plain_addition() -> None:
    assert LONDON.add_business_time(utc(2026, 3, 9, 10), MINUTES_60) == utc(2026, 3, 9, 11)


def test_target_running_out_at_closing_is_due_at_closing() -> None:
    assert LONDON.add_business_time(utc(2026, 3, 9, 17), timedelta(minutes=30)) == utc(2026, 3, 9, 17, 30)


def test_zero_duration_is_due_at_once() -> None:
    assert LONDON.add_business_time(utc(2026, 3, 7, 11), timedelta(0)) == utc(2026, 3, 7, 11)


def test_multi_day_target() -> None:
    # Mon 2026-06-01 10:00 BST: 7h30 left on Monday, 8h30 on Tuesday (16h), 8h on Wednesday: 17:00 BST.
    due = LONDON.add_business_time(utc(2026, 6, 1, 9), timedelta(hours=24))
    assert due == utc(2026, 6, 3, 16)


def test_a_long_target_spans_weeks() -> None:
    # 5 x 8h30 = 42h30 a week; 85 hours is two full weeks from a Monday opening.
    assert LONDON.add_business_time(utc(2026, 3, 9, 9), timedelta(hours=85)) == utc(2026, 3, 20, 17, 30)


# --- holidays and closed dates ------------------------------------------------------------------


def test_christmas_and_the_boxing_day_substitute() -> None:
    # The holidays package (GB): Fri 25 Dec Christmas, Sat 26 Boxing Day, Mon 28 "Boxing Day (observed)".
    start = utc(2026, 12, 24, 17)  # Thu 17:00 GMT
    assert LONDON.add_business_time(start, MINUTES_60) == utc(2026, 12, 29, 9, 30)
    assert calendar(holidays=None).add_business_time(start, MINUTES_60) == utc(2026, 12, 25, 9, 30)


def test_extra_closed_dates_stop_the_clock() -> None:
    shutdown = calendar(closed=(date(2026, 12, 29),))
    assert shutdown.add_business_time(utc(2026, 12, 24, 17), MINUTES_60) == utc(2026, 12, 30, 9, 30)


def test_subdivision_holidays_are_loaded_for_the_next_year() -> None:
    # Thu 2026-12-31 17:00. Fri 1 Jan 2027 is a holiday everywhere in the UK; Scotland also closes
    # Mon 4 Jan 2027 (the 2 January holiday falls on a Saturday and moves to Monday).
    start = utc(2026, 12, 31, 17)
    assert LONDON.add_business_time(start, MINUTES_60) == utc(2027, 1, 4, 9, 30)
    assert calendar(holidays="GB-SCT").add_business_time(start, MINUTES_60) == utc(2027, 1, 5, 9, 30)


def test_england_needs_its_subdivision_for_the_august_bank_holiday() -> None:
    # Mon 2026-08-31 is a bank holiday in England only, so "GB" alone keeps it open.
    start = utc(2026, 8, 28, 16)  # Fri 17:00 BST
    assert LONDON.add_business_time(start, MINUTES_60) == utc(2026, 8, 31, 8, 30)
    assert calendar(holidays="GB-ENG").add_business_time(start, MINUTES_60) == utc(2026, 9, 1, 8, 30)


def test_is_open_day() -> None:
    assert LONDON.is_open_day(date(2026, 12, 24))
    assert not LONDON.is_open_day(date(2026, 12, 25))  # Christmas
    assert not LONDON.is_open_day(date(2026, 12, 27))  # Sunday


# --- daylight saving time -----------------------------------------------------------------------


def test_weekend_with_spring_change() -> None:
    # Fri 2026-03-27 17:00 GMT; Monday 30 March is in BST: 09:30 BST is 08:30Z.
    assert LONDON.add_business_time(utc(2026, 3, 27, 17), MINUTES_60) == utc(2026, 3, 30, 8, 30)


def test_weekend_with_autumn_change() -> None:
    # Fri 2026-10-23 17:00 BST is 16:00Z; Monday 26 October is in GMT: 09:30Z.
    assert LONDON.add_business_time(utc(2026, 10, 23, 16), MINUTES_60) == utc(2026, 10, 26, 9, 30)


def test_seven_day_team_on_the_change_days() -> None:
    seven_days = calendar(days=EVERY_DAY)
    # Sat 2026-03-28 17:00 GMT -> Sun 29 09:30 BST (08:30Z).
    assert seven_days.add_business_time(utc(2026, 3, 28, 17), MINUTES_60) == utc(2026, 3, 29, 8, 30)
    # Sat 2026-10-24 17:00 BST (16:00Z) -> Sun 25 09:30 GMT (09:30Z).
    assert seven_days.add_business_time(utc(2026, 10, 24, 16), MINUTES_60) == utc(2026, 10, 25, 9, 30)


def test_whole_days_last_23_and_25_hours_on_the_change_days() -> None:
    around_the_clock = calendar(days=EVERY_DAY, start="00:00", end="24:00", holidays=None)
    # Sun 2026-03-29 00:00 GMT (00:00Z) to Mon 00:00 BST (Sun 23:00Z).
    assert around_the_clock.opening_hours(date(2026, 3, 29)) == (utc(2026, 3, 29, 0), utc(2026, 3, 29, 23))
    # Sun 2026-10-25 00:00 BST (Sat 23:00Z) to Mon 00:00 GMT (00:00Z).
    assert around_the_clock.opening_hours(date(2026, 10, 25)) == (utc(2026, 10, 24, 23), utc(2026, 10, 26, 0))
    assert around_the_clock.business_time_between(utc(2026, 3, 28, 0), utc(2026, 3, 29, 23)) == timedelta(hours=47)


def test_a_calendar_open_around_the_clock_is_plain_addition_across_a_change() -> None:
    around_the_clock = calendar(days=EVERY_DAY, start="00:00", end="24:00", holidays=None)
    for start in (utc(2026, 3, 28, 12), utc(2026, 10, 24, 12)):
        assert around_the_clock.add_business_time(start, timedelta(hours=36)) == start + timedelta(hours=36)


def test_night_hours_around_the_lost_and_the_gained_hour() -> None:
    night = calendar(days=EVERY_DAY, start="00:30", end="02:30", holidays=None)
    # 29 March: 00:30 GMT (00:30Z) to 02:30 BST (01:30Z): one real hour, not two.
    assert night.opening_hours(date(2026, 3, 29)) == (utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1, 30))
    # 25 October: 00:30 BST (Sat 23:30Z) to 02:30 GMT (02:30Z): three real hours.
    assert night.opening_hours(date(2026, 10, 25)) == (utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 2, 30))
    # 90 minutes from Sun 00:00Z: 60 on Sunday night, then Monday 00:30 BST (Sun 23:30Z) + 30.
    assert night.add_business_time(utc(2026, 3, 29, 0), timedelta(minutes=90)) == utc(2026, 3, 30, 0)


def test_midnight_that_does_not_exist_opens_at_the_jump() -> None:
    # America/Santiago skips from 00:00 to 01:00 on Sun 2026-09-06 (UTC-4 -> UTC-3).
    around_the_clock = calendar("America/Santiago", days=EVERY_DAY, start="00:00", end="24:00", holidays=None)
    assert around_the_clock.opening_hours(date(2026, 9, 6)) == (utc(2026, 9, 6, 4), utc(2026, 9, 7, 3))
    # Sat 00:00 -04 (04:00Z) to Mon 00:00 -03 (03:00Z): 47 real hours.
    assert around_the_clock.business_time_between(utc(2026, 9, 5, 4), utc(2026, 9, 7, 3)) == timedelta(hours=47)


# --- end of day "24:00" and other zones ---------------------------------------------------------


def test_evening_shift_ending_at_midnight() -> None:
    evenings = calendar(start="18:00", end="24:00")
    # Mon 2026-03-09 23:30 GMT: 30 minutes until midnight, 30 more from Tue 18:00.
    assert evenings.add_business_time(utc(2026, 3, 9, 23, 30), MINUTES_60) == utc(2026, 3, 10, 18, 30)
    # Running out exactly at 24:00 is due at midnight, not at the next evening.
    assert evenings.add_business_time(utc(2026, 3, 9, 23), MINUTES_60) == utc(2026, 3, 10, 0)


def test_new_york_across_its_spring_change() -> None:
    new_york = calendar("America/New_York", start="09:00", end="17:00", holidays="US-NY")
    # Fri 2026-03-06 16:30 EST (21:30Z) -> Mon 09 09:30 EDT (13:30Z).
    assert new_york.add_business_time(utc(2026, 3, 6, 21, 30), MINUTES_60) == utc(2026, 3, 9, 13, 30)


def test_new_york_thanksgiving() -> None:
    new_york = calendar("America/New_York", start="09:00", end="17:00", holidays="US-NY")
    # Wed 2026-11-25 16:30 EST (21:30Z); Thursday is Thanksgiving; Fri 27 09:30 EST is 14:30Z.
    assert new_york.add_business_time(utc(2026, 11, 25, 21, 30), MINUTES_60) == utc(2026, 11, 27, 14, 30)


def test_aware_starts_in_any_zone_give_utc() -> None:
    from zoneinfo import ZoneInfo

    friday_local = datetime(2026, 3, 6, 17, 0, tzinfo=ZoneInfo("Europe/London"))
    due = LONDON.add_business_time(friday_local, MINUTES_60)
    assert due == utc(2026, 3, 9, 9, 30) and due.tzinfo is timezone.utc


# --- the inverse --------------------------------------------------------------------------------


def test_business_time_between() -> None:
    # Fri 16:00 to Mon 10:00 GMT: 1h30 on Friday and 1h on Monday.
    assert LONDON.business_time_between(utc(2026, 3, 6, 16), utc(2026, 3, 9, 10)) == timedelta(hours=2, minutes=30)
    assert LONDON.business_time_between(utc(2026, 3, 7, 10), utc(2026, 3, 8, 10)) == timedelta(0)


def test_business_time_between_is_negative_when_overdue() -> None:
    assert LONDON.business_time_between(utc(2026, 3, 9, 10), utc(2026, 3, 6, 16)) == -timedelta(hours=2, minutes=30)


@pytest.mark.parametrize("cal", [LONDON, calendar(start="18:00", end="24:00"), calendar(days=EVERY_DAY)])
def test_round_trip(cal: BusinessCalendar) -> None:
    durations = [timedelta(minutes=1), timedelta(minutes=45), timedelta(hours=8, minutes=30), timedelta(days=3)]
    start = utc(2026, 3, 20, 0, 17)
    while start < utc(2026, 4, 3):  # a fortnight across the spring change, every 7 hours
        for duration in durations:
            due = cal.add_business_time(start, duration)
            assert cal.business_time_between(start, due) == duration, (start, duration)
            assert cal.add_business_time(start, cal.business_time_between(start, due)) == due
        start += timedelta(hours=7)


# --- is_open, next_opening ----------------------------------------------------------------------


def test_is_open_and_next_opening() -> None:
    assert LONDON.is_open(utc(2026, 3, 9, 9))
    assert not LONDON.is_open(utc(2026, 3, 9, 17, 30))  # closing time is already closed
    assert LONDON.next_opening(utc(2026, 3, 6, 18)) == utc(2026, 3, 9, 9)
    assert LONDON.next_opening(utc(2026, 3, 9, 12)) == utc(2026, 3, 9, 12)


# --- policies and the 24/7 variant ----------------------------------------------------------------


def test_due_time_without_a_calendar_is_plain_addition() -> None:
    assert due_time(utc(2026, 3, 6, 17), MINUTES_60, None) == utc(2026, 3, 6, 18)
    assert due_time(utc(2026, 3, 6, 17), MINUTES_60, LONDON) == utc(2026, 3, 9, 9, 30)
    assert elapsed_time(utc(2026, 3, 6, 17), utc(2026, 3, 6, 18), None) == MINUTES_60
    assert elapsed_time(utc(2026, 3, 6, 17), utc(2026, 3, 9, 9, 30), LONDON) == MINUTES_60


def test_due_times_of_a_business_hours_policy() -> None:
    policy = SlaPolicy(name="standard", first_response_minutes=60, resolution_hours=24)
    # Opened Mon 2026-06-01 10:00 BST (09:00Z).
    assert due_times(policy, utc(2026, 6, 1, 9), LONDON) == SlaTargets(
        policy="standard", first_response_due=utc(2026, 6, 1, 10), resolution_due=utc(2026, 6, 3, 16)
    )


def test_due_times_of_a_round_the_clock_policy_ignore_the_calendar() -> None:
    policy = SlaPolicy(name="crisis", first_response_minutes=15, resolution_hours=4, business_hours_only=False)
    opened = utc(2026, 3, 7, 23)  # Saturday night
    targets = due_times(policy, opened, LONDON)
    assert targets.first_response_due == utc(2026, 3, 7, 23, 15)
    assert targets.resolution_due == utc(2026, 3, 8, 3)
    assert calendar_for(policy, LONDON) is None


def test_fractional_minutes_are_kept() -> None:
    policy = SlaPolicy(name="fast", first_response_minutes=0.5, resolution_hours=1.25)
    targets = due_times(policy, utc(2026, 3, 9, 10), LONDON)
    assert targets.first_response_due == utc(2026, 3, 9, 10) + timedelta(seconds=30)
    assert targets.resolution_due == utc(2026, 3, 9, 11, 15)


# --- refusals -----------------------------------------------------------------------------------


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        LONDON.add_business_time(datetime(2026, 3, 9, 10), MINUTES_60)
    with pytest.raises(ValueError, match="no time zone"):
        due_time(datetime(2026, 3, 9, 10), MINUTES_60, None)


def test_negative_durations_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        LONDON.add_business_time(utc(2026, 3, 9, 10), -MINUTES_60)


def test_a_calendar_that_never_opens_says_what_to_check() -> None:
    mondays = tuple(date(2026, 3, 9) + timedelta(weeks=w) for w in range(170))
    never = calendar(days=("mon",), closed=mondays)
    with pytest.raises(ConfigError, match="closed_dates"):
        never.add_business_time(utc(2026, 3, 9, 10), MINUTES_60)


def test_minutes_of() -> None:
    assert minutes_of("00:00") == 0
    assert minutes_of("09:30") == 570
    assert minutes_of("24:00") == 1440
    with pytest.raises(ValueError, match="HH:MM"):
        minutes_of("9am")
    with pytest.raises(ValueError, match="24:00"):
        minutes_of("24:30")


def test_opening_hours_must_make_a_range() -> None:
    from zoneinfo import ZoneInfo

    with pytest.raises(ValueError, match="before the end"):
        BusinessCalendar(zone=ZoneInfo("UTC"), open_weekdays=frozenset({0}), open_minute=600, close_minute=540)


def test_an_unknown_holiday_region_says_how_to_write_one() -> None:
    # SlaConfig refuses it at load time; a calendar built by hand finds out on first use.
    from zoneinfo import ZoneInfo

    odd = BusinessCalendar(
        zone=ZoneInfo("UTC"), open_weekdays=frozenset({0}), open_minute=540, close_minute=1020, holiday_region="GB-ZZZ"
    )
    with pytest.raises(ConfigError, match="GB, GB-SCT or US-CA"):
        odd.is_open_day(date(2026, 3, 9))
