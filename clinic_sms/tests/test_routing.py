from datetime import timedelta

import psycopg2

from odoo.addons.clinic_sms.core import gateway as gw
from odoo.addons.clinic_sms.core.providers.test import TestClient
from odoo.addons.clinic_sms.models.clinic_sms_gateway import ClinicSmsGateway

from .common import NOW, ClinicSmsCase, queued_messages


class ScriptedClient(TestClient):
    """Answers every message with ``status`` (or like the test gateway when None) and records it."""

    def __init__(self, status=None, retry_after=None, raises=None):
        super().__init__()
        self.status, self.retry_after, self.raises = status, retry_after, raises
        self.got = []

    def send(self, messages):
        self.got.extend(messages)
        if self.raises:
            raise self.raises
        if self.status is None:
            return super().send(messages)
        return [
            gw.Result(m.ref, self.status, reason=gw.R_UNREACHABLE, error="down", retry_after=self.retry_after)
            for m in messages
        ]


class TestRouting(ClinicSmsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Gateway = cls.env["clinic.sms.gateway"]
        cls.gateway_pl = Gateway.create(
            {"name": "SMSAPI", "provider": "test", "prefixes": "+48", "sequence": 1}
        )
        cls.gateway_backup = Gateway.create({"name": "Backup", "provider": "test", "sequence": 20})
        cls.patient_pl = cls.env["res.partner"].create(
            {"name": "Jan Kowalski", "sms_number": "+48 601 234 567", "lang": "en_US"}
        )

    def use_clients(self, **clients):
        """Give each gateway its own client: keys are the attribute names of the gateways."""
        by_id = {getattr(self, name).id: client for name, client in clients.items()}
        original = ClinicSmsGateway._clinic_sms_client

        def client_for(gateway):
            return by_id.get(gateway.id) or original(gateway)

        self.patch(ClinicSmsGateway, "_clinic_sms_client", client_for)

    def notice(self, partner):
        return queued_messages(self.env, partner, "Hello", due_at=NOW)

    def test_prefix_routes_polish_numbers_to_their_gateway(self):
        pl, dk = self.notice(self.patient_pl), self.notice(self.patient)
        self.dispatch()
        self.assertEqual(pl.gateway_id, self.gateway_pl)
        self.assertEqual(dk.gateway_id, self.gateway, "the default gateway serves the other numbers")
        self.assertEqual((pl.state, dk.state), ("delivered", "delivered"))

    def test_temporary_failure_fails_over_to_next_gateway_in_the_same_run(self):
        down = ScriptedClient(gw.TEMPORARY)
        self.use_clients(gateway=down)
        message = self.notice(self.patient)
        self.dispatch()
        self.assertEqual(len(down.got), 1, "the default gateway was tried first")
        self.assertEqual(message.gateway_id, self.gateway_backup)
        self.assertEqual(message.state, "delivered")
        self.assertEqual(message.attempts, 1)

    def test_failover_only_to_gateways_that_serve_the_number(self):
        down = ScriptedClient(gw.TEMPORARY)
        self.use_clients(gateway_pl=down)
        self.gateway.prefixes = "+45"
        self.gateway_backup.prefixes = "+45,+46"
        message = self.notice(self.patient_pl)
        self.dispatch()
        self.assertEqual(len(down.got), 1)
        self.assertEqual(message.state, "queued", "no other gateway sends to +48: retried later")
        self.assertEqual(message.reason, "gateway_unreachable")
        self.assertEqual(message.due_at, NOW + timedelta(minutes=1))

    def test_all_gateways_down_retries_with_backoff(self):
        first, second, third = (
            ScriptedClient(gw.TEMPORARY),
            ScriptedClient(gw.TEMPORARY),
            ScriptedClient(gw.TEMPORARY),
        )
        self.use_clients(gateway=first, gateway_backup=second, gateway_pl=third)
        message = self.notice(self.patient)
        self.dispatch()
        self.assertEqual((len(first.got), len(second.got), len(third.got)), (1, 1, 0))
        self.assertEqual(message.state, "queued")
        self.assertEqual(message.due_at, NOW + timedelta(minutes=1))
        self.assertIn("down", message.error)

    def test_retry_after_is_honoured(self):
        busy = ScriptedClient(gw.TEMPORARY, retry_after=900)
        self.gateway_backup.active = False
        self.use_clients(gateway=busy)
        message = self.notice(self.patient)
        self.dispatch()
        self.assertEqual(message.state, "queued")
        self.assertEqual(
            message.due_at, NOW + timedelta(seconds=900), "15 min asked, more than the 1 min back-off"
        )

    def test_client_that_raises_loses_nothing(self):
        broken = ScriptedClient(raises=RuntimeError("bug"))
        self.gateway_backup.active = False
        self.use_clients(gateway=broken)
        message = self.notice(self.patient)
        with self.assertLogs("odoo.addons.clinic_sms.models.clinic_sms_gateway", "ERROR"):
            self.dispatch()
        self.assertEqual(message.state, "queued")
        self.assertEqual(message.reason, "gateway_error")
        self.assertIn("RuntimeError", message.error)

    def test_wrong_result_count_counts_as_temporary(self):
        short = ScriptedClient()
        short.send = lambda messages: []
        self.gateway_backup.active = False
        self.use_clients(gateway=short)
        message = self.notice(self.patient)
        with self.assertLogs("odoo.addons.clinic_sms.models.clinic_sms_gateway", "ERROR"):
            self.dispatch()
        self.assertEqual((message.state, message.reason), ("queued", "gateway_error"))

    def test_no_gateway_for_the_country(self):
        (self.gateway | self.gateway_backup).write({"prefixes": "+45"})
        self.gateway_pl.active = False
        message = self.notice(self.patient_pl)
        self.dispatch()
        self.assertEqual((message.state, message.reason), ("queued", "no_gateway"))
        self.assertIn("country", message.error)

    def test_permanent_failure_does_not_fail_over(self):
        refusing = ScriptedClient(gw.PERMANENT)
        backup = ScriptedClient()
        self.use_clients(gateway=refusing, gateway_backup=backup)
        message = self.notice(self.patient)
        self.dispatch()
        self.assertEqual(message.state, "failed")
        self.assertFalse(backup.got, "a number refused for good is not tried elsewhere")

    def test_webhook_urls_carry_gateway_and_token(self):
        gateway = self.env["clinic.sms.gateway"].create({"name": "GW", "provider": "gatewayapi"})
        self.assertTrue(gateway.dlr_url.endswith(f"/clinic_sms/dlr/{gateway.id}/{gateway.webhook_token}"))
        self.assertIn(f"/clinic_sms/inbound/{gateway.id}/", gateway.inbound_url)
        old = gateway.webhook_token
        gateway.action_regenerate_webhook_token()
        self.assertNotEqual(gateway.webhook_token, old)
        self.assertTrue(gateway._check_webhook_token(gateway.webhook_token))
        self.assertFalse(gateway._check_webhook_token(old))
        self.assertFalse(gateway._check_webhook_token(""))

    def test_sender_and_timeout_are_validated(self):
        from odoo.exceptions import ValidationError
        from odoo.tools import mute_logger

        with self.assertRaises(ValidationError):
            self.gateway_backup.sender = "Much too long sender"
        with mute_logger("odoo.sql_db"), self.assertRaises(psycopg2.IntegrityError), self.cr.savepoint():
            self.gateway_backup.timeout = 0
            self.gateway_backup.flush_recordset()
