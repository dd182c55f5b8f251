from datetime import timedelta

from odoo.addons.base.models.ir_mail_server import IrMail_Server, MailDeliveryException
from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import NOW, ClinicSmsCase

BOUNCE = """From: MAILER-DAEMON <MAILER-DAEMON@example.com>
To: clinic@example.com
Subject: Undelivered Mail Returned to Sender
Message-Id: <bounce-1@mail.example.com>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"

--BOUNDARY
Content-Type: text/plain

User unknown: clara@example.com

--BOUNDARY
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.com

Final-Recipient: rfc822; clara@example.com
Action: failed
Status: 5.1.1

--BOUNDARY
Content-Type: message/rfc822

Message-Id: %s
From: clinic@example.com
To: clara@example.com
Subject: Your appointment

Hi Clara
--BOUNDARY--
"""


class SmtpSession:
    """What Odoo's mail queue connects to in these tests."""

    def quit(self):
        return None


@tagged("post_install", "-at_install")
class TestEmailFallback(ClinicSmsCase):
    """A rule's option *E-mail when no valid SMS number*, through the dispatch cron and Odoo's mail."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.email = "clinic@example.com"
        cls.clara = cls.env["res.partner"].create(
            {"name": "Clara Berg", "email": "clara@example.com", "country_id": cls.env.ref("base.dk").id}
        )
        cls.template = cls.rule_reminder.template_id
        cls.template.subject = "Your appointment on {appointment_date}"

    def _reminder(self, partner):
        event = self.make_event(NOW + timedelta(days=2), patients=partner)
        return self.messages(event, "reminder", partner=partner)

    def _mails(self):
        return self.env["mail.mail"].sudo().search([("email_to", "ilike", "clara@example.com")])

    def _send_mail_queue(self, answer):
        """Run Odoo's mail queue (as its cron does), the SMTP server answering ``answer``: a
        Message-Id, or an exception it raises."""
        self.patch(IrMail_Server, "_disable_send", lambda self: False)

        def send_email(server, message, *args, **kwargs):
            if isinstance(answer, Exception):
                raise answer
            return answer

        self.patch(IrMail_Server, "send_email", send_email)
        self.patch(IrMail_Server, "_connect__", lambda self, *args, **kwargs: SmtpSession())
        self.env["mail.mail"].sudo().process_email_queue()

    def test_a_patient_without_a_mobile_gets_the_text_by_email_when_the_rule_allows_it(self):
        self.rule_reminder.email_fallback = True
        reminder = self._reminder(self.clara)
        self.dispatch(reminder.due_at)
        self.assertEqual((reminder.state, reminder.channel, reminder.reason), ("sent", "email", False))
        self.assertTrue(reminder.body.startswith("Hi Clara, this is a reminder of your appointment"))
        self.assertEqual(reminder.email_to, "clara@example.com")
        mail = self._mails()
        self.assertEqual(len(mail), 1)
        self.assertEqual(reminder.mail_id, mail)
        self.assertEqual(reminder.provider_ref, mail.message_id)
        self.assertEqual(mail.subject, "Your appointment on 13 January 2027")
        self.assertIn(reminder.body, mail.body_html)
        self.assertEqual(mail.state, "outgoing", "queued for Odoo's mail cron")
        self.assertIn("clinic@example.com", mail.email_from)
        self.assertFalse(self.sent, "no gateway was asked")
        self.assertFalse(reminder.credits)
        self.assertFalse(self.env["clinic.sms.credit"].search([("message_id", "=", reminder.id)]))
        self.dispatch(reminder.due_at + timedelta(hours=1))
        self.assertEqual(len(self._mails()), 1, "never twice")
        self.env["clinic.sms.message"]._cron_clinic_sms_event_notes()
        note = reminder.event_id.message_ids.filtered(lambda m: "Clara Berg" in (m.body or ""))
        self.assertIn("E-mail Reminder to Clara Berg: Sent.", note.body)

    def test_an_email_needs_neither_a_gateway_nor_credits(self):
        self.rule_reminder.email_fallback = True
        self.company.clinic_sms_credit_check = True
        self.gateway.active = False
        reminder = self._reminder(self.clara)
        self.dispatch(reminder.due_at)
        self.assertEqual((reminder.state, reminder.channel), ("sent", "email"))
        self.assertEqual(len(self._mails()), 1)

    def test_an_invalid_number_goes_by_email_and_without_subject_the_clinic_names_it(self):
        self.rule_reminder.email_fallback = True
        self.template.subject = False
        self.clara.sms_number = "+45 2O 12 34 56"
        reminder = self._reminder(self.clara)
        self.dispatch(reminder.due_at)
        self.assertEqual((reminder.state, reminder.channel), ("sent", "email"))
        self.assertEqual(reminder.mail_id.subject, f"Message from {self.company.name}")

    def test_without_the_option_a_patient_without_a_mobile_is_skipped(self):
        reminder = self._reminder(self.clara)
        self.dispatch(reminder.due_at)
        self.assertEqual((reminder.state, reminder.reason, reminder.channel), ("skipped", "no_number", "sms"))
        self.assertFalse(self._mails())

    def test_an_opted_out_patient_gets_no_email(self):
        self.rule_reminder.email_fallback = True
        reminder = self._reminder(self.clara)
        self.clara.sms_opt_out = True
        self.dispatch(reminder.due_at)
        self.assertEqual((reminder.state, reminder.reason), ("skipped", "opted_out"))
        self.assertFalse(self._mails())

    def test_a_blacklisted_email_address_gets_no_email(self):
        self.rule_reminder.email_fallback = True
        reminder = self._reminder(self.clara)
        self.env["mail.blacklist"].sudo()._add("clara@example.com")
        self.dispatch(reminder.due_at)
        self.assertEqual((reminder.state, reminder.reason), ("skipped", "no_number"))
        self.assertFalse(self._mails())

    def test_a_patient_with_a_mobile_still_gets_an_sms(self):
        self.rule_reminder.email_fallback = True
        self.clara.sms_number = "+45 20 55 66 77"
        reminder = self._reminder(self.clara)
        self.dispatch(reminder.due_at)
        self.assertEqual((reminder.state, reminder.channel), ("delivered", "sms"))
        self.assertFalse(self._mails())

    def test_the_email_sent_by_the_mail_server_marks_the_row_delivered(self):
        self.rule_reminder.email_fallback = True
        reminder = self._reminder(self.clara)
        self.dispatch(reminder.due_at)
        self._send_mail_queue("<clinic-sms-test@example.com>")
        self.assertEqual(reminder.state, "delivered")
        self.assertTrue(reminder.delivered_at)
        self.assertFalse(reminder.mail_id, "the sent mail is deleted, as Odoo's notifications are")
        self.assertFalse(self._mails())
        self.assertTrue(reminder.body.startswith("Hi Clara"), "the log keeps the text")

    def test_an_email_the_mail_server_refuses_fails_the_row(self):
        self.rule_reminder.email_fallback = True
        reminder = self._reminder(self.clara)
        self.dispatch(reminder.due_at)
        self._send_mail_queue(MailDeliveryException("Connection refused"))
        self.assertEqual(reminder.mail_id.state, "exception")
        self.assertEqual((reminder.state, reminder.reason), ("failed", "email_failed"))
        self.assertIn("Connection refused", reminder.error)

    def test_a_bounce_fails_a_delivered_email(self):
        self.rule_reminder.email_fallback = True
        reminder = self._reminder(self.clara)
        self.dispatch(reminder.due_at)
        self._send_mail_queue("<clinic-sms-test@example.com>")
        self.assertEqual(reminder.state, "delivered")
        # The bounce as the mail server sends it back, read by Odoo's incoming mail.
        self.env["mail.thread"].message_process(False, BOUNCE % reminder.provider_ref)
        self.assertEqual((reminder.state, reminder.reason), ("failed", "email_bounced"))
        self.assertIn("User unknown", reminder.error)

    def test_a_subject_with_an_unknown_placeholder_is_refused(self):
        with self.assertRaises(ValidationError):
            self.template.subject = "Hello {nobody}"

    def test_a_reminder_that_went_by_email_and_is_sent_again_goes_by_email_again(self):
        self.add_users()
        self.rule_reminder.email_fallback = True
        reminder = self._reminder(self.clara)
        self.dispatch(reminder.due_at)
        self.assertEqual((reminder.state, reminder.channel), ("sent", "email"))
        wizard = self.env["clinic.sms.resend"].with_user(self.staff)
        wizard.with_context(default_message_id=reminder.id).create({}).action_confirm()
        again = self.messages(reminder.event_id, "reminder") - reminder
        self.dispatch()
        self.assertEqual((again.state, again.channel), ("sent", "email"))
        self.assertEqual(again.mail_id.subject, "Your appointment on 13 January 2027")
        self.assertEqual(again.body, reminder.body)
        self.assertEqual(len(self._mails()), 2)
