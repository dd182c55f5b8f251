import threading
from datetime import datetime

from odoo import api, fields
from odoo.addons.base.tests.test_ir_cron import CronMixinCase
from odoo.addons.clinic_sms.models.clinic_sms_credit_state import ClinicSmsCreditState
from odoo.addons.clinic_sms.models.clinic_sms_gateway import ClinicSmsGateway
from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, new_test_user

from .common import (
    ClinicSmsCase,
    commit_test_gateway,
    committed_states,
    delete_committed,
    queue_committed,
    queued_messages,
    run_dispatchers,
)


class TestCredits(ClinicSmsCase, CronMixinCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["clinic.sms.credit"].search([("company_id", "=", cls.company.id)])  # nothing yet
        cls.company.write(
            {
                "clinic_sms_credit_thresholds": "50,30,0",
                "clinic_sms_window_start": 0.0,
                "clinic_sms_window_end": 24.0,
            }
        )

    def ledger(self, kind=None):
        domain = [("company_id", "=", self.company.id)]
        if kind:
            domain.append(("kind", "=", kind))
        return self.env["clinic.sms.credit"].search(domain, order="id")

    def buy(self, amount):
        return self.env["clinic.sms.credit"].create(
            {"company_id": self.company.id, "kind": "purchase", "amount": amount, "note": "pack"}
        )

    def send(self, count=1, body="Hej", partner=None):
        messages = queued_messages(self.env, [partner or self.patient] * count, body)
        with self.capture_triggers("clinic_sms.ir_cron_clinic_sms_credits") as triggers:
            self.dispatch()
        if triggers.records:
            # The dispatcher asks for the credits cron at once when a threshold is crossed.
            self.env["res.company"]._cron_clinic_sms_credits()
        return messages

    def balances(self):
        self.company.invalidate_recordset()
        return (
            self.company.clinic_sms_credit_balance,
            self.company.clinic_sms_allowance_balance,
            self.company.clinic_sms_pack_balance,
        )

    def test_allowance_is_granted_and_used_before_packs(self):
        self.company.clinic_sms_monthly_allowance = 3
        self.buy(100)
        self.send(2)
        allowance = self.ledger("allowance")
        self.assertEqual((allowance.amount, allowance.period), (3.0, "2027-01"))
        self.assertEqual(allowance.date, datetime(2026, 12, 31, 23, 0), "1 January, 00:00 in Copenhagen")
        self.assertEqual(self.balances(), (101.0, 1.0, 100.0))
        # A message of two parts with one allowance credit left: one from each.
        self.send(1, body="x" * 200)
        line = self.ledger("consumption")[-1]
        self.assertEqual((line.amount, line.allowance_amount, line.parts), (-2.0, -1.0, 2))
        self.assertEqual(self.balances(), (99.0, 0.0, 99.0))
        self.send(1)
        self.assertEqual(self.balances(), (98.0, 0.0, 98.0), "then the packs")

    def test_unused_allowance_lapses_at_month_end_in_clinic_time(self):
        self.company.clinic_sms_monthly_allowance = 10
        self.buy(5)
        self.send(3)
        self.assertEqual(self.balances(), (12.0, 7.0, 5.0))
        cron = self.env["res.company"]._cron_clinic_sms_credits
        self.move_to(datetime(2027, 1, 31, 22, 30))  # 23:30 in Copenhagen: still January
        cron()
        self.assertFalse(self.ledger("lapse"))
        self.move_to(datetime(2027, 1, 31, 23, 30))  # 00:30 on 1 February in Copenhagen
        cron()
        cron()  # idempotent
        lapse = self.ledger("lapse")
        self.assertEqual(
            (lapse.amount, lapse.period, lapse.date), (-7.0, "2027-02", datetime(2027, 1, 31, 23, 0))
        )
        self.assertEqual(self.ledger("allowance").mapped("period"), ["2027-01", "2027-02"])
        self.assertEqual(self.balances(), (15.0, 10.0, 5.0), "packs roll over, the allowance starts again")

    def test_dispatch_after_midnight_never_spends_last_months_allowance(self):
        self.company.clinic_sms_monthly_allowance = 10
        self.send(1)
        self.move_to(datetime(2027, 1, 31, 23, 30))
        self.send(1)  # before the hourly cron ran: the dispatcher rolls the month itself
        self.assertEqual(self.ledger("lapse").amount, -9.0)
        self.assertEqual(self.balances(), (9.0, 9.0, 0.0))

    def test_prefix_prices(self):
        self.env["clinic.sms.credit.price"].create(
            {"company_id": self.company.id, "prefix": "+48", "credits_per_part": 2.5}
        )
        polish = self.env["res.partner"].create({"name": "Jan", "sms_number": "+48 601 234 567"})
        [pl] = self.send(partner=polish)
        [dk] = self.send()
        self.assertEqual((pl.credits, dk.credits), (2.5, 1.0))

    def test_credit_check_holds_what_cannot_be_paid(self):
        self.company.clinic_sms_credit_check = True
        self.buy(2)
        messages = self.send(3)
        self.assertEqual(messages.mapped("state"), ["delivered", "delivered", "queued"])
        self.assertEqual(messages[2].reason, "no_credit")
        self.assertEqual(self.balances()[0], 0.0)

    def test_refund_when_the_gateway_does_not_take_it(self):
        self.company.clinic_sms_credit_check = True
        self.buy(10)
        refused = self.env["res.partner"].create({"name": "Refused", "sms_number": "+45 20 12 00 00"})
        busy = self.env["res.partner"].create({"name": "Busy", "sms_number": "+45 20 12 99 99"})
        [failed] = self.send(partner=refused)
        [waiting] = self.send(partner=busy)
        self.assertEqual((failed.state, waiting.state), ("failed", "queued"))
        self.assertEqual(self.ledger("consumption").mapped("amount"), [-1.0, -1.0])
        refunds = self.ledger("refund")
        self.assertEqual(refunds.mapped("amount"), [1.0, 1.0])
        self.assertEqual(refunds.message_id, failed | waiting)
        self.assertEqual(self.balances()[0], 10.0)

    def test_each_threshold_warns_once_per_crossing(self):
        admin = self.env["res.users"].create(
            {
                "name": "SMS admin",
                "login": "sms_admin_credits",
                "email": "sms.admin@clinic.example",
                "group_ids": [(6, 0, [self.env.ref("clinic_sms.group_clinic_sms_manager").id])],
            }
        )
        self.assertIn("sms.admin@clinic.example", self.company._clinic_sms_admin_emails())

        before = self.env["mail.mail"].search([], order="id desc", limit=1).id or 0

        def warnings():
            return self.env["mail.mail"].search(
                [("model", "=", "res.company"), ("res_id", "=", self.company.id), ("id", ">", before)],
                order="id",
            )

        self.buy(52)
        self.send(1)  # 51
        self.assertFalse(warnings())
        self.send(2)  # 49: below 50
        self.assertEqual(len(warnings()), 1)
        self.assertIn("49", warnings().body_html)
        self.assertIn(admin.email, warnings().email_to)
        self.send(1)  # 48: nothing new
        self.assertEqual(len(warnings()), 1)
        self.send(20)  # 28: below 30
        self.assertEqual(len(warnings()), 2)
        self.assertEqual(self.company.clinic_sms_credit_warned, "50,30")
        self.buy(100)  # 128: above every threshold again
        self.env["res.company"]._cron_clinic_sms_credits()
        self.assertFalse(self.company.clinic_sms_credit_warned)
        self.send(79)  # 49: a new crossing of 50
        self.assertEqual(len(warnings()), 3)
        self.send(49)  # 0: below 30 and 0 at once, one e-mail
        self.assertEqual(len(warnings()), 4)
        self.assertEqual(self.company.clinic_sms_credit_warned, "50,30,0")

    def test_a_dispatch_batch_locks_its_companys_credits_once(self):
        """Reserving, refunding, charging and the low-balance check share one lock per batch."""
        locks = []
        original = ClinicSmsCreditState._lock

        def counting_lock(state, companies):
            locks.append(companies.ids)
            return original(state, companies)

        self.patch(ClinicSmsCreditState, "_lock", counting_lock)
        self.buy(40)  # 40: below the threshold of 50 already
        refused = self.env["res.partner"].create({"name": "Refused", "sms_number": "+45 20 12 00 00"})
        for check in (True, False):
            with self.subTest(credit_check=check):
                self.company.clinic_sms_credit_check = check
                locks.clear()
                messages = self.env["clinic.sms.message"].create(
                    [
                        {"kind": "manual", "partner_id": partner.id, "body": "Hej", "state": "queued"}
                        for partner in (self.patient, self.patient2, refused)
                    ]
                )
                with self.capture_triggers("clinic_sms.ir_cron_clinic_sms_credits") as triggers:
                    self.dispatch()
                self.assertEqual(messages.mapped("state"), ["delivered", "delivered", "failed"])
                self.assertEqual(locks, [[self.company.id]])
                self.assertEqual(len(triggers.records), 1, "below 50, not warned yet: the credits cron runs")
        self.assertEqual(self.ledger("refund").message_id.partner_id, refused, "reserved, then refunded")
        self.assertEqual(self.balances()[0], 36.0)

    def test_the_credit_state_is_a_model_only_the_ledger_uses(self):
        """The lock and state rows are records of the add-on's own model (so an uninstall drops its
        table) and no user reads or writes them."""
        self.buy(100)
        self.send(1)
        State = self.env["clinic.sms.credit.state"]
        state = State.search([("company_id", "=", self.company.id)])
        self.assertEqual((state.period, state.warned), ("2027-01", False), "January rolled, no allowance")
        model = self.env["ir.model"]._get("clinic.sms.credit.state")
        self.assertEqual(model.modules, "clinic_sms")
        self.assertEqual(State._table, "clinic_sms_credit_state")
        manager = new_test_user(
            self.env,
            login="credit_state_manager",
            groups="base.group_user,clinic_sms.group_clinic_sms_manager",
        )
        for operation in (
            lambda: State.with_user(manager).search([]),
            lambda: State.with_user(manager).create({"company_id": self.company.id}),
            lambda: state.with_user(manager).write({"period": "2026-12"}),
        ):
            with self.assertRaises(AccessError):
                operation()
        self.company.clinic_sms_monthly_allowance = 5  # counts from now: the next roll grants it
        self.assertFalse(state.period)
        self.send(1)
        self.assertEqual(state.period, "2027-01")
        self.assertEqual(self.ledger("allowance").mapped("amount"), [5.0])
        self.assertEqual(self.balances(), (103.0, 4.0, 99.0))

    def test_thresholds_are_validated(self):
        from odoo.exceptions import ValidationError

        with self.assertRaises(ValidationError):
            self.company.clinic_sms_credit_thresholds = "50,thirty"
        with self.assertRaises(ValidationError):
            self.company.clinic_sms_monthly_allowance = -5


class TestCreditsConcurrency(TransactionCase):
    """Two dispatchers on two real connections spend one balance: it never goes below zero."""

    def test_two_dispatchers_never_overspend(self):
        commit_test_gateway(self)
        registry = self.registry
        company_id = self.env.company.id
        with registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {"tracking_disable": True})
            company = env["res.company"].browse(company_id)
            saved = company.read(
                [
                    "clinic_sms_credit_check",
                    "clinic_sms_window_start",
                    "clinic_sms_window_end",
                    "clinic_sms_enabled",
                    "clinic_sms_credits_per_part",
                    "clinic_sms_credit_thresholds",
                ]
            )[0]
            company.write(
                {
                    "clinic_sms_credit_check": True,
                    "clinic_sms_window_start": 0.0,
                    "clinic_sms_window_end": 24.0,
                    "clinic_sms_enabled": True,
                    "clinic_sms_credits_per_part": 1.0,
                    "clinic_sms_credit_thresholds": "",
                }
            )
            before = company._clinic_sms_balances().get(company_id, (0.0, 0.0))[0]
            topup = env["clinic.sms.credit"].create(
                {"company_id": company_id, "kind": "adjustment", "amount": 25 - before, "note": "test"}
            )
            partners = env["res.partner"].create(
                [{"name": f"Credit {i}", "phone": f"+45 30 2{i // 10} {i % 10:02d} 44"} for i in range(60)]
            )
            messages = queue_committed(env, partners, "Hej", fields.Datetime.now())
            ids, partner_ids, topup_id = messages.ids, partners.ids, topup.id

        def cleanup():
            delete_committed(registry, ids, partner_ids, [topup_id])
            with registry.cursor() as cr:
                env = api.Environment(cr, api.SUPERUSER_ID, {})
                values = {k: v for k, v in saved.items() if k != "id"}
                env["res.company"].browse(company_id).write(values)

        self.addCleanup(cleanup)
        original = ClinicSmsGateway._clinic_sms_send

        def slow_send(gateway, outgoing):
            threading.Event().wait(0.02)  # both dispatchers are inside a batch at once
            return original(gateway, outgoing)

        self.patch(ClinicSmsGateway, "_clinic_sms_send", slow_send)
        errors = run_dispatchers(registry, batch_size=4)
        self.assertFalse(errors)
        states = committed_states(registry, ids)
        with registry.cursor() as cr:
            cr.execute(
                "SELECT COALESCE(SUM(amount), 0) FROM clinic_sms_credit WHERE company_id = %s", [company_id]
            )
            balance = float(cr.fetchone()[0])
        self.assertEqual(states, {("delivered", None): 25, ("queued", "no_credit"): 35})
        self.assertEqual(balance, 0.0)
