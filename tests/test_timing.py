"""Timing: due moments, sending window and plans, in Europe/Copenhagen across the 2026 DST changes.

2026 in the EU: spring forward on Sunday 29 March at 01:00 UTC (02:00 CET -> 03:00 CEST),
fall back on Sunday 25 October at 01:00 UTC (03:00 CEST -> 02:00 CET).
"""

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from core import timing
from core.timing import Plan

CPH = "Europe/Copenhagen"
NY = "America/New_York"
UTC = timezone.utc
ZCPH = ZoneInfo(CPH)


def local(*args, fold=0):
    """An aware datetime in Copenhagen wall-clock time."""
    return datetime(*args, tzinfo=ZCPH, fold=fold)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


# --- due_hours_before --------------------------------------------------------------------------


def test_hours_before_simple():
    assert timing.due_hours_before(utc(2026, 6, 10, 12), 24) == utc(2026, 6, 9, 12)
    assert timing.due_hours_before(utc(2026, 6, 10, 12), 1.5) == utc(2026, 6, 10, 10, 30)


def test_hours_before_returns_utc():
    due = timing.due_hours_before(local(2026, 6, 10, 9), 2)
    assert due.utcoffset() == timedelta(0)
    assert due == utc(2026, 6, 10, 5)


def test_hours_before_across_spring_forward_is_elapsed_time():
    # Sunday 29 March 09:00 CEST = 07:00 UTC; 24 h earlier is Saturday 07:00 UTC = 08:00 CET.
    due = timing.due_hours_before(local(2026, 3, 29, 9), 24)
    assert due == utc(2026, 3, 28, 7)
    assert due.astimezone(ZCPH).hour == 8


def test_hours_before_across_fall_back_is_elapsed_time():
    # Sunday 25 October 09:00 CET = 08:00 UTC; 24 h earlier is Saturday 08:00 UTC = 10:00 CEST.
    due = timing.due_hours_before(local(2026, 10, 25, 9), 24)
    assert due == utc(2026, 10, 24, 8)
    assert due.astimezone(ZCPH).hour == 10


def test_hours_before_day_after_spring_forward_keeps_wall_time():
    # Monday 30 March 09:00 CEST: 24 h earlier (Sunday 07:00 UTC) is already CEST, 09:00 local.
    due = timing.due_hours_before(local(2026, 3, 30, 9), 24)
    assert due == utc(2026, 3, 29, 7)
    assert due.astimezone(ZCPH).hour == 9


def test_naive_datetime_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        timing.due_hours_before(datetime(2026, 6, 10, 12), 2)
    with pytest.raises(ValueError):
        timing.in_window(datetime(2026, 6, 10, 12), CPH, 8, 20)


# --- due_days_before_at ------------------------------------------------------------------------


def test_days_before_at_summer():
    due = timing.due_days_before_at(local(2026, 6, 10, 14, 30), 1, 18.0, CPH)
    assert due == utc(2026, 6, 9, 16)


def test_days_before_at_uses_local_date_not_utc_date():
    # 00:30 CEST on 10 June is 22:30 UTC on 9 June: the local date (10 June) counts.
    due = timing.due_days_before_at(local(2026, 6, 10, 0, 30), 1, 18.0, CPH)
    assert due == utc(2026, 6, 9, 16)


def test_days_before_at_across_spring_forward():
    # Monday 30 March appointment, 1 day before at 18:00: Sunday 18:00 CEST = 16:00 UTC.
    assert timing.due_days_before_at(local(2026, 3, 30, 10), 1, 18.0, CPH) == utc(2026, 3, 29, 16)
    # Sunday 29 March appointment (CEST), 1 day before at 18:00: Saturday 18:00 CET = 17:00 UTC.
    assert timing.due_days_before_at(local(2026, 3, 29, 10), 1, 18.0, CPH) == utc(2026, 3, 28, 17)


def test_days_before_at_across_fall_back():
    # Monday 26 October (CET), 1 day before at 18:00: Sunday 18:00 CET = 17:00 UTC.
    assert timing.due_days_before_at(local(2026, 10, 26, 10), 1, 18.0, CPH) == utc(2026, 10, 25, 17)
    # Sunday 25 October (CET), 1 day before at 18:00: Saturday 18:00 CEST = 16:00 UTC.
    assert timing.due_days_before_at(local(2026, 10, 25, 10), 1, 18.0, CPH) == utc(2026, 10, 24, 16)


def test_days_before_at_several_days_and_fractional_hour():
    # 3 days before Thursday 2 April (CEST) at 08:30 is Monday 30 March 08:30 CEST = 06:30 UTC.
    assert timing.due_days_before_at(local(2026, 4, 2, 15), 3, 8.5, CPH) == utc(2026, 3, 30, 6, 30)
    # ... and 6 days before is Friday 27 March 08:30 CET = 07:30 UTC.
    assert timing.due_days_before_at(local(2026, 4, 2, 15), 6, 8.5, CPH) == utc(2026, 3, 27, 7, 30)


def test_days_before_at_zero_days_is_same_day():
    assert timing.due_days_before_at(local(2026, 6, 10, 15), 0, 9.0, CPH) == utc(2026, 6, 10, 7)


def test_days_before_at_send_hour_in_spring_forward_gap_moves_to_first_valid_instant():
    # 02:30 does not exist on 29 March; the first valid instant after it is 03:00 CEST = 01:00 UTC.
    due = timing.due_days_before_at(local(2026, 3, 30, 10), 1, 2.5, CPH)
    assert due == utc(2026, 3, 29, 1)
    assert due.astimezone(ZCPH).strftime("%H:%M %Z") == "03:00 CEST"


def test_days_before_at_send_hour_in_fall_back_fold_takes_first_occurrence():
    # 02:30 occurs twice on 25 October: first at 02:30 CEST = 00:30 UTC.
    assert timing.due_days_before_at(local(2026, 10, 26, 10), 1, 2.5, CPH) == utc(2026, 10, 25, 0, 30)


def test_days_before_at_allday_uses_utc_date():
    # Odoo stores an all-day appointment on 10 June as 2026-06-10 00:00 (or 08:00) UTC. In New York
    # that instant is still 9 June, but the appointment is on 10 June: the reminder is on 9 June.
    for start in (utc(2026, 6, 10, 0), utc(2026, 6, 10, 8)):
        due = timing.due_days_before_at(start, 1, 18.0, NY, allday=True)
        assert due == datetime(2026, 6, 9, 18, tzinfo=ZoneInfo(NY)).astimezone(UTC)
        assert due == utc(2026, 6, 9, 22)
    # Without allday the same instant would be read in New York time (9 June) -> 8 June.
    assert timing.due_days_before_at(utc(2026, 6, 10, 0), 1, 18.0, NY) == utc(2026, 6, 8, 22)


def test_days_before_at_allday_copenhagen_across_dst():
    # All-day appointment on Monday 30 March: the day before at 18:00 is Sunday 18:00 CEST.
    assert timing.due_days_before_at(utc(2026, 3, 30), 1, 18.0, CPH, allday=True) == utc(2026, 3, 29, 16)


# --- allday_start --------------------------------------------------------------------------------


def test_allday_start_is_local_midnight():
    assert timing.allday_start(date(2026, 6, 10), CPH) == utc(2026, 6, 9, 22)
    assert timing.allday_start(date(2026, 1, 10), CPH) == utc(2026, 1, 9, 23)
    assert timing.allday_start(date(2026, 3, 29), CPH) == utc(2026, 3, 28, 23)  # still CET at 00:00
    assert timing.allday_start(date(2026, 10, 25), CPH) == utc(2026, 10, 24, 22)  # still CEST at 00:00
    assert timing.allday_start(date(2026, 6, 10), NY) == utc(2026, 6, 10, 4)


def test_allday_start_when_midnight_does_not_exist():
    # Chile springs forward at 24:00 -> 01:00 (6 Sep 2026): the day starts at 01:00 -03 = 04:00 UTC.
    start = timing.allday_start(date(2026, 9, 6), "America/Santiago")
    assert start == utc(2026, 9, 6, 4)
    assert start.astimezone(ZoneInfo("America/Santiago")).hour == 1


def test_empty_tz_means_utc():
    assert timing.allday_start(date(2026, 6, 10), "") == utc(2026, 6, 10)


# --- in_window -----------------------------------------------------------------------------------


def test_in_window_bounds_are_inclusive_and_local():
    assert timing.in_window(local(2026, 6, 10, 8), CPH, 8, 20)
    assert timing.in_window(local(2026, 6, 10, 20), CPH, 8, 20)
    assert timing.in_window(local(2026, 6, 10, 12), CPH, 8, 20)
    assert not timing.in_window(local(2026, 6, 10, 7, 59, 59), CPH, 8, 20)
    assert not timing.in_window(local(2026, 6, 10, 20, 0, 1), CPH, 8, 20)
    # 07:00 UTC is 09:00 CEST: inside, although 07:00 would be outside in UTC.
    assert timing.in_window(utc(2026, 6, 10, 7), CPH, 8, 20)
    assert not timing.in_window(utc(2026, 6, 10, 19), CPH, 8, 20)  # 21:00 CEST


def test_in_window_fractional_hours():
    assert not timing.in_window(local(2026, 6, 10, 8, 29), CPH, 8.5, 19.75)
    assert timing.in_window(local(2026, 6, 10, 8, 30), CPH, 8.5, 19.75)
    assert timing.in_window(local(2026, 6, 10, 19, 45), CPH, 8.5, 19.75)
    assert not timing.in_window(local(2026, 6, 10, 19, 46), CPH, 8.5, 19.75)


@pytest.mark.parametrize("window", [(0, 24), (0.0, 24.0), (-1, 25), (0, 0), (24, 24), (20, 8)])
def test_in_window_no_limit(window):
    for hour in (0, 3, 12, 23):
        assert timing.in_window(local(2026, 6, 10, hour, 59), CPH, *window)


def test_in_window_open_ended_evening():
    assert timing.in_window(local(2026, 6, 10, 23, 59, 59), CPH, 8, 24)
    assert not timing.in_window(local(2026, 6, 10, 7), CPH, 8, 24)
    assert timing.in_window(local(2026, 6, 10, 0, 0), CPH, 0, 20)


# --- fit_window -----------------------------------------------------------------------------------


def test_fit_window_inside_unchanged():
    due = local(2026, 6, 10, 12, 15)
    assert timing.fit_window(due, CPH, 8, 20) == due
    assert timing.fit_window(due, CPH, 8, 20).utcoffset() == timedelta(0)


def test_fit_window_early_morning_moves_to_previous_evening():
    # 06:00 CEST on 10 June -> 20:00 CEST on 9 June = 18:00 UTC.
    assert timing.fit_window(local(2026, 6, 10, 6), CPH, 8, 20) == utc(2026, 6, 9, 18)


def test_fit_window_late_evening_moves_to_same_day_end():
    assert timing.fit_window(local(2026, 6, 10, 22, 30), CPH, 8, 20) == utc(2026, 6, 10, 18)
    assert timing.fit_window(local(2026, 6, 10, 23, 59), CPH, 8, 20.5) == utc(2026, 6, 10, 18, 30)


def test_fit_window_just_after_midnight_moves_to_previous_evening():
    assert timing.fit_window(local(2026, 6, 11, 0, 5), CPH, 8, 20) == utc(2026, 6, 10, 18)


def test_fit_window_no_limit_unchanged():
    due = local(2026, 6, 10, 3)
    assert timing.fit_window(due, CPH, 0, 24) == due


def test_fit_window_open_ended_evening_moves_to_midnight():
    # Window 08:00-24:00: 06:00 goes back to the midnight that ended the previous day.
    assert timing.fit_window(local(2026, 6, 10, 6), CPH, 8, 24) == local(2026, 6, 10, 0)


def test_fit_window_previous_evening_across_spring_forward():
    # Appointment Sunday 29 March 08:30 CEST, 2 h reminder -> 06:30 CEST (04:30 UTC): before the
    # window, so Saturday 20:00, which is still CET (+01:00) -> 19:00 UTC (not 18:00).
    due = timing.due_hours_before(local(2026, 3, 29, 8, 30), 2)
    assert due == utc(2026, 3, 29, 4, 30)
    assert timing.fit_window(due, CPH, 8, 20) == utc(2026, 3, 28, 19)


def test_fit_window_monday_24h_reminder_crossing_spring_forward_night():
    # Appointment Monday 30 March 07:00 CEST, 24 h before = Sunday 07:00 CEST (05:00 UTC):
    # before 08:00 -> Saturday 28 March 20:00 CET = 19:00 UTC.
    due = timing.due_hours_before(local(2026, 3, 30, 7), 24)
    assert due == utc(2026, 3, 29, 5)
    assert timing.fit_window(due, CPH, 8, 20) == utc(2026, 3, 28, 19)


def test_fit_window_previous_evening_across_fall_back():
    # Appointment Sunday 25 October 08:30 CET, 2 h reminder -> 06:30 CET (05:30 UTC): Saturday
    # 20:00 is still CEST (+02:00) -> 18:00 UTC.
    due = timing.due_hours_before(local(2026, 10, 25, 8, 30), 2)
    assert due == utc(2026, 10, 25, 5, 30)
    assert timing.fit_window(due, CPH, 8, 20) == utc(2026, 10, 24, 18)


def test_fit_window_day_after_fall_back_uses_cet_evening():
    # Monday 26 October 06:00 CET -> Sunday 25 October 20:00 CET = 19:00 UTC.
    assert timing.fit_window(local(2026, 10, 26, 6), CPH, 8, 20) == utc(2026, 10, 25, 19)


def test_fit_window_end_inside_fall_back_fold_takes_latest_occurrence_before_due():
    # Window 00:00-02:30 on the fall-back night: 02:30 happens at 00:30 UTC (CEST) and 01:30 UTC (CET).
    after_second = utc(2026, 10, 25, 2)  # 03:00 CET
    assert timing.fit_window(after_second, CPH, 0, 2.5) == utc(2026, 10, 25, 1, 30)
    between = utc(2026, 10, 25, 0, 45)  # 02:45 CEST, between the two 02:30s
    assert timing.fit_window(between, CPH, 0, 2.5) == utc(2026, 10, 25, 0, 30)


def test_fit_window_end_inside_spring_forward_gap_is_last_second_before_jump():
    # Window 00:00-02:30 on 29 March: 02:30 does not exist; the last allowed moment is 01:59:59 CET.
    fitted = timing.fit_window(utc(2026, 3, 29, 5), CPH, 0, 2.5)
    assert fitted == utc(2026, 3, 29, 0, 59, 59)
    assert timing.in_window(fitted, CPH, 0, 2.5)


def test_fit_window_result_is_never_later_and_always_inside():
    for step in range(0, 4 * 24 * 4):  # every 15 minutes over the spring-forward weekend
        moment = utc(2026, 3, 27) + timedelta(minutes=15 * step)
        fitted = timing.fit_window(moment, CPH, 8, 20)
        assert fitted <= moment
        assert timing.in_window(fitted, CPH, 8, 20)
        assert moment - fitted < timedelta(hours=13)


# --- next_window_open -----------------------------------------------------------------------------


def test_next_window_open_inside_is_moment():
    moment = local(2026, 6, 10, 9, 17, 3)
    assert timing.next_window_open(moment, CPH, 8, 20) == moment


def test_next_window_open_before_start_is_today():
    assert timing.next_window_open(local(2026, 6, 10, 6), CPH, 8, 20) == utc(2026, 6, 10, 6)


def test_next_window_open_after_end_is_tomorrow():
    assert timing.next_window_open(local(2026, 6, 10, 22), CPH, 8, 20) == utc(2026, 6, 11, 6)


def test_next_window_open_over_dst_nights():
    # Saturday 28 March 22:00 CET -> Sunday 08:00 CEST = 06:00 UTC.
    assert timing.next_window_open(local(2026, 3, 28, 22), CPH, 8, 20) == utc(2026, 3, 29, 6)
    # Saturday 24 October 22:00 CEST -> Sunday 08:00 CET = 07:00 UTC.
    assert timing.next_window_open(local(2026, 10, 24, 22), CPH, 8, 20) == utc(2026, 10, 25, 7)


def test_next_window_open_start_inside_fall_back_fold_is_next_occurrence():
    # Window 02:30-20:00. At 02:15 CET (the second pass of 02:xx, 01:15 UTC) the next 02:30 is the
    # CET one at 01:30 UTC, not the CEST one at 00:30 UTC that has already passed.
    assert timing.next_window_open(utc(2026, 10, 25, 1, 15), CPH, 2.5, 20) == utc(2026, 10, 25, 1, 30)


# --- expiry and plan ------------------------------------------------------------------------------

WS, WE = 8.0, 20.0


def test_expiry_is_elapsed_time_across_dst():
    # Saturday 28 March 12:00 CET + 24 h = Sunday 13:00 CEST (same instant + 24 h, not same wall time).
    assert timing.expiry("manual", local(2026, 3, 28, 12)) == utc(2026, 3, 29, 11)
    assert timing.expiry("manual", local(2026, 3, 28, 12)).astimezone(ZCPH).hour == 13


def test_fit_window_sweep_over_fall_back_weekend():
    for step in range(0, 4 * 24 * 4):
        moment = utc(2026, 10, 23) + timedelta(minutes=15 * step)
        fitted = timing.fit_window(moment, CPH, 8, 20)
        opened = timing.next_window_open(moment, CPH, 8, 20)
        assert fitted <= moment <= opened
        assert timing.in_window(fitted, CPH, 8, 20)
        assert timing.in_window(opened, CPH, 8, 20)
        if timing.in_window(moment, CPH, 8, 20):
            assert fitted == moment == opened
        else:
            assert fitted.astimezone(ZCPH).strftime("%H:%M") == "20:00"
            assert opened.astimezone(ZCPH).strftime("%H:%M") == "08:00"


def test_expiry():
    start = utc(2026, 6, 12, 9)
    due = utc(2026, 6, 10, 9)
    assert timing.expiry("reminder", due, start) == start
    for kind in ("confirmation", "reschedule", "cancellation", "birthday", "manual", "notice"):
        assert timing.expiry(kind, due, start) == utc(2026, 6, 11, 9)
    assert timing.expiry("birthday", due) == utc(2026, 6, 11, 9)
    with pytest.raises(ValueError):
        timing.expiry("reminder", due, None)


def test_plan_reminder_normal():
    start = local(2026, 6, 12, 10)
    due = timing.due_hours_before(start, 24)
    result = timing.plan("reminder", local(2026, 6, 1, 12), start, due, CPH, WS, WE)
    assert result == Plan(due_at=utc(2026, 6, 11, 8), expire_at=utc(2026, 6, 12, 8))


def test_plan_reminder_06_due_moves_to_previous_evening():
    start = local(2026, 6, 12, 8, 0)
    due = timing.due_hours_before(start, 2)  # 06:00 CEST
    result = timing.plan("reminder", local(2026, 6, 1, 12), start, due, CPH, WS, WE)
    assert result.due_at == utc(2026, 6, 11, 18)  # 20:00 CEST the evening before
    assert result.expire_at == utc(2026, 6, 12, 6)


def test_plan_reminder_previous_evening_across_spring_forward():
    start = local(2026, 3, 29, 8, 0)  # Sunday, CEST
    due = timing.due_hours_before(start, 2)  # 06:00 CEST = 04:00 UTC
    result = timing.plan("reminder", local(2026, 3, 20, 12), start, due, CPH, WS, WE)
    assert result == Plan(due_at=utc(2026, 3, 28, 19), expire_at=utc(2026, 3, 29, 6))


def test_plan_reminder_previous_evening_across_fall_back():
    start = local(2026, 10, 25, 8, 0)  # Sunday, CET
    due = timing.due_hours_before(start, 2)  # 06:00 CET = 05:00 UTC
    result = timing.plan("reminder", local(2026, 10, 20, 12), start, due, CPH, WS, WE)
    assert result == Plan(due_at=utc(2026, 10, 24, 18), expire_at=utc(2026, 10, 25, 7))


def test_plan_reminder_booked_inside_lead_time_goes_now():
    now = local(2026, 6, 10, 10)
    start = local(2026, 6, 10, 13)  # 3 h ahead, 24 h lead
    due = timing.due_hours_before(start, 24)
    assert timing.plan("reminder", now, start, due, CPH, WS, WE) == Plan(
        due_at=utc(2026, 6, 10, 8), expire_at=utc(2026, 6, 10, 11)
    )


def test_plan_reminder_due_in_past_goes_now():
    now = local(2026, 6, 10, 15, 42, 7)
    start = local(2026, 6, 11, 9)
    due = local(2026, 6, 10, 9)  # past
    result = timing.plan("reminder", now, start, due, CPH, WS, WE)
    assert result.due_at == now
    assert result.expire_at == start


def test_plan_reminder_30_min_ahead_after_window_is_none():
    # 20:30: appointment at 21:00, window ends at 20:00; the next opening is tomorrow 08:00.
    now = local(2026, 6, 10, 20, 30)
    start = local(2026, 6, 10, 21, 0)
    due = timing.due_hours_before(start, 24)
    assert timing.plan("reminder", now, start, due, CPH, WS, WE) is None


def test_plan_reminder_booked_at_night_for_next_morning_goes_at_window_opening():
    now = local(2026, 6, 10, 22)
    start = local(2026, 6, 11, 11)
    due = timing.due_hours_before(start, 24)
    assert timing.plan("reminder", now, start, due, CPH, WS, WE) == Plan(
        due_at=utc(2026, 6, 11, 6), expire_at=utc(2026, 6, 11, 9)
    )


def test_plan_reminder_fitting_into_past_then_too_late():
    # Now 21:00; appointment tomorrow 07:30 with a 2 h reminder (05:30 -> fitted to today 20:00, past);
    # the next opening (08:00) is after the start: nothing to send.
    now = local(2026, 6, 10, 21)
    start = local(2026, 6, 11, 7, 30)
    due = timing.due_hours_before(start, 2)
    assert timing.plan("reminder", now, start, due, CPH, WS, WE) is None


def test_plan_reminder_started_or_past_appointment_is_none():
    now = local(2026, 6, 10, 12)
    assert timing.plan("reminder", now, now, now - timedelta(hours=24), CPH, WS, WE) is None
    past = now - timedelta(hours=1)
    assert timing.plan("reminder", now, past, past - timedelta(hours=2), CPH, WS, WE) is None


def test_plan_reminder_zero_lead_is_none():
    now = local(2026, 6, 10, 9)
    start = local(2026, 6, 10, 12)
    assert timing.plan("reminder", now, start, start, CPH, WS, WE) is None


def test_plan_reminder_no_window():
    start = local(2026, 6, 12, 3)
    due = timing.due_hours_before(start, 2)  # 01:00
    result = timing.plan("reminder", local(2026, 6, 1), start, due, CPH, 0, 24)
    assert result == Plan(due_at=utc(2026, 6, 11, 23), expire_at=utc(2026, 6, 12, 1))


def test_plan_reminder_needs_event_start():
    with pytest.raises(ValueError):
        timing.plan("reminder", utc(2026, 6, 1), None, utc(2026, 6, 2), CPH, WS, WE)


def test_plan_reminder_allday():
    # All-day appointment on Wednesday 10 June: starts at local midnight; 1 day before at 18:00.
    event_start = timing.allday_start(date(2026, 6, 10), CPH)
    due = timing.due_days_before_at(utc(2026, 6, 10), 1, 18.0, CPH, allday=True)
    result = timing.plan("reminder", local(2026, 6, 1), event_start, due, CPH, WS, WE)
    assert result == Plan(due_at=utc(2026, 6, 9, 16), expire_at=utc(2026, 6, 9, 22))
    # A 2 h reminder for it would be 22:00 the day before -> fitted to 20:00.
    due = timing.due_hours_before(event_start, 2)
    assert timing.plan("reminder", local(2026, 6, 1), event_start, due, CPH, WS, WE).due_at == utc(
        2026, 6, 9, 18
    )


def test_plan_confirmation_inside_window_is_now():
    now = local(2026, 6, 10, 10, 5)
    result = timing.plan("confirmation", now, local(2026, 6, 20, 9), now, CPH, WS, WE)
    assert result == Plan(due_at=now, expire_at=now + timedelta(hours=24))


def test_plan_confirmation_at_night_goes_next_morning():
    now = local(2026, 6, 10, 22)
    result = timing.plan("confirmation", now, local(2026, 6, 20, 9), now, CPH, WS, WE)
    assert result == Plan(due_at=utc(2026, 6, 11, 6), expire_at=utc(2026, 6, 11, 20))


def test_plan_other_kind_past_due_is_now():
    now = local(2026, 6, 10, 10)
    result = timing.plan("cancellation", now, None, local(2026, 6, 9, 10), CPH, WS, WE)
    assert result == Plan(due_at=utc(2026, 6, 10, 8), expire_at=utc(2026, 6, 11, 8))


def test_plan_birthday_future_send_hour():
    now = local(2026, 6, 10, 1)
    due = timing.due_days_before_at(utc(2026, 6, 10), 0, 9.0, CPH, allday=True)
    result = timing.plan("birthday", now, None, due, CPH, WS, WE)
    assert result == Plan(due_at=utc(2026, 6, 10, 7), expire_at=utc(2026, 6, 11, 7))


def test_plan_birthday_send_hour_before_window_moves_forward():
    now = local(2026, 6, 10, 1)
    due = local(2026, 6, 10, 6)
    result = timing.plan("birthday", now, None, due, CPH, WS, WE)
    assert result == Plan(due_at=utc(2026, 6, 10, 6), expire_at=utc(2026, 6, 11, 4))


def test_plan_other_kind_none_when_window_opens_after_expiry():
    # A 30-minute window (10:00-10:30) and the 25-hour fall-back day: at 10:31 CEST on Saturday the
    # next opening is Sunday 10:00 CET, 24 h 29 min later -> past the 24 h expiry.
    now = local(2026, 10, 24, 10, 31)
    assert timing.plan("notice", now, None, now, CPH, 10, 10.5) is None
    # On an ordinary day the next opening is 23 h 29 min later: planned.
    now = local(2026, 6, 10, 10, 31)
    assert timing.plan("notice", now, None, now, CPH, 10, 10.5).due_at == utc(2026, 6, 11, 8)


def test_plan_results_are_utc():
    now = local(2026, 6, 10, 10)
    for kind in ("reminder", "manual"):
        result = timing.plan(kind, now, local(2026, 6, 11, 10), now, CPH, WS, WE)
        assert result.due_at.utcoffset() == timedelta(0)
        assert result.expire_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1700000000, datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)),
        ("1700000000", datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)),
        ("1700000000.5", datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=timezone.utc)),
        (None, None),
        ("", None),
        ("yesterday", None),
        ("1e30", None),
    ],
)
def test_from_unix_reads_provider_timestamps_as_utc_or_nothing(value, expected):
    assert timing.from_unix(value) == expected
