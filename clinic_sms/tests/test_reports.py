from datetime import datetime, timezone

from odoo.addons.clinic_sms.core import gateway as gw
from odoo.addons.clinic_sms.core.providers.test import TestClient
from odoo.addons.clinic_sms.models.clinic_sms_gateway import ClinicSmsGateway

from .common import ClinicSmsCase, queued_messages


class AcceptingClient(TestClient):
    """A provider that takes messages and reports later; it can be asked about them."""

    can_poll = True

    def __init__(self, answers=None):
        super().__init__()
        self.answers = answers or {}
        self.asked = []

    def send(self, messages):
        return [gw.Result(m.ref, gw.SENT, provider_ref=f"p-{m.ref}") for m in messages]

    def fetch_status(self, provider_refs):
        self.asked.append(list(provider_refs))
        return [gw.Report(ref, self.answers[ref]) for ref in provider_refs if ref in self.answers]


class TestReports(ClinicSmsCase):
    def setUp(self):
        super().setUp()
        self.client = AcceptingClient()
        self.patch(ClinicSmsGateway, "_clinic_sms_client", lambda gateway: self.client)
        self.patch(ClinicSmsGateway, "_compute_capabilities", _pollable)

    def sent_message(self, partner=None):
        message = queued_messages(self.env, [partner or self.patient])
        self.dispatch()
        self.assertEqual(message.state, "sent")
        return message

    def report(self, *reports, gateway=None):
        return self.env["clinic.sms.message"]._clinic_sms_apply_reports(
            gateway or self.gateway, list(reports)
        )

    def test_delivered_report(self):
        message = self.sent_message()
        at = datetime(2027, 1, 11, 10, 0, 30, tzinfo=timezone.utc)
        self.assertEqual(self.report(gw.Report(message.provider_ref, "delivered", at=at)), 1)
        self.assertEqual(message.state, "delivered")
        self.assertEqual(message.delivered_at, datetime(2027, 1, 11, 10, 0, 30))

    def test_report_found_by_our_reference(self):
        message = self.sent_message()
        self.report(gw.Report("", "buffered", ref=str(message.id)))
        self.assertEqual(message.state, "buffered")

    def test_out_of_order_and_duplicates_never_go_back(self):
        message = self.sent_message()
        ref = message.provider_ref
        self.report(gw.Report(ref, "delivered"))
        delivered_at = message.delivered_at
        self.assertEqual(
            self.report(gw.Report(ref, "buffered"), gw.Report(ref, "sent"), gw.Report(ref, "delivered")), 0
        )
        self.assertEqual(self.report(gw.Report(ref, "failed", reason=gw.R_UNDELIVERABLE)), 0)
        self.assertEqual((message.state, message.delivered_at), ("delivered", delivered_at))

    def test_failed_report_keeps_reason_and_provider_words(self):
        message = self.sent_message()
        self.report(
            gw.Report(message.provider_ref, "failed", reason=gw.R_UNDELIVERABLE, error="Absent subscriber")
        )
        self.assertEqual(
            (message.state, message.reason, message.error), ("failed", "undeliverable", "Absent subscriber")
        )
        self.assertEqual(message.credits, 1.0, "a message the network took is paid for")

    def test_unknown_reference_is_ignored(self):
        message = self.sent_message()
        self.assertEqual(
            self.report(gw.Report("nobody", "delivered"), gw.Report("", "delivered", ref="999999999")), 0
        )
        self.assertEqual(message.state, "sent")

    def test_report_through_another_gateway_is_ignored(self):
        message = self.sent_message()
        other = self.env["clinic.sms.gateway"].create({"name": "Other", "provider": "test"})
        self.assertEqual(self.report(gw.Report(message.provider_ref, "delivered"), gateway=other), 0)
        self.assertEqual(self.report(gw.Report("", "delivered", ref=str(message.id)), gateway=other), 0)
        self.assertEqual(message.state, "sent")

    def test_report_with_our_ref_and_wrong_provider_ref_is_ignored(self):
        message = self.sent_message()
        self.assertEqual(self.report(gw.Report("p-other", "delivered", ref=str(message.id))), 0)

    def test_cron_asks_about_recent_messages_without_final_state(self):
        old = self.sent_message()
        self.move_to(datetime(2027, 1, 19, 10, 0))
        recent = self.sent_message(self.patient2)
        done = self.sent_message()
        self.report(gw.Report(done.provider_ref, "delivered"))
        self.client.answers = {recent.provider_ref: "delivered", old.provider_ref: "delivered"}
        self.assertEqual(self.env["clinic.sms.message"]._cron_refresh_status(), 1)
        self.assertEqual(
            self.client.asked, [[recent.provider_ref]], "not the 8-day-old one, not the delivered one"
        )
        self.assertEqual((recent.state, old.state), ("delivered", "sent"))

    def test_refresh_action_on_selected_rows(self):
        first, second = self.sent_message(), self.sent_message(self.patient2)
        self.client.answers = {first.provider_ref: "expired"}
        action = (first | second).action_refresh_status()
        self.assertEqual(action["params"]["message"], "2 messages asked about, 1 changed.")
        self.assertEqual((first.state, second.state), ("expired", "sent"))

    def test_refresh_action_refuses_rows_that_cannot_be_asked(self):
        from odoo.exceptions import UserError

        message = self.sent_message()
        self.report(gw.Report(message.provider_ref, "delivered"))
        with self.assertRaises(UserError):
            message.action_refresh_status()


def _pollable(gateways):
    for gateway in gateways:
        gateway.can_poll = True
        gateway.receives_inbound = True
