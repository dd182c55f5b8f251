import threading
from datetime import datetime, timedelta

from odoo import api
from odoo.addons.clinic_sms.models.clinic_sms_gateway import ClinicSmsGateway
from odoo.tests import tagged

from .common import (
    NOW,
    ClinicSmsCase,
    commit_test_gateway,
    committed_states,
    delete_committed,
    flaky_gateway,
    queue_committed,
    run_dispatchers,
)


@tagged("post_install", "-at_install")
class TestDispatch(ClinicSmsCase):
    def _reminder(self, partner=None, start=None):
        start = start or NOW + timedelta(days=2)
        event = self.make_event(start, patients=partner or self.patient)
        return event, self.messages(event, "reminder")

    def test_due_reminder_is_sent_once_with_its_cost(self):
        self.company.phone = "+45 70 20 30 40"
        _event, reminder = self._reminder()
        self.dispatch(reminder.due_at - timedelta(minutes=1))
        self.assertEqual(reminder.state, "scheduled")
        self.dispatch(reminder.due_at)
        self.assertEqual(reminder.state, "delivered")
        self.assertEqual(reminder.number, "+4520123456")
        self.assertEqual(reminder.gateway_id, self.gateway)
        self.assertEqual(reminder.attempts, 1)
        self.assertTrue(reminder.provider_ref)
        self.assertEqual(
            reminder.body,
            "Hi Anna, this is a reminder of your appointment at My Company on Wednesday 13 January 2027 "
            "at 11:00 with Dr. Mette Hansen. If you cannot come, please call +45 70 20 30 40.",
        )  # 11:00 clinic time, not UTC (10:00)
        # 171 GSM-7 characters: 2 parts of 153, at 1 credit a part.
        self.assertEqual((reminder.encoding, reminder.segments, reminder.credits), ("gsm7", 2, 2.0))
        ledger = self.env["clinic.sms.credit"].search([("message_id", "=", reminder.id)])
        self.assertEqual(ledger.amount, -2.0)
        self.assertEqual(ledger.kind, "consumption")
        self.assertEqual(ledger.display_name, "SMS sent -2.00")
        self.dispatch(reminder.due_at + timedelta(hours=1))
        self.assertEqual(len([o for o in self.sent if o.ref == str(reminder.id)]), 1, "never twice")

    def test_skipped_reasons(self):
        cases = {
            "opted_out": {"sms_opt_out": True},
            "deceased": {"deceased": True},
            "no_number": {"phone": False, "sms_number": False},
            "invalid_number": {"sms_number": "+45 2O 12 34 56"},
        }
        for reason, values in cases.items():
            with self.subTest(reason=reason):
                partner = self.env["res.partner"].create(
                    {
                        "name": f"Patient {reason}",
                        "phone": "+45 20 44 55 66",
                        "country_id": self.env.ref("base.dk").id,
                    }
                )
                _event, reminder = self._reminder(partner)
                partner.write(values)  # read at dispatch, not at planning
                self.dispatch(reminder.due_at)
                self.assertEqual((reminder.state, reminder.reason), ("skipped", reason))
                self.assertFalse(self.sent_to(partner))

    def test_blacklisted_number_is_skipped(self):
        _event, reminder = self._reminder()
        self.env["phone.blacklist"].sudo().add(self.patient.sms_number_e164)
        self.dispatch(reminder.due_at)
        self.assertEqual((reminder.state, reminder.reason), ("skipped", "opted_out"))

    def test_number_changed_after_planning_is_used(self):
        _event, reminder = self._reminder()
        self.patient.sms_number = "+45 61 23 45 67"
        self.dispatch(reminder.due_at)
        self.assertEqual(reminder.number, "+4561234567")

    def test_template_text_changed_after_planning_is_used(self):
        _event, reminder = self._reminder()
        self.rule_reminder.template_id.body = "See you {appointment_date}, {patient_first_name}!"
        self.dispatch(reminder.due_at)
        self.assertEqual(reminder.body, "See you 13 January 2027, Anna!")

    def test_temporary_failure_is_retried_then_sent(self):
        _event, reminder = self._reminder()
        with flaky_gateway(self, failures=2):
            self.dispatch(reminder.due_at)
            self.assertEqual(
                (reminder.state, reminder.reason, reminder.attempts), ("queued", "gateway_error", 1)
            )
            retry_at = reminder.due_at
            self.assertGreater(retry_at, datetime.now())
            self.dispatch(retry_at - timedelta(seconds=1))
            self.assertEqual(reminder.attempts, 1, "no retry before its back-off")
            self.dispatch(retry_at)
            self.assertEqual((reminder.state, reminder.attempts), ("queued", 2))
            self.assertGreater(
                reminder.due_at - retry_at, retry_at - (reminder.expire_at - timedelta(hours=24))
            )
            self.dispatch(reminder.due_at)
        self.assertEqual((reminder.state, reminder.attempts), ("delivered", 3))
        self.assertFalse(reminder.reason)

    def test_temporary_failures_until_expiry_expire(self):
        partner = self.env["res.partner"].create({"name": "Flaky", "phone": "+45 20 11 99 99"})
        event, reminder = self._reminder(partner, start=NOW + timedelta(hours=3))
        moment = NOW
        while moment <= event.start + timedelta(minutes=30):
            self.dispatch(moment)
            moment += timedelta(minutes=7)
        self.assertEqual(reminder.state, "expired")
        self.assertGreater(reminder.attempts, 3)

    def test_permanent_failure_fails_with_reason(self):
        partner = self.env["res.partner"].create({"name": "Refused", "phone": "+45 20 11 00 00"})
        _event, reminder = self._reminder(partner)
        self.dispatch(reminder.due_at)
        self.assertEqual((reminder.state, reminder.reason), ("failed", "rejected"))
        self.assertIn("0000", reminder.error)
        self.assertFalse(self.env["clinic.sms.credit"].search([("message_id", "=", reminder.id)]))

    def test_reminder_expires_when_appointment_started(self):
        event, reminder = self._reminder()
        self.dispatch(event.start + timedelta(minutes=1))  # the dispatcher was down until after the start
        self.assertEqual(reminder.state, "expired")
        self.assertFalse([o for o in self.sent if o.ref == str(reminder.id)])

    def test_other_messages_expire_after_24_hours(self):
        event = self.make_event(NOW + timedelta(days=5))
        confirmation = self.messages(event, "confirmation")
        self.assertEqual(confirmation.expire_at, NOW + timedelta(hours=24))
        self.gateway.active = False
        self.company.clinic_sms_gateway_id = False
        self.dispatch()
        self.assertEqual((confirmation.state, confirmation.reason), ("queued", "no_gateway"))
        self.dispatch(NOW + timedelta(hours=24))
        self.assertEqual(confirmation.state, "expired")

    def test_no_sms_outside_the_window(self):
        # A confirmation booked at 22:00 local waits for 08:00, and goes then.
        self.move_to(datetime(2027, 1, 11, 21, 0))
        event = self.make_event(NOW + timedelta(days=3))
        confirmation = self.messages(event, "confirmation")
        self.dispatch(datetime(2027, 1, 12, 2, 0))  # 03:00 local
        self.assertNotEqual(confirmation.state, "delivered")
        self.assertFalse(self.sent)
        self.dispatch(datetime(2027, 1, 12, 7, 0))  # 08:00 local
        self.assertEqual(confirmation.state, "delivered")

    def test_overdue_reminder_after_downtime_waits_for_window(self):
        _event, reminder = self._reminder(start=datetime(2027, 1, 13, 12, 0))  # Wed 13:00 local
        # due Tue 13:00 local; the dispatcher is down until Wednesday 03:00 local
        self.dispatch(datetime(2027, 1, 13, 2, 0))
        self.assertEqual((reminder.state, reminder.reason), ("queued", "outside_window"))
        self.assertFalse(self.sent)
        self.dispatch(datetime(2027, 1, 13, 7, 0))
        self.assertEqual(reminder.state, "delivered")

    def test_credit_check_holds_messages_without_credit(self):
        self.company.clinic_sms_credit_check = True
        _event, reminder = self._reminder()
        self.dispatch(reminder.due_at)
        self.assertEqual((reminder.state, reminder.reason), ("queued", "no_credit"))
        self.env["clinic.sms.credit"].create(
            {"company_id": self.company.id, "kind": "purchase", "amount": 10, "note": "pack"}
        )
        self.dispatch(reminder.due_at + timedelta(minutes=10))
        self.assertEqual(reminder.state, "delivered")
        self.company.invalidate_recordset(["clinic_sms_credit_balance"])
        self.assertEqual(self.company.clinic_sms_credit_balance, 9.0, "one part, one credit")

    def test_polish_text_costs_unicode_parts(self):
        self.patient.lang = False
        self.rule_reminder.template_id.body = (
            "Przypominamy o wizycie {appointment_date} o {appointment_time} u {practitioner}. Dziękujemy!"
        )
        _event, reminder = self._reminder()
        self.dispatch(reminder.due_at)
        self.assertEqual(
            reminder.body, "Przypominamy o wizycie 13 January 2027 o 11:00 u Dr. Mette Hansen. Dziękujemy!"
        )
        # 78 characters, one of them "ę": UCS-2, 2 parts of 67 (not 1 of 160 or 2 of 70 by chance).
        self.assertEqual((reminder.encoding, reminder.segments, reminder.credits), ("ucs2", 2, 2.0))

    def test_parts_and_credits_of_a_long_danish_a_polish_and_a_euro_text(self):
        # The texts of tests/test_segments.py, each chosen so that characters / 160 (or / 70)
        # would give another count; at 1.25 credits a part, credits differ from parts too.
        self.company.clinic_sms_credits_per_part = 1.25
        cases = {
            # 310 GSM-7 characters: 3 parts of 153.
            "danish": (
                "Hej Søren! Husk din tid hos Tandlægen Ærø onsdag den 13. januar 2027 kl. 11:00 hos Dr. "
                "Mette Hansen, Nørrebrogade 12, 2. sal, 2200 København N. Mød gerne 10 minutter før, og "
                "tag dit sundhedskort med. Parkering i gården bag klinikken. Kan du ikke komme, så svar "
                "NEJ senest dagen før. Vi glæder os. Mvh Klinikken",
                ("gsm7", 3, 3.75),
            ),
            # 139 characters with Polish letters: UCS-2, 3 parts of 67.
            "polish": (
                "Dzień dobry! Przypominamy o wizycie w środę 13 stycznia 2027 o 11:00 u dr Łukasza "
                "Wójcika. Prosimy o potwierdzenie: TAK lub NIE. Dziękujemy",
                ("ucs2", 3, 3.75),
            ),
            # 159 characters, two of them €: 161 septets, 2 parts.
            "euro": (
                "Hej Anna, husk din tid i morgen kl. 11:00. Ved afbud senere end 24 timer før tiden "
                "opkræves et gebyr på 50 €, ved udeblivelse 75 €. Afbud: svar NEJ. Mvh Klinik",
                ("gsm7", 2, 2.5),
            ),
        }
        for name, (body, (encoding, parts, cost)) in cases.items():
            with self.subTest(name):
                message = self.env["clinic.sms.message"].create(
                    {"kind": "manual", "partner_id": self.patient.id, "body": body, "state": "queued"}
                )
                self.dispatch()
                self.assertEqual(message.state, "delivered")
                self.assertEqual(message.body, body)
                self.assertEqual(
                    (message.encoding, message.segments, message.credits), (encoding, parts, cost)
                )
                ledger = self.env["clinic.sms.credit"].search([("message_id", "=", message.id)])
                self.assertEqual((ledger.kind, ledger.amount), ("consumption", -cost))

    def test_nothing_due_costs_few_queries(self):
        self._reminder()
        self.dispatch()  # sends the booking confirmation; the reminder is due tomorrow
        self.assertEqual(len(self.sent), 1)
        self.env.flush_all()
        self.env.invalidate_all()
        with self.assertQueryCount(5):
            self.env["clinic.sms.message"]._cron_dispatch()

    def test_queries_per_batch_do_not_grow_with_batch_size(self):
        counts = []
        for size in (3, 12):
            partners = self.env["res.partner"].create(
                [{"name": f"P{size}-{i}", "phone": f"+45 40 1{size % 10} {i:02d} 11"} for i in range(size)]
            )
            start = NOW + timedelta(days=size)
            self.move_to(NOW)
            self.make_event(start, patients=partners)
            self.dispatch()  # the booking confirmations
            self.move_to(start - timedelta(hours=24))
            self.env.flush_all()
            self.env.invalidate_all()
            before = self.cr.sql_log_count
            self.env["clinic.sms.message"]._cron_dispatch()
            self.env.flush_all()
            counts.append(self.cr.sql_log_count - before)
        self.assertEqual(len(self.sent), 3 + 12 + 3 + 12, "confirmations and reminders")
        self.assertEqual(counts[0], counts[1], f"queries for 3 and 12 messages: {counts}")


@tagged("post_install", "-at_install")
class TestConcurrentDispatch(ClinicSmsCase):
    """Two dispatchers on two connections at once never send one message twice."""

    def test_two_dispatchers_never_send_twice(self):
        commit_test_gateway(self)
        registry = self.registry
        with registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {"tracking_disable": True})
            partners = env["res.partner"].create(
                [
                    {"name": f"Concurrent {i}", "phone": f"+45 30 1{i // 10} {i % 10:02d} 33"}
                    for i in range(60)
                ]
            )
            messages = queue_committed(env, partners, "Concurrent test", NOW)
            ids, partner_ids = messages.ids, partners.ids
        self.addCleanup(delete_committed, registry, ids, partner_ids)
        handed = []
        lock = threading.Lock()
        original = ClinicSmsGateway._clinic_sms_send

        def slow_send(gateway, outgoing):
            with lock:
                handed.extend(o.ref for o in outgoing)
            return original(gateway, outgoing)

        self.patch(ClinicSmsGateway, "_clinic_sms_send", slow_send)
        errors = run_dispatchers(registry, batch_size=7)
        self.assertFalse(errors)
        self.assertEqual(sorted(handed), sorted(str(i) for i in ids), "each message handed over exactly once")
        self.assertEqual(committed_states(registry, ids), {("delivered", None): 60})
