from odoo.addons.clinic_sms.core import gateway as gw
from odoo.addons.clinic_sms.models.res_company import ClinicSmsApi
from odoo.addons.sms.tools.sms_api import SmsApi

from .common import ClinicSmsCase


class TestOdooSms(ClinicSmsCase):
    """Odoo's own SMS through the clinic's gateway, when the setting is on."""

    def send_from_chatter(self, partner, body="Your glasses are ready"):
        return partner._message_sms(body, partner_ids=partner.ids)

    def test_off_by_default(self):
        self.assertFalse(self.env["res.company"].new({}).clinic_sms_route_odoo_sms)
        self.assertIs(self.company._get_sms_api_class(), SmsApi)

    def test_chatter_sms_goes_through_clinic_gateway_and_log(self):
        self.company.clinic_sms_route_odoo_sms = True
        self.assertIs(self.company._get_sms_api_class(), ClinicSmsApi)
        message = self.send_from_chatter(self.patient)
        self.env["sms.sms"].sudo().search([("mail_message_id", "=", message.id)])._send()
        row = self.messages(kind="manual", partner=self.patient)
        self.assertEqual(len(row), 1)
        self.assertEqual(
            (row.state, row.gateway_id, row.body), ("delivered", self.gateway, "Your glasses are ready")
        )
        self.assertEqual(self.sent[-1].number, self.patient.sms_number_e164)
        notification = message.notification_ids
        self.assertEqual(notification.notification_status, "sent", "Odoo shows it delivered")
        self.assertEqual(row.credits, 1.0)

    def test_opted_out_patient_is_not_sent_odoo_sms(self):
        self.company.clinic_sms_route_odoo_sms = True
        self.patient.sms_opt_out = True
        message = self.send_from_chatter(self.patient)
        self.env["sms.sms"].sudo().search([("mail_message_id", "=", message.id)])._send(raise_exception=True)
        row = self.messages(kind="manual", partner=self.patient)
        self.assertEqual((row.state, row.reason), ("skipped", "opted_out"))
        self.assertFalse(self.sent)
        notification = message.notification_ids
        self.assertEqual(
            (notification.notification_status, notification.failure_type), ("bounce", "sms_not_allowed")
        )
        self.assertEqual(notification.failure_reason, "Patient does not want SMS")

    def test_queued_odoo_sms_reports_later(self):
        self.company.clinic_sms_route_odoo_sms = True
        self.patient.phone = "+45 20 12 99 99"  # the test gateway fails for now on ...9999
        message = self.send_from_chatter(self.patient)
        sms = self.env["sms.sms"].sudo().search([("mail_message_id", "=", message.id)])
        self.assertEqual(sms.number, "+4520129999")
        sms._send()
        row = self.messages(kind="manual", partner=self.patient)
        self.assertEqual(row.state, "queued")
        self.assertEqual(message.notification_ids.notification_status, "process")
        # The provider comes back: a report of delivery reaches Odoo's notification.
        row._write_rows(
            {row.id: {"state": "sent", "provider_ref": "x", "gateway_id": self.gateway.id}}, row.write_date
        )
        self.env["clinic.sms.message"]._clinic_sms_apply_reports(self.gateway, [gw.Report("x", "delivered")])
        self.assertEqual(message.notification_ids.notification_status, "sent")

    def test_number_without_contact(self):
        self.company.clinic_sms_route_odoo_sms = True
        results = ClinicSmsApi(self.env)._send_sms_batch(
            [{"content": "Hi", "numbers": [{"uuid": "u1", "number": "+45 20 55 66 77"}]}]
        )
        self.assertEqual(results, [{"uuid": "u1", "state": "delivered"}])
        row = self.env["clinic.sms.message"].search([("sms_uuid", "=", "u1")])
        self.assertEqual((row.number, row.partner_id.id), ("+4520556677", False))
