"""A bad day at the provider: 1,000 messages through the gateway emulator over real HTTP while 30 %
of the requests fail for now and others lose their connection. Every message ends delivered or
expired, none is accepted twice, none is lost."""

from collections import Counter
from datetime import timedelta

from odoo import fields
from odoo.addons.clinic_sms.core import phone

from .common import NOW, ClinicSmsCase, queued_messages

TOTAL = 1000


class TestFaults(ClinicSmsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.emu = cls.start_emulator()
        numbers = (f"+452{n:07d}" for n in range(1234567, 9999999, 7919))
        mobiles = [
            n for n in numbers if phone.check(n, "DK").state == "valid" and n[-4:] not in ("0000", "1111")
        ]
        cls.patients = cls.env["res.partner"].create(
            [{"name": f"Patient {i}", "sms_number": number} for i, number in enumerate(mobiles[:TOTAL])]
        )

    def setUp(self):
        super().setUp()
        self.emu.clear()
        self.emu.heal()

    def use(self, provider, **values):
        gateway = self.env["clinic.sms.gateway"].create(
            {"name": provider, "provider": provider, "api_url": self.emu.url, **values}
        )
        self.company.clinic_sms_gateway_id = gateway
        self.gateway.active = False
        return gateway

    def queue(self, patients):
        return queued_messages(
            self.env, patients, "Husk din tid i morgen", due_at=NOW, expire_at=NOW + timedelta(hours=24)
        )

    def run_until_done(self, messages, batch_size, rounds=40):
        """Dispatch, let the clock run past the back-off, again, until nothing is queued."""
        Message = self.env["clinic.sms.message"]
        for _round in range(rounds):
            Message._cron_dispatch(batch_size=batch_size)
            if not messages.filtered(lambda m: m.state == "queued"):
                return
            self.move_to(fields.Datetime.now() + timedelta(minutes=61))
        self.fail(f"messages still queued after {rounds} rounds")

    def assert_each_accepted_once(self, messages, provider):
        accepted = Counter(m.ref for m in self.emu.messages if m.provider == provider)
        self.assertEqual(set(accepted), {str(i) for i in messages.ids}, "none lost")
        self.assertEqual(max(accepted.values()), 1, "none sent twice")

    def sends(self, provider):
        """How many send requests reached the emulator, failed or not."""
        return self.emu.calls.count((provider, "send"))

    def test_thousand_messages_through_a_failing_batch_gateway(self):
        self.assertEqual(len(self.patients), TOTAL)
        self.assertTrue(all(p.sms_number_state == "valid" for p in self.patients))
        self.use("gatewayapi", api_key="token")
        messages = self.queue(self.patients)
        self.emu.faults(temporary_rate=0.3, drop_rate=0.1, seed=7)
        self.run_until_done(messages, batch_size=50)
        self.assertEqual(Counter(messages.mapped("state")), Counter({"sent": TOTAL}))
        self.assertTrue(any(m.attempts > 1 for m in messages), "some needed several attempts")
        self.assert_each_accepted_once(messages, "gatewayapi")
        # Every attempt the log counts was a request the gateway saw: batches of at most 50, 20 of
        # them at least for 1,000 messages, more since some failed.
        attempts, sends = sum(messages.mapped("attempts")), self.sends("gatewayapi")
        self.assertGreater(sends, TOTAL // 50)
        self.assertLessEqual(sends, attempts)
        self.assertGreaterEqual(sends * 50, attempts)
        # The provider reports them all delivered; the hourly poll finds out.
        self.emu.heal()
        for message in self.emu.messages:
            self.emu.post_report("gatewayapi", message.provider_id, "delivered", url=self.emu.sink_url())
        self.env["clinic.sms.message"]._cron_refresh_status()
        self.assertEqual(Counter(messages.mapped("state")), Counter({"delivered": TOTAL}))

    def test_messages_expire_when_the_gateway_never_recovers(self):
        self.use("gatewayapi", api_key="token")
        messages = self.queue(self.patients[:50])
        self.emu.fail("500")
        self.run_until_done(messages, batch_size=50)
        self.assertEqual(set(messages.mapped("state")), {"expired"})
        self.assertFalse([m for m in self.emu.messages if m.provider == "gatewayapi"])
        # Tried until they expired: one batch request a round (every 61 minutes) while the window
        # (08:00-20:00 Copenhagen) is open during the 24 hours they live: 11:00 to 19:08 on the
        # first day (9), 08:21, 09:22 and 10:23 the next morning (3).
        self.assertEqual(self.sends("gatewayapi"), 12)
        self.assertEqual(set(messages.mapped("attempts")), {12})

    def test_one_request_per_message_gateway_with_dropped_connections(self):
        self.use("twilio", username="AC" + "2" * 32, password="token", sender="+4570203040")
        messages = self.queue(self.patients[:200])
        self.emu.faults(temporary_rate=0.3, drop_rate=0.1, seed=11)
        self.run_until_done(messages, batch_size=50)
        self.assertEqual(set(messages.mapped("state")), {"sent"})
        self.assert_each_accepted_once(messages, "twilio")
        # One request per message and attempt: the gateway saw exactly the attempts the log counts.
        self.assertEqual(self.sends("twilio"), sum(messages.mapped("attempts")))
        self.assertGreater(self.sends("twilio"), 200, "some requests failed and were sent again")
