"""A crash never sends twice.

The rows a dispatcher is about to hand to a gateway are committed as ``sending`` first; a run that
finds rows ``sending`` that no live dispatcher holds resolves them without a blind re-send: SMSAPI
again under the same ``idx`` (it refuses duplicates), the status API where the provider's reference
is known, else ``failed`` / ``interrupted`` for staff. The cron stops between batches when its time
is up.

The first tests kill a real dispatching process (SIGKILL) after the gateway emulator accepted its
batch and count what the emulator received; their data is committed through connections of their
own (the other process must see it) and removed afterwards.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from unittest.mock import patch

from freezegun import freeze_time

import odoo
from odoo import api, fields
from odoo.addons.clinic_sms.core import phone
from odoo.addons.clinic_sms.models.clinic_sms_gateway import ClinicSmsGateway
from odoo.tests import TransactionCase
from odoo.tools import config

from .common import NOW, ClinicSmsCase, emulator_class

#: A dispatcher run in a process of its own: ``python -c DISPATCHER <batch size> <db> <odoo options>``.
DISPATCHER = """
import sys
from odoo import api
from odoo.modules.registry import Registry
from odoo.tools import config

config.parse_config(sys.argv[3:], setup_logging=True)
with Registry(sys.argv[2]).cursor() as cr:
    env = api.Environment(cr, api.SUPERUSER_ID, {})
    Message = env["clinic.sms.message"].with_context(clinic_sms_autocommit=True)
    Message._cron_dispatch(batch_size=int(sys.argv[1]))
"""
GRACE_PASSED = timedelta(minutes=5)


def mobile_numbers(count):
    """``count`` valid Danish mobile numbers that neither the emulator nor the test gateway refuse."""
    numbers = (f"+452{n:07d}" for n in range(1234567, 9999999, 7919))
    valid = (
        n for n in numbers if phone.check(n, "DK").state == "valid" and n[-4:] not in ("0000", "1111", "9999")
    )
    return [next(valid) for _ in range(count)]


class DispatcherKilled(BaseException):
    """Stands for the end of a dispatcher's process right after the gateway answered."""


class CommittedClinic(TransactionCase):
    """The company set up for sending, a gateway, patients and queued messages, committed through
    a connection of their own and removed when the test ends."""

    def commit_clinic(self, count, provider="test", api_url="", expire=timedelta(hours=24)):
        registry = self.registry
        now = fields.Datetime.now()
        with registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {"tracking_disable": True})
            company = env.company
            fields_saved = [
                "clinic_sms_enabled",
                "clinic_sms_window_start",
                "clinic_sms_window_end",
                "clinic_sms_credit_check",
                "clinic_sms_credits_per_part",
                "clinic_sms_gateway_id",
            ]
            saved = company.read(fields_saved)[0]
            cr.execute("SELECT COALESCE(MAX(id), 0) FROM clinic_sms_credit")
            last_credit = cr.fetchone()[0]
            # A database without demo data has no gateway: the test's own, committed and removed after.
            test_gateway = env["clinic.sms.gateway"].create(
                {"name": "Crash test gateway", "provider": "test"}
            )
            gateway = test_gateway
            if provider != "test":
                gateway = env["clinic.sms.gateway"].create(
                    {
                        "name": f"Crash {provider}",
                        "provider": provider,
                        "api_url": api_url,
                        "api_key": "token",
                    }
                )
                test_gateway.active = False
            company.write(
                {
                    "clinic_sms_enabled": True,
                    "clinic_sms_window_start": 0.0,
                    "clinic_sms_window_end": 24.0,
                    "clinic_sms_credit_check": False,
                    "clinic_sms_credits_per_part": 1.0,
                    "clinic_sms_gateway_id": gateway.id,
                }
            )
            partners = env["res.partner"].create(
                [{"name": f"Crash {i}", "sms_number": n} for i, n in enumerate(mobile_numbers(count))]
            )
            messages = env["clinic.sms.message"].create(
                [
                    {
                        "kind": "manual",
                        "partner_id": p.id,
                        "body": "Husk din tid i morgen kl. 10",
                        "state": "queued",
                        "due_at": now - timedelta(minutes=1),
                        "expire_at": now + expire,
                        "company_id": company.id,
                    }
                    for p in partners
                ]
            )
            ids, partner_ids, gateway_id = messages.ids, partners.ids, gateway.id
            test_gateway_id = test_gateway.id

        def cleanup():
            with registry.cursor() as cr:
                cr.execute(
                    "DELETE FROM clinic_sms_credit WHERE message_id = ANY(%s) OR id > %s", [ids, last_credit]
                )
                cr.execute("DELETE FROM clinic_sms_message WHERE id = ANY(%s)", [ids])
                cr.execute("DELETE FROM clinic_sms_credit_state")  # the month it rolled
                cr.execute("DELETE FROM res_partner WHERE id = ANY(%s)", [partner_ids])
                env = api.Environment(cr, api.SUPERUSER_ID, {})
                values = {k: v for k, v in saved.items() if k != "id"}
                env["res.company"].browse(saved["id"]).write(values)
                env["clinic.sms.gateway"].browse(sorted({gateway_id, test_gateway_id})).unlink()

        self.addCleanup(cleanup)
        return ids

    def rows(self, ids):
        """{id: (state, reason)} as committed."""
        with self.registry.cursor() as cr:
            cr.execute("SELECT id, state, reason FROM clinic_sms_message WHERE id = ANY(%s)", [ids])
            return {row[0]: (row[1], row[2]) for row in cr.fetchall()}

    def dispatch_committed(self, batch_size, **context):
        """One cron run on a connection of its own, each batch committed."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {"clinic_sms_autocommit": True, **context})
            return env["clinic.sms.message"]._cron_dispatch(batch_size=batch_size)


class TestKilledDispatcher(CommittedClinic):
    """A real dispatching process is killed after the gateway accepted its batch."""

    def setUp(self):
        super().setUp()
        self.emu = emulator_class()().start()
        self.addCleanup(self.emu.stop)

    def start_dispatcher(self, batch_size):
        odoo_root = str(Path(odoo.tools.__file__).resolve().parents[2])
        options = ["--addons-path", ",".join(config["addons_path"]), "--log-level", "warn"]
        if config.get("config") and os.path.isfile(config["config"]):
            options = ["-c", config["config"], *options]
        logs = self.enterContext(tempfile.TemporaryFile())
        process = subprocess.Popen(
            [sys.executable, "-c", DISPATCHER, str(batch_size), self.env.cr.dbname, *options],
            env={
                **os.environ,
                "PYTHONPATH": os.pathsep.join(filter(None, [odoo_root, os.environ.get("PYTHONPATH")])),
            },
            stdout=logs,
            stderr=subprocess.STDOUT,
        )
        self.addCleanup(lambda: process.poll() is None and process.kill())
        return process, logs

    def kill_once_accepted(self, process, logs, provider, count, timeout=180):
        """SIGKILL ``process`` as soon as the emulator has accepted ``count`` messages."""
        deadline = time.monotonic() + timeout
        while len([m for m in self.emu.messages if m.provider == provider]) < count:
            if process.poll() is not None or time.monotonic() > deadline:
                logs.seek(0)
                self.fail(f"the dispatcher never got that far:\n{logs.read().decode(errors='replace')}")
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
        self.assertEqual(process.wait(30), -signal.SIGKILL)
        # PostgreSQL ends the killed process's session (rolling back what it had not committed).
        deadline = time.monotonic() + 30
        while True:
            with self.registry.cursor() as cr:
                cr.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                    [f"odoo-{process.pid}"],
                )
                if not cr.fetchone()[0] or time.monotonic() > deadline:
                    break
            time.sleep(0.05)

    def received(self, provider):
        return Counter(int(m.ref) for m in self.emu.messages if m.provider == provider)

    def test_killed_gatewayapi_dispatcher_sends_nothing_twice(self):
        ids = self.commit_clinic(10, "gatewayapi", self.emu.url)
        # The first batch goes through; the gateway takes the second and answers too late.
        self.emu.fail("slow", times=1, delay=0.0)
        self.emu.fail("stall", times=1, delay=120)
        process, logs = self.start_dispatcher(batch_size=4)
        self.kill_once_accepted(process, logs, "gatewayapi", 8)

        rows = self.rows(ids)
        self.assertEqual(
            [rows[i][0] for i in ids], ["sent"] * 4 + ["sending"] * 4 + ["queued"] * 2, "committed as it went"
        )
        with freeze_time(datetime.now() + GRACE_PASSED, tick=True):
            self.dispatch_committed(batch_size=4)

        rows = self.rows(ids)
        # GatewayAPI has no idempotency key and the provider's ids of the killed batch were never
        # learnt: those four end failed/interrupted for staff, never sent blindly again.
        self.assertEqual({i: rows[i] for i in ids[4:8]}, dict.fromkeys(ids[4:8], ("failed", "interrupted")))
        self.assertEqual({rows[i][0] for i in ids[:4] + ids[8:]}, {"sent"})
        self.assertEqual(self.received("gatewayapi"), Counter(ids), "each message received exactly once")
        self.assertEqual(Counter(self.emu.calls), Counter({("gatewayapi", "send"): 3}))

    def test_killed_smsapi_dispatcher_is_resolved_by_idx_and_sends_nothing_twice(self):
        ids = self.commit_clinic(10, "smsapi", self.emu.url)
        # One request per message: the first batch (4) and two of the second go through; the
        # gateway takes the seventh and answers too late; the eighth never leaves.
        self.emu.fail("slow", times=6, delay=0.0)
        self.emu.fail("stall", times=1, delay=120)
        process, logs = self.start_dispatcher(batch_size=4)
        self.kill_once_accepted(process, logs, "smsapi", 7)

        rows = self.rows(ids)
        self.assertEqual([rows[i][0] for i in ids], ["sent"] * 4 + ["sending"] * 4 + ["queued"] * 2)
        with freeze_time(datetime.now() + GRACE_PASSED, tick=True):
            self.dispatch_committed(batch_size=4)

        rows = self.rows(ids)
        self.assertEqual(rows, dict.fromkeys(ids, ("sent", None)))
        self.assertEqual(self.received("smsapi"), Counter(ids), "each message received exactly once")
        # The four of the killed batch were handed over again under their idx: SMSAPI refused the
        # three it had (error 53, read as sent) and took the one it never got.
        self.assertEqual(Counter(self.emu.calls), Counter({("smsapi", "send"): 7 + 4 + 2}))


class TestLiveBatch(CommittedClinic):
    def test_sending_row_locked_by_a_live_dispatcher_is_left_alone(self):
        [message_id] = self.commit_clinic(1, "gatewayapi", "http://127.0.0.1:9")
        old = fields.Datetime.now() - timedelta(minutes=30)
        with self.registry.cursor() as cr:
            cr.execute(
                "UPDATE clinic_sms_message m SET state = 'sending', write_date = %s,"
                " gateway_id = c.clinic_sms_gateway_id FROM res_company c"
                " WHERE c.id = m.company_id AND m.id = %s",
                [old, message_id],
            )
        live = self.registry.cursor()  # a dispatcher still waiting for its gateway
        try:
            live.execute("SELECT id FROM clinic_sms_message WHERE id = %s FOR UPDATE", [message_id])
            self.dispatch_committed(batch_size=10)
            self.assertEqual(self.rows([message_id]), {message_id: ("sending", None)})
        finally:
            live.rollback()
            live.close()
        # Its dispatcher is gone (the lock with it): the next run resolves the row.
        self.dispatch_committed(batch_size=10)
        self.assertEqual(self.rows([message_id]), {message_id: ("failed", "interrupted")})


class TestCronTime(CommittedClinic):
    def test_cron_stops_between_batches_when_its_time_is_up_and_odoo_runs_it_again(self):
        ids = self.commit_clinic(45)
        registry = self.registry
        with registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            cron = env["ir.cron"].create(
                {
                    "name": "Clinic SMS dispatch, 3 per batch",
                    "model_id": env.ref("clinic_sms.model_clinic_sms_message").id,
                    "state": "code",
                    "code": "model.with_context(clinic_sms_autocommit=True)._cron_dispatch(batch_size=3)",
                    "user_id": api.SUPERUSER_ID,
                    "interval_number": 1,
                    "interval_type": "days",
                    "nextcall": fields.Datetime.now() + timedelta(days=1),
                }
            )
            cron_id, action_id = cron.id, cron.ir_actions_server_id.id
            job = {**cron.read(load=None)[0], "done": 0, "remaining": 0, "timed_out_counter": 0}

        def remove_cron():
            with registry.cursor() as cr:
                env = api.Environment(cr, api.SUPERUSER_ID, {})
                env["ir.cron"].browse(cron_id).unlink()
                env["ir.actions.server"].browse(action_id).exists().unlink()

        self.addCleanup(remove_cron)
        # Each batch takes 4 s at the gateway by the cron's clock; a cron run has 10 s.
        clock = [1000.0]
        original = ClinicSmsGateway._clinic_sms_send

        def slow_send(gateway, outgoing):
            clock[0] += 4
            return original(gateway, outgoing)

        self.patch(ClinicSmsGateway, "_clinic_sms_send", slow_send)
        with patch.object(time, "monotonic", lambda: clock[0]), registry.cursor() as cr:
            registry["ir.cron"]._process_job(cr, job)

        rows = self.rows(ids)
        # Odoo calls the job 10 times: the first run has time for 3 batches, each later one (its
        # time already up) for one; each reports what is left, so the job is run again at once.
        self.assertEqual(Counter(state for state, _reason in rows.values()), {"delivered": 36, "queued": 9})
        with registry.cursor() as cr:
            cr.execute(
                "SELECT done, remaining FROM ir_cron_progress WHERE cron_id = %s ORDER BY id", [cron_id]
            )
            progress = cr.fetchall()
            cr.execute("SELECT count(*) FROM ir_cron_trigger WHERE cron_id = %s", [cron_id])
            triggers = cr.fetchone()[0]
        self.assertEqual([done for done, _left in progress], [9] + [3] * 9)
        self.assertEqual([left for _done, left in progress], [45 - 9 - 3 * n for n in range(10)])
        self.assertEqual(triggers, 1, "rescheduled at once, the work not being done")


class TestInterrupted(ClinicSmsCase):
    """What a later run does with rows a dispatcher left ``sending`` (in the test's transaction)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.emu = cls.start_emulator()
        cls.patients = cls.env["res.partner"].create(
            [{"name": f"Patient {i}", "sms_number": n} for i, n in enumerate(mobile_numbers(3))]
        )
        cls.company.write({"clinic_sms_window_start": 0.0, "clinic_sms_window_end": 24.0})

    def setUp(self):
        super().setUp()
        self.emu.clear()
        self.emu.heal()

    def use(self, provider):
        gateway = self.env["clinic.sms.gateway"].create(
            {"name": provider, "provider": provider, "api_url": self.emu.url, "api_key": "token"}
        )
        self.company.clinic_sms_gateway_id = gateway
        self.gateway.active = False
        return gateway

    def queue(self, kind="manual", expire=timedelta(hours=24)):
        return self.env["clinic.sms.message"].create(
            [
                {
                    "kind": kind,
                    "partner_id": p.id,
                    "body": "Husk din tid i morgen",
                    "state": "queued",
                    "due_at": NOW,
                    "expire_at": NOW + expire,
                }
                for p in self.patients
            ]
        )

    @contextmanager
    def killed_after_the_gateway_answered(self):
        """The dispatcher's process ends right after the gateway answered: the results are never
        written (what it had written before stays, as a committed batch would)."""
        original = ClinicSmsGateway._clinic_sms_send

        def send(gateway, outgoing):
            original(gateway, outgoing)
            raise DispatcherKilled

        # Not self.assertRaises: Odoo's rolls back to a savepoint, and a killed process undoes
        # nothing it had committed.
        killed = False
        with patch.object(ClinicSmsGateway, "_clinic_sms_send", send):
            try:
                yield
            except DispatcherKilled:
                killed = True
        self.assertTrue(killed, "the dispatcher reached the gateway")
        self.env.invalidate_all()

    def received(self):
        return Counter(int(m.ref) for m in self.emu.messages)

    def test_rows_are_written_sending_with_their_gateway_before_the_gateway_is_asked(self):
        messages = self.queue()
        seen = []
        original = ClinicSmsGateway._clinic_sms_send

        def send(gateway, outgoing):
            self.env.cr.execute(
                "SELECT state, gateway_id, number, body, encoding, segments, attempts"
                " FROM clinic_sms_message WHERE id = ANY(%s) ORDER BY id",
                [messages.ids],
            )
            seen.extend(self.env.cr.fetchall())
            return original(gateway, outgoing)

        self.patch(ClinicSmsGateway, "_clinic_sms_send", send)
        self.dispatch()
        self.assertEqual(
            seen,
            [
                ("sending", self.gateway.id, p.sms_number_e164, "Husk din tid i morgen", "gsm7", 1, 1)
                for p in self.patients
            ],
        )
        self.assertEqual(set(messages.mapped("state")), {"delivered"})
        self.assertEqual(messages.mapped("attempts"), [1, 1, 1])

    def test_smsapi_rows_left_sending_go_again_under_their_idx_and_arrive_once(self):
        self.use("smsapi")
        messages = self.queue()
        self.emu.fail("500", times=1)  # the first never reached SMSAPI; it took the other two
        with self.killed_after_the_gateway_answered():
            self.dispatch()
        self.assertEqual(set(messages.mapped("state")), {"sending"})
        self.assertEqual(self.received(), Counter(messages.ids[1:]))

        # A batch this young may still be live: the grace keeps a run from touching it.
        self.dispatch(NOW + timedelta(minutes=1))
        self.assertEqual(set(messages.mapped("state")), {"sending"})
        self.assertEqual(len(self.emu.calls), 3)

        self.dispatch(NOW + GRACE_PASSED)
        self.assertEqual(set(messages.mapped("state")), {"sent"})
        self.assertEqual(self.received(), Counter(messages.ids), "each exactly once")
        self.assertEqual(len(self.emu.calls), 6, "all three handed over again, two refused as duplicates")
        self.assertEqual(messages.mapped("attempts"), [2, 2, 2])
        self.assertEqual(messages.mapped("credits"), [1.0, 1.0, 1.0])

    def test_smsapi_resend_failing_for_now_stays_sending_for_the_same_gateway(self):
        self.use("smsapi")
        messages = self.queue()
        with self.killed_after_the_gateway_answered():
            self.dispatch()
        self.emu.fail("500")
        self.dispatch(NOW + GRACE_PASSED)
        self.assertEqual(set(messages.mapped("state")), {"sending"})
        self.assertIn("HTTP 500", messages[0].error)
        self.emu.heal()
        self.dispatch(NOW + 2 * GRACE_PASSED)
        self.assertEqual(set(messages.mapped("state")), {"sent"})
        self.assertEqual(self.received(), Counter(messages.ids))

    def test_expired_rows_are_not_sent_again_even_by_smsapi(self):
        self.use("smsapi")
        messages = self.queue(expire=timedelta(minutes=3))
        self.emu.fail("500", times=1)
        with self.killed_after_the_gateway_answered():
            self.dispatch()
        self.dispatch(NOW + GRACE_PASSED)
        self.assertEqual({(m.state, m.reason) for m in messages}, {("failed", "interrupted")})
        self.assertEqual(len(self.emu.calls), 3, "nothing handed over after its expiry")

    def test_gatewayapi_rows_left_sending_fail_as_interrupted_and_can_be_sent_again(self):
        self.use("gatewayapi")
        self.company.clinic_sms_credit_check = True
        self.env["clinic.sms.credit"].create(
            {"company_id": self.company.id, "kind": "purchase", "amount": 10, "note": "pack"}
        )
        messages = self.queue()
        with self.killed_after_the_gateway_answered():
            self.dispatch()
        self.assertEqual(set(messages.mapped("state")), {"sending"})
        self.company.invalidate_recordset()
        self.assertEqual(self.company.clinic_sms_credit_balance, 7.0, "paid for before the call")

        self.dispatch(NOW + GRACE_PASSED)
        self.assertEqual({(m.state, m.reason) for m in messages}, {("failed", "interrupted")})
        self.assertIn("may or may not have reached the patient", messages[0].error)
        self.assertEqual(self.emu.calls, [("gatewayapi", "send")], "never sent blindly again")
        self.company.invalidate_recordset()
        self.assertEqual(self.company.clinic_sms_credit_balance, 10.0, "a failed message costs nothing")

        # Staff decide: Send again queues new messages, which go out like any other.
        again = self.env["clinic.sms.message"].browse(messages.action_retry()["domain"][0][2])
        self.dispatch()
        self.assertEqual(set(again.mapped("state")), {"sent"})

    def test_row_whose_provider_reference_is_known_is_asked_at_the_status_api(self):
        gateway = self.use("gatewayapi")
        message = self.queue()[0]
        self.dispatch()
        self.assertEqual(message.state, "sent")
        self.assertEqual(len(self.emu.messages), 3)
        accepted = self.emu.find("gatewayapi", message.provider_ref)
        self.emu.post_report("gatewayapi", accepted.provider_id, "delivered", url=self.emu.sink_url())
        # The provider's reference reached the row (a delivery report that came in first), but
        # its dispatcher never wrote the result.
        message._write_rows({message.id: {"state": "sending"}}, NOW)
        self.dispatch(NOW + GRACE_PASSED)
        self.assertEqual((message.state, message.gateway_id), ("delivered", gateway))
        self.assertIn(("gatewayapi", "status"), self.emu.calls)
        self.assertEqual(len(self.emu.messages), 3, "nothing sent again")

    def test_dispatch_stops_between_batches_when_the_cron_time_is_up(self):
        messages = self.queue()
        Message = self.env["clinic.sms.message"].with_context(cron_end_time=time.monotonic() - 1)
        self.assertEqual(Message._cron_dispatch(batch_size=2), 2)
        self.assertEqual(messages.mapped("state"), ["delivered", "delivered", "queued"])
        self.assertEqual(Message.with_context(cron_end_time=None)._cron_dispatch(batch_size=2), 1)
        self.assertEqual(set(messages.mapped("state")), {"delivered"})
