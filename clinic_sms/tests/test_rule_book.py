"""The rules that were missing at the seams between the paths that plan and send (issue: one rule book)."""

from datetime import timedelta

from odoo.tests import tagged

from .common import NOW, ClinicSmsCase


@tagged("post_install", "-at_install")
class TestRuleBook(ClinicSmsCase):
    # ------------------------------------------------------------------ archived rules

    def test_an_archived_rule_never_plans_again_when_the_appointment_moves(self):
        self.rule_reminder.action_archive()
        own = self.rule_reminder.copy({"name": "My reminder", "hours_before": 48.0, "active": True})
        event = self.make_event(NOW + timedelta(days=3))
        event.write({"start": NOW + timedelta(days=4), "stop": NOW + timedelta(days=4, hours=1)})
        event.write({"partner_ids": [(4, self.patient2.id)]})
        live = self.messages(event, "reminder", ("scheduled", "queued"))
        self.assertEqual(live.rule_id, own, "only the active rule plans")
        self.assertEqual(set(live.partner_id.ids), {self.patient.id, self.patient2.id})

    def test_archiving_a_rule_withdraws_its_unsent_messages_and_restoring_plans_them_again(self):
        event = self.make_event(NOW + timedelta(days=2))
        reminder = self.messages(event, "reminder")
        self.rule_reminder.action_archive()
        self.assertEqual((reminder.state, reminder.reason), ("cancelled", "rule_archived"))
        self.rule_reminder.action_unarchive()
        again = self.messages(event, "reminder", ("scheduled",))
        self.assertEqual(len(again), 1)
        self.assertNotEqual(again, reminder)

    def test_an_archived_rule_plans_nothing_even_when_the_caller_reads_archived_records(self):
        self.rule_reminder.action_archive()
        event = self.make_event(NOW + timedelta(days=2))
        event.with_context(active_test=False).write({"start": NOW + timedelta(days=3)})
        self.assertFalse(self.messages(event, "reminder", ("scheduled", "queued")))

    # ------------------------------------------------------------------ the manual run

    def run_tomorrow(self):
        run = self.env["clinic.sms.reminder.run"].create({})  # tomorrow
        run.action_preview()
        return run

    def test_the_manual_run_brings_the_planned_reminder_forward(self):
        event = self.make_event(NOW + timedelta(days=1, hours=2))  # tomorrow 12:00 local
        planned = self.messages(event, "reminder")
        self.assertEqual(planned.state, "scheduled")
        run = self.run_tomorrow()
        line = run.line_ids.filtered(lambda line: line.partner_id == self.patient)
        self.assertTrue(line.brings_forward, "the preview says the planned reminder goes now")
        run.action_send()
        self.assertEqual(self.messages(event, "reminder"), planned, "no second reminder row")
        self.assertEqual((planned.state, planned.due_at), ("queued", NOW))
        self.dispatch()
        self.dispatch(NOW + timedelta(hours=3))  # the old due time passes
        reminders = self.messages(event, "reminder", ("sent", "delivered"))
        self.assertEqual(len(reminders), 1)
        self.assertEqual(len([o for o in self.sent if o.ref == str(planned.id)]), 1)

    def test_the_manual_run_creates_one_reminder_only_where_none_is_planned(self):
        self.rule_reminder.action_archive()
        event = self.make_event(NOW + timedelta(days=1, hours=2))
        self.run_tomorrow().action_send()
        self.run_tomorrow().action_send()
        manual = self.messages(event, "reminder").filtered(lambda m: not m.rule_id)
        self.assertEqual(len(manual), 1, "at most one manual reminder per appointment, patient and start")
        self.dispatch()
        self.assertEqual(manual.state, "delivered")
        run = self.run_tomorrow()
        line = run.line_ids.filtered(lambda line: line.partner_id == self.patient)
        self.assertEqual(line.excluded_reason, "already_reminded")

    # ------------------------------------------------------------------ declined

    def attendee(self, event, partner=None):
        partner = partner or self.patient
        return event.attendee_ids.filtered(lambda a: a.partner_id == partner)

    def test_declining_withdraws_the_reminder_and_accepting_plans_it_again(self):
        event = self.make_event(NOW + timedelta(days=2))
        reminder = self.messages(event, "reminder")
        self.attendee(event).do_decline()
        self.assertEqual((reminder.state, reminder.reason), ("cancelled", "declined"))
        self.attendee(event).do_accept()
        self.assertEqual(len(self.messages(event, "reminder", ("scheduled",))), 1)

    def test_a_declined_patient_gets_nothing_even_when_nothing_replanned(self):
        event = self.make_event(NOW + timedelta(days=2))
        reminder = self.messages(event, "reminder")
        self.attendee(event).with_context(clinic_sms_no_plan=True).do_decline()
        self.assertEqual(reminder.state, "scheduled")
        self.dispatch(NOW + timedelta(days=1, minutes=1))
        self.assertEqual((reminder.state, reminder.reason), ("cancelled", "declined"))
        self.assertFalse(self.sent_to(self.patient)[1:], "only the booking confirmation went")

    def test_a_no_by_sms_withdraws_the_later_reminders(self):
        self.env["clinic.sms.rule"].create(
            {
                "name": "2 h",
                "kind": "reminder",
                "template_id": self.rule_reminder.template_id.id,
                "hours_before": 2.0,
            }
        )
        event = self.make_event(NOW + timedelta(days=2))
        self.dispatch(NOW + timedelta(days=1, minutes=1))  # the 24 h reminder goes
        self.assertEqual(len(self.messages(event, "reminder", ("delivered",))), 1)
        self.env["clinic.sms.message"]._clinic_sms_receive_text(self.gateway.id, self.patient.id, "NO")
        self.assertEqual(self.attendee(event).state, "declined")
        later = self.messages(event, "reminder").filtered(lambda m: m.rule_id.hours_before == 2.0)
        self.assertEqual((later.state, later.reason), ("cancelled", "declined"))

    def test_an_only_confirmed_rule_plans_only_for_accepted_patients(self):
        self.rule_reminder.confirmed_only = True
        event = self.make_event(NOW + timedelta(days=2))
        self.assertFalse(self.messages(event, "reminder", ("scheduled",)))
        self.attendee(event).do_accept()
        self.assertEqual(len(self.messages(event, "reminder", ("scheduled",))), 1)

    # ------------------------------------------------------------------ switching on again

    def test_switching_clinic_sms_on_again_plans_what_is_missing(self):
        self.company.clinic_sms_enabled = False
        event = self.make_event(NOW + timedelta(days=2))
        self.assertFalse(self.messages(event, "reminder", ("scheduled",)))
        self.company.clinic_sms_enabled = True
        self.assertEqual(len(self.messages(event, "reminder", ("scheduled",))), 1)
        self.assertFalse(self.messages(event, "confirmation"), "no booking confirmation after the fact")

    def test_synchronize_all_is_idempotent(self):
        event = self.make_event(NOW + timedelta(days=2))
        self.messages(event).unlink()
        settings = self.env["res.config.settings"].create({})
        settings.action_clinic_sms_synchronize()
        settings.action_clinic_sms_synchronize()
        self.assertEqual(len(self.messages(event, "reminder", ("scheduled",))), 1)

    def test_switching_an_appointments_sms_on_again_plans_its_reminder(self):
        event = self.make_event(NOW + timedelta(days=2))
        event.sms_enabled = False
        self.assertEqual(self.messages(event, "reminder").reason, "sms_disabled")
        event.sms_enabled = True
        self.assertEqual(len(self.messages(event, "reminder", ("scheduled",))), 1)

    # ------------------------------------------------------------------ dispatch re-checks

    def test_the_dispatcher_cancels_a_reminder_for_an_appointment_moved_without_replanning(self):
        event = self.make_event(NOW + timedelta(days=2))
        reminder = self.messages(event, "reminder")
        event.with_context(clinic_sms_no_plan=True).write(
            {"start": NOW + timedelta(days=2, hours=3), "stop": NOW + timedelta(days=2, hours=4)}
        )
        self.dispatch(NOW + timedelta(days=1, minutes=1))
        self.assertEqual((reminder.state, reminder.reason), ("cancelled", "appointment_moved"))
        self.assertFalse([o for o in self.sent if o.ref == str(reminder.id)])

    def test_the_dispatcher_cancels_a_reminder_for_an_appointment_cancelled_without_replanning(self):
        event = self.make_event(NOW + timedelta(days=2))
        reminder = self.messages(event, "reminder")
        event.with_context(clinic_sms_no_plan=True).action_archive()
        self.dispatch(NOW + timedelta(days=1, minutes=1))
        self.assertEqual((reminder.state, reminder.reason), ("cancelled", "appointment_cancelled"))

    def test_the_dispatcher_withdraws_a_reminder_of_a_patient_removed_without_replanning(self):
        event = self.make_event(NOW + timedelta(days=2))
        reminder = self.messages(event, "reminder")
        event.with_context(clinic_sms_no_plan=True).write({"partner_ids": [(3, self.patient.id)]})
        self.dispatch(NOW + timedelta(days=1, minutes=1))
        self.assertEqual((reminder.state, reminder.reason), ("cancelled", "patient_removed"))
