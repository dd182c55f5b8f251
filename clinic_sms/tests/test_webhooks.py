import json
import logging
from datetime import datetime

from odoo.tests import HttpCase, tagged

from ..controllers.main import HideWebhookSecrets
from .common import ClinicSmsCase


@tagged("post_install", "-at_install")
class TestWebhooks(ClinicSmsCase, HttpCase):
    """The webhook URLs, over real HTTP to the test server."""

    def setUp(self):
        super().setUp()
        self.gateway.sudo().webhook_token = "tok-test"
        self.patient.lang = "en_US"

    def inbound_url(self, gateway=None, token=None):
        gateway = gateway or self.gateway
        return f"/clinic_sms/inbound/{gateway.id}/{token or gateway.sudo().webhook_token}"

    def post_json(self, url, payload):
        body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
        return self.url_open(url, data=body, headers={"Content-Type": "application/json"})

    def test_reply_over_http_is_kept_and_acted_on(self):
        response = self.post_json(self.inbound_url(), {"from": self.patient.sms_number_e164, "text": "STOP"})
        self.assertEqual(response.status_code, 200)
        received = self.messages(kind="inbound")
        self.assertEqual((received.partner_id, received.reply_action), (self.patient, "stop"))
        self.assertTrue(self.patient.sms_opt_out)

    def test_reply_as_form_fields(self):
        response = self.url_open(
            self.inbound_url(), data={"from": self.patient.sms_number_e164, "text": "Hello"}
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.messages(kind="inbound").reply_action, "other")

    def test_wrong_token_unknown_or_archived_gateway_change_nothing(self):
        payload = {"from": self.patient.sms_number_e164, "text": "STOP"}
        self.assertEqual(self.post_json(self.inbound_url(token="forged"), payload).status_code, 404)
        self.assertEqual(self.post_json("/clinic_sms/inbound/999999/tok-test", payload).status_code, 404)
        self.gateway.active = False
        self.assertEqual(self.post_json(self.inbound_url(), payload).status_code, 404)
        self.assertFalse(self.messages(kind="inbound"))
        self.assertFalse(self.patient.sms_opt_out)

    def test_malformed_reply_is_refused_and_changes_nothing(self):
        for body in ("{not json", {"text": "STOP"}, {"from": self.patient.sms_number_e164}, "[1, 2]"):
            response = self.post_json(self.inbound_url(), body)
            self.assertEqual(response.status_code, 400, body)
        self.assertFalse(self.messages(kind="inbound"))
        self.assertFalse(self.patient.sms_opt_out)

    def test_test_gateway_has_no_delivery_report_url(self):
        url = f"/clinic_sms/dlr/{self.gateway.id}/tok-test"
        self.assertEqual(self.post_json(url, {"id": 1, "status": "DELIVERED"}).status_code, 400)

    def test_confirm_over_http(self):
        event = self.make_event(datetime(2027, 1, 12, 14, 0))
        self.dispatch(datetime(2027, 1, 11, 14, 30))
        self.assertEqual(self.messages(event, kind="reminder").state, "delivered")
        self.post_json(self.inbound_url(), {"from": self.patient.sms_number_e164, "text": "yes please"})
        attendee = event.attendee_ids.filtered(lambda a: a.partner_id == self.patient)
        self.assertEqual(attendee.state, "accepted")

    def test_access_log_hides_token_and_query(self):
        line = "GET /clinic_sms/dlr/7/s3cr3t-token?MsgId=1&to=48601234567&status=404 HTTP/1.1"
        record = logging.LogRecord(
            "werkzeug", logging.INFO, __file__, 1, '"%s" %s %s', (line, "200", "-"), None
        )
        self.assertTrue(HideWebhookSecrets().filter(record))
        self.assertEqual(record.getMessage(), '"GET /clinic_sms/dlr/7/*** HTTP/1.1" 200 -')
        other = logging.LogRecord(
            "werkzeug", logging.INFO, __file__, 1, '"%s" %s %s', ("GET /odoo HTTP/1.1", 200, 1), None
        )
        HideWebhookSecrets().filter(other)
        self.assertEqual(other.getMessage(), '"GET /odoo HTTP/1.1" 200 1')
        self.assertTrue(
            any(isinstance(f, HideWebhookSecrets) for f in logging.getLogger("werkzeug").filters),
            "installed on Odoo's access log",
        )
