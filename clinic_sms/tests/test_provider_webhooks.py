"""Each real provider, end to end over HTTP on 127.0.0.1: the clinic sends through the gateway
emulator (tools/emulator/), which calls the Odoo webhooks back as the provider would."""

import sys
from pathlib import Path

import requests

from odoo.tests import HttpCase, tagged

from .common import NOW, ClinicSmsCase, queued_messages

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
from emulator import Emulator, sign_gatewayapi  # tools/ is on the path, not a package

JWT_SECRET = "jwt-secret-of-the-webhook"
TWILIO_SID = "AC" + "1" * 32
TWILIO_TOKEN = "twilio-auth-token"

REPLIES = {
    # language: (opt-out, confirm, cancel, free text)
    "da_DK": ("Stop venligst", "Ja tak", "Nej, jeg er syg", "Kan jeg komme kl. 10?"),
    "de_DE": ("Bitte STOPP", "Ja, bis morgen", "Nein danke", "Kann ich später kommen?"),
    "pl_PL": ("STOP proszę", "Tak, będę", "Nie mogę", "Czy mogę przyjść później?"),
    "en_US": ("STOP", "Yes", "No", "Can I come later?"),
}


class ProviderWebhooks(ClinicSmsCase):
    __test__ = False  # a base: the classes below run it once per provider
    provider = ""
    signed = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.emu = Emulator(secrets={"gatewayapi": JWT_SECRET, "twilio": TWILIO_TOKEN})
        cls.emu.start()
        cls.addClassCleanup(cls.emu.stop)
        for code in ("da_DK", "de_DE", "pl_PL"):
            cls.env["res.lang"]._activate_lang(code)

    def setUp(self):
        super().setUp()
        self.env["ir.config_parameter"].sudo().set_param("web.base.url", self.base_url())
        values = {
            "name": self.provider,
            "provider": self.provider,
            "api_url": self.emu.url,
            "sender": "Klinik",
        }
        if self.provider == "gatewayapi":
            values.update(api_key="gw-token", webhook_secret=JWT_SECRET)
        elif self.provider == "smsapi":
            values.update(api_key="smsapi-token")
        else:
            values.update(username=TWILIO_SID, password=TWILIO_TOKEN, sender="+4570203040")
        self.provider_gateway = self.env["clinic.sms.gateway"].create(values)
        self.company.clinic_sms_gateway_id = self.provider_gateway
        self.gateway.active = False
        self.emu.clear()
        self.emu.heal()

    # ------------------------------------------------------------------ helpers

    def call(self, function, *args, **kwargs):
        """Let the emulator call Odoo (it carries no test cookie) and read what changed."""
        with self.allow_requests(all_requests=True):
            response = function(*args, **kwargs)
        self.env.invalidate_all()
        return response

    def sent_message(self, partner=None):
        message = queued_messages(self.env, [partner or self.patient], "Hej æøå")
        self.dispatch()
        self.assertEqual((message.state, message.gateway_id), ("sent", self.provider_gateway), message.error)
        accepted = self.emu.find(self.provider, message.provider_ref)
        self.assertEqual((accepted.number, accepted.body), (self.patient.sms_number_e164, "Hej æøå"))
        return message

    def report(self, message, status, **kwargs):
        return self.call(self.emu.post_report, self.provider, message.provider_ref, status, **kwargs)

    def reply(self, text, number=None, **kwargs):
        number = number or self.patient.sms_number_e164
        url = self.provider_gateway.inbound_url
        return self.call(self.emu.post_inbound, self.provider, url, number, text, **kwargs)

    # ------------------------------------------------------------------ delivery reports

    def test_callback_url_is_the_gateway_webhook(self):
        message = self.sent_message()
        callback = self.emu.find(self.provider, message.provider_ref).callback_url
        self.assertTrue(callback.startswith(self.provider_gateway.dlr_url), callback)

    def test_delivered_report(self):
        message = self.sent_message()
        response = self.report(message, "delivered")
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(message.state, "delivered")
        self.assertTrue(message.delivered_at)

    def test_failed_report(self):
        message = self.sent_message()
        self.assertEqual(self.report(message, "failed").status_code, 200)
        self.assertEqual((message.state, message.reason), ("failed", "undeliverable"))

    def test_replayed_and_out_of_order_reports_change_nothing(self):
        message = self.sent_message()
        self.assertEqual(self.report(message, "sent").status_code, 200)
        self.assertEqual(message.state, "sent")
        if self.provider == "gatewayapi":  # the only one of the three that reports "buffered"
            self.assertEqual(self.report(message, "buffered").status_code, 200)
            self.assertEqual(message.state, "buffered")
        self.report(message, "delivered")
        delivered_at = message.delivered_at
        for status in ("delivered", "sent", "buffered", "failed", "delivered"):
            self.assertEqual(self.report(message, status).status_code, 200, status)
        self.assertEqual((message.state, message.delivered_at), ("delivered", delivered_at))

    def test_unknown_reference_is_answered_and_ignored(self):
        message = self.sent_message()
        response = self.call(
            self.emu.post_report, self.provider, "987654321", "delivered", url=self.provider_gateway.dlr_url
        )
        self.assertLess(response.status_code, 300)
        self.assertEqual(message.state, "sent")

    def test_wrong_token_changes_nothing(self):
        message = self.sent_message()
        url = self.provider_gateway.dlr_url.replace(self.provider_gateway.webhook_token, "guessed")
        self.assertEqual(self.report(message, "delivered", url=url).status_code, 404)
        self.assertEqual(message.state, "sent")

    def test_forged_and_unsigned_reports_change_nothing_where_the_provider_signs(self):
        message = self.sent_message()
        if self.signed:
            self.assertEqual(self.report(message, "delivered", secret="not-the-secret").status_code, 403)
            self.assertEqual(self.report(message, "delivered", secret="").status_code, 403)
            self.assertEqual(message.state, "sent")
        else:
            # SMSAPI signs nothing: the token in the URL is all there is (a wrong token is a 404,
            # test_wrong_token_changes_nothing), so an unsigned report at the right URL counts.
            self.assertEqual(self.report(message, "delivered", secret="").status_code, 200)
            self.assertEqual(message.state, "delivered")

    def test_malformed_report_is_refused(self):
        message = self.sent_message()
        url = self.provider_gateway.dlr_url
        headers = {"Content-Type": "application/json"}
        body = b'{"id": "not closed'
        if self.provider == "gatewayapi":
            headers["X-Gwapi-Signature"] = sign_gatewayapi({"id": 1}, JWT_SECRET)
        response = self.call(requests.post, url, data=body, headers=headers, timeout=10)
        self.assertIn(response.status_code, (400, 403))
        if self.provider == "gatewayapi":
            self.assertEqual(response.status_code, 400, "signed but unreadable")
        if self.provider == "smsapi":
            response = self.call(
                requests.get, url, params={"MsgId": message.provider_ref, "status": "x"}, timeout=10
            )
            self.assertEqual(response.status_code, 400)
        self.assertEqual(message.state, "sent")

    def test_send_test_sms_says_what_happened(self):
        self.env.user.partner_id.phone = "+45 29 87 65 43"
        params = self.provider_gateway.action_send_test()["params"]
        self.assertEqual(params["type"], "success", params["message"])
        self.assertIn("+45****6543", params["message"], "the number is shown masked")
        self.assertEqual([m.number for m in self.emu.messages], ["+4529876543"])
        self.emu.fail("500", times=1)
        params = self.provider_gateway.action_send_test()["params"]
        self.assertEqual(params["type"], "warning")
        self.assertIn("HTTP 500", params["message"])
        self.env.user.partner_id.phone = "+45 29 87 00 00"  # the emulator refuses …0000 as invalid
        params = self.provider_gateway.action_send_test()["params"]
        self.assertEqual(params["type"], "danger")

    # ------------------------------------------------------------------ replies

    def test_replies_in_every_language(self):
        from datetime import datetime

        for lang, (stop, yes, no, free) in REPLIES.items():
            with self.subTest(lang=lang):
                self.patient.write({"lang": lang, "sms_opt_out": False})
                self.env["phone.blacklist"].sudo().search([])._remove([self.patient.sms_number_e164])
                event = self.make_event(datetime(2027, 1, 12, 14, 0))
                self.dispatch(datetime(2027, 1, 11, 14, 30))
                attendee = event.attendee_ids.filtered(lambda a: a.partner_id == self.patient)
                self.assertEqual(self.reply(yes).status_code, 200)
                self.assertEqual(attendee.state, "accepted", yes)
                self.assertEqual(self.reply(no).status_code, 200)
                self.assertEqual(attendee.state, "declined", no)
                self.reply(free)
                note = self.patient.message_ids.filtered(lambda m, free=free: free in (m.body or ""))
                self.assertEqual(len(note), 1, free)
                self.reply(stop)
                self.assertTrue(self.patient.sms_opt_out, stop)
                actions = self.messages(kind="inbound", partner=self.patient).mapped("reply_action")
                self.assertEqual(actions, ["confirm", "cancel", "other", "stop"])
                event.action_archive()
                self.move_to(NOW)
                self.env["clinic.sms.message"].search([("kind", "=", "inbound")]).unlink()

    def test_forged_reply_changes_nothing(self):
        url = self.provider_gateway.inbound_url.replace(self.provider_gateway.webhook_token, "guessed")
        response = self.call(self.emu.post_inbound, self.provider, url, self.patient.sms_number_e164, "STOP")
        self.assertEqual(response.status_code, 404)
        if self.signed:
            self.assertEqual(self.reply("STOP", secret="not-the-secret").status_code, 403)
        self.assertFalse(self.patient.sms_opt_out)
        self.assertFalse(self.messages(kind="inbound"))


@tagged("post_install", "-at_install")
class TestGatewayApiWebhooks(ProviderWebhooks, HttpCase):
    __test__ = True
    provider = "gatewayapi"


@tagged("post_install", "-at_install")
class TestSmsApiWebhooks(ProviderWebhooks, HttpCase):
    __test__ = True
    provider = "smsapi"
    signed = False


@tagged("post_install", "-at_install")
class TestTwilioWebhooks(ProviderWebhooks, HttpCase):
    __test__ = True
    provider = "twilio"

    def test_reply_answer_is_empty_twiml(self):
        response = self.reply("Hej")
        self.assertEqual(response.headers["Content-Type"].split(";")[0], "text/xml")
        self.assertIn("<Response></Response>", response.text)
        self.assertEqual(response.status_code, 200)
