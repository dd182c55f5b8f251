from datetime import date, datetime, timedelta

from freezegun import freeze_time

from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, new_test_user, tagged

from .common import NOW, ClinicSmsCase

#: Tuesday 12 January 2027, the day after NOW; Copenhagen is UTC+1.
DAY = date(2027, 1, 12)


def at(hour, minute=0):
    """``DAY`` at this UTC time (local time is one hour later)."""
    return datetime(2027, 1, 12, hour, minute)


@tagged("post_install", "-at_install")
class TestPractitionerDay(ClinicSmsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.add_users()
        cls.notice_template = cls.env.ref("clinic_sms.template_notice_delay")
        # Booked once for the class (each test rolls back to here), at the tests' frozen NOW.
        with freeze_time(NOW):
            cls.first = cls.make_event(cls, at(8))  # 09:00 local
            cls.second = cls.make_event(cls, at(9, 30))  # 10:30 local, same patient
            cls.other = cls.make_event(cls, at(11), cls.patient2)  # 12:00 local
            other_doctor = new_test_user(cls.env, login="clinic_sms_day_doc2", groups="base.group_user")
            cls.not_mine = cls.make_event(cls, at(8), cls.patient2, user_id=other_doctor.id)
            cls.next_week = cls.make_event(cls, at(8) + timedelta(days=7))

    def wizard(self, user=None, **values):
        Day = self.env["clinic.sms.day"]
        if user:
            Day = Day.with_user(user)
        return Day.create({"user_id": self.practitioner.id, "date_from": DAY, **values})

    def test_lists_the_practitioners_appointments_of_the_day(self):
        wizard = self.wizard()
        self.assertEqual(wizard.date_to, DAY)
        self.assertEqual(wizard.event_ids, self.first | self.second | self.other)
        self.assertEqual(wizard.patient_count, 2)
        wizard.date_to = DAY + timedelta(days=7)
        self.assertIn(self.next_week, wizard.event_ids)

    def test_form(self):
        form = Form(self.env["clinic.sms.day"])
        form.user_id = self.practitioner
        form.date_from = DAY
        self.assertEqual(form.date_to, DAY)
        self.assertEqual(form.event_count, 3)
        form.template_id = self.notice_template
        self.assertEqual(form.body, self.notice_template.body)
        form.save().action_send()
        self.assertEqual(len(self.messages(kind="notice")), 2)

    def test_opened_from_an_appointment(self):
        wizard = (
            self.env["clinic.sms.day"]
            .with_context(active_model="calendar.event", active_id=self.second.id)
            .create({})
        )
        self.assertEqual((wizard.user_id, wizard.date_from, wizard.date_to), (self.practitioner, DAY, DAY))

    def test_notice_one_message_per_patient(self):
        self.wizard(template_id=self.notice_template.id).action_send()
        notices = self.messages(kind="notice")
        self.assertEqual(len(notices), 2)
        anna = notices.filtered(lambda m: m.partner_id == self.patient)
        self.assertEqual((anna.event_id, anna.state), (self.first, "queued"))
        self.assertIn("Anna, Dr. Mette Hansen is running late today", anna.body)
        self.dispatch()
        self.assertEqual(notices.mapped("state"), ["delivered", "delivered"])
        self.assertEqual(len([o for o in self.sent if "running late" in o.body]), 2)

    def test_notice_free_text_lists_the_other_times(self):
        self.wizard(body="Your appointment at {appointment_time} is one hour later.").action_send()
        anna = self.messages(kind="notice", partner=self.patient)
        self.assertEqual(
            anna.body,
            "Your appointment at 09:00 is one hour later. This is also about your appointments at 10:30.",
        )
        bo = self.messages(kind="notice", partner=self.patient2)
        self.assertEqual(bo.body, "Your appointment at 12:00 is one hour later.")

    def test_sms_switched_off_is_skipped_with_reason(self):
        self.other.sms_enabled = False
        self.wizard(template_id=self.notice_template.id).action_send()
        bo = self.messages(kind="notice", partner=self.patient2)
        self.assertEqual((bo.state, bo.reason), ("skipped", "sms_disabled"))

    def test_cancel_day_archives_and_sends_one_cancellation_per_patient(self):
        reminders = self.messages(kind="reminder").filtered(lambda m: m.event_id != self.not_mine)
        self.wizard(mode="cancel").action_cancel_day()
        day = self.first | self.second | self.other
        self.assertFalse(any(day.with_context(active_test=False).mapped("active")))
        self.assertTrue(self.not_mine.active)
        cancellations = self.messages(kind="cancellation")
        self.assertEqual(len(cancellations), 2, "one per patient, no automatic notices per appointment")
        self.assertFalse(cancellations.rule_id)
        anna = cancellations.filtered(lambda m: m.partner_id == self.patient)
        self.assertEqual(anna.event_id, self.first)
        self.assertIn("on 12 January 2027 at 09:00 has been cancelled", anna.body)
        self.assertIn("Your appointments that day at 10:30 are cancelled too.", anna.body)
        self.assertEqual(
            set(reminders.filtered(lambda m: m.event_id in day).mapped("reason")), {"appointment_cancelled"}
        )
        self.dispatch()
        self.assertEqual(set(cancellations.mapped("state")), {"delivered"})
        self.assertEqual(len([o for o in self.sent if "has been cancelled" in o.body]), 2)

    def test_cancel_today_leaves_started_appointments(self):
        started = self.make_event(datetime(2027, 1, 11, 8))  # today 09:00 local, NOW is 11:00 local
        later = self.make_event(datetime(2027, 1, 11, 14), self.patient2)
        self.wizard(mode="cancel", date_from=date(2027, 1, 11)).action_cancel_day()
        self.assertTrue(started.active)
        self.assertFalse(later.active)
        self.assertEqual(self.messages(kind="cancellation").partner_id, self.patient2)

    def test_archiving_an_appointment_still_plans_its_notice(self):
        self.first.action_archive()
        self.assertEqual(len(self.messages(self.first, "cancellation")), 1)

    def test_access(self):
        wizard = self.wizard(user=self.staff, template_id=self.notice_template.id)
        wizard.action_send()
        self.assertEqual(len(self.messages(kind="notice")), 2)
        self.wizard(user=self.staff, mode="cancel").action_cancel_day()
        self.assertEqual(len(self.messages(kind="cancellation")), 2)
        with self.assertRaises(AccessError):
            self.wizard(user=self.employee)


@tagged("post_install", "-at_install")
class TestReminderRun(ClinicSmsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.add_users()
        dk = cls.env.ref("base.dk").id
        Partner = cls.env["res.partner"]
        cls.opted_out = Partner.create(
            {"name": "Carl Opt", "phone": "+45 31 22 33 51", "country_id": dk, "sms_opt_out": True}
        )
        cls.no_number = Partner.create({"name": "Dorte None", "country_id": dk})
        cls.bad_number = Partner.create({"name": "Erik Bad", "phone": "12", "country_id": dk})
        cls.deceased = Partner.create(
            {"name": "Frida Late", "phone": "+45 31 22 33 52", "country_id": dk, "deceased": True}
        )
        cls.switched_off = Partner.create({"name": "Gitte Off", "phone": "+45 31 22 33 53", "country_id": dk})
        cls.reminded = Partner.create({"name": "Hans Done", "phone": "+45 31 22 33 54", "country_id": dk})
        # Booked once for the class (each test rolls back to here), at the tests' frozen NOW.
        treatment = {"categ_ids": [(6, 0, cls.type_treatment.ids)]}
        with freeze_time(NOW):
            cls.first = cls.make_event(cls, at(8), **treatment)
            cls.second = cls.make_event(cls, at(13, 30), **treatment)  # 14:30 local
            cls.bo = cls.make_event(cls, at(10), cls.patient2, **treatment)
            cls.make_event(cls, at(11), cls.opted_out, **treatment)
            cls.make_event(cls, at(11), cls.no_number, **treatment)
            cls.make_event(cls, at(11), cls.bad_number, **treatment)
            cls.make_event(cls, at(11), cls.deceased, **treatment)
            cls.make_event(cls, at(11), cls.switched_off, sms_enabled=False, **treatment)
            done = cls.make_event(cls, at(11), cls.reminded, **treatment)
            cls.messages(cls, done, "reminder").write({"state": "sent"})
            cls.checkup = cls.make_event(cls, at(12), cls.patient2, categ_ids=[(6, 0, cls.type_checkup.ids)])
            cls.make_event(cls, at(8) + timedelta(days=1), cls.patient2, **treatment)  # the day after

    def run_wizard(self, user=None, **values):
        Run = self.env["clinic.sms.reminder.run"]
        if user:
            Run = Run.with_user(user)
        run = Run.create({"event_type_ids": [(6, 0, self.type_treatment.ids)], **values})
        run.action_preview()
        return run

    def test_preview_exclusions_with_reasons(self):
        run = self.run_wizard()
        self.assertEqual((run.date_from, run.date_to), (DAY, DAY), "tomorrow by default")
        reasons = {line.partner_id: line.excluded_reason for line in run.line_ids if line.excluded_reason}
        self.assertEqual(
            reasons,
            {
                self.opted_out: "opted_out",
                self.no_number: "no_number",
                self.bad_number: "invalid_number",
                self.deceased: "deceased",
                self.switched_off: "sms_disabled",
                self.reminded: "already_reminded",
            },
        )
        self.assertFalse(any(run.line_ids.filtered("excluded_reason").mapped("selected")))
        sent = run.line_ids.filtered(lambda line: not line.excluded_reason)
        self.assertEqual(len(sent.filtered(lambda line: line.partner_id == self.patient)), 2)
        self.assertNotIn(self.checkup, run.line_ids.event_ids, "another appointment type")
        bo = sent.filtered(lambda line: line.partner_id == self.patient2)
        self.assertEqual(bo.event_ids, self.bo)
        self.assertIn("Hi Bo, this is a reminder", bo.body)
        self.assertIn("at 11:00 with Dr. Mette Hansen", bo.body)
        self.assertEqual((run.selected_count, run.excluded_count), (3, 6))

    def test_form(self):
        form = Form(self.env["clinic.sms.reminder.run"])
        form.one_per_day = True
        run = form.save()
        run.action_preview()
        self.assertEqual((run.selected_count, run.excluded_count), (2, 6))  # Anna, Bo: all types
        with Form(run) as form, form.line_ids.edit(0) as line:
            line.selected = False  # the lines to send come first
        self.assertEqual(run.selected_count, 1)

    def test_all_types_when_none_chosen(self):
        run = self.run_wizard(event_type_ids=[(5, 0, 0)])
        self.assertIn(self.checkup, run.line_ids.event_ids)

    def test_one_per_day_merges_the_times(self):
        run = self.run_wizard(one_per_day=True)
        anna = run.line_ids.filtered(lambda line: line.partner_id == self.patient)
        self.assertEqual(len(anna), 1)
        self.assertEqual((anna.event_ids, anna.event_id), (self.first | self.second, self.first))
        self.assertIn("at 09:00 with Dr. Mette Hansen", anna.body)
        self.assertTrue(anna.body.endswith("You also have appointments that day at 14:30."))

    def test_sends_only_the_selected(self):
        run = self.run_wizard(one_per_day=True)
        run.line_ids.filtered(lambda line: line.partner_id == self.patient2).selected = False
        run.action_send()
        # The planned 24 h reminder is brought forward: no second reminder (one per appointment,
        # patient, rule and start, the manual run included), with the text the preview showed.
        manual = self.messages(kind="reminder", states=("queued",))
        self.assertEqual(manual.partner_id, self.patient)
        self.assertEqual(manual.rule_id, self.rule_reminder)
        self.assertEqual(len(self.messages(self.first, "reminder", partner=self.patient)), 1)
        anna = run.line_ids.filtered(lambda line: line.partner_id == self.patient)
        self.assertTrue(anna.brings_forward)
        self.assertEqual(
            (manual.event_id, manual.event_start, manual.expire_at, manual.state, manual.body),
            (self.first, self.first.start, self.first.start, "queued", anna.body),
        )
        self.dispatch()
        self.assertEqual(manual.state, "delivered")
        self.assertIn(anna.body, [o.body for o in self.sent])

    def test_a_range_of_two_days_reminds_the_appointments_of_both(self):
        run = self.run_wizard(date_to=DAY + timedelta(days=1))
        bo = run.line_ids.filtered(lambda line: line.partner_id == self.patient2 and not line.excluded_reason)
        self.assertEqual(len(bo), 2, "Bo's appointment of each day")
        run.action_send()
        self.assertEqual(len(self.messages(kind="reminder", states=("queued",), partner=self.patient2)), 2)

    def test_the_range_is_checked(self):
        for date_from, date_to, error in (
            (DAY, DAY - timedelta(days=1), "before the start"),
            (DAY, DAY + timedelta(days=31), "at most 31 days"),
            (DAY - timedelta(days=2), DAY, "in the past"),
        ):
            run = self.env["clinic.sms.reminder.run"].create({"date_from": date_from})
            run.date_to = date_to
            with self.subTest(error), self.assertRaisesRegex(UserError, error):
                run.action_preview()
        run = self.run_wizard(date_to=DAY + timedelta(days=30))
        self.assertTrue(run.line_ids, "31 days are fine")

    def test_only_the_chosen_statuses_are_reminded_and_declined_goes_through_the_rule_book(self):
        def answer(event, partner, state):
            event.attendee_ids.filtered(lambda a: a.partner_id == partner).state = state

        answer(self.bo, self.patient2, "tentative")
        answer(self.first, self.patient, "declined")
        run = self.run_wizard(include_tentative=False)
        self.assertNotIn(self.bo, run.line_ids.event_ids, "tentative is not chosen")
        declined = run.line_ids.filtered(lambda line: line.event_id == self.first)
        self.assertEqual(declined.excluded_reason, "declined", "the rule book says why")
        run = self.run_wizard(include_accepted=False, include_needs_action=False)
        self.assertEqual(
            run.line_ids.filtered(lambda line: not line.excluded_reason).event_id,
            self.bo,
            "only the tentative answer",
        )
        with self.assertRaisesRegex(UserError, "at least one appointment status"):
            self.run_wizard(include_accepted=False, include_needs_action=False, include_tentative=False)

    def test_an_earliest_send_time_sets_the_due_time(self):
        later = NOW + timedelta(hours=3)  # 14:00 local
        run = self.run_wizard(send_after=later)
        run.action_send()
        queued = self.messages(kind="reminder", states=("queued",))
        self.assertEqual(len(queued), 3)
        self.assertEqual(set(queued.mapped("due_at")), {later})
        refs = {str(message_id) for message_id in queued.ids}
        self.dispatch()
        self.assertFalse([o for o in self.sent if o.ref in refs], "nothing goes before the earliest time")
        self.dispatch(later)
        self.assertEqual(len([o for o in self.sent if o.ref in refs]), 3)

    def test_an_earliest_time_outside_the_window_waits_for_it_and_leaves_out_what_comes_too_late(self):
        run = self.run_wizard(send_after=at(8))  # 09:00 local tomorrow, when Anna's first one starts
        too_late = run.line_ids.filtered(lambda line: line.excluded_reason == "too_late")
        self.assertEqual(too_late.event_id, self.first)
        self.assertFalse(too_late.selected)
        run = self.run_wizard(send_after=at(6))  # 07:00 local tomorrow: the window opens at 08:00
        run.action_send()
        self.assertEqual(set(self.messages(kind="reminder", states=("queued",)).mapped("due_at")), {at(7)})

    def test_the_credit_check_refuses_too_few_credits_and_the_summary_says_what_is_left(self):
        self.company.clinic_sms_credit_check = True
        run = self.run_wizard(user=self.staff)
        sent = run.line_ids.filtered(lambda line: line.selected and not line.excluded_reason)
        self.assertEqual(run.credits_needed, sum(sent.mapped("credits")))
        self.assertGreaterEqual(run.credits_needed, 3)
        self.assertEqual((run.credits_left, run.credits_short), (0, True))
        with self.assertRaisesRegex(UserError, "need %g credits, but only 0 are left" % run.credits_needed):
            run.action_send()
        self.assertFalse(self.messages(kind="reminder", states=("queued",)))
        self.env["clinic.sms.credit"].create(
            {"kind": "adjustment", "amount": run.credits_needed + 2, "note": "Test credits"}
        )
        self.env.invalidate_all()
        self.assertFalse(run.credits_short)
        action = run.action_send()
        self.assertEqual(
            action["params"]["message"], "3 reminders queued; 2 credits left once they are sent."
        )
        self.assertEqual(len(self.messages(kind="reminder", states=("queued",))), 3)

    def test_access(self):
        run = self.run_wizard(user=self.staff)
        self.assertTrue(run.line_ids)
        run.action_send()
        self.assertEqual(len(self.messages(kind="reminder", states=("queued",))), 3)
        with self.assertRaises(AccessError):
            self.run_wizard(user=self.employee)
