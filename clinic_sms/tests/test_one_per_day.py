"""One reminder per patient per day: a reminder rule's option, kept right as staff book, move and
cancel the day's appointments."""

import json
from datetime import datetime, timedelta

from odoo.tests import tagged

from .common import ClinicSmsCase

#: Wednesday 13 January 2027, 10:00 and 14:00 in Copenhagen (UTC+1).
MORNING = datetime(2027, 1, 13, 9, 0)
AFTERNOON = datetime(2027, 1, 13, 13, 0)


@tagged("post_install", "-at_install")
class TestOneReminderPerDay(ClinicSmsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.rule_reminder.one_per_day = True

    def reminders(self, event, partner=None, states=("scheduled", "queued")):
        return self.messages(event, "reminder", states, partner or self.patient)

    def also(self, reminder):
        return [datetime.fromisoformat(value) for value in json.loads(reminder.coalesced_starts or "[]")]

    def test_two_appointments_the_same_day_get_one_reminder_naming_both_times(self):
        afternoon = self.make_event(AFTERNOON, patients=self.patient | self.patient2)
        morning = self.make_event(MORNING)
        reminder = self.reminders(morning)
        self.assertEqual(len(reminder), 1)
        self.assertEqual(reminder.due_at, MORNING - timedelta(hours=24))
        self.assertEqual(self.also(reminder), [AFTERNOON])
        self.assertFalse(self.reminders(afternoon))
        merged = self.messages(afternoon, "reminder", partner=self.patient)
        self.assertEqual((merged.state, merged.reason), ("cancelled", "same_day"))
        self.assertEqual(len(self.reminders(afternoon, self.patient2)), 1, "Bo has only the afternoon")
        self.assertFalse(self.reminders(afternoon, self.patient2).coalesced_starts)
        self.dispatch(MORNING - timedelta(hours=24, minutes=-1))
        self.assertEqual(reminder.state, "delivered")
        [body] = [o.body for o in self.sent_to(self.patient) if "reminder" in o.body]
        self.assertIn("at 10:00", body)
        self.assertIn("Also: 14:00.", body)
        self.assertEqual(len(self.messages(partner=self.patient, kind="reminder", states=("delivered",))), 1)

    def test_planning_again_changes_nothing(self):
        morning, afternoon = self.make_event(MORNING), self.make_event(AFTERNOON)
        before = self.messages(kind="reminder").mapped(lambda m: (m.id, m.state, m.coalesced_starts))
        self.env["clinic.sms.planner"]._plan_reminders(morning | afternoon)
        self.env["clinic.sms.planner"]._synchronize(self.company)
        after = self.messages(kind="reminder").mapped(lambda m: (m.id, m.state, m.coalesced_starts))
        self.assertEqual(after, before)

    def test_moving_the_second_to_another_day_gives_each_its_reminder(self):
        morning, afternoon = self.make_event(MORNING), self.make_event(AFTERNOON)
        thursday = AFTERNOON + timedelta(days=1)
        afternoon.write({"start": thursday, "stop": thursday + timedelta(hours=1)})
        self.assertFalse(self.reminders(morning).coalesced_starts, "the morning stands alone")
        moved = self.reminders(afternoon)
        self.assertEqual((len(moved), moved.event_start), (1, thursday))
        self.assertFalse(moved.coalesced_starts)

    def test_moving_the_second_before_the_first_makes_it_the_days_reminder(self):
        morning, afternoon = self.make_event(MORNING), self.make_event(AFTERNOON)
        early = MORNING - timedelta(hours=2)
        afternoon.write({"start": early, "stop": early + timedelta(hours=1)})
        reminder = self.reminders(afternoon)
        self.assertEqual(len(reminder), 1)
        self.assertEqual(self.also(reminder), [MORNING])
        self.assertFalse(self.reminders(morning))
        self.assertEqual(self.messages(morning, "reminder").mapped("reason"), ["same_day"])

    def test_moving_another_days_appointment_into_the_day_joins_it(self):
        morning = self.make_event(MORNING)
        friday = self.make_event(AFTERNOON + timedelta(days=2))
        friday.write({"start": AFTERNOON, "stop": AFTERNOON + timedelta(hours=1)})
        self.assertEqual(self.also(self.reminders(morning)), [AFTERNOON])
        self.assertFalse(self.reminders(friday))

    def test_cancelling_the_first_gives_the_second_its_own_reminder(self):
        morning, afternoon = self.make_event(MORNING), self.make_event(AFTERNOON)
        morning.action_archive()
        self.assertFalse(self.reminders(morning))
        reminder = self.reminders(afternoon)
        self.assertEqual(len(reminder), 1)
        self.assertFalse(reminder.coalesced_starts)
        morning.action_unarchive()
        self.assertEqual(self.also(self.reminders(morning)), [AFTERNOON])
        self.assertFalse(self.reminders(afternoon))

    def test_deleting_the_first_gives_the_second_its_own_reminder(self):
        morning, afternoon = self.make_event(MORNING), self.make_event(AFTERNOON)
        morning.unlink()
        self.assertEqual(len(self.reminders(afternoon)), 1)

    def test_cancelling_the_second_drops_it_from_the_first(self):
        morning, afternoon = self.make_event(MORNING), self.make_event(AFTERNOON)
        afternoon.action_archive()
        self.assertFalse(self.reminders(morning).coalesced_starts)

    def test_removing_the_patient_from_the_first_gives_the_second_its_own_reminder(self):
        morning, afternoon = self.make_event(MORNING), self.make_event(AFTERNOON)
        morning.write({"partner_ids": [(3, self.patient.id)]})
        self.assertEqual(len(self.reminders(afternoon)), 1)
        self.assertFalse(self.reminders(afternoon).coalesced_starts)

    def test_a_declined_appointment_is_not_named(self):
        morning, afternoon = self.make_event(MORNING), self.make_event(AFTERNOON)
        afternoon.attendee_ids.filtered(lambda a: a.partner_id == self.patient).do_decline()
        self.assertFalse(self.reminders(morning).coalesced_starts)
        self.assertFalse(self.reminders(afternoon))

    def test_once_the_days_reminder_went_no_second_one_is_planned(self):
        morning, afternoon = self.make_event(MORNING), self.make_event(AFTERNOON)
        self.dispatch(MORNING - timedelta(hours=24, minutes=-1))
        self.assertEqual(
            self.reminders(morning, states=("delivered",)).coalesced_starts,
            json.dumps([AFTERNOON.isoformat()]),
        )
        morning.action_archive()
        self.assertFalse(self.reminders(afternoon), "the patient was reminded of 14:00 already")

    def test_appointments_on_different_days_are_unaffected(self):
        morning = self.make_event(MORNING)
        thursday = self.make_event(AFTERNOON + timedelta(days=1))
        self.assertFalse(self.reminders(morning).coalesced_starts)
        self.assertFalse(self.reminders(thursday).coalesced_starts)

    def test_a_rule_without_the_option_reminds_of_each_appointment(self):
        self.rule_reminder.one_per_day = False
        morning, afternoon = self.make_event(MORNING), self.make_event(AFTERNOON)
        self.assertEqual(len(self.reminders(morning)), 1)
        self.assertEqual(len(self.reminders(afternoon)), 1)
        self.assertFalse((self.reminders(morning) | self.reminders(afternoon)).filtered("coalesced_starts"))

    def test_switching_the_option_replans_the_days(self):
        self.rule_reminder.one_per_day = False
        morning, afternoon = self.make_event(MORNING), self.make_event(AFTERNOON)
        self.rule_reminder.one_per_day = True
        self.assertEqual(self.also(self.reminders(morning)), [AFTERNOON])
        self.assertFalse(self.reminders(afternoon))
        self.rule_reminder.one_per_day = False
        self.assertFalse(self.reminders(morning).coalesced_starts)
        self.assertEqual(len(self.reminders(afternoon)), 1)

    def test_another_rule_of_the_day_keeps_its_own_reminders(self):
        self.env["clinic.sms.rule"].create(
            {
                "name": "2 h",
                "kind": "reminder",
                "template_id": self.rule_reminder.template_id.id,
                "hours_before": 2.0,
            }
        )
        morning, afternoon = self.make_event(MORNING), self.make_event(AFTERNOON)
        self.assertEqual(len(self.reminders(morning)), 2)
        self.assertEqual(len(self.reminders(afternoon)), 1, "the 2 h rule has not the option")
        self.assertEqual(self.reminders(afternoon).rule_id.hours_before, 2.0)
