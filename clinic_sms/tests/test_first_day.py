"""Day one in a live clinic: nothing pretends that an SMS left, and the administrator is guided to
the first real one.

* No gateway: due messages wait with ``no_gateway`` (and expire as usual), the company says so (the
  banners of the log, Settings and the calendar read it), and its administrators get one e-mail.
* The test gateway: every message it takes (or a reply it passes on) is marked simulated, and its
  *Send test SMS* never says *delivered*.
* What was booked before the installation is planned by the install hook, as *Synchronize all*.
* The setup checklist in Settings: each step done only by what it asks for.
"""

from datetime import timedelta

from odoo.addons.clinic_sms import post_init_hook
from odoo.addons.clinic_sms.models.clinic_sms_planner import ClinicSmsPlanner
from odoo.tests import HttpCase, tagged

from .common import NOW, ClinicSmsCase


class TestNoGateway(ClinicSmsCase):
    def setUp(self):
        super().setUp()
        # A database installed without demo data: Clinic SMS on, no gateway at all.
        self.gateway.active = False
        self.company.clinic_sms_gateway_id = False
        self.mails = self.env["mail.mail"].sudo()

    def no_gateway_mails(self):
        return self.mails.search([("subject", "like", "no SMS gateway is set up")])

    def test_due_messages_wait_for_a_gateway_and_expire_as_usual(self):
        event = self.make_event(NOW + timedelta(hours=5))
        reminder = self.messages(event, "reminder")
        self.assertLessEqual(reminder.due_at, NOW, "due at once: the appointment is in 5 hours")
        self.dispatch()
        self.assertEqual((reminder.state, reminder.reason), ("queued", "no_gateway"))
        self.assertFalse(self.sent, "nothing was handed to any gateway")
        self.assertTrue(self.company.clinic_sms_no_gateway)
        self.assertEqual(self.company.clinic_sms_no_gateway_count, 2, "the reminder and the confirmation")
        self.dispatch(event.start + timedelta(minutes=1))
        self.assertEqual(reminder.state, "expired", "a reminder never goes after its appointment started")
        self.company.invalidate_recordset(["clinic_sms_no_gateway_count"])
        self.assertLess(self.company.clinic_sms_no_gateway_count, 2, "an expired message waits no more")

    def test_the_administrators_get_one_email_until_a_gateway_exists(self):
        self.env.ref("base.user_admin").email = "admin@clinic.example"
        cron = self.env.ref("clinic_sms.ir_cron_clinic_sms_no_gateway")
        Trigger = self.env["ir.cron.trigger"].sudo()
        self.make_event(NOW + timedelta(hours=5))
        self.dispatch()
        self.assertTrue(Trigger.search([("cron_id", "=", cron.id)]), "the dispatcher asks for the warning")
        Company = self.env["res.company"]
        self.assertEqual(Company._cron_clinic_sms_no_gateway(), 1)
        mail = self.no_gateway_mails()
        self.assertEqual(len(mail), 1)
        self.assertIn("admin@clinic.example", mail.email_to)
        self.assertIn("<strong>2</strong>", mail.body_html, "it counts the waiting messages")
        self.make_event(NOW + timedelta(hours=6), patients=self.patient2)
        Trigger.search([("cron_id", "=", cron.id)]).unlink()
        self.dispatch()
        self.assertFalse(Trigger.search([("cron_id", "=", cron.id)]), "warned already: no new warning")
        self.assertEqual(Company._cron_clinic_sms_no_gateway(), 0)
        self.assertEqual(len(self.no_gateway_mails()), 1, "one e-mail, however many messages wait")
        # A gateway comes, then goes: the warning re-arms.
        self.gateway.active = True
        self.assertFalse(self.company.clinic_sms_no_gateway)
        Company._cron_clinic_sms_no_gateway()
        self.assertFalse(self.company.clinic_sms_no_gateway_warned)
        self.gateway.active = False
        self.dispatch(NOW + timedelta(minutes=20))
        self.assertEqual(Company._cron_clinic_sms_no_gateway(), 1)
        self.assertEqual(len(self.no_gateway_mails()), 2)

    def test_a_company_with_clinic_sms_off_is_not_warned(self):
        self.company.clinic_sms_enabled = False
        self.assertFalse(self.company.clinic_sms_no_gateway)
        self.assertEqual(self.env["res.company"]._cron_clinic_sms_no_gateway(), 0)


class TestSimulated(ClinicSmsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.emu = cls.start_emulator()
        cls.real = cls.env["clinic.sms.gateway"].create(
            {"name": "GatewayAPI", "provider": "gatewayapi", "api_url": cls.emu.url, "api_key": "k"}
        )

    def setUp(self):
        super().setUp()
        self.emu.clear()
        self.env.user.partner_id.write({"phone": "+45 29 87 65 43", "country_id": self.env.ref("base.dk").id})

    def test_messages_of_the_test_gateway_are_simulated_and_a_real_gateways_not(self):
        self.real.active = False
        first = self.make_event(NOW + timedelta(days=2))
        self.dispatch()
        through_test = self.messages(first, "confirmation")
        self.assertEqual((through_test.state, through_test.simulated), ("delivered", True))
        self.real.active = True
        self.company.clinic_sms_gateway_id = self.real
        self.gateway.active = False
        second = self.make_event(NOW + timedelta(days=3), patients=self.patient2)
        self.dispatch()
        through_real = self.messages(second, "confirmation")
        self.assertEqual((through_real.state, through_real.simulated), ("sent", False), through_real.error)
        self.assertEqual(len(self.emu.messages), 1, "the real one reached the provider")
        self.assertEqual(
            self.env["clinic.sms.message"].search([("simulated", "=", True)]), through_test, "the log filter"
        )

    def test_a_reply_passed_on_by_the_test_gateway_is_simulated(self):
        Message = self.env["clinic.sms.message"]
        Message._clinic_sms_receive_text(self.gateway.id, self.patient.id, "Tak")
        reply = self.messages(kind="inbound")
        self.assertTrue(reply.simulated)

    def test_send_test_sms_through_the_test_gateway_says_simulated_and_counts_for_nothing(self):
        params = self.gateway.action_send_test()["params"]
        self.assertEqual(params["type"], "warning")
        self.assertIn("Simulated", params["message"])
        self.assertFalse(self.gateway.test_sms_at)

    def test_a_real_gateway_remembers_its_last_successful_test_sms(self):
        self.emu.fail("500", times=1)
        self.assertEqual(self.real.action_send_test()["params"]["type"], "warning")
        self.assertFalse(self.real.test_sms_at, "a failed test is no test")
        self.assertEqual(self.real.action_send_test()["params"]["type"], "success")
        self.assertEqual(self.real.test_sms_at, NOW)


class TestInstallHook(ClinicSmsCase):
    def test_installing_plans_the_reminders_of_what_was_booked_before_in_batches(self):
        # Booked before Clinic SMS was installed: nothing planned then.
        Event = self.env["calendar.event"].with_context(clinic_sms_no_plan=True)

        def booked(start, patients):
            return Event.create(
                {
                    "name": "Booked before",
                    "start": start,
                    "stop": start + timedelta(hours=1),
                    "user_id": self.practitioner.id,
                    "partner_ids": [(6, 0, [self.practitioner.partner_id.id, *patients.ids])],
                }
            )

        future = booked(NOW + timedelta(days=3), self.patient | self.patient2)
        soon = booked(NOW + timedelta(hours=3), self.patient)
        past = booked(NOW - timedelta(days=1), self.patient)
        self.assertFalse(self.messages())
        self.patch(ClinicSmsPlanner, "SYNC_BATCH", 1)  # one appointment per batch
        post_init_hook(self.env)
        reminders = self.messages(kind="reminder")
        self.assertEqual(
            sorted((m.event_id, m.partner_id, m.state) for m in reminders),
            sorted(
                [
                    (future, self.patient, "scheduled"),
                    (future, self.patient2, "scheduled"),
                    (soon, self.patient, "scheduled"),
                ]
            ),
        )
        self.assertEqual(self.messages(), reminders, "no booking confirmation for what was booked before")
        self.assertFalse(self.messages(past))
        post_init_hook(self.env)
        self.assertEqual(self.messages(), reminders, "idempotent")


class TestChecklist(ClinicSmsCase):
    """The clinic of the tests: Copenhagen, 08:00–20:00, the test gateway, credits not checked."""

    def settings(self):
        return self.env["res.config.settings"].create({})

    def steps(self):
        self.company.invalidate_recordset()
        company = self.company
        return {
            "tz": company.clinic_sms_setup_tz_done,
            "window": company.clinic_sms_setup_window_done,
            "gateway": company.clinic_sms_setup_gateway_done,
            "templates": company.clinic_sms_setup_templates_done,
            "credits": company.clinic_sms_setup_credits_done,
        }

    def test_each_step_is_done_by_what_it_asks_for(self):
        self.env["res.lang"]._activate_lang("da_DK")
        self.patient2.lang = "da_DK"
        company = self.company
        self.assertEqual(
            self.steps(),
            {"tz": True, "window": True, "gateway": False, "templates": False, "credits": True},
        )
        self.assertTrue(company.clinic_sms_simulated, "the test gateway is in use")
        self.assertEqual((company.clinic_sms_setup_steps_done, company.clinic_sms_setup_steps_total), (2, 4))
        self.assertEqual(company.clinic_sms_setup_langs_todo, "English (US), Danish / Dansk")

        company.clinic_sms_tz = "Europe/Warsaw"
        self.assertFalse(self.steps()["tz"], "not a Danish time zone")
        company.clinic_sms_tz = "Europe/Copenhagen"
        company.write({"clinic_sms_window_start": 0.0, "clinic_sms_window_end": 24.0})
        self.assertFalse(self.steps()["window"], "SMS at night")
        company.write({"clinic_sms_window_start": 8.0, "clinic_sms_window_end": 20.0})

        real = self.env["clinic.sms.gateway"].create({"name": "GatewayAPI", "provider": "gatewayapi"})
        company.clinic_sms_gateway_id = real
        self.assertFalse(self.steps()["gateway"], "not tested, and the test gateway could still take SMS")
        real.test_sms_at = NOW
        self.assertFalse(self.steps()["gateway"], "the test gateway could still take SMS")
        self.gateway.active = False
        self.assertTrue(self.steps()["gateway"])
        self.assertFalse(company.clinic_sms_simulated)

        settings = self.settings()
        action = settings.action_clinic_sms_review()
        self.assertEqual((action["res_model"], action["context"]["lang"]), ("clinic.sms.template", "en_US"))
        settings.action_clinic_sms_reviewed()
        self.assertFalse(self.steps()["templates"])
        self.assertEqual(company.clinic_sms_setup_lang_next_id.code, "da_DK")
        self.settings().action_clinic_sms_reviewed()
        self.assertTrue(self.steps()["templates"])

        company.clinic_sms_credit_check = True
        self.assertFalse(self.steps()["credits"], "credits are checked and there are none")
        self.assertEqual(company.clinic_sms_setup_steps_total, 5)
        self.env["clinic.sms.credit"].create(
            {"company_id": company.id, "kind": "purchase", "amount": 100, "note": "pack"}
        )
        self.assertTrue(self.steps()["credits"])
        self.assertTrue(company.clinic_sms_setup_done)
        self.assertEqual(company.clinic_sms_setup_steps_done, 5)

    def test_a_new_language_among_the_patients_reopens_the_templates_step(self):
        self.settings().action_clinic_sms_reviewed()
        self.assertTrue(self.steps()["templates"])
        self.env["res.lang"]._activate_lang("pl_PL")
        self.patient.lang = "pl_PL"
        self.assertFalse(self.steps()["templates"])
        self.assertEqual(self.company.clinic_sms_setup_lang_next_id.code, "pl_PL")


@tagged("post_install", "-at_install")
class TestBanners(ClinicSmsCase, HttpCase):
    """What the administrator sees (tours in ``static/tests/tours``, in a real browser)."""

    LOG = "/odoo/action-clinic_sms.clinic_sms_message_action"

    def tour(self, url, name):
        # The browser lives in real time; the server's clock is frozen only for the tests' setup.
        self.freezer.stop()
        try:
            self.start_tour(url, name, login="admin")
        finally:
            self.clock = self.freezer.start()

    def without_gateway(self):
        self.gateway.active = False
        self.company.clinic_sms_gateway_id = False
        self.make_event(NOW + timedelta(hours=5))
        self.dispatch()

    def test_the_log_and_settings_say_that_nothing_is_sent_without_a_gateway(self):
        self.without_gateway()
        self.tour(self.LOG, "clinic_sms_no_gateway_log")

    def test_the_calendar_says_that_nothing_is_sent_without_a_gateway(self):
        self.without_gateway()
        self.tour("/odoo/calendar", "clinic_sms_no_gateway_calendar")

    def test_the_log_marks_what_the_test_gateway_pretended_to_send(self):
        self.make_event(NOW + timedelta(days=2))
        self.dispatch()
        self.assertTrue(self.messages(kind="confirmation").simulated)
        self.tour(self.LOG, "clinic_sms_simulated_log")
