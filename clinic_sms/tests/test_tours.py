"""The main flows, clicked through in a real browser (Odoo tours in Chromium).

The tours live in static/tests/tours/ (bundle web.assets_tests). They run in real time: the
browser's clock cannot be frozen, so every date here is relative to now. Each test checks on the
server what the tour did. A missing browser (or websocket-client) fails these tests instead of
skipping them, unlike Odoo's own HttpCase.
"""

import os
import shutil
import signal
import tempfile
import unittest
from datetime import datetime, timedelta
from unittest.mock import patch

import pytz

from odoo import fields
from odoo.addons.clinic_sms.models.clinic_sms_gateway import ClinicSmsGateway
from odoo.tests import HttpCase, common, new_test_user, tagged

#: Tours are slow on a loaded machine; each step still has Odoo's own step timeout.
TOUR_TIMEOUT = 240
#: What the web client loads for these tours. Odoo's own test runner builds every bundle before its
#: browser tests (ir.qweb._pregenerate_assets_bundles); pytest-odoo does not, and a bundle built
#: by a request inside a test is rolled back with it: build them once for the class instead.
BUNDLES = {
    "web.assets_web": ("js", "css"),
    "web.assets_backend_lazy": ("js", "css"),
    "web.assets_web_print": ("css",),
    "web.assets_tests": ("js",),
    "web.assets_emoji": ("js",),
    "web.fullcalendar_lib": ("js",),
    "bus.websocket_worker_assets": ("js",),
}


@tagged("post_install", "-at_install")
class ClinicSmsTourCase(HttpCase):
    """A clinic in Copenhagen with SMS on (no sending window, so the time of day never matters),
    the test gateway, a receptionist and two patients, one of them without a number."""

    #: Odoo's 20 s is short when another request builds an asset bundle on a loaded machine.
    test_cursor_lock_timeout = 60

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for name, kinds in BUNDLES.items():
            bundle = cls.env["ir.qweb"]._get_asset_bundle(name, css="css" in kinds, js="js" in kinds)
            for kind in kinds:
                getattr(bundle, kind)()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True, no_reset_password=True))
        cls.company = cls.env.company
        # A database without demo data has no gateway: the tours' own test gateway (it sends nothing).
        cls.gateway = cls.env["clinic.sms.gateway"].create(
            {"name": "Test gateway", "provider": "test", "sender": "Clinic"}
        )
        cls.company.write(
            {
                "country_id": cls.env.ref("base.dk").id,
                "clinic_sms_enabled": True,
                "clinic_sms_tz": "Europe/Copenhagen",
                "clinic_sms_window_start": 0.0,
                "clinic_sms_window_end": 24.0,
                "clinic_sms_credit_check": False,
                "clinic_sms_credits_per_part": 1.0,
                "clinic_sms_gateway_id": cls.gateway.id,
            }
        )
        cls.receptionist = new_test_user(
            cls.env,
            login="clinic_sms_reception",
            name="Rikke Reception",
            groups="base.group_user,base.group_partner_manager,clinic_sms.group_clinic_sms_user",
            tz="Europe/Copenhagen",
        )
        cls.admin = cls.env.ref("base.user_admin")
        dk = cls.env.ref("base.dk").id
        Partner = cls.env["res.partner"]
        cls.patient = Partner.create(
            {"name": "Tourpatient Anna", "phone": "+45 20 12 34 56", "country_id": dk, "lang": "en_US"}
        )
        cls.patient_no_number = Partner.create({"name": "Tourpatient Bo", "country_id": dk, "lang": "en_US"})

    def browser_js(self, *args, **kwargs):
        """Odoo skips a browser test when Chromium or websocket-client is missing, or the browser
        does not start; here that is a failure, so `make test` never passes without its tours."""
        try:
            return super().browser_js(*args, **kwargs)
        except unittest.SkipTest as exc:
            self.fail(
                f"The browser tours could not run ({exc}). They need Chromium (Debian: apt-get install "
                "chromium; tools/dev.sh test installs it when it runs as root) and websocket-client "
                "(requirements-test.txt)."
            )

    def tour(self, url, name, login):
        self.start_tour(url, name, login=login, timeout=TOUR_TIMEOUT)

    def messages(self, **domain):
        return self.env["clinic.sms.message"].search([(k, "=", v) for k, v in domain.items()], order="id")


class TestTours(ClinicSmsTourCase):
    def test_a_missing_browser_or_websocket_client_fails_the_tours_instead_of_skipping_them(self):
        # Odoo's ChromeBrowser makes its profile directory and takes SIGXCPU before it looks for
        # the browser: clean both up behind the browser that never starts.
        made, mkdtemp = [], tempfile.mkdtemp
        self.patch(tempfile, "mkdtemp", lambda *a, **kw: made.append(mkdtemp(*a, **kw)) or made[-1])
        self.addCleanup(lambda: [shutil.rmtree(path, ignore_errors=True) for path in made])
        self.addCleanup(signal.signal, signal.SIGXCPU, signal.getsignal(signal.SIGXCPU))

        # No browser on the PATH (Odoo remembers the one it found: forget it for this test).
        common._find_executable.cache_clear()
        self.addCleanup(common._find_executable.cache_clear)
        empty = tempfile.mkdtemp()
        with (
            patch.dict(os.environ, {"PATH": empty}),
            self.assertRaisesRegex(AssertionError, "Chrome executable not found.*need Chromium"),
        ):
            self.tour("/odoo", "clinic_sms_credits_tour", "admin")
        # No websocket-client.
        with (
            patch.object(common, "websocket", None),
            self.assertRaisesRegex(AssertionError, "websocket-client module is not installed"),
        ):
            self.tour("/odoo", "clinic_sms_credits_tour", "admin")

    def test_an_administrator_reads_the_ledger_as_a_pivot_and_buys_credits(self):
        Credit = self.env["clinic.sms.credit"].sudo()
        Credit.create({"company_id": self.company.id, "kind": "purchase", "amount": 200, "note": "Tour pack"})
        Credit.create(
            {"company_id": self.company.id, "kind": "adjustment", "amount": 50, "note": "Tour gift"}
        )
        self.env["clinic.sms.credit.rate"].create(
            {"company_id": self.company.id, "valid_from": "2020-01-01", "price": 0.45}
        )
        before = self.company.clinic_sms_credit_balance

        self.tour("/odoo/action-clinic_sms.clinic_sms_credit_action", "clinic_sms_credits_tour", "admin")

        bought = Credit.search([("company_id", "=", self.company.id), ("note", "=", "Tour invoice 42")])
        self.assertEqual(bought.kind, "purchase")
        self.assertEqual(bought.amount, 500)
        self.assertEqual((bought.credit_price, bought.price), (0.45, 225.0), "the form priced the pack")
        self.company.invalidate_recordset(["clinic_sms_credit_balance"])
        self.assertEqual(self.company.clinic_sms_credit_balance, before + 500)

    def test_a_receptionist_books_an_appointment_and_sees_its_reminder_planned(self):
        self.tour("/odoo/calendar", "clinic_sms_booking_tour", "clinic_sms_reception")

        event = self.env["calendar.event"].search([("name", "=", "Tour check-up")])
        self.assertEqual(len(event), 1)
        self.assertIn(self.patient, event.partner_ids)
        reminder = self.messages(event_id=event.id, kind="reminder", partner_id=self.patient.id)
        self.assertEqual(reminder.state, "scheduled")
        self.assertEqual(reminder.event_start, event.start)
        self.assertEqual(event.clinic_sms_reminder_state, "planned")

    def test_a_receptionist_sends_a_template_to_a_contact_search_with_preview_and_left_out(self):
        self.env["clinic.sms.template"].create(
            {
                "name": "Tour closing day",
                "kind": "manual",
                "body": "Hi {patient_first_name}, the clinic is closed on Friday.",
            }
        )

        self.tour("/odoo/contacts", "clinic_sms_composer_tour", "clinic_sms_reception")

        sent = self.messages(partner_id=self.patient.id, kind="manual")
        self.assertEqual(sent.mapped("state"), ["delivered"])
        self.assertEqual(sent.body, "Hi Tourpatient, the clinic is closed on Friday.")
        self.assertEqual(sent.number, "+4520123456")
        left_out = self.messages(partner_id=self.patient_no_number.id, kind="manual")
        self.assertEqual(left_out.mapped("state"), ["skipped"])
        self.assertEqual(left_out.reason, "no_number")

    def test_an_administrator_sets_window_and_gateway_in_settings_and_sends_a_test_sms(self):
        gateway = self.env["clinic.sms.gateway"].create(
            {"name": "Tour gateway", "provider": "test", "sequence": 50}
        )
        self.admin.partner_id.write({"phone": "+45 40 11 22 33", "country_id": self.env.ref("base.dk").id})
        handed = []
        original = ClinicSmsGateway._clinic_sms_send

        def recording_send(gw, outgoing):
            handed.extend((gw.id, o.number) for o in outgoing)
            return original(gw, outgoing)

        self.patch(ClinicSmsGateway, "_clinic_sms_send", recording_send)

        self.tour("/odoo/action-clinic_sms.clinic_sms_settings_action", "clinic_sms_settings_tour", "admin")

        self.company.invalidate_recordset()
        self.assertEqual(self.company.clinic_sms_window_start, 7.5)
        self.assertEqual(self.company.clinic_sms_window_end, 19.0)
        self.assertEqual(self.company.clinic_sms_gateway_id, gateway)
        self.assertEqual(handed, [(gateway.id, "+4540112233")])

    def test_the_template_counter_switches_to_unicode_and_70_characters_when_a_polish_letter_is_typed(self):
        self.tour(
            "/odoo/action-clinic_sms.clinic_sms_template_action", "clinic_sms_template_counter_tour", "admin"
        )

        template = self.env["clinic.sms.template"].search([("name", "=", "Tour Polish reminder")])
        self.assertEqual(
            template.body, "Reminder: your appointment is tomorrow at 10:00. Call us to change itąę{clinic}"
        )
        self.assertEqual((template.body_units, template.body_parts), (79, 2))
        self.assertEqual(template.body_encoding, "Unicode (UCS-2)")

    def test_a_receptionist_previews_and_sends_tomorrows_reminders_now(self):
        clinic = pytz.timezone("Europe/Copenhagen")
        tomorrow = datetime.now(clinic).date() + timedelta(days=1)
        start = clinic.localize(datetime.combine(tomorrow, datetime.min.time()).replace(hour=12))
        start = start.astimezone(pytz.UTC).replace(tzinfo=None)
        event = self.env["calendar.event"].create(
            {
                "name": "Tour root canal",
                "start": start,
                "stop": start + timedelta(hours=1),
                "user_id": self.receptionist.id,
                "partner_ids": [
                    (6, 0, [self.receptionist.partner_id.id, self.patient.id, self.patient_no_number.id])
                ],
            }
        )
        planned = self.messages(event_id=event.id, kind="reminder", partner_id=self.patient.id)
        self.assertEqual(planned.state, "scheduled")
        not_reachable = self.messages(
            event_id=event.id, kind="reminder", partner_id=self.patient_no_number.id
        )
        later = not_reachable.due_at
        before = fields.Datetime.now()

        self.tour("/odoo/calendar", "clinic_sms_reminder_run_tour", "clinic_sms_reception")

        reminders = self.messages(event_id=event.id, kind="reminder", partner_id=self.patient.id)
        self.assertEqual(reminders, planned, "the planned reminder is brought forward, not doubled")
        self.assertEqual(reminders.state, "queued")
        self.assertGreaterEqual(reminders.due_at, before.replace(microsecond=0))
        # The patient left out keeps only the planned reminder (skipped when it is due, for want of a number).
        left_out = self.messages(event_id=event.id, kind="reminder", partner_id=self.patient_no_number.id)
        self.assertEqual(left_out, not_reachable)
        self.assertEqual((left_out.state, left_out.due_at), ("scheduled", later))

    def test_a_receptionist_records_a_patients_sms_consent_and_next_recall(self):
        self.tour(
            f"/odoo/contacts/{self.patient.id}",
            "clinic_sms_patient_recall_consent_tour",
            "clinic_sms_reception",
        )

        self.patient.invalidate_recordset()
        self.assertTrue(self.patient.sms_consent)
        self.assertEqual(self.patient.sms_consent_user_id, self.receptionist, "stamped with who set it")
        self.assertTrue(self.patient.sms_consent_date)
        self.assertEqual(self.patient.recall_interval, 6)
        today = fields.Date.context_today(self.patient)
        self.assertEqual(self.patient.recall_date.day, 1)
        self.assertGreater(self.patient.recall_date, today + timedelta(days=140))

    def test_an_administrator_switches_on_e_mail_fallback_and_one_reminder_per_day_on_a_rule(self):
        rule = self.env.ref("clinic_sms.rule_reminder_24h")
        rule.write({"email_fallback": False, "one_per_day": False})

        self.tour(
            f"/odoo/action-clinic_sms.clinic_sms_rule_action/{rule.id}",
            "clinic_sms_rule_options_tour",
            "admin",
        )

        rule.invalidate_recordset()
        self.assertTrue(rule.email_fallback)
        self.assertTrue(rule.one_per_day)
