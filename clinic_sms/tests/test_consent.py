"""*Patients must consent to SMS*: without the tick, a patient gets nothing but the answer to their own
reply; with the setting off, the tick does not matter."""

from datetime import date, datetime, timedelta

from odoo.addons.clinic_sms.core import gateway as gw
from odoo.tests import Form, new_test_user, tagged

from .common import NOW, ClinicSmsCase


@tagged("post_install", "-at_install")
class TestConsent(ClinicSmsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.patient2.sms_consent = True

    def reminder(self, partner):
        event = self.make_event(NOW + timedelta(days=2), patients=partner)
        return self.messages(event, "reminder")

    def test_with_the_setting_on_a_reminder_to_a_patient_without_consent_is_skipped(self):
        self.company.clinic_sms_consent_required = True
        without = self.reminder(self.patient)
        with_tick = self.reminder(self.patient2)
        self.assertEqual(without.state, "scheduled", "consent is read when the message goes")
        self.dispatch(without.due_at)
        self.assertEqual((without.state, without.reason), ("skipped", "no_consent"))
        self.assertFalse(self.sent_to(self.patient))
        self.assertEqual(with_tick.state, "delivered")

    def test_a_reminder_skipped_for_no_consent_is_not_planned_again_when_the_appointment_changes(self):
        self.company.clinic_sms_consent_required = True
        event = self.make_event(NOW + timedelta(days=2), patients=self.patient)
        reminder = self.messages(event, "reminder")
        self.dispatch(reminder.due_at)
        self.assertEqual((reminder.state, reminder.reason), ("skipped", "no_consent"))
        event.write({"name": "Check-up, room 2", "location": "Room 2"})
        self.env["clinic.sms.planner"]._synchronize(self.company)
        self.dispatch(reminder.due_at)
        reminders = self.messages(event, "reminder")
        self.assertEqual(reminders, reminder, "the skip is on the log once, not again at each dispatch")
        # Moved: a new start is a new reminder, read again when it is due.
        event.write({"start": event.start + timedelta(hours=1), "stop": event.stop + timedelta(hours=1)})
        self.assertEqual(len(self.messages(event, "reminder").filtered(lambda m: m.state == "scheduled")), 1)

    def test_with_the_setting_off_the_tick_does_not_matter(self):
        self.assertFalse(self.company.clinic_sms_consent_required)
        reminder = self.reminder(self.patient)
        self.dispatch(reminder.due_at)
        self.assertEqual(reminder.state, "delivered")

    def test_consent_given_before_the_message_goes_lets_it_go(self):
        self.company.clinic_sms_consent_required = True
        reminder = self.reminder(self.patient)
        with Form(self.patient) as form:
            form.sms_consent = True
        self.dispatch(reminder.due_at)
        self.assertEqual(reminder.state, "delivered")

    def test_the_composer_leaves_out_patients_without_consent(self):
        self.company.clinic_sms_consent_required = True
        wizard = (
            self.env["clinic.sms.composer"]
            .with_context(active_model="res.partner", active_ids=(self.patient | self.patient2).ids)
            .create({"body": "Hello {patient_first_name}"})
        )
        self.assertEqual((wizard.recipient_count, wizard.excluded_count), (1, 1))
        self.assertIn("Anna Jensen", wizard.excluded_html)
        self.assertIn("Patient has not consented to SMS", wizard.excluded_html)
        action = wizard.action_send()
        messages = self.env["clinic.sms.message"].search(action["domain"])
        by_partner = {m.partner_id: m for m in messages}
        self.assertEqual(
            (by_partner[self.patient].state, by_partner[self.patient].reason), ("skipped", "no_consent")
        )
        self.assertEqual(by_partner[self.patient2].state, "delivered")
        self.assertEqual([o.number for o in self.sent], [self.patient2.sms_number_e164])

    def test_the_answer_to_a_patients_own_stop_goes_without_consent(self):
        self.company.clinic_sms_consent_required = True
        self.env["clinic.sms.message"]._clinic_sms_receive(
            self.gateway, [gw.Inbound(number=self.patient.sms_number_e164, body="STOP", provider_ref="")]
        )
        confirmation = self.messages(kind="opt_out", partner=self.patient)
        self.assertEqual(len(confirmation), 1)
        self.dispatch()
        self.assertEqual(confirmation.state, "delivered")

    def test_a_birthday_greeting_to_a_patient_without_consent_is_logged_skipped(self):
        self.company.clinic_sms_consent_required = True
        self.move_to(datetime(2027, 6, 15, 6, 0))
        patient = self.env["res.partner"].create(
            {"name": "No Tick", "birthday": date(1980, 6, 15), "phone": "+45 22 33 44 55"}
        )
        self.env["clinic.sms.message"]._cron_birthdays()
        greeting = self.messages(kind="birthday", partner=patient)
        self.assertEqual((greeting.state, greeting.reason), ("skipped", "no_consent"))

    def test_ticking_consent_records_the_date_and_who_set_it_in_the_chatter(self):
        receptionist = new_test_user(
            self.env, login="clinic_sms_reception", groups="base.group_user,base.group_partner_manager"
        )
        self.move_to(datetime(2027, 3, 2, 9, 0))
        tracked_patient = self.patient.with_context(tracking_disable=False, mail_notrack=False)
        # What the set-up created is committed (its creation is never tracked), as in a real clinic.
        self.env.flush_all()
        self.env.cr.precommit.run()
        tracked_patient.with_user(receptionist).write({"sms_consent": True})
        self.assertEqual(self.patient.sms_consent_date, date(2027, 3, 2))
        self.assertEqual(self.patient.sms_consent_user_id, receptionist)
        self.env.flush_all()
        self.env.cr.precommit.run()  # tracking is written when the transaction commits
        tracked = (
            self.env["mail.tracking.value"]
            .sudo()
            .search(
                [
                    ("field_id.name", "=", "sms_consent"),
                    ("mail_message_id.model", "=", "res.partner"),
                    ("mail_message_id.res_id", "=", self.patient.id),
                ]
            )
        )
        self.assertTrue(tracked, "the change is tracked in the chatter")
        self.move_to(datetime(2027, 3, 5, 9, 0))
        self.patient.write({"sms_consent": True})  # no change: the stamp stays
        self.assertEqual(self.patient.sms_consent_date, date(2027, 3, 2))
        self.patient.write({"sms_consent": False})
        self.assertEqual(
            (self.patient.sms_consent_date, self.patient.sms_consent_user_id),
            (date(2027, 3, 5), self.env.user),
        )

    def test_nobody_but_the_add_on_writes_who_gave_the_consent_or_when(self):
        receptionist = new_test_user(
            self.env, login="clinic_sms_reception2", groups="base.group_user,base.group_partner_manager"
        )
        self.move_to(datetime(2027, 3, 2, 9, 0))
        forged = {
            "sms_consent_date": date(2020, 1, 1),
            "sms_consent_user_id": self.env.ref("base.user_admin").id,
        }
        self.patient.with_user(receptionist).write({"sms_consent": True, **forged})
        self.assertEqual(
            (self.patient.sms_consent_date, self.patient.sms_consent_user_id),
            (date(2027, 3, 2), receptionist),
        )
        self.patient.with_user(receptionist).write(forged)  # without the tick: nothing to record
        self.assertEqual(
            (self.patient.sms_consent_date, self.patient.sms_consent_user_id),
            (date(2027, 3, 2), receptionist),
        )
        created = (
            self.env["res.partner"]
            .with_user(receptionist)
            .create({"name": "New Patient", "sms_consent": True, **forged})
        )
        self.assertEqual(
            (created.sms_consent_date, created.sms_consent_user_id), (date(2027, 3, 2), receptionist)
        )

    def test_the_setting_is_a_clinic_sms_setting(self):
        settings = self.env["res.config.settings"].create({"clinic_sms_consent_required": True})
        settings.execute()
        self.assertTrue(self.company.clinic_sms_consent_required)
