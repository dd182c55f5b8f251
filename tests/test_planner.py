"""The planner: the design's timing rules for appointment messages, stated once."""

from datetime import date, datetime, timedelta, timezone

from core import planner

UTC = timezone.utc
CPH = planner.Settings(tz="Europe/Copenhagen", window_start=8.0, window_end=20.0)
HOURS_24 = planner.RuleTiming(planner.HOURS_BEFORE, hours_before=24)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def test_reminder_due_moves_to_previous_evening():
    # Tuesday 07:00 Copenhagen (06:00 UTC): 24 h before is Monday 07:00, before the window.
    plan = planner.plan_reminder(HOURS_24, utc(2027, 1, 8, 10), datetime(2027, 1, 12, 6), False, None, CPH)
    assert plan.due_at == utc(2027, 1, 10, 19)  # Sunday 20:00 Copenhagen
    assert plan.expire_at == utc(2027, 1, 12, 6)


def test_reminder_naive_odoo_datetimes_are_utc():
    plan = planner.plan_reminder(HOURS_24, utc(2027, 1, 8, 10), datetime(2027, 1, 12, 11), False, None, CPH)
    assert plan.due_at == utc(2027, 1, 11, 11)


def test_reminder_days_before_at_hour_in_clinic_time():
    rule = planner.RuleTiming(planner.DAYS_BEFORE_AT, days_before=1, send_hour=18.0)
    # Monday 2027-03-29 09:00 CEST; Sunday 28th is already summer time: 18:00 CEST = 16:00 UTC.
    plan = planner.plan_reminder(rule, utc(2027, 3, 20, 10), datetime(2027, 3, 29, 7), False, None, CPH)
    assert plan.due_at == utc(2027, 3, 28, 16)


def test_allday_appointment_starts_at_local_midnight():
    begin = planner.event_start(datetime(2027, 1, 14, 8), True, date(2027, 1, 14), CPH.tz)
    assert begin == utc(2027, 1, 13, 23)
    rule = planner.RuleTiming(planner.DAYS_BEFORE_AT, days_before=1, send_hour=18.0)
    plan = planner.plan_reminder(
        rule, utc(2027, 1, 10, 10), datetime(2027, 1, 14, 8), True, date(2027, 1, 14), CPH
    )
    assert plan.due_at == utc(2027, 1, 13, 17)  # 18:00 the day before, Copenhagen
    assert plan.expire_at == begin


def test_reminder_that_would_arrive_after_the_start_is_not_planned():
    # 21:30 local, appointment at 23:00 local: the window only opens tomorrow.
    assert (
        planner.plan_reminder(HOURS_24, utc(2027, 1, 11, 20, 30), datetime(2027, 1, 11, 22), False, None, CPH)
        is None
    )


def test_a_reminder_sent_by_hand_goes_now_or_at_the_earliest_time_asked_inside_the_window():
    now, begin = utc(2027, 1, 11, 10), utc(2027, 1, 12, 9)  # 11:00 local; tomorrow 10:00 local
    plan = planner.plan_manual_reminder(now, None, begin, CPH)
    assert (plan.due_at, plan.expire_at) == (now, begin)
    assert planner.plan_manual_reminder(now, utc(2027, 1, 11, 9), begin, CPH).due_at == now  # past: now
    assert planner.plan_manual_reminder(now, utc(2027, 1, 11, 15), begin, CPH).due_at == utc(2027, 1, 11, 15)
    # 21:30 local asked: moved forward to 08:00 local the next morning, never back to the evening.
    assert planner.plan_manual_reminder(now, utc(2027, 1, 11, 20, 30), begin, CPH).due_at == utc(
        2027, 1, 12, 7
    )


def test_a_reminder_sent_by_hand_is_not_planned_for_after_the_start():
    now, begin = utc(2027, 1, 11, 10), utc(2027, 1, 12, 7, 30)  # tomorrow 08:30 local
    assert planner.plan_manual_reminder(now, begin, begin, CPH) is None
    assert planner.plan_manual_reminder(now, utc(2027, 1, 11, 20, 30), utc(2027, 1, 12, 7), CPH) is None


def test_confirmation_waits_for_window_but_not_past_the_appointment():
    now = utc(2027, 1, 11, 21)  # 22:00 local
    plan = planner.plan_notice("confirmation", now, utc(2027, 1, 14, 10), CPH)
    assert plan.due_at == utc(2027, 1, 12, 7)  # 08:00 local
    assert plan.expire_at == now + timedelta(hours=24)
    assert planner.plan_notice("confirmation", now, utc(2027, 1, 12, 6), CPH) is None
    assert planner.plan_notice("reschedule", now, now - timedelta(hours=1), CPH) is None


def test_confirmation_expires_at_the_appointment_when_sooner():
    now = utc(2027, 1, 11, 10)
    plan = planner.plan_notice("confirmation", now, utc(2027, 1, 11, 14), CPH)
    assert (plan.due_at, plan.expire_at) == (now, utc(2027, 1, 11, 14))


def test_cancellation_is_not_bound_to_the_old_start():
    now = utc(2027, 1, 11, 10)
    plan = planner.plan_notice("cancellation", now, utc(2027, 1, 11, 11), CPH)
    assert plan.expire_at == now + timedelta(hours=24)


def test_may_send_now_inside_window_or_just_late():
    due = utc(2027, 1, 11, 19)  # 20:00 local, the window's end
    assert planner.may_send_now(utc(2027, 1, 11, 12), due, CPH)
    assert planner.may_send_now(due + timedelta(minutes=10), due, CPH)
    assert not planner.may_send_now(due + timedelta(minutes=20), due, CPH)
    assert not planner.may_send_now(utc(2027, 1, 12, 2), due, CPH)  # 03:00 local after downtime


def test_birthday_dates():
    assert planner.birthday_dates(date(2027, 6, 15)) == [(6, 15)]
    assert planner.birthday_dates(date(2027, 2, 28)) == [(2, 28), (2, 29)]
    assert planner.birthday_dates(date(2028, 2, 28)) == [(2, 28)]
    assert planner.birthday_dates(date(2028, 2, 29)) == [(2, 29)]
    assert planner.birthday_dates(date(2100, 2, 28)) == [(2, 28), (2, 29)]  # 2100 is no leap year


# --------------------------------------------------------------------------- one conversation

T0 = datetime(2027, 1, 18, 9, 0, tzinfo=timezone.utc)


def notice(id_, kind, days=0, hours=0):
    return planner.PendingNotice(id_, kind, T0 + timedelta(days=days, hours=hours))


def test_a_cancellation_and_a_booking_at_the_same_time_send_nothing():
    result = planner.coalesce([notice(1, "cancellation"), notice(2, "confirmation")])
    assert (sorted(result.withdrawn), result.kept) == ([1, 2], None)


def test_a_cancellation_and_a_booking_at_another_time_send_one_moved_notice():
    result = planner.coalesce([notice(1, "cancellation"), notice(2, "confirmation", hours=2)])
    assert (result.withdrawn, result.kept, result.kind, result.also) == ((1,), 2, "reschedule", ())


def test_without_a_moved_rule_the_booking_stays_a_confirmation():
    result = planner.coalesce(
        [notice(1, "cancellation"), notice(2, "confirmation", hours=2)], can_reschedule=False
    )
    assert (result.kept, result.kind) == (2, "confirmation")


def test_a_new_series_is_one_confirmation_naming_the_other_dates():
    result = planner.coalesce([notice(i, "confirmation", days=7 * i) for i in range(5)])
    assert result.kept == 0 and sorted(result.withdrawn) == [1, 2, 3, 4]
    assert result.also == tuple(T0 + timedelta(days=7 * i) for i in range(1, 5))


def test_a_series_recreated_at_a_new_time_is_one_moved_notice():
    old = [notice(i, "cancellation", days=7 * i) for i in range(5)]
    new = [notice(10 + i, "confirmation", days=7 * i, hours=1) for i in range(4)]
    result = planner.coalesce([*old, *new, notice(20, "reschedule", days=28, hours=1)])
    assert (result.kept, result.kind) == (10, "reschedule")
    assert len(result.withdrawn) == 9 and len(result.also) == 4


def test_a_series_recreated_at_the_same_times_sends_nothing():
    old = [notice(i, "cancellation", days=7 * i) for i in range(5)]
    new = [notice(10 + i, "confirmation", days=7 * i) for i in range(5)]
    result = planner.coalesce([*old, *new])
    assert result.kept is None and len(result.withdrawn) == 10


def test_several_cancellations_are_one():
    result = planner.coalesce([notice(i, "cancellation", days=i) for i in range(3)])
    assert (result.kept, result.kind, len(result.also)) == (0, "cancellation", 2)


def test_a_single_notice_is_kept_as_it_is():
    result = planner.coalesce([notice(1, "reschedule")])
    assert (result.withdrawn, result.kept, result.kind, result.also) == ((), 1, "reschedule", ())


# --------------------------------------------------------------------------- recalls


def test_a_recall_is_due_days_before_its_date_at_the_hour_in_clinic_time():
    # 14 days before 2027-04-12 is 2027-03-29, summer time already: 10:00 CEST = 08:00 UTC.
    assert planner.recall_due(date(2027, 4, 12), 14, 0, 10.0, "Europe/Copenhagen") == utc(2027, 3, 29, 8)
    # In winter, 10:00 CET = 09:00 UTC.
    assert planner.recall_due(date(2027, 1, 25), 14, 0, 10.0, "Europe/Copenhagen") == utc(2027, 1, 11, 9)


def test_a_second_recall_is_due_days_after_its_date():
    assert planner.recall_due(date(2027, 1, 11), 14, 7, 10.0, "Europe/Copenhagen") == utc(2027, 1, 18, 9)
    assert planner.recall_send_day(date(2027, 1, 11), 14, 7) == date(2027, 1, 18)
    assert planner.recall_send_day(date(2027, 1, 11), 14) == date(2026, 12, 28)


def test_the_daily_cron_plans_recall_dates_from_today_to_tomorrows_send_day():
    today = date(2027, 1, 11)
    # Before: every recall date not passed whose send day is tomorrow or earlier (late ones at once).
    assert planner.recall_dates_for(today, 14) == (date(2027, 1, 11), date(2027, 1, 26))
    assert planner.recall_dates_for(today, 0) == (date(2027, 1, 11), date(2027, 1, 12))
    # After: send day tomorrow, today, or up to RECALL_CATCH_UP_DAYS late.
    first, last = planner.recall_dates_for(today, 0, 14)
    assert last == date(2026, 12, 29)  # + 14 days = tomorrow
    assert planner.recall_send_day(first, 0, 14) == today - timedelta(days=planner.RECALL_CATCH_UP_DAYS)


def test_the_recall_date_moves_by_calendar_months():
    assert planner.add_months(date(2027, 1, 11), 6) == date(2027, 7, 11)
    assert planner.add_months(date(2027, 8, 31), 6) == date(2028, 2, 29)  # leap year: last day
    assert planner.add_months(date(2027, 11, 30), 3) == date(2028, 2, 29)
    assert planner.add_months(date(2027, 12, 15), 12) == date(2028, 12, 15)
    assert planner.add_months(date(2027, 10, 31), 2) == date(2027, 12, 31)


# --------------------------------------------------------------------------- one reminder per day


def day_appointment(event_id, hour, minute=0):
    start = datetime(2027, 1, 18, hour, minute)  # naive UTC, as Odoo stores it
    return planner.DayAppointment(event_id, start.replace(tzinfo=UTC), start)


def test_the_local_day_of_an_appointment_is_the_clinics():
    # 23:30 UTC on 17 January is already 18 January in Copenhagen.
    assert planner.local_day(datetime(2027, 1, 17, 23, 30), False, None, CPH.tz) == date(2027, 1, 18)
    assert planner.local_day(utc(2027, 1, 17, 22, 30), False, None, CPH.tz) == date(2027, 1, 17)
    assert planner.local_day(datetime(2027, 1, 17, 8, 0), True, date(2027, 1, 17), CPH.tz) == date(
        2027, 1, 17
    )
    assert planner.local_day(datetime(2027, 1, 17, 23, 30), False, None, "") == date(2027, 1, 17)


def test_a_patients_day_is_one_reminder_for_the_first_naming_the_others():
    later, first, last = day_appointment(7, 13), day_appointment(9, 8), day_appointment(3, 15, 30)
    result = planner.one_per_day([later, first, last])
    assert result.first == 9
    assert result.also == (later.start, last.start)
    assert set(result.merged) == {7, 3}


def test_appointments_at_the_same_time_are_ordered_by_id_and_not_named_twice():
    result = planner.one_per_day([day_appointment(5, 9), day_appointment(4, 9)])
    assert (result.first, result.also, result.merged) == (4, (), (5,))


def test_a_single_appointment_keeps_its_own_reminder():
    assert planner.one_per_day([day_appointment(1, 9)]) == planner.DayReminder(first=1)


def test_a_day_already_reminded_plans_nothing_more():
    result = planner.one_per_day([day_appointment(1, 9), day_appointment(2, 14)], reminded=True)
    assert (result.first, result.also, set(result.merged)) == (None, (), {1, 2})
    assert planner.one_per_day([]) == planner.DayReminder()
