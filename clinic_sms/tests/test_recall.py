"""Recalls: a patient's next check-up announced by SMS, withdrawn once booked, moved on when a
check-up ends. NOW is Monday 11 January 2027, 11:00 in Copenhagen."""

from datetime import date, datetime

from psycopg2.errors import CheckViolation

from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from .common import NOW, ClinicSmsCase


@tagged("post_install", "-at_install")
class TestRecall(ClinicSmsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.rule_recall = cls.env.ref("clinic_sms.rule_recall")  # 14 days before, at 10:00
        cls.type_checkup.clinic_sms_sets_recall = True

    def cron(self, **kwargs):
        return self.env["clinic.sms.message"]._cron_recalls(**kwargs)

    def recalls(self, partner=None):
        return self.messages(kind="recall", partner=partner or self.patient)

    def test_the_cron_plans_a_recall_at_the_send_hour_in_clinic_time_once(self):
        with Form(self.patient) as form:
            form.recall_date = date(2027, 1, 26)  # 14 days before: tomorrow
            form.recall_interval = 6
        self.cron()
        self.cron()
        recall = self.recalls()
        self.assertEqual(len(recall), 1, "planned once")
        self.assertEqual((recall.state, recall.rule_id), ("scheduled", self.rule_recall))
        self.assertEqual(recall.recall_date, date(2027, 1, 26))
        self.assertEqual(recall.due_at, datetime(2027, 1, 12, 9, 0), "10:00 in Copenhagen (CET)")
        self.dispatch(datetime(2027, 1, 12, 8, 59))
        self.assertEqual(recall.state, "scheduled")
        self.dispatch(datetime(2027, 1, 12, 9, 0))
        self.assertEqual(recall.state, "delivered")
        self.assertIn("time for your next check-up", recall.body)
        self.cron()
        self.assertEqual(len(self.recalls()), 1, "never again for the same recall date")

    def test_a_recall_entered_late_goes_at_once_and_one_far_ahead_waits(self):
        self.patient.recall_date = date(2027, 1, 15)
        self.patient2.recall_date = date(2027, 3, 1)
        self.cron()
        recall = self.recalls()
        self.assertEqual((recall.state, recall.due_at), ("scheduled", NOW))
        self.assertFalse(self.recalls(self.patient2))

    def test_booking_an_appointment_withdraws_the_recall(self):
        self.patient.recall_date = date(2027, 1, 26)
        self.cron()
        recall = self.recalls()
        self.make_event(datetime(2027, 2, 3, 9, 0))
        self.dispatch(recall.due_at)
        self.assertEqual((recall.state, recall.reason), ("cancelled", "appointment_booked"))
        self.assertFalse(
            [o for o in self.sent if o.ref == str(recall.id)], "only the booking confirmation went"
        )

    def test_only_the_rules_appointment_types_withdraw_it(self):
        self.rule_recall.event_type_ids = self.type_checkup
        self.patient.recall_date = date(2027, 1, 26)
        self.patient2.recall_date = date(2027, 1, 26)
        self.make_event(datetime(2027, 2, 3, 9, 0), categ_ids=[(6, 0, self.type_treatment.ids)])
        self.make_event(datetime(2027, 2, 3, 10, 0), self.patient2, categ_ids=[(6, 0, self.type_checkup.ids)])
        self.cron()
        self.assertEqual(len(self.recalls()), 1, "a treatment is not a check-up")
        self.assertFalse(self.recalls(self.patient2), "booked already: nothing is planned")

    def test_a_second_rule_reminds_again_after_the_recall_date_when_nothing_was_booked(self):
        again = self.rule_recall.copy({"name": "Recall again", "days_before": 0, "days_after": 7})
        self.patient.recall_date = date(2027, 1, 4)  # 7 days ago
        self.patient2.recall_date = date(2027, 1, 4)
        self.make_event(datetime(2027, 1, 20, 9, 0), self.patient2)
        self.cron()
        recall = self.recalls()
        self.assertEqual((recall.rule_id, recall.due_at), (again, NOW), "today's 10:00 has passed: now")
        self.assertFalse(self.recalls(self.patient2))
        self.dispatch()
        self.assertEqual(recall.state, "delivered")
        self.assertEqual(
            again.description, "7 day(s) after the recall date at 10:00, when nothing was booked"
        )

    def test_an_ended_check_up_moves_the_recall_date_by_the_interval(self):
        self.patient.write({"recall_date": date(2027, 1, 26), "recall_interval": 6})
        self.patient2.write({"recall_date": date(2027, 1, 26), "recall_interval": 0})
        third = self.env["res.partner"].create(
            {
                "name": "Cai",
                "phone": "+45 20 55 66 77",
                "recall_date": date(2027, 1, 26),
                "recall_interval": 6,
            }
        )
        # 09:00-10:00 Copenhagen today, ended an hour ago
        self.make_event(
            datetime(2027, 1, 11, 8, 0),
            self.patient | self.patient2,
            categ_ids=[(6, 0, self.type_checkup.ids)],
        )
        self.make_event(datetime(2027, 1, 11, 8, 0), third, categ_ids=[(6, 0, self.type_treatment.ids)])
        self.make_event(datetime(2027, 1, 11, 14, 0), third, categ_ids=[(6, 0, self.type_checkup.ids)])
        self.cron()
        self.cron()
        self.assertEqual(self.patient.recall_date, date(2027, 7, 11), "the check-up's day + 6 months")
        self.assertEqual(self.patient2.recall_date, date(2027, 1, 26), "no interval: left alone")
        self.assertEqual(third.recall_date, date(2027, 1, 26), "a treatment, and a check-up not ended yet")
        self.assertFalse(self.recalls(), "the old recall date is not announced any more")
        self.assertEqual(len(self.recalls(self.patient2)), 1)

    def test_a_planned_recall_whose_date_moved_is_withdrawn(self):
        self.patient.recall_date = date(2027, 1, 26)
        self.cron()
        recall = self.recalls()
        self.patient.recall_date = date(2027, 6, 1)
        self.dispatch(recall.due_at)
        self.assertEqual((recall.state, recall.reason), ("cancelled", "recall_moved"))

    def test_with_consent_required_a_recall_without_consent_is_logged_skipped(self):
        self.company.clinic_sms_consent_required = True
        self.patient.recall_date = date(2027, 1, 26)
        self.patient2.write({"recall_date": date(2027, 1, 26), "sms_consent": True})
        self.cron()
        self.assertEqual((self.recalls().state, self.recalls().reason), ("skipped", "no_consent"))
        self.assertEqual(self.recalls(self.patient2).state, "scheduled")

    def test_the_cron_plans_in_batches(self):
        patients = self.env["res.partner"].create(
            [
                {"name": f"Batch {i}", "phone": f"+45 20 30 40 {50 + i}", "recall_date": date(2027, 1, 20)}
                for i in range(5)
            ]
        )
        self.assertEqual(self.cron(batch_size=2), 5)
        self.assertEqual(len(self.messages(kind="recall").filtered(lambda m: m.partner_id in patients)), 5)
        self.assertEqual(self.cron(batch_size=2), 0)

    def test_practitioners_and_switched_off_clinics_get_no_recall(self):
        self.practitioner.partner_id.recall_date = date(2027, 1, 20)
        self.cron()
        self.assertFalse(self.recalls(self.practitioner.partner_id))
        self.company.clinic_sms_enabled = False
        self.patient.recall_date = date(2027, 1, 20)
        self.cron()
        self.assertFalse(self.recalls())

    def test_the_recall_filter_and_grouping_of_contacts(self):
        self.patient.recall_date = date(2027, 1, 20)
        self.patient2.recall_date = date(2027, 3, 20)
        search = self.env.ref("clinic_sms.res_partner_view_search")
        self.assertIn("clinic_sms_recall_due", search.arch)
        due = self.env["res.partner"].search(
            [("recall_date", "!=", False), ("recall_date", "<=", date(2027, 1, 31))]
        )
        self.assertIn(self.patient, due)
        self.assertNotIn(self.patient2, due)
        groups = self.env["res.partner"]._read_group(
            [("id", "in", (self.patient | self.patient2).ids)], ["recall_date:month"], ["__count"]
        )
        self.assertEqual(len(groups), 2)
        self.assertIn("recall_date:month", search.arch)

    def test_dispatching_recalls_reads_the_bookings_once_per_batch_not_per_patient(self):
        Partner = self.env["res.partner"]
        dk = self.env.ref("base.dk").id
        self.dispatch()  # the month's credits and what else a first run does

        def queries_to_dispatch(count, offset):
            patients = Partner.create(
                [
                    {
                        "name": f"Recall {offset + i}",
                        "phone": f"+45 40 55 {offset + i:02d} 11",
                        "country_id": dk,
                    }
                    for i in range(count)
                ]
            )
            patients.write({"recall_date": date(2027, 1, 15)})
            self.cron()
            recalls = self.messages(kind="recall").filtered(lambda m: m.partner_id in patients)
            self.assertEqual(len(recalls), count)
            self.make_event(datetime(2027, 2, 3, 9, 0), patients[-1])  # the last one books meanwhile
            self.env.flush_all()
            self.env.invalidate_all()
            before = self.cr.sql_log_count
            self.dispatch()
            self.env.flush_all()
            self.assertEqual(
                recalls.mapped("reason").count("appointment_booked"), 1, "the booked one withdrawn"
            )
            return self.cr.sql_log_count - before

        queries_to_dispatch(1, 20)  # what a first run of each kind does once
        self.assertEqual(queries_to_dispatch(2, 0), queries_to_dispatch(6, 10))

    def test_a_negative_or_absurd_recall_interval_is_refused(self):
        for months in (-6, 121):
            with (
                self.subTest(months=months),
                mute_logger("odoo.sql_db"),
                self.assertRaises(CheckViolation),
                self.env.cr.savepoint(),
            ):
                self.patient.write({"recall_interval": months})
                self.env.flush_all()
        self.patient.write({"recall_interval": 120})
        self.env.flush_all()
        self.assertEqual(self.patient.recall_interval, 120)
