"""*Send again* for a reminder that reached the patient (vitosms' "rücksetzen"): a new message with
the same text after a question naming the patient and the appointment; the old one stays."""

from datetime import timedelta

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import NOW, ClinicSmsCase


@tagged("post_install", "-at_install")
class TestSendAgain(ClinicSmsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.add_users()

    def delivered_reminder(self, manual=False):
        """Anna's reminder for an appointment on Wednesday 13 January at 11:00 local, delivered."""
        if manual:
            self.rule_reminder.action_archive()
        event = self.make_event(NOW + timedelta(days=2))
        if manual:
            run = self.env["clinic.sms.reminder.run"].create({"date_to": (NOW + timedelta(days=2)).date()})
            run.action_preview()
            run.action_send()
        self.dispatch(NOW + timedelta(days=1))
        reminder = self.messages(event, "reminder")
        self.assertEqual(len(reminder), 1)
        self.assertEqual(reminder.state, "delivered")
        self.assertEqual(bool(reminder.rule_id), not manual)
        return event, reminder

    def send_again(self, reminder, user=None):
        wizard = self.env["clinic.sms.resend"].with_user(user or self.staff)
        wizard = wizard.with_context(default_message_id=reminder.id).create({})
        return wizard, wizard.action_confirm()

    def test_asks_about_the_patient_and_the_appointment_then_queues_one_new_message(self):
        event, reminder = self.delivered_reminder()
        wizard = self.env["clinic.sms.resend"].with_user(self.staff).create({"message_id": reminder.id})
        self.assertEqual(
            wizard.question,
            "Send the reminder for Anna Jensen's appointment on 13 January 2027 at 11:00 again?",
        )
        now = NOW + timedelta(days=1)
        action = wizard.action_confirm()
        self.assertIn("Anna Jensen", action["params"]["message"])
        again = self.messages(event, "reminder") - reminder
        self.assertEqual(len(again), 1)
        self.assertEqual(
            (again.state, again.body, again.resend, again.resend_of_id, again.due_at, again.expire_at),
            ("queued", reminder.body, True, reminder, now, event.start),
        )
        self.assertEqual(reminder.state, "delivered", "the old one stays as it was")
        self.sent.clear()
        self.dispatch()
        self.assertEqual(again.state, "delivered")
        self.assertEqual([o.body for o in self.sent], [reminder.body])

    def test_a_second_click_while_the_first_is_on_its_way_adds_nothing(self):
        event, reminder = self.delivered_reminder()
        self.send_again(reminder)
        self.send_again(reminder)
        self.assertEqual(len(self.messages(event, "reminder")), 2)
        again = self.messages(event, "reminder") - reminder
        with self.assertRaises(UserError):
            self.send_again(again, user=self.admin)  # the resend itself, while it is on its way
        self.assertEqual(len(self.messages(event, "reminder")), 2)
        self.dispatch()
        self.send_again(again)  # delivered now: a new click is a new message
        self.assertEqual(len(self.messages(event, "reminder", ("queued",))), 1)
        self.assertEqual(len(self.messages(event, "reminder")), 3)

    def test_a_manual_reminder_is_sent_again_despite_the_one_manual_reminder_index(self):
        event, reminder = self.delivered_reminder(manual=True)
        self.send_again(reminder)
        self.assertEqual(len(self.messages(event, "reminder", ("queued",))), 1)
        # The manual run still sees the appointment reminded: no manual reminder next to the resend.
        run = self.env["clinic.sms.reminder.run"].create({"date_to": event.start.date()})
        run.action_preview()
        line = run.line_ids.filtered(lambda line: line.event_id == event)
        self.assertEqual(line.excluded_reason, "already_reminded")

    def test_the_resend_still_follows_the_rule_book(self):
        event, reminder = self.delivered_reminder()
        self.send_again(reminder)
        event.attendee_ids.filtered(lambda a: a.partner_id == self.patient).state = "declined"
        self.dispatch()
        again = self.messages(event, "reminder") - reminder
        self.assertEqual((again.state, again.reason), ("cancelled", "declined"))

    def test_only_a_reminder_that_reached_the_patient_and_only_clinic_sms_users(self):
        event, reminder = self.delivered_reminder()
        with self.assertRaises(AccessError):
            self.send_again(reminder, user=self.employee)
        notice = self.messages(event, "confirmation")
        self.assertTrue(notice)
        with self.assertRaisesRegex(UserError, "Only a reminder that reached the patient"):
            self.send_again(notice[:1])
        self.assertEqual(len(self.messages(event, "reminder")), 1)
