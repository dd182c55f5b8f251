"""Template tools: *Transliterate to GSM-7* per template, and *Send me a test*."""

from datetime import timedelta

from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, tagged

from ..core import segments
from .common import NOW, ClinicSmsCase

LONG_REMINDER = (
    "Dear {patient_name}, this is a reminder of your appointment at {clinic} on {appointment_date} "
    "at {appointment_time}. Call us if you cannot come."
)


@tagged("post_install", "-at_install")
class TestTemplateTools(ClinicSmsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.add_users()
        cls.polish_patient = cls.env["res.partner"].create(
            {"name": "Łukasz Wójcik", "phone": "+45 20 55 66 77", "country_id": cls.env.ref("base.dk").id}
        )
        cls.template = cls.rule_reminder.template_id
        cls.template.write({"body": LONG_REMINDER, "transliterate": True})

    def reminder_of(self, patient):
        event = self.make_event(NOW + timedelta(days=2), patients=patient)
        reminder = self.messages(event, "reminder", partner=patient)
        self.assertEqual(len(reminder), 1)
        self.dispatch(reminder.due_at)
        self.assertIn(reminder.state, ("sent", "delivered"))
        return reminder

    # ------------------------------------------------------------------ transliterate

    def test_a_polish_name_goes_as_one_gsm7_part_when_the_template_transliterates(self):
        reminder = self.reminder_of(self.polish_patient)
        self.assertTrue(reminder.body.startswith("Dear Lukasz Wojcik, this is a reminder"), reminder.body)
        self.assertEqual((reminder.encoding, reminder.segments), ("gsm7", 1))
        self.assertEqual([o.body for o in self.sent_to(self.polish_patient)], [reminder.body])
        as_written = reminder.body.replace("Lukasz Wojcik", "Łukasz Wójcik")
        self.assertEqual(segments.count_parts(as_written).parts, 2, "it did save a part")

    def test_without_the_option_the_polish_name_is_sent_as_written(self):
        self.template.transliterate = False
        reminder = self.reminder_of(self.polish_patient)
        self.assertTrue(reminder.body.startswith("Dear Łukasz Wójcik,"), reminder.body)
        self.assertEqual((reminder.encoding, reminder.segments), ("ucs2", 2))

    def test_transliteration_that_saves_no_part_leaves_the_text_as_written(self):
        self.template.body = "Hi {patient_first_name} ≠ {clinic}"
        reminder = self.reminder_of(self.polish_patient)
        self.assertTrue(reminder.body.startswith("Hi Łukasz ≠ "), reminder.body)
        self.assertEqual((reminder.encoding, reminder.segments), ("ucs2", 1))

    def test_the_reminder_run_previews_and_sends_the_transliterated_text(self):
        event = self.make_event(NOW + timedelta(days=1), patients=self.polish_patient)
        run = self.env["clinic.sms.reminder.run"].create({})  # tomorrow, the default
        run.action_preview()
        line = run.line_ids.filtered(lambda line: line.partner_id == self.polish_patient)
        self.assertEqual(line.event_id, event)
        self.assertTrue(line.body.startswith("Dear Lukasz Wojcik, this is a reminder"), line.body)
        run.action_send()
        reminder = self.messages(event, "reminder", partner=self.polish_patient)
        self.assertEqual(reminder.body, line.body)

    def test_the_composer_sends_a_transliterating_template_transliterated(self):
        template = self.env["clinic.sms.template"].create(
            {
                "name": "Long manual",
                "kind": "manual",
                "transliterate": True,
                "body": "Dear {patient_name}, our clinic is closed next week for renovation. "
                "Appointments are moved; we will call you. Thank you!",
            }
        )
        wizard = (
            self.env["clinic.sms.composer"]
            .with_context(active_model="res.partner", active_ids=self.polish_patient.ids)
            .create({"template_id": template.id})
        )
        self.assertTrue(wizard.preview_body.startswith("Dear Lukasz Wojcik, our clinic"), wizard.preview_body)
        self.assertEqual(wizard.preview_parts, 1)

    def test_the_counter_shows_both_lengths_when_transliterating(self):
        form = Form(self.env["clinic.sms.template"])
        form.name = "Counter"
        form.kind = "manual"
        form.body = "Zażółć gęślą jaźń. " * 4 + "…"
        self.assertEqual((form.body_units, form.body_parts, form.body_encoding), (77, 2, "Unicode (UCS-2)"))
        self.assertEqual((form.translit_units, form.translit_parts), (79, 1))
        self.assertTrue(form.translit_saves)
        form.body = "Dzień dobry…"
        self.assertEqual((form.body_parts, form.translit_parts), (1, 1))
        self.assertFalse(form.translit_saves, "one part either way: sent as written")
        form.transliterate = True
        self.assertTrue(form.save().transliterate)

    # ------------------------------------------------------------------ send me a test

    def test_send_me_a_test_sends_the_template_for_a_sample_patient_to_my_mobile(self):
        self.staff.partner_id.write({"phone": "+45 40 11 22 33", "country_id": self.env.ref("base.dk").id})
        self.template.transliterate = False
        action = self.template.with_user(self.staff).action_send_test()
        self.assertIn("Simulated", action["params"]["message"])
        self.assertEqual(len(self.sent), 1)
        self.assertEqual(self.sent[0].number, "+4540112233")
        # The sample patient, tomorrow at 10:00 (the clock stands on Monday 11 January 2027).
        expected = (
            f"Dear Anna Smith, this is a reminder of your appointment at {self.company.name} on "
            "12 January 2027 at 10:00. Call us if you cannot come."
        )
        self.assertEqual(self.sent[0].body, expected)
        self.assertFalse(
            self.env["clinic.sms.message"].search([("partner_id", "=", self.staff.partner_id.id)])
        )

    def test_send_me_a_test_sends_what_patients_would_get_transliterated(self):
        self.env["res.lang"]._activate_lang("pl_PL")
        self.staff.write({"lang": "pl_PL"})
        self.staff.partner_id.write({"phone": "+45 40 11 22 33", "country_id": self.env.ref("base.dk").id})
        self.template.with_context(lang="pl_PL").body = (
            "Dzień dobry {patient_name}, przypominamy o wizycie w {clinic}: {appointment_weekday}, "
            "{appointment_date}, godz. {appointment_time}. Prosimy o potwierdzenie."
        )
        self.template.with_user(self.staff).with_context(lang="pl_PL").action_send_test()
        self.assertEqual(
            self.sent[0].body,
            f"Dzien dobry Anna Kowalska, przypominamy o wizycie w {self.company.name}: wtorek, "
            "12 stycznia 2027, godz. 10:00. Prosimy o potwierdzenie.",
        )

    def test_send_me_a_test_without_a_mobile_says_so_and_sends_nothing(self):
        self.staff.partner_id.write({"phone": False, "sms_number": False})
        with self.assertRaisesRegex(UserError, "no valid mobile number"):
            self.template.with_user(self.staff).action_send_test()
        self.assertFalse(self.sent)

    def test_send_me_a_test_is_for_clinic_sms_users(self):
        self.employee.partner_id.phone = "+45 40 11 22 34"
        with self.assertRaises(AccessError):
            self.template.with_user(self.employee).action_send_test()
        self.assertFalse(self.sent)
