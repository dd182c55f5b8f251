from datetime import date, datetime

from odoo.tests import tagged

from .common import ClinicSmsCase


@tagged("post_install", "-at_install")
class TestBirthday(ClinicSmsCase):
    def _patient(self, name, birthday, **values):
        return self.env["res.partner"].create(
            {"name": name, "birthday": birthday, "phone": "+45 22 33 44 55", **values}
        )

    def test_birthday_planned_at_send_hour_in_clinic_time(self):
        self.move_to(datetime(2027, 6, 15, 3, 0))  # 05:00 in Copenhagen (summer time)
        patient = self._patient("Birthday Girl", date(1980, 6, 15))
        other = self._patient("Not Today", date(1980, 6, 16))
        self.env["clinic.sms.message"]._cron_birthdays()
        greeting = self.messages(kind="birthday", partner=patient)
        self.assertEqual(len(greeting), 1)
        self.assertEqual(greeting.state, "scheduled")
        self.assertEqual(greeting.due_at, datetime(2027, 6, 15, 7, 0), "09:00 CEST")
        self.assertEqual(greeting.birthday_year, 2027)
        self.assertFalse(self.messages(kind="birthday", partner=other))
        self.env["clinic.sms.message"]._cron_dispatch()
        self.assertEqual(greeting.state, "scheduled", "not before 09:00")
        self.dispatch(datetime(2027, 6, 15, 7, 0))
        self.assertEqual(greeting.state, "delivered")
        self.assertIn("Happy birthday, Birthday!", greeting.body)

    def test_birthday_date_is_clinic_date(self):
        # 23:30 UTC on 14 June is already 15 June in Copenhagen.
        self.move_to(datetime(2027, 6, 14, 23, 30))
        patient = self._patient("Midnight", date(1990, 6, 15))
        self.env["clinic.sms.message"]._cron_birthdays()
        self.assertEqual(len(self.messages(kind="birthday", partner=patient)), 1)

    def test_cron_twice_plans_once(self):
        self.move_to(datetime(2027, 6, 15, 6, 0))
        patient = self._patient("Twice", date(1980, 6, 15))
        dead = self._patient("Gone", date(1950, 6, 15), deceased=True)
        for _ in range(3):
            self.env["clinic.sms.message"]._cron_birthdays()
        self.assertEqual(len(self.messages(kind="birthday", partner=patient)), 1)
        self.assertEqual(len(self.messages(kind="birthday", partner=dead)), 1)

    def test_29_february_on_28_february_in_other_years(self):
        leapling = self._patient("Leap", date(1996, 2, 29))
        self.move_to(datetime(2027, 2, 28, 6, 0))
        self.env["clinic.sms.message"]._cron_birthdays()
        self.assertEqual(len(self.messages(kind="birthday", partner=leapling)), 1)
        self.move_to(datetime(2028, 2, 28, 6, 0))  # leap year: not on the 28th
        self.env["clinic.sms.message"]._cron_birthdays()
        self.assertEqual(len(self.messages(kind="birthday", partner=leapling)), 1)
        self.move_to(datetime(2028, 2, 29, 6, 0))
        self.env["clinic.sms.message"]._cron_birthdays()
        self.assertEqual(len(self.messages(kind="birthday", partner=leapling)), 2)

    def test_deceased_and_opted_out_are_skipped_with_reason(self):
        self.move_to(datetime(2027, 6, 15, 6, 0))
        dead = self._patient("Gone", date(1950, 6, 15), deceased=True)
        refuses = self._patient("No Thanks", date(1960, 6, 15), sms_opt_out=True)
        self.env["clinic.sms.message"]._cron_birthdays()
        self.assertEqual(
            (
                self.messages(kind="birthday", partner=dead).state,
                self.messages(kind="birthday", partner=dead).reason,
            ),
            ("skipped", "deceased"),
        )
        self.assertEqual(self.messages(kind="birthday", partner=refuses).reason, "opted_out")

    def test_practitioners_and_disabled_companies_get_nothing(self):
        self.move_to(datetime(2027, 6, 15, 6, 0))
        self.practitioner.partner_id.write({"birthday": date(1975, 6, 15), "phone": "+45 22 11 22 11"})
        self.env["clinic.sms.message"]._cron_birthdays()
        self.assertFalse(self.messages(kind="birthday", partner=self.practitioner.partner_id))
        patient = self._patient("Switched Off", date(1980, 6, 15))
        self.company.clinic_sms_birthday_enabled = False
        self.env["clinic.sms.message"]._cron_birthdays()
        self.assertFalse(self.messages(kind="birthday", partner=patient))
