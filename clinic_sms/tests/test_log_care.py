from datetime import timedelta

from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import NOW, ClinicSmsCase

FINAL = ("delivered", "failed", "expired", "cancelled", "skipped")


@tagged("post_install", "-at_install")
class TestLogCare(ClinicSmsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.add_users()

    # ------------------------------------------------------------------ helpers

    def make_row(self, state, days_ago, kind="manual", **values):
        return self.env["clinic.sms.message"].create(
            {
                "kind": kind,
                "partner_id": self.patient.id,
                "state": state,
                "due_at": NOW - timedelta(days=days_ago),
                "body": "Hello",
                **values,
            }
        )

    def notes(self, event):
        return self.env["mail.message"].search(
            [("model", "=", "calendar.event"), ("res_id", "=", event.id), ("body", "ilike", "SMS ")]
        )

    def dispatch_and_log(self, messages, at):
        """Dispatch, then the notes job the dispatcher triggers."""
        self.dispatch(at)
        self.assertGreaterEqual(self.env["clinic.sms.message"]._cron_clinic_sms_event_notes(), len(messages))
        self.assertEqual(self.env["clinic.sms.message"]._cron_clinic_sms_event_notes(), 0, "each once")
        self.assertTrue(all(messages.mapped("event_noted")))

    # ------------------------------------------------------------------ re-queue

    def test_requeue_creates_a_new_message_and_keeps_the_old(self):
        old = self.make_row("failed", 1, reason="rejected")
        done = self.make_row("delivered", 1)
        action = (old | done).with_user(self.staff).action_clinic_sms_requeue()
        new = self.env["clinic.sms.message"].search(action["domain"])
        self.assertEqual(len(new), 1, "only the failed row is queued again")
        self.assertNotEqual(new, old)
        self.assertEqual((new.state, new.partner_id, new.kind), ("queued", self.patient, "manual"))
        self.assertEqual(old.state, "failed", "the old row stays in the log")
        self.assertTrue(old.exists())

    def test_requeue_needs_the_clinic_sms_group(self):
        old = self.make_row("failed", 1, reason="rejected")
        with self.assertRaises(AccessError):
            old.with_user(self.employee).action_clinic_sms_requeue()

    def test_requeue_server_action_is_bound_to_the_log_for_users(self):
        action = self.env.ref("clinic_sms.clinic_sms_message_action_requeue")
        self.assertEqual(action.binding_model_id.model, "clinic.sms.message")
        self.assertIn(self.env.ref("clinic_sms.group_clinic_sms_user"), action.group_ids)

    # ------------------------------------------------------------------ purge

    def test_purge_wizard_counts_and_deletes_only_final_old_rows(self):
        old_final = self.env["clinic.sms.message"].browse(
            [self.make_row(state, 40).id for state in FINAL]
        ) | self.make_row("delivered", 40, kind="inbound")
        old_pending = self.make_row("scheduled", 40) | self.make_row("sent", 40) | self.make_row("queued", 40)
        recent = self.make_row("delivered", 5)
        wizard = (
            self.env["clinic.sms.purge"]
            .with_user(self.admin)
            .create({"date": (NOW - timedelta(days=30)).date()})
        )
        self.assertEqual(wizard.count, len(old_final))
        self.assertEqual(wizard.summary, f"{len(old_final)} messages will be deleted.")
        wizard.action_purge()
        self.assertFalse(old_final.exists())
        self.assertEqual(old_pending.exists(), old_pending)
        self.assertTrue(recent.exists())

    def test_purge_keeps_the_credit_ledger_totals(self):
        self.env["clinic.sms.credit"].create(
            {"company_id": self.company.id, "kind": "purchase", "amount": 100, "note": "pack"}
        )
        event = self.make_event(NOW + timedelta(days=2))
        reminder = self.messages(event, "reminder")
        self.dispatch(reminder.due_at)
        self.assertEqual(reminder.state, "delivered")
        line = self.env["clinic.sms.credit"].search([("message_id", "=", reminder.id)])
        self.assertTrue(line)
        self.company.invalidate_recordset()
        balance = self.company.clinic_sms_credit_balance
        self.assertLess(balance, 100)
        self.move_to(NOW + timedelta(days=400))
        wizard = self.env["clinic.sms.purge"].create({"date": (NOW + timedelta(days=399)).date()})
        self.assertGreaterEqual(wizard.count, 1)
        wizard.action_purge()
        self.assertFalse(reminder.exists())
        self.assertTrue(line.exists())
        self.assertFalse(line.message_id)
        self.company.invalidate_recordset()
        self.assertEqual(self.company.clinic_sms_credit_balance, balance)

    def test_purge_is_for_administrators(self):
        with self.assertRaises(AccessError):
            self.env["clinic.sms.purge"].with_user(self.staff).create({"date": NOW.date()})
        self.assertIn(
            self.env.ref("clinic_sms.group_clinic_sms_manager"),
            self.env.ref("clinic_sms.clinic_sms_purge_action").group_ids,
        )

    # ------------------------------------------------------------------ retention

    def test_retention_cron_is_off_by_default(self):
        self.assertEqual(self.company.clinic_sms_retention_days, 0)
        ancient = self.make_row("delivered", 3000)
        self.env["res.company"]._cron_clinic_sms_purge()
        self.assertTrue(ancient.exists())
        cron = self.env.ref("clinic_sms.ir_cron_clinic_sms_purge")
        self.assertEqual((cron.interval_number, cron.interval_type), (1, "days"))

    def test_retention_cron_purges_old_rows(self):
        self.company.clinic_sms_retention_days = 30
        old = (
            self.make_row("delivered", 31)
            | self.make_row("failed", 60)
            | self.make_row("delivered", 45, kind="inbound")
        )
        young = self.make_row("delivered", 29)
        waiting = self.make_row("scheduled", 60)
        deleted = self.env["res.company"]._cron_clinic_sms_purge()
        self.assertEqual(deleted, 3)
        self.assertFalse(old.exists())
        self.assertTrue(young.exists())
        self.assertTrue(waiting.exists())

    def test_purge_batches_have_a_fixed_number_of_queries(self):
        for _ in range(7):
            self.make_row("delivered", 100)
        Message = self.env["clinic.sms.message"]
        self.env.flush_all()
        with self.assertQueryCount(4):  # 3 full batches of 2 + 1 last batch of 1
            deleted = Message._clinic_sms_purge(NOW - timedelta(days=10), self.company.ids, batch_size=2)
        self.assertEqual(deleted, 7)

    # ------------------------------------------------------------------ contacts

    def test_use_phone_as_sms_number_reports_invalid_numbers(self):
        dk = self.env.ref("base.dk").id
        Partner = self.env["res.partner"]
        good = Partner.create({"name": "Good Mobile", "phone": "+45 20 98 76 54", "country_id": dk})
        letters = Partner.create({"name": "Letter Number", "phone": "+45 2O 98 76 54", "country_id": dk})
        short = Partner.create({"name": "Short Number", "phone": "12", "country_id": dk})
        empty = Partner.create({"name": "No Phone", "country_id": dk})
        action = (good | letters | short | empty).with_user(self.staff).action_clinic_sms_use_phone()
        self.assertEqual(good.sms_number, "+45 20 98 76 54")
        self.assertEqual(good.sms_number_state, "valid")
        self.assertFalse(letters.sms_number or short.sms_number or empty.sms_number)
        text = action["params"]["message"]
        self.assertIn("1 contacts", text)
        for partner in (letters, short, empty):
            self.assertIn(partner.name, text)
        self.assertNotIn(good.name, text)
        self.assertIn("letters", text)
        self.assertNotIn("98 76 54", text, "never the numbers")
        self.assertEqual(action["params"]["type"], "warning")

    def test_use_phone_needs_the_clinic_sms_group(self):
        partner = self.env["res.partner"].create({"name": "Someone", "phone": "+45 20 98 76 54"})
        with self.assertRaises(AccessError):
            partner.with_user(self.employee).action_clinic_sms_use_phone()
        action = self.env.ref("clinic_sms.res_partner_action_use_phone_as_sms")
        self.assertEqual(action.binding_model_id.model, "res.partner")

    def test_sms_tab_lists_newest_first(self):
        older = self.make_row("delivered", 3)
        reply = self.make_row("delivered", 1, kind="inbound")
        newest = self.make_row("scheduled", -1)
        self.patient.invalidate_recordset(["clinic_sms_message_ids"])
        rows = self.patient.clinic_sms_message_ids.filtered(lambda m: m in (older | reply | newest))
        self.assertEqual(rows.ids, [newest.id, reply.id, older.id])

    # ------------------------------------------------------------------ chatter notes

    def test_chatter_note_when_sent_failed_or_skipped(self):
        refused = self.env["res.partner"].create({"name": "Refused Patient", "phone": "+45 20 11 00 00"})
        opted = self.env["res.partner"].create(
            {"name": "Quiet Patient", "phone": "+45 20 11 22 33", "sms_opt_out": True}
        )
        start = NOW + timedelta(days=2)
        sent_event = self.make_event(start)
        failed_event = self.make_event(start, patients=refused)
        skipped_event = self.make_event(start, patients=opted)
        reminders = self.messages(kind="reminder").filtered(
            lambda m: m.event_id in (sent_event | failed_event | skipped_event)
        )
        self.assertEqual(len(reminders), 3)
        self.dispatch_and_log(reminders, reminders[0].due_at)
        expected = {
            sent_event: ("Anna Jensen", "Delivered"),
            failed_event: ("Refused Patient", "Failed"),
            skipped_event: ("Quiet Patient", "Skipped"),
        }
        for event, (name, state) in expected.items():
            notes = self.notes(event)
            self.assertEqual(len(notes), 1, event.name)
            self.assertIn(name, notes.body)
            self.assertIn(state, notes.body)
            self.assertIn("Reminder", notes.body)
            self.assertNotIn("+45", notes.body)
            self.assertNotIn("2011", notes.body)
        self.assertIn("Rejected by the gateway", self.notes(failed_event).body)
        self.assertIn("does not want SMS", self.notes(skipped_event).body)

    def test_chatter_notes_in_bulk_one_per_appointment(self):
        start = NOW + timedelta(days=2)
        event = self.make_event(start, patients=self.patient | self.patient2)
        reminders = self.messages(event, "reminder")
        self.assertEqual(len(reminders), 2)
        self.dispatch(reminders[0].due_at)
        before = len(self.notes(event))
        reminders._clinic_sms_log_on_events()
        notes = self.notes(event)
        self.assertEqual(len(notes) - before, 1, "one note per appointment, naming each patient")
        self.assertIn("Bo Nielsen", notes[0].body)
        self.assertIn("Anna Jensen", notes[0].body)

    # ------------------------------------------------------------------ reminder state

    def test_reminder_state_on_the_calendar(self):
        refused = self.env["res.partner"].create({"name": "Refused Patient", "phone": "+45 20 11 00 00"})
        start = NOW + timedelta(days=2)
        ok = self.make_event(start)
        bad = self.make_event(start, patients=refused)
        empty = self.make_event(start, patients=self.env["res.partner"])
        events = ok | bad | empty
        self.assertEqual(events.mapped("clinic_sms_reminder_state"), ["planned", "planned", "none"])
        self.dispatch(self.messages(ok, "reminder").due_at)
        events.invalidate_recordset(["clinic_sms_reminder_state"])
        with self.assertQueryCount(2):
            states = events.with_user(self.employee).mapped("clinic_sms_reminder_state")
        self.assertEqual(states, ["delivered", "failed", "none"])

    def test_chatter_notes_do_not_cost_a_query_per_message(self):
        start = NOW + timedelta(days=2)
        Partner = self.env["res.partner"]
        dk = self.env.ref("base.dk").id
        patients = Partner.create(
            [{"name": f"Patient {i}", "phone": f"+45 20 55 66 {i:02d}", "country_id": dk} for i in range(6)]
        )
        one = self.make_event(start, patients=patients[0])
        many = self.env["calendar.event"].browse(
            [self.make_event(start, patients=p).id for p in patients[1:]]
        )
        self.dispatch(start - timedelta(days=1))
        counts = []
        for events in (one, many):
            messages = self.messages(kind="reminder").filtered(lambda m, evs=events: m.event_id in evs)
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            messages._clinic_sms_log_on_events()
            counts.append(self.env.cr.sql_log_count - before)
        self.assertLessEqual(counts[1], counts[0] + 2, counts)
