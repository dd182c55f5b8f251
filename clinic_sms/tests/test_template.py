from datetime import timedelta

from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged

from .common import NOW, ClinicSmsCase


@tagged("post_install", "-at_install")
class TestTemplate(ClinicSmsCase):
    def test_unknown_placeholder_is_refused_with_the_allowed_ones(self):
        template = self.env["clinic.sms.template"].create({"name": "T", "kind": "manual", "body": "Hi"})
        with self.assertRaises(ValidationError) as caught:
            template.body = "Hi {patient_firstname}"
        self.assertIn("patient_firstname", str(caught.exception))
        self.assertIn("patient_first_name", str(caught.exception))
        with self.assertRaises(ValidationError):
            template.body = "Hi {patient_name"

    def test_live_part_counter(self):
        form = Form(self.env["clinic.sms.template"])
        form.name = "Counter"
        form.kind = "manual"
        form.body = "a" * 160
        self.assertEqual((form.body_parts, form.body_encoding), (1, "GSM-7"))
        form.body = "a" * 161
        self.assertEqual(form.body_parts, 2)
        form.body = "Dzień dobry"
        self.assertEqual(form.body_encoding, "Unicode (UCS-2)")
        template = form.save()
        self.assertIn("{patient_first_name}", template.placeholder_help)

    def test_rule_and_template_kinds_must_match(self):
        with self.assertRaises(ValidationError):
            self.env["clinic.sms.rule"].create(
                {"name": "Bad", "kind": "reminder", "template_id": self.rule_birthday.template_id.id}
            )

    def test_dates_in_patient_language_and_clinic_time(self):
        self.env["res.lang"]._activate_lang("da_DK")
        self.patient.lang = "da_DK"
        template = self.rule_reminder.template_id
        template.with_context(
            lang="da_DK"
        ).body = "Hej {patient_first_name}, {appointment_weekday} {appointment_date} kl. {appointment_time}."
        event = self.make_event(NOW + timedelta(days=2))
        reminder = self.messages(event, "reminder")
        self.dispatch(reminder.due_at)
        self.assertEqual(reminder.body, "Hej Anna, onsdag 13. januar 2027 kl. 11:00.")

    def test_shipped_translations_give_each_patient_their_language(self):
        for lang in ("de_DE", "pl_PL", "da_DK"):
            self.env["res.lang"]._activate_lang(lang)
        self.env["ir.module.module"]._load_module_terms(
            ["clinic_sms"], ["de_DE", "pl_PL", "da_DK"], overwrite=True
        )
        self.patient.lang = "de_DE"
        self.patient2.lang = "pl_PL"
        event = self.make_event(NOW + timedelta(days=2), patients=self.patient | self.patient2)
        self.dispatch(NOW + timedelta(days=1))
        german = self.messages(event, "reminder", partner=self.patient)
        polish = self.messages(event, "reminder", partner=self.patient2)
        self.assertIn(
            "Hallo Anna, wir erinnern Sie an Ihren Termin am Mittwoch, 13. Januar 2027 um 11:00", german.body
        )
        self.assertIn(
            "Dzień dobry Bo, przypominamy o wizycie: środa, 13 stycznia 2027, godz. 11:00", polish.body
        )
        self.assertEqual(polish.encoding, "ucs2")
        for lang in ("da_DK", "de_DE", "pl_PL"):
            for template in self.env["clinic.sms.template"].with_context(lang=lang).search([]):
                self.assertNotEqual(
                    template.body, template.with_context(lang="en_US").body, f"{template.name} in {lang}"
                )
