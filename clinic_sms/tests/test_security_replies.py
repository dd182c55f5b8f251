"""STOP per clinic and no SMS pumping, through the replies webhook (real HTTP)."""

from datetime import timedelta

from odoo.tests import tagged

from .common import NOW, ClinicSmsCase
from .security_common import SecurityRpcCase

NUMBER = "+4520123456"


@tagged("post_install", "-at_install")
class TestStopPerClinic(SecurityRpcCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.patient.write({"phone": NUMBER, "lang": "en_US"})
        Partner = cls.env["res.partner"]
        cls.shared = Partner.create({"name": "Anna's husband", "phone": NUMBER})
        cls.patient_b = Partner.create(
            {"name": "Anna at clinic B", "phone": NUMBER, "company_id": cls.company_b.id}
        )

    def test_stop_opts_out_for_the_clinic_that_received_it(self):
        waiting_a = self.make_message(number=NUMBER)
        waiting_b = self.make_message(company=self.company_b, partner_id=self.patient_b.id, number=NUMBER)
        self.post_reply(self.gateway_a, NUMBER, "STOP")
        self.env.invalidate_all()
        self.assertTrue(self.patient.sms_opt_out and self.shared.sms_opt_out, "A's contacts and shared ones")
        self.assertFalse(self.patient_b.sms_opt_out, "clinic B's own contact is B's business")
        self.assertEqual((waiting_a.state, waiting_a.reason), ("cancelled", "opted_out"))
        self.assertEqual(waiting_b.state, "queued", "clinic B's messages are not withdrawn")
        self.assertFalse(self.env["phone.blacklist"].search([("number", "=", NUMBER)]), "not Odoo-wide")
        confirmation = self.messages(kind="opt_out")
        self.assertEqual((confirmation.company_id, confirmation.number), (self.company_a, NUMBER))

    def test_the_company_setting_adds_the_number_to_odoos_blacklist(self):
        self.company_a.clinic_sms_opt_out_blacklist = True
        self.post_reply(self.gateway_b, NUMBER, "STOP")
        self.assertFalse(self.env["phone.blacklist"].search([("number", "=", NUMBER)]), "B's setting is off")
        self.post_reply(self.gateway_a, NUMBER, "STOP")
        self.assertTrue(self.env["phone.blacklist"].search([("number", "=", NUMBER)]).active)

    # ------------------------------------------------------------------ pumping

    def test_no_sms_answers_a_number_that_is_none_of_the_clinics_contacts(self):
        for number in ("+4551234567", "+4551234568", "+4551234569"):
            self.post_reply(self.gateway_a, number, "STOP")
        self.assertEqual(len(self.messages(kind="inbound")), 3, "kept in the log")
        self.assertFalse(self.messages(kind="opt_out"))
        # A contact of clinic B is not a contact of clinic A either.
        self.patient.phone = self.shared.phone = "+4522222222"
        self.post_reply(self.gateway_a, NUMBER, "STOP")
        self.assertFalse(self.messages(kind="opt_out"))

    def test_one_opt_out_confirmation_per_number_and_day(self):
        for _ in range(3):
            self.post_reply(self.gateway_a, NUMBER, "STOP")
        self.assertEqual(len(self.messages(kind="opt_out")), 1)
        self.move_to(NOW + timedelta(hours=25))
        self.post_reply(self.gateway_a, NUMBER, "STOP")
        self.assertEqual(len(self.messages(kind="opt_out")), 2, "a day later the number may be told again")

    def test_a_flood_of_replies_is_kept_but_never_acted_on(self):
        for index in range(10):
            self.post_reply(self.gateway_a, NUMBER, f"Question {index}")
        self.post_reply(self.gateway_a, NUMBER, "STOP")
        self.post_reply(self.gateway_a, NUMBER, "Question 11")
        replies = self.messages(kind="inbound")
        self.assertEqual(len(replies), 12, "every reply is kept")
        self.assertEqual(replies.mapped("reply_action"), ["other"] * 10 + ["ignored"] * 2)
        self.assertFalse(self.patient.sms_opt_out, "the 11th reply in an hour is not acted on")
        self.assertFalse(self.messages(kind="opt_out"), "nothing is queued")
        notes = self.patient.message_ids.filtered(lambda m: "Question 11" in (m.body or ""))
        self.assertFalse(notes, "and no note is posted")
        # The limit is per gateway and number, for an hour.
        self.post_reply(self.gateway_b, NUMBER, "Hello B")
        self.assertEqual(self.messages(kind="inbound")[-1].reply_action, "other")
        self.move_to(NOW + timedelta(hours=1, minutes=1))
        self.post_reply(self.gateway_a, NUMBER, "STOP")
        self.assertEqual(self.messages(kind="inbound")[-1].reply_action, "stop")
        self.assertTrue(self.patient.sms_opt_out)


@tagged("post_install", "-at_install")
class TestOptOutBlacklistSetting(ClinicSmsCase):
    def test_on_in_a_single_company_database_off_for_a_new_company(self):
        self.assertEqual(self.env["res.company"].search_count([]), 1)
        self.assertTrue(self.company.clinic_sms_opt_out_blacklist)
        other = self.env["res.company"].create({"name": "Second clinic"})
        self.assertFalse(other.clinic_sms_opt_out_blacklist)
        settings = self.env["res.config.settings"].create({})
        self.assertTrue(settings.clinic_sms_opt_out_blacklist)
