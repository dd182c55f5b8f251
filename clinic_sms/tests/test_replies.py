from datetime import datetime

from odoo.addons.clinic_sms.core import gateway as gw

from .common import ClinicSmsCase, queued_messages


class TestReplies(ClinicSmsCase):
    """Patients' replies: opt-out, confirm, cancel, or a note for staff."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for code in ("da_DK", "de_DE", "pl_PL"):
            cls.env["res.lang"]._activate_lang(code)
        cls.patient.lang = "da_DK"

    def reminded_event(self, patient=None):
        """An appointment tomorrow whose reminder has gone to ``patient``."""
        patient = patient or self.patient
        event = self.make_event(datetime(2027, 1, 12, 14, 0), patients=patient)
        self.dispatch(datetime(2027, 1, 11, 14, 30))
        reminder = self.messages(event, kind="reminder", partner=patient)
        self.assertEqual(reminder.state, "delivered")
        return event

    def receive(self, text, number=None, ref=""):
        number = number or self.patient.sms_number_e164
        return self.env["clinic.sms.message"]._clinic_sms_receive(
            self.gateway, [gw.Inbound(number=number, body=text, provider_ref=ref)]
        )

    def attendee(self, event, partner=None):
        return event.attendee_ids.filtered(lambda a: a.partner_id == (partner or self.patient))

    def test_stop_opts_out_blacklists_and_confirms(self):
        event = self.make_event(datetime(2027, 1, 20, 14, 0))
        twin = self.env["res.partner"].create({"name": "Anna's son", "phone": self.patient.phone})
        waiting = self.messages(event, kind="reminder")
        self.assertEqual(waiting.state, "scheduled")
        received = self.receive("Venligst STOP med at skrive")
        self.assertEqual(
            (received.kind, received.reply_action, received.partner_id), ("inbound", "stop", self.patient)
        )
        self.assertTrue(self.patient.sms_opt_out and twin.sms_opt_out, "every contact with the number")
        blacklist = self.env["phone.blacklist"].search([("number", "=", self.patient.sms_number_e164)])
        self.assertTrue(blacklist.active)
        self.assertEqual((waiting.state, waiting.reason), ("cancelled", "opted_out"))
        confirmation = self.messages(kind="opt_out")
        self.assertEqual(len(confirmation), 1)
        self.dispatch()
        self.assertEqual(confirmation.state, "delivered", "the opt-out confirmation itself still goes")
        self.assertIn("no longer", self.sent[-1].body.lower() + confirmation.body.lower())

    def test_stop_words_in_every_language(self):
        cases = [("de_DE", "Bitte stopp"), ("pl_PL", "wypisz mnie"), ("en_US", "STOP"), ("da_DK", "afmeld")]
        for index, (lang, text) in enumerate(cases):
            partner = self.env["res.partner"].create(
                {"name": f"P{index}", "sms_number": f"+45 20 30 40 5{index}", "lang": lang}
            )
            self.assertTrue(partner.sms_number_e164)
            received = self.receive(text, number=partner.sms_number_e164)
            self.assertEqual(received.reply_action, "stop", text)
            self.assertTrue(partner.sms_opt_out, text)

    def test_confirm_sets_attendee_and_tells_practitioner(self):
        event = self.reminded_event()
        received = self.receive("Ja tak, vi ses")
        self.assertEqual((received.reply_action, received.event_id), ("confirm", event))
        self.assertEqual(self.attendee(event).state, "accepted")
        note = event.message_ids.filtered(lambda m: "confirmed the appointment by SMS" in (m.body or ""))
        self.assertEqual(note.partner_ids, self.practitioner.partner_id, "the practitioner is notified")

    def test_cancel_declines(self):
        event = self.reminded_event()
        received = self.receive("Nej, jeg er syg")
        self.assertEqual(received.reply_action, "cancel")
        self.assertEqual(self.attendee(event).state, "declined")
        self.assertTrue(
            event.message_ids.filtered(lambda m: "cancelled the appointment by SMS" in (m.body or ""))
        )

    def test_confirm_and_cancel_words_per_language(self):
        for lang, yes, no in (
            ("de_DE", "Ja gerne", "Nein danke"),
            ("pl_PL", "Tak", "Nie mogę"),
            ("en_US", "Yes", "No"),
        ):
            self.patient.lang = lang
            event = self.reminded_event()
            self.assertEqual(self.receive(yes).reply_action, "confirm", yes)
            self.assertEqual(self.attendee(event).state, "accepted")
            self.assertEqual(self.receive(no).reply_action, "cancel", no)
            self.assertEqual(self.attendee(event).state, "declined")
            event.action_archive()

    def test_danish_thanks_is_not_polish_yes(self):
        event = self.reminded_event()
        received = self.receive("Tak for påmindelsen")
        self.assertEqual(received.reply_action, "other")
        self.assertNotEqual(self.attendee(event).state, "accepted")

    def test_cancel_is_never_a_cancelling_word(self):
        self.patient.lang = "en_US"
        event = self.reminded_event()
        self.assertEqual(self.receive("CANCEL").reply_action, "other")
        self.assertNotEqual(self.attendee(event).state, "declined")

    def test_free_text_becomes_a_note_on_patient_and_appointment(self):
        event = self.reminded_event()
        received = self.receive("Kan jeg komme en time senere?")
        self.assertEqual(received.reply_action, "other")
        for record in (self.patient, event):
            notes = record.message_ids.filtered(lambda m: "Kan jeg komme en time senere?" in (m.body or ""))
            self.assertEqual(len(notes), 1, record._name)
            self.assertEqual(notes.author_id, self.patient)
        self.assertIn(received, self.patient.clinic_sms_message_ids, "shown in the patient's SMS tab")

    def test_confirm_without_a_reminder_is_a_note(self):
        received = self.receive("Ja")
        self.assertEqual(received.reply_action, "other")
        self.assertTrue(self.patient.message_ids.filtered(lambda m: "“Ja”" in (m.body or "")))

    def test_reply_about_a_cancelled_appointment_changes_nothing(self):
        event = self.reminded_event()
        event.action_archive()
        self.assertEqual(self.receive("Ja").reply_action, "other")

    def test_html_in_a_reply_is_shown_as_text(self):
        self.reminded_event()
        self.receive("<b>bold</b><script>x</script>")
        note = self.patient.message_ids.filtered(lambda m: "bold" in (m.body or ""))
        self.assertNotIn("<b>", note.body)
        self.assertIn("&lt;b&gt;", note.body)

    def test_duplicate_reply_is_kept_once(self):
        first = self.receive("Hej", ref="mo-1")
        second = self.receive("Hej", ref="mo-1")
        self.assertEqual(first, second)
        self.assertEqual(len(self.messages(kind="inbound")), 1)

    def test_reply_from_unknown_number_is_logged(self):
        received = self.receive("Hvem er I?", number="4551234567")
        self.assertFalse(received.partner_id)
        self.assertEqual(
            received.number, "+4551234567", "the provider's number without + is read as international"
        )
        self.assertEqual(received.reply_action, "other")

    def test_unknown_number_stop_blacklists_the_number(self):
        self.receive("STOP", number="+4551234567")
        self.assertTrue(self.env["phone.blacklist"].search([("number", "=", "+4551234567")]))
        partner = self.env["res.partner"].create({"name": "New", "sms_number": "+45 51 23 45 67"})
        message = queued_messages(self.env, partner)
        self.dispatch()
        self.assertEqual((message.state, message.reason), ("skipped", "opted_out"))

    def test_keywords_are_configurable(self):
        self.env["clinic.sms.keyword"].create(
            {"word": "Kommer", "action": "confirm", "lang_id": self.env.ref("base.lang_da_DK").id}
        )
        event = self.reminded_event()
        self.assertEqual(self.receive("kommer").reply_action, "confirm")
        self.assertEqual(self.attendee(event).state, "accepted")

    def test_keyword_validation(self):
        from odoo.exceptions import ValidationError

        lang = self.env.ref("base.lang_en").id
        with self.assertRaises(ValidationError):
            self.env["clinic.sms.keyword"].create({"word": "CANCEL", "action": "cancel", "lang_id": lang})
        with self.assertRaises(ValidationError):
            self.env["clinic.sms.keyword"].create({"word": "two words", "action": "confirm", "lang_id": lang})

    def test_last_reminder_decides_the_appointment(self):
        first = self.reminded_event()
        second = self.make_event(datetime(2027, 1, 13, 9, 0))
        self.dispatch(datetime(2027, 1, 12, 10, 0))
        self.assertEqual(self.messages(second, kind="reminder").state, "delivered")
        self.receive("ja")
        self.assertEqual(self.attendee(second).state, "accepted")
        self.assertNotEqual(self.attendee(first).state, "accepted")
