"""End to end through a real Kannel: bearerbox, smsbox and the packaged fake SMSC on loopback."""

import sys
import threading
from datetime import datetime
from pathlib import Path

from odoo.addons.clinic_sms.models.clinic_sms_message_inbound import (
    ClinicSmsMessageInbound as ClinicSmsMessage,
)
from odoo.tests import HttpCase, tagged
from odoo.tests.common import release_test_lock

from .common import ClinicSmsCase

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
from kannel_harness import Kannel  # tools/ is not a package


class Calls:
    """Counts calls of a model method made by the HTTP server thread and lets the test wait."""

    def __init__(self, case, name):
        self.case = case
        self.count, self.changed = 0, threading.Condition()
        original = getattr(ClinicSmsMessage, name)

        def wrapper(model, *args, **kwargs):
            try:
                return original(model, *args, **kwargs)
            finally:
                with self.changed:
                    self.count += 1
                    self.changed.notify_all()

        case.patch(ClinicSmsMessage, name, wrapper)

    def wait(self, count, timeout=15.0):
        """Let the server thread use the test cursor until ``count`` calls are done."""
        with release_test_lock(), self.changed:
            done = self.changed.wait_for(lambda: self.count >= count, timeout)
        self.case.env.invalidate_all()  # the server thread changed records behind this env's cache
        return done


@tagged("post_install", "-at_install")
class TestKannelEndToEnd(ClinicSmsCase, HttpCase):
    def setUp(self):
        super().setUp()
        self.env["ir.config_parameter"].sudo().set_param("web.base.url", self.base_url())
        self.kannel_gateway = self.env["clinic.sms.gateway"].create(
            {"name": "Kannel", "provider": "kannel", "sender": "4570203040"}
        )
        self.kannel = Kannel(inbound_url=self.kannel_gateway.inbound_url, inbound_method="post")
        self.kannel.start()
        self.addCleanup(self.kannel.stop)
        self.kannel_gateway.sudo().write(
            {
                "api_url": self.kannel.api_url,
                "username": self.kannel.username,
                "password": self.kannel.password,
            }
        )
        self.company.clinic_sms_gateway_id = self.kannel_gateway
        self.gateway.active = False
        # Kannel calls back on its own: its requests carry no test cookie; they wait for the test
        # cursor until the test lets them in (Calls.wait).
        self.patch(self, "http_request_allow_all", True)

    def test_reminder_through_kannel_and_its_delivery_report(self):
        reports = Calls(self, "_clinic_sms_apply_reports")
        event = self.make_event(datetime(2027, 1, 12, 14, 0), patients=self.patient)
        self.dispatch(datetime(2027, 1, 11, 14, 30))
        reminder = self.messages(event, kind="reminder")
        self.assertEqual((reminder.state, reminder.gateway_id), ("sent", self.kannel_gateway), reminder.error)
        received = self.kannel.wait_received(2)  # the booking confirmation and the reminder
        self.assertEqual({(r.sender, r.to) for r in received}, {("4570203040", self.patient.sms_number_e164)})
        self.assertIn(reminder.body, [r.text for r in received])
        # The fake SMSC reports "accepted by the SMSC" (8) and "delivered" (1) for each message.
        self.assertTrue(reports.wait(4), f"{reports.count} reports reached Odoo")
        self.assertEqual(reminder.state, "delivered")
        self.assertTrue(reminder.delivered_at)

    def test_patient_reply_through_kannel(self):
        replies = Calls(self, "_clinic_sms_receive")
        self.patient.lang = "pl_PL"
        self.env["res.lang"]._activate_lang("pl_PL")
        self.kannel.send_mo(self.patient.sms_number_e164, "Proszę STOP, dziękuję")
        self.assertTrue(replies.wait(1), self.kannel.logs()[-3000:])
        received = self.messages(kind="inbound")
        self.assertEqual((received.partner_id, received.reply_action), (self.patient, "stop"))
        self.assertEqual(received.body, "Proszę STOP, dziękuję")
        self.assertTrue(self.patient.sms_opt_out)
