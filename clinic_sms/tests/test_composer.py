from datetime import datetime, timedelta

from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, new_test_user

from .common import ClinicSmsCase


class TestComposer(ClinicSmsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        dk = cls.env.ref("base.dk").id
        Partner = cls.env["res.partner"]
        cls.opted_out = Partner.create(
            {"name": "Carl Opt", "phone": "+45 20 12 11 22", "country_id": dk, "sms_opt_out": True}
        )
        cls.no_number = Partner.create({"name": "Dora Nonumber", "country_id": dk})
        cls.dead = Partner.create(
            {"name": "Erik Late", "phone": "+45 20 12 33 44", "country_id": dk, "deceased": True}
        )
        cls.invalid = Partner.create({"name": "Finn Typo", "phone": "12", "country_id": dk})
        cls.blocked = Partner.create({"name": "Gus Blocked", "phone": "+45 20 12 55 66", "country_id": dk})
        cls.env["phone.blacklist"].sudo()._add(["+4520125566"])

    def composer(self, partners, user=None, **values):
        env = self.env(user=user) if user else self.env
        return (
            env["clinic.sms.composer"]
            .with_context(active_model="res.partner", active_ids=partners.ids)
            .create(values)
        )

    def test_group_leaves_out_with_reasons_and_personalises(self):
        group = (
            self.patient
            | self.patient2
            | self.opted_out
            | self.no_number
            | self.dead
            | self.invalid
            | self.blocked
        )
        wizard = self.composer(group, body="Hi {patient_first_name}, greetings from {clinic}.")
        self.assertEqual(wizard.partner_ids, group)
        self.assertEqual(wizard.recipient_count, 2)
        self.assertEqual(wizard.excluded_count, 5)
        for name in ("Carl Opt", "Dora Nonumber", "Erik Late", "Finn Typo", "Gus Blocked"):
            self.assertIn(name, wizard.excluded_html)
        self.assertIn("fewer digits", wizard.excluded_html.replace("too few digits", "fewer digits"))
        self.assertIn("blacklist", wizard.excluded_html)
        self.assertEqual(wizard.preview_partner_id, self.patient)
        company = self.company.name
        self.assertEqual(wizard.preview_body, f"Hi Anna, greetings from {company}.")

        action = wizard.action_send()
        messages = self.env["clinic.sms.message"].search(action["domain"])
        self.assertEqual(len(messages), 7)
        self.assertEqual(set(messages.mapped("kind")), {"manual"})
        # "Send now" hands the messages to the gateway at once; the cron finds nothing more.
        self.dispatch()
        self.assertEqual(
            sorted((o.number, o.body) for o in self.sent),
            sorted(
                [
                    (self.patient.sms_number_e164, f"Hi Anna, greetings from {company}."),
                    (self.patient2.sms_number_e164, f"Hi Bo, greetings from {company}."),
                ]
            ),
        )
        by_partner = {m.partner_id: m for m in messages}
        self.assertEqual(by_partner[self.patient].state, "delivered")
        self.assertEqual(by_partner[self.patient].credits, 1.0)
        expected = {
            self.opted_out: "opted_out",
            self.blocked: "opted_out",
            self.no_number: "no_number",
            self.dead: "deceased",
            self.invalid: "invalid_number",
        }
        for partner, reason in expected.items():
            self.assertEqual((by_partner[partner].state, by_partner[partner].reason), ("skipped", reason))
        self.assertEqual(by_partner[self.invalid].error, "The number has too few digits.")

    def test_preview_parts_and_cost_polish(self):
        self.company.clinic_sms_credits_per_part = 2.0
        text = (
            "Dzień dobry {patient_first_name}, przypominamy o wizycie. Prosimy o potwierdzenie. Dziękujemy!"
        )
        wizard = self.composer(self.patient | self.patient2, body=text)
        self.assertEqual(wizard.preview_encoding, "Unicode (UCS-2)")
        self.assertGreater(wizard.preview_units, 70)
        self.assertEqual(wizard.preview_parts, 2)
        self.assertEqual(wizard.preview_cost, 4.0)
        self.assertEqual(wizard.total_cost, 8.0)
        short = self.composer(self.patient, body="Miłego dnia!")
        self.assertEqual(
            (short.preview_encoding, short.preview_parts, short.preview_cost), ("Unicode (UCS-2)", 1, 2.0)
        )

    def test_appointment_template_placeholders(self):
        template = self.env["clinic.sms.template"].create(
            {
                "name": "Moved room",
                "kind": "notice",
                "body": "{patient_first_name}: {appointment_weekday} {appointment_date} at "
                "{appointment_time} with {practitioner} is in room 2.",
            }
        )
        event = self.make_event(datetime(2027, 1, 12, 9, 0), self.patient | self.patient2)
        self.sent.clear()
        self.env["clinic.sms.message"].search([("event_id", "=", event.id)]).write({"state": "cancelled"})
        wizard = (
            self.env["clinic.sms.composer"]
            .with_context(default_event_id=event.id)
            .create({"template_id": template.id})
        )
        # The practitioner is an attendee but never a recipient.
        self.assertEqual(wizard.partner_ids, self.patient | self.patient2)
        self.assertEqual(wizard.body, template.body)
        expected = "Anna: Tuesday 12 January 2027 at 10:00 with Dr. Mette Hansen is in room 2."
        self.assertEqual(wizard.preview_body, expected)
        action = wizard.action_send()
        messages = self.env["clinic.sms.message"].search(action["domain"])
        self.assertEqual(set(messages.mapped("kind")), {"notice"})
        self.assertEqual(messages.event_id, event)
        self.assertEqual(messages.user_id, self.practitioner)
        self.assertIn(expected, [o.body for o in self.sent])

    def test_appointment_placeholders_need_an_appointment(self):
        wizard = self.composer(self.patient, body="See you {appointment_date}")
        self.assertIn("{appointment_date}", wizard.body_error)
        with self.assertRaisesRegex(UserError, "appointment"):
            wizard.action_send()
        wizard.body = "Hello {nickname}"
        self.assertIn("Allowed placeholders", wizard.body_error)
        with self.assertRaisesRegex(UserError, "patient_first_name"):
            wizard.action_send()

    def test_chosen_time_outside_window_is_refused(self):
        wizard = self.composer(
            self.patient,
            template_id=self.env.ref("clinic_sms.template_manual").id,
            send_mode="later",
            scheduled_at=datetime(2027, 1, 11, 21, 0),  # 22:00 in Copenhagen
        )
        with self.assertRaisesRegex(UserError, r"08:00 and 20:00 \(Europe/Copenhagen\).*2027-01-12 08:00"):
            wizard.action_send()
        self.assertIn("08:00", wizard.window_info)
        wizard.scheduled_at = datetime(2027, 1, 11, 9, 0)  # in the past
        with self.assertRaisesRegex(UserError, "passed"):
            wizard.action_send()

        wizard.scheduled_at = datetime(2027, 1, 11, 14, 0)  # 15:00 in Copenhagen
        message = self.env["clinic.sms.message"].search(wizard.action_send()["domain"])
        self.assertEqual(message.state, "scheduled")
        self.assertEqual(message.due_at, datetime(2027, 1, 11, 14, 0))
        self.assertEqual(message.expire_at, datetime(2027, 1, 12, 14, 0))
        # The text was written when it was composed: a later edit of the template does not change it.
        self.env.ref("clinic_sms.template_manual").body = "Changed {clinic}"
        self.dispatch()
        self.assertFalse(self.sent)
        self.dispatch(at=datetime(2027, 1, 11, 14, 1))
        self.assertEqual(len(self.sent), 1)
        self.assertTrue(self.sent[0].body.startswith("Hi Anna, this is a message from"))
        self.assertEqual(message.state, "delivered")

    def test_send_now_outside_window_waits(self):
        self.move_to(datetime(2027, 1, 11, 20, 30))  # 21:30 in Copenhagen
        wizard = self.composer(self.patient, body="Hi {patient_first_name}")
        self.assertIn("2027-01-12 08:00", wizard.window_info)
        message = self.env["clinic.sms.message"].search(wizard.action_send()["domain"])
        self.assertFalse(self.sent)
        self.assertEqual((message.state, message.reason), ("queued", "outside_window"))
        self.dispatch(at=datetime(2027, 1, 12, 7, 1))
        self.assertEqual([o.body for o in self.sent], ["Hi Anna"])

    def test_send_test_to_my_number(self):
        wizard = self.composer(self.patient | self.patient2, body="Hi {patient_first_name}!")
        self.env.user.partner_id.write({"phone": False, "sms_number": False})
        with self.assertRaisesRegex(UserError, "no valid mobile number"):
            wizard.action_send_test()
        self.env.user.partner_id.write({"phone": "+45 40 11 22 33", "country_id": self.env.ref("base.dk").id})
        action = wizard.action_send_test()
        self.assertEqual(action["params"]["type"], "warning", "the test gateway never says delivered")
        self.assertIn("Simulated", action["params"]["message"])
        self.assertEqual([(o.number, o.body) for o in self.sent], [("+4540112233", "Hi Anna!")])
        self.assertFalse(
            self.env["clinic.sms.message"].search([("partner_id", "=", self.env.user.partner_id.id)])
        )

    def test_employee_without_group_cannot_compose(self):
        employee = new_test_user(self.env, login="clinic_sms_receptionist", groups="base.group_user")
        with self.assertRaises(AccessError):
            self.composer(self.patient, user=employee, body="Hi")

    def test_clinic_sms_user_can_send(self):
        wizard = self.composer(self.patient, user=self.practitioner, body="Hi {patient_first_name}")
        action = wizard.action_send()
        message = self.env["clinic.sms.message"].search(action["domain"])
        self.assertEqual(message.create_uid, self.practitioner)
        self.assertEqual(message.state, "delivered")
        self.assertEqual([o.body for o in self.sent], ["Hi Anna"])

    def test_form_from_contacts(self):
        form = Form(
            self.env["clinic.sms.composer"].with_context(
                active_model="res.partner", active_ids=(self.patient | self.dead).ids
            )
        )
        form.template_id = self.env.ref("clinic_sms.template_manual")
        self.assertTrue(form.body.startswith("Hi {patient_first_name}"))
        self.assertEqual(form.recipient_count, 1)
        self.assertEqual(form.excluded_count, 1)
        self.assertTrue(form.preview_body.startswith("Hi Anna, this is a message from"))
        wizard = form.save()
        self.assertEqual(len(self.env["clinic.sms.message"].search(wizard.action_send()["domain"])), 2)

    def test_scheduled_expires_after_a_day(self):
        wizard = self.composer(
            self.patient, body="Hi", send_mode="later", scheduled_at=datetime(2027, 1, 12, 9, 0)
        )
        message = self.env["clinic.sms.message"].search(wizard.action_send()["domain"])
        self.assertEqual(message.expire_at - message.due_at, timedelta(hours=24))

    def test_bound_on_contacts_and_appointments(self):
        action = self.env.ref("clinic_sms.clinic_sms_composer_action")
        self.assertEqual(action.binding_model_id.model, "res.partner")
        event_action = self.env.ref("clinic_sms.clinic_sms_composer_event_action")
        arch = self.env["calendar.event"].get_view(self.env.ref("calendar.view_calendar_event_form").id)[
            "arch"
        ]
        self.assertIn(f'name="{event_action.id}"', arch)
