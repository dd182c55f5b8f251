"""Odoo's own SMS through the clinic's gateway, sent through the doors Odoo sends by.

Every test sends the way Odoo does (the chatter's ``_message_sms``, the ``sms.composer`` wizard,
the ``sms.sms`` queue cron, calendar_sms's alarm cron), never through ``sms.sms._send()``, and
every test fails when Odoo asks IAP for anything it did not expect.
"""

from datetime import timedelta

from lxml import etree

from odoo.addons.clinic_sms.core import gateway as gw
from odoo.addons.clinic_sms.models.res_company import ClinicSmsApi
from odoo.addons.sms.tools.sms_api import SmsApi

from .common import NOW, ClinicSmsCase


class TestOdooSms(ClinicSmsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        dk = cls.env.ref("base.dk").id
        cls.other = cls.env["res.partner"].create(
            {"name": "Carl Holm", "phone": "+45 22 33 44 55", "country_id": dk}
        )
        cls.practitioner.partner_id.write({"phone": "+45 40 11 22 33", "country_id": dk})
        cls.company.clinic_sms_route_odoo_sms = True

    def setUp(self):
        super().setUp()
        self.iap_calls = []  # endpoints Odoo asked IAP for; any is a failure unless a test expects it
        calls = self.iap_calls

        def contact_iap(api, local_endpoint, params, timeout=15):
            calls.append((local_endpoint, params))
            raise ConnectionError("IAP must not be contacted from these tests")

        self.patch(SmsApi, "_contact_iap", contact_iap)
        # Odoo swallows exceptions of an SMS API (the SMS just fails): check the calls themselves.
        self.addCleanup(lambda: self.assertEqual(self.iap_calls, [], "Odoo contacted IAP"))

    # ------------------------------------------------------------------ helpers

    def iap_numbers(self):
        numbers = [
            n["number"] for _e, params in self.iap_calls for m in params["messages"] for n in m["numbers"]
        ]
        self.iap_calls.clear()
        return numbers

    def odoo_sms(self, partner):
        return self.env["sms.sms"].sudo().search([("partner_id", "=", partner.id)])

    def run_cron(self, xmlid):
        """Run a cron as Odoo's scheduler does (its user, its own cursor), inside this test's
        transaction."""
        cron = self.env.ref(xmlid).sudo()
        cron.lastcall = NOW - timedelta(days=1)
        with self.enter_registry_test_mode():
            cron.method_direct_trigger()
        self.env.invalidate_all()

    def assert_delivered(self, row, partner, body):
        self.assertEqual(len(row), 1)
        self.assertEqual((row.state, row.gateway_id, row.body), ("delivered", self.gateway, body))
        self.assertEqual(
            (row.number, row.credits, row.company_id), (partner.sms_number_e164, 1.0, self.company)
        )
        self.assertEqual(
            [(o.number, o.body) for o in self.sent_to(partner)], [(partner.sms_number_e164, body)]
        )
        sms = self.odoo_sms(partner)
        self.assertEqual(row.sms_uuid, sms.uuid)
        self.assertEqual(sms.state, "sent", "Odoo's SMS shows it delivered")

    def assert_not_allowed(self, row, sms, notification=None):
        self.assertEqual((row.state, row.reason), ("skipped", "opted_out"))
        self.assertEqual(row.sms_uuid, sms.uuid)
        self.assertEqual(sms.state, "error")
        self.assertFalse(self.sent)
        if notification is not None:
            self.assertEqual(
                (notification.notification_status, notification.failure_type), ("bounce", "sms_not_allowed")
            )
            self.assertEqual(notification.failure_reason, "Patient does not want SMS")

    # ------------------------------------------------------------------ routing or not

    def test_odoo_sms_go_to_iap_when_the_clinic_does_not_route_them(self):
        self.assertFalse(self.env["res.company"].new({}).clinic_sms_route_odoo_sms, "off by default")
        self.company.clinic_sms_route_odoo_sms = False
        self.assertIs(self.company._get_sms_api_class(), SmsApi)
        self.patient._message_sms("Your glasses are ready", partner_ids=self.patient.ids)
        self.assertEqual(self.iap_numbers(), ["+4520123456"], "the guard sees what goes to IAP")
        self.assertFalse(self.messages(kind="manual"))
        self.assertFalse(self.sent)

    def test_routing_needs_clinic_sms_switched_on(self):
        self.assertIs(self.company._get_sms_api_class(), ClinicSmsApi)
        self.company.clinic_sms_enabled = False
        self.assertIs(self.company._get_sms_api_class(), SmsApi)

    def test_each_odoo_sms_takes_the_way_of_its_records_company(self):
        """sms.sms._split_by_api goes by the company of the record the SMS is about, not by the
        sender's current company."""
        optician = self.env["res.company"].create(
            {"name": "Optician", "country_id": self.env.ref("base.dk").id}
        )
        self.other.company_id = optician
        self.patient.company_id = self.company
        self.other.with_company(self.company)._message_sms("We have moved", partner_ids=self.other.ids)
        self.assertEqual(self.iap_numbers(), ["+4522334455"])
        self.assertFalse(self.messages(partner=self.other))
        self.patient.with_company(optician)._message_sms("We have moved", partner_ids=self.patient.ids)
        self.assert_delivered(
            self.messages(kind="manual", partner=self.patient), self.patient, "We have moved"
        )

    # ------------------------------------------------------------------ the chatter

    def test_a_chatter_sms_reaches_the_patient_through_the_clinic_gateway(self):
        message = self.patient._message_sms("Your glasses are ready", partner_ids=self.patient.ids)
        row = self.messages(kind="manual", partner=self.patient)
        self.assert_delivered(row, self.patient, "Your glasses are ready")
        self.assertEqual(message.notification_ids.notification_status, "sent", "Odoo shows it delivered")

    def test_a_chatter_sms_to_an_opted_out_patient_is_not_allowed(self):
        self.patient.sms_opt_out = True
        message = self.patient._message_sms("Your glasses are ready", partner_ids=self.patient.ids)
        row = self.messages(kind="manual", partner=self.patient)
        self.assert_not_allowed(row, self.odoo_sms(self.patient), message.notification_ids)

    def test_an_opted_out_patient_is_not_texted_at_another_of_their_numbers(self):
        """Odoo writes to the contact's phone; the clinic knows the patient by their SMS number."""
        self.patient.write({"sms_number": "+45 31 00 00 01", "sms_opt_out": True})
        message = self.patient._message_sms("Your glasses are ready", partner_ids=self.patient.ids)
        sms = self.odoo_sms(self.patient)
        self.assertEqual(sms.number, "+4520123456", "Odoo's number is the phone, not the SMS number")
        row = self.env["clinic.sms.message"].search([("sms_uuid", "=", sms.uuid)])
        self.assertEqual(row.partner_id, self.patient)
        self.assert_not_allowed(row, sms, message.notification_ids)

    def test_a_failing_gateway_keeps_the_sms_queued_and_odoo_learns_its_fate_later(self):
        self.patient.phone = "+45 20 12 99 99"  # the test gateway fails for now on ...9999
        message = self.patient._message_sms("Your glasses are ready", partner_ids=self.patient.ids)
        row = self.messages(kind="manual", partner=self.patient)
        self.assertEqual((row.state, row.reason, row.attempts), ("queued", "gateway_error", 1))
        self.assertEqual(self.odoo_sms(self.patient).state, "process")
        self.assertEqual(message.notification_ids.notification_status, "process")
        # The dispatcher tries again after its back-off, through the same checks.
        self.dispatch(at=row.due_at + timedelta(seconds=1))
        self.assertEqual((row.state, row.attempts), ("queued", 2))
        # The provider comes back: a report of delivery reaches Odoo's notification.
        row._write_rows(
            {row.id: {"state": "sent", "provider_ref": "x", "gateway_id": self.gateway.id}}, row.write_date
        )
        self.env["clinic.sms.message"]._clinic_sms_apply_reports(self.gateway, [gw.Report("x", "delivered")])
        self.assertEqual(row.state, "delivered")
        self.assertEqual(message.notification_ids.notification_status, "sent")

    # ------------------------------------------------------------------ the SMS composer

    def composer(self, mode, partners, body, **values):
        context = {"default_composition_mode": mode, "default_res_model": "res.partner"}
        if mode == "comment":
            context["default_res_id"] = partners.id
        else:
            context["default_res_ids"] = partners.ids
        return self.env["sms.composer"].with_context(**context).create({"body": body, **values})

    def test_the_sms_composer_sends_a_comment_through_the_clinic_gateway(self):
        self.composer("comment", self.patient, "See you on Friday").action_send_sms()
        row = self.messages(kind="manual", partner=self.patient)
        self.assert_delivered(row, self.patient, "See you on Friday")
        notification = self.env["mail.notification"].search(
            [("sms_id_int", "=", self.odoo_sms(self.patient).id)]
        )
        self.assertEqual(notification.notification_status, "sent")

    def test_the_sms_composer_comment_to_an_opted_out_patient_is_not_allowed(self):
        self.patient.sms_opt_out = True
        self.composer("comment", self.patient, "See you on Friday").action_send_sms()
        sms = self.odoo_sms(self.patient)
        notification = self.env["mail.notification"].search([("sms_id_int", "=", sms.id)])
        self.assert_not_allowed(self.messages(kind="manual", partner=self.patient), sms, notification)

    def test_the_sms_composer_mass_mode_sends_through_the_clinic_gateway_and_its_checks(self):
        self.other.sms_opt_out = True
        composer = self.composer(
            "mass", self.patient | self.other, "Flu shots this week", mass_force_send=True, mass_keep_log=True
        )
        composer.action_send_sms()
        self.assert_delivered(
            self.messages(kind="manual", partner=self.patient), self.patient, "Flu shots this week"
        )
        other_row = self.messages(kind="manual", partner=self.other)
        self.assertEqual((other_row.state, other_row.reason), ("skipped", "opted_out"))
        self.assertEqual(self.odoo_sms(self.other).state, "error")
        self.assertEqual(len(self.sent), 1, "only the patient who did not opt out was texted")

    def test_the_sms_composer_to_a_number_without_contact(self):
        self.composer("numbers", self.env["res.partner"], "Hi", numbers="+45 20 55 66 77").action_send_sms()
        row = self.env["clinic.sms.message"].search([("number", "=", "+4520556677")])
        self.assertEqual((row.kind, row.state, row.partner_id.id), ("manual", "delivered", False))
        sms = self.env["sms.sms"].sudo().search([("uuid", "=", row.sms_uuid)])
        self.assertEqual(sms.state, "sent")
        self.assertEqual([o.number for o in self.sent], ["+4520556677"])

    # ------------------------------------------------------------------ the sms.sms queue cron

    def test_the_sms_queue_cron_sends_queued_sms_through_the_clinic_gateway(self):
        self.other.sms_opt_out = True
        chatter = self.patient._message_sms(
            "Your glasses are ready", partner_ids=self.patient.ids, put_in_queue=True
        )
        self.composer(
            "mass", self.other, "Flu shots this week", mass_force_send=False, mass_keep_log=False
        ).action_send_sms()
        self.assertEqual(
            (self.odoo_sms(self.patient).state, self.odoo_sms(self.other).state), ("outgoing", "outgoing")
        )
        self.assertFalse(self.messages(kind="manual"), "nothing is sent before the queue cron runs")

        self.run_cron("sms.ir_cron_sms_scheduler_action")

        self.assert_delivered(
            self.messages(kind="manual", partner=self.patient), self.patient, "Your glasses are ready"
        )
        self.assertEqual(chatter.notification_ids.notification_status, "sent")
        other_row = self.messages(kind="manual", partner=self.other)
        self.assertEqual((other_row.state, other_row.reason), ("skipped", "opted_out"))
        self.assertEqual(self.odoo_sms(self.other).state, "error")

    def test_the_sms_queue_cron_does_not_text_an_opted_out_patient(self):
        self.patient.sms_opt_out = True
        chatter = self.patient._message_sms(
            "Your glasses are ready", partner_ids=self.patient.ids, put_in_queue=True
        )
        self.run_cron("sms.ir_cron_sms_scheduler_action")
        row = self.messages(kind="manual", partner=self.patient)
        self.assert_not_allowed(row, self.odoo_sms(self.patient), chatter.notification_ids)

    # ------------------------------------------------------------------ calendar SMS alarms

    def alarm_event(self, minutes=30, notify_responsible=True):
        alarm = self.env["calendar.alarm"].create(
            {
                "name": "SMS 1 hour before",
                "alarm_type": "sms",
                "duration": 1,
                "interval": "hours",
                "notify_responsible": notify_responsible,
            }
        )
        return self.make_event(NOW + timedelta(minutes=minutes), alarm_ids=[(6, 0, alarm.ids)])

    def test_a_calendar_sms_alarm_reminds_the_practitioner_through_the_clinic_gateway_never_the_patient(self):
        event = self.alarm_event()
        reminders = self.messages(event=event, kind="reminder", partner=self.patient)
        self.assertEqual(len(reminders), 1, "the clinic plans the patient's reminder")

        self.run_cron("calendar.ir_cron_scheduler_alarm")

        doctor = self.practitioner.partner_id
        row = self.messages(kind="manual", partner=doctor)
        self.assertIn("Appointment", row.body)
        self.assert_delivered(row, doctor, row.body)
        notification = self.env["mail.notification"].search([("sms_id_int", "=", self.odoo_sms(doctor).id)])
        self.assertEqual(notification.notification_status, "sent")
        self.assertEqual(notification.mail_message_id.res_id, event.id)
        # The patient: no Odoo alarm SMS, no second reminder; the clinic's own one still goes.
        self.assertFalse(self.odoo_sms(self.patient))
        self.assertFalse(self.messages(kind="manual", partner=self.patient))
        self.dispatch()
        self.assertEqual(reminders.state, "delivered")
        self.assertEqual(len(self.messages(event=event, kind="reminder", partner=self.patient)), 1)

    def test_a_calendar_sms_alarm_to_an_opted_out_practitioner_is_not_allowed(self):
        self.practitioner.partner_id.sms_opt_out = True
        self.alarm_event()
        self.run_cron("calendar.ir_cron_scheduler_alarm")
        doctor = self.practitioner.partner_id
        sms = self.odoo_sms(doctor)
        notification = self.env["mail.notification"].search([("sms_id_int", "=", sms.id)])
        self.assert_not_allowed(self.messages(kind="manual", partner=doctor), sms, notification)
        self.assertFalse(self.odoo_sms(self.patient), "and the patient gets no alarm SMS either")

    def test_an_opted_out_patient_gets_no_calendar_sms_alarm(self):
        self.patient.sms_opt_out = True
        self.alarm_event(notify_responsible=False)
        self.run_cron("calendar.ir_cron_scheduler_alarm")
        self.assertFalse(self.odoo_sms(self.patient))
        self.assertFalse(self.env["sms.sms"].sudo().search([]), "no internal attendee to remind either")
        self.assertFalse(self.messages(kind="manual"))

    def test_without_clinic_sms_the_calendar_sms_alarm_still_reminds_patients(self):
        """Only patients the clinic's rules cover are left out of Odoo's alarm."""
        self.company.clinic_sms_enabled = False
        self.alarm_event()
        self.run_cron("calendar.ir_cron_scheduler_alarm")
        self.assertEqual(sorted(self.iap_numbers()), ["+4520123456", "+4540112233"])
        self.assertTrue(self.odoo_sms(self.patient))
        self.assertFalse(self.messages(kind="manual"))

    def test_the_alarm_form_says_patients_are_reminded_by_clinic_sms(self):
        arch = self.env["calendar.alarm"].get_views([(False, "form")])["views"]["form"]["arch"]
        note = etree.fromstring(arch).xpath("//div[@name='clinic_sms_alarm_note']")
        self.assertEqual(len(note), 1)
        self.assertEqual(note[0].get("invisible"), "alarm_type != 'sms' or not clinic_sms_covers_patients")
        self.assertIn("never to patients", note[0].text)
        alarm = self.env["calendar.alarm"].new({"alarm_type": "sms"})
        self.assertTrue(alarm.clinic_sms_covers_patients)
        self.company.clinic_sms_enabled = False
        self.assertFalse(self.env["calendar.alarm"].new({"alarm_type": "sms"}).clinic_sms_covers_patients)
