from datetime import date, datetime, timedelta

from psycopg2 import IntegrityError

from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import NOW, ClinicSmsCase


@tagged("post_install", "-at_install")
class TestPlanning(ClinicSmsCase):
    def test_create_plans_reminder_and_confirmation(self):
        start = NOW + timedelta(days=2)  # Wednesday 11:00 Copenhagen
        event = self.make_event(start)
        reminder = self.messages(event, "reminder")
        self.assertEqual(len(reminder), 1)
        self.assertEqual(reminder.state, "scheduled")
        self.assertEqual(reminder.due_at, start - timedelta(hours=24))
        self.assertEqual(reminder.expire_at, start)
        self.assertEqual(reminder.event_start, start)
        self.assertEqual(reminder.partner_id, self.patient)
        self.assertEqual(reminder.rule_id, self.rule_reminder)
        confirmation = self.messages(event, "confirmation")
        self.assertEqual(len(confirmation), 1)
        self.assertEqual(confirmation.state, "queued")
        self.assertEqual(confirmation.due_at, NOW)

    def test_practitioner_is_never_a_patient(self):
        colleague = self.practitioner.copy({"login": "clinic_sms_colleague", "name": "Dr. Colleague"})
        colleague.partner_id.phone = "+45 20 99 88 77"
        colleague.action_archive()  # archived users stay internal
        event = self.make_event(NOW + timedelta(days=2), patients=self.patient | colleague.partner_id)
        self.assertEqual(self.messages(event).partner_id, self.patient)

    def test_past_appointment_plans_nothing(self):
        event = self.make_event(NOW - timedelta(hours=2))
        self.assertFalse(self.messages(event))

    def test_short_notice_reminder_is_due_at_once(self):
        start = NOW + timedelta(hours=3)  # 14:00 local, lead time 24 h already passed
        event = self.make_event(start)
        reminder = self.messages(event, "reminder")
        self.assertEqual(reminder.due_at, NOW)
        self.assertEqual(reminder.expire_at, start)

    def test_late_evening_short_notice_plans_no_reminder(self):
        self.move_to(datetime(2027, 1, 11, 20, 30))  # 21:30 local, window closed until 08:00
        event = self.make_event(datetime(2027, 1, 11, 22, 0))  # 23:00 local
        self.assertFalse(self.messages(event, "reminder"))
        self.assertFalse(self.messages(event, "confirmation"), "a confirmation would only arrive afterwards")

    def test_early_morning_due_moves_to_previous_evening(self):
        # Appointment Tuesday 07:00 local (06:00 UTC): 24 h before is Monday 07:00 local, before 08:00.
        self.move_to(datetime(2027, 1, 8, 10, 0))
        event = self.make_event(datetime(2027, 1, 12, 6, 0))
        reminder = self.messages(event, "reminder")
        self.assertEqual(reminder.due_at, datetime(2027, 1, 10, 19, 0), "Sunday 20:00 Copenhagen (UTC+1)")

    def test_window_fit_across_spring_daylight_saving_change(self):
        # Clocks go forward on Sunday 2027-03-28. Appointment Monday 06:00 CEST = 04:00 UTC.
        # 24 h before: Sunday 04:00 UTC = 06:00 CEST, before the window: Saturday 20:00 CET = 19:00 UTC.
        self.move_to(datetime(2027, 3, 20, 10, 0))
        event = self.make_event(datetime(2027, 3, 29, 4, 0))
        self.assertEqual(self.messages(event, "reminder").due_at, datetime(2027, 3, 27, 19, 0))

    def test_window_fit_across_autumn_daylight_saving_change(self):
        # Clocks go back on Sunday 2027-10-31. Appointment Monday 06:00 CET = 05:00 UTC.
        # 24 h before: Sunday 05:00 UTC = 06:00 CET, before the window: Saturday 20:00 CEST = 18:00 UTC.
        self.move_to(datetime(2027, 10, 20, 10, 0))
        event = self.make_event(datetime(2027, 11, 1, 5, 0))
        self.assertEqual(self.messages(event, "reminder").due_at, datetime(2027, 10, 30, 18, 0))

    def test_days_before_at_rule_in_clinic_time(self):
        self.rule_reminder.write({"timing": "days_before_at", "days_before": 1, "send_hour": 18.0})
        self.move_to(datetime(2027, 3, 20, 10, 0))
        # Monday 2027-03-29 09:00 CEST; the day before is Sunday 28th (already CEST): 18:00 CEST = 16:00 UTC.
        event = self.make_event(datetime(2027, 3, 29, 7, 0))
        self.assertEqual(self.messages(event, "reminder").due_at, datetime(2027, 3, 28, 16, 0))

    def test_move_cancels_old_and_plans_new(self):
        event = self.make_event(NOW + timedelta(days=2))
        old = self.messages(event, "reminder")
        new_start = NOW + timedelta(days=3)
        event.write({"start": new_start, "stop": new_start + timedelta(hours=1)})
        self.assertEqual(old.state, "cancelled")
        self.assertEqual(old.reason, "appointment_moved")
        pending = self.messages(event, "reminder", ("scheduled",))
        self.assertEqual(len(pending), 1)
        self.assertEqual(pending.event_start, new_start)
        self.assertEqual(pending.due_at, new_start - timedelta(hours=24))

    def test_move_after_confirmation_sent_sends_reschedule_notice(self):
        event = self.make_event(NOW + timedelta(days=2))
        self.dispatch()
        self.assertEqual(self.messages(event, "confirmation").state, "delivered")
        new_start = NOW + timedelta(days=4)
        event.write({"start": new_start, "stop": new_start + timedelta(hours=1)})
        notice = self.messages(event, "reschedule")
        self.assertEqual(len(notice), 1)
        self.assertEqual(notice.event_start, new_start)
        self.assertEqual(
            len(self.messages(event, "confirmation")), 1, "no new confirmation once one was sent"
        )

    def test_move_before_confirmation_sent_confirms_new_time(self):
        self.move_to(datetime(2027, 1, 11, 21, 0))  # 22:00 local: confirmation waits for the morning
        event = self.make_event(NOW + timedelta(days=2))
        first = self.messages(event, "confirmation")
        self.assertEqual(first.state, "scheduled")
        new_start = NOW + timedelta(days=3)
        event.write({"start": new_start, "stop": new_start + timedelta(hours=1)})
        self.assertEqual((first.state, first.reason), ("cancelled", "appointment_moved"))
        confirmations = self.messages(event, "confirmation", ("scheduled", "queued"))
        self.assertEqual(confirmations.event_start, new_start)
        self.assertFalse(self.messages(event, "reschedule"))

    def test_moved_twice_gets_one_reminder_for_final_time(self):
        event = self.make_event(NOW + timedelta(days=2))
        for days in (3, 5):
            start = NOW + timedelta(days=days)
            event.write({"start": start, "stop": start + timedelta(hours=1)})
        final = NOW + timedelta(days=5)
        # run the dispatcher every hour until the appointment
        moment = NOW
        while moment < final + timedelta(hours=2):
            self.dispatch(moment)
            moment += timedelta(hours=1)
        reminders = self.messages(event, "reminder", ("sent", "delivered"))
        self.assertEqual(len(reminders), 1)
        self.assertEqual(reminders.event_start, final)
        self.assertEqual(len([o for o in self.sent if o.ref == str(reminders.id)]), 1)
        self.assertIn("Saturday 16 January", reminders.body, "the reminder names the final date")
        self.assertEqual(
            len(
                self.messages(event, "reminder", ("cancelled",)).filtered(
                    lambda m: m.reason == "appointment_moved"
                )
            ),
            2,
        )

    def test_move_back_plans_again(self):
        start = NOW + timedelta(days=2)
        event = self.make_event(start)
        event.write({"start": start + timedelta(days=1), "stop": start + timedelta(days=1, hours=1)})
        event.write({"start": start, "stop": start + timedelta(hours=1)})
        pending = self.messages(event, "reminder", ("scheduled",))
        self.assertEqual(len(pending), 1)
        self.assertEqual(pending.event_start, start)

    def test_archive_cancels_and_sends_cancellation(self):
        event = self.make_event(NOW + timedelta(days=2))
        reminder = self.messages(event, "reminder")
        event.action_archive()
        self.assertEqual((reminder.state, reminder.reason), ("cancelled", "appointment_cancelled"))
        notice = self.messages(event, "cancellation")
        self.assertEqual(len(notice), 1)
        self.dispatch()
        self.assertEqual(notice.state, "delivered")
        for hours in range(1, 48):
            self.dispatch(NOW + timedelta(hours=hours))
        self.assertFalse(self.messages(event, "reminder", ("sent", "delivered")))
        self.assertIn("cancelled", notice.body)

    def test_delete_cancels_and_sends_cancellation(self):
        event = self.make_event(NOW + timedelta(days=2))
        reminder = self.messages(event, "reminder")
        event.unlink()
        self.assertEqual((reminder.state, reminder.reason), ("cancelled", "appointment_cancelled"))
        notice = self.messages(kind="cancellation", partner=self.patient)
        self.assertEqual(len(notice), 1)
        self.assertIn("cancelled", notice.body)
        self.assertIn("13 January", notice.body)
        self.dispatch()
        self.assertEqual(notice.state, "delivered")
        self.assertFalse(self.messages(kind="reminder", states=("sent", "delivered")))

    def test_unarchive_plans_again(self):
        event = self.make_event(NOW + timedelta(days=2))
        event.action_archive()
        event.action_unarchive()
        self.assertEqual(len(self.messages(event, "reminder", ("scheduled",))), 1)
        self.dispatch()
        cancellation = self.messages(event, "cancellation")
        self.assertEqual((cancellation.state, cancellation.reason), ("cancelled", "appointment_restored"))

    def test_toggle_off_skips_and_on_plans_again(self):
        event = self.make_event(NOW + timedelta(days=2))
        reminder = self.messages(event, "reminder")
        event.sms_enabled = False
        self.assertEqual((reminder.state, reminder.reason), ("skipped", "sms_disabled"))
        event.sms_enabled = True
        self.assertEqual(len(self.messages(event, "reminder", ("scheduled",))), 1)

    def test_attendee_removed_and_added(self):
        event = self.make_event(NOW + timedelta(days=2), patients=self.patient | self.patient2)
        first, second = (self.messages(event, "reminder", partner=p) for p in (self.patient, self.patient2))
        event.partner_ids = [(3, self.patient2.id)]
        self.assertEqual((second.state, second.reason), ("cancelled", "patient_removed"))
        self.assertEqual(first.state, "scheduled")
        third = self.env["res.partner"].create({"name": "Carl Berg", "phone": "+45 40 11 22 33"})
        event.partner_ids = [(4, third.id)]
        self.assertEqual(len(self.messages(event, "reminder", ("scheduled",), partner=third)), 1)
        self.assertEqual(len(self.messages(event, "confirmation", partner=third)), 1)

    def test_event_type_limits_rule_and_type_change_replans(self):
        rule_2h = self.env["clinic.sms.rule"].create(
            {
                "name": "2 h before treatments",
                "kind": "reminder",
                "template_id": self.rule_reminder.template_id.id,
                "hours_before": 2,
                "event_type_ids": [(6, 0, self.type_treatment.ids)],
            }
        )
        event = self.make_event(NOW + timedelta(days=2), categ_ids=[(6, 0, self.type_checkup.ids)])
        self.assertEqual(self.messages(event, "reminder").rule_id, self.rule_reminder)
        event.categ_ids = [(6, 0, self.type_treatment.ids)]
        self.assertEqual(
            self.messages(event, "reminder", ("scheduled",)).rule_id, self.rule_reminder | rule_2h
        )
        event.categ_ids = [(6, 0, self.type_checkup.ids)]
        removed = self.messages(event, "reminder").filtered(lambda m: m.rule_id == rule_2h)
        self.assertEqual((removed.state, removed.reason), ("cancelled", "rule_changed"))

    def test_rule_timing_change_replans_unsent(self):
        start = NOW + timedelta(days=3)
        event = self.make_event(start)
        reminder = self.messages(event, "reminder")
        self.rule_reminder.hours_before = 48
        self.assertEqual(reminder.due_at, start - timedelta(hours=48))
        self.assertEqual(len(self.messages(event, "reminder")), 1)

    def test_two_reminder_rules(self):
        self.env["clinic.sms.rule"].create(
            {
                "name": "48 h",
                "kind": "reminder",
                "template_id": self.rule_reminder.template_id.id,
                "hours_before": 48,
            }
        )
        event = self.make_event(NOW + timedelta(days=4))
        self.assertEqual(len(self.messages(event, "reminder")), 2)

    def test_company_switched_off_plans_nothing(self):
        self.company.clinic_sms_enabled = False
        event = self.make_event(NOW + timedelta(days=2))
        self.assertFalse(self.messages(event))

    def test_allday_reminder_from_clinic_date(self):
        event = self.env["calendar.event"].create(
            {
                "name": "Course day",
                "allday": True,
                "start_date": date(2027, 1, 14),
                "stop_date": date(2027, 1, 14),
                "user_id": self.practitioner.id,
                "partner_ids": [(6, 0, [self.practitioner.partner_id.id, self.patient.id])],
            }
        )
        reminder = self.messages(event, "reminder")
        # All-day appointments start at local midnight: 2027-01-13 23:00 UTC.
        self.assertEqual(reminder.expire_at, datetime(2027, 1, 13, 23, 0))
        self.assertLess(reminder.due_at, reminder.expire_at)
        self.dispatch(reminder.due_at)
        self.assertEqual(reminder.state, "delivered")
        self.assertIn("all day", reminder.body)
        self.assertNotIn("00:00", reminder.body)

    def test_recurring_move_all_replans_each_occurrence(self):
        start = datetime(2027, 1, 13, 9, 0)
        event = self.make_event(
            start, recurrency=True, rrule_type="weekly", count=3, interval=1, end_type="count", wed=True
        )
        occurrences = event.recurrence_id.calendar_event_ids
        self.assertEqual(len(occurrences), 3)
        self.assertEqual(len(self.messages(kind="reminder", states=("scheduled",))), 3)
        event.write(
            {
                "start": start + timedelta(hours=2),
                "stop": start + timedelta(hours=3),
                "recurrence_update": "all_events",
            }
        )
        pending = self.messages(kind="reminder", states=("scheduled", "queued"))
        occurrences = self.env["calendar.event"].search([("recurrence_id", "=", event.recurrence_id.id)])
        self.assertEqual(len(pending), 3)
        self.assertEqual(sorted(pending.mapped("event_start")), sorted(occurrences.mapped("start")))
        self.assertTrue(all(s.hour == 11 for s in pending.mapped("event_start")))

    def test_unique_index_refuses_duplicate(self):
        event = self.make_event(NOW + timedelta(days=2))
        reminder = self.messages(event, "reminder")
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError), self.cr.savepoint():
            reminder.copy({"state": "scheduled"})
            self.env.flush_all()
        # a cancelled duplicate is allowed: it stays in the log
        reminder.copy({"state": "cancelled"})
        self.env.flush_all()
