"""A series, or a burst of changes, is one conversation: notices settle and coalesce per patient."""

from datetime import timedelta

from odoo.tests import tagged

from .common import NOW, ClinicSmsCase

SETTLED = timedelta(minutes=3)


@tagged("post_install", "-at_install")
class TestConversation(ClinicSmsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ir.config_parameter"].sudo().set_param("clinic_sms.notice_settle_minutes", "2")

    def notices_sent(self, partner=None):
        kinds = ("confirmation", "reschedule", "cancellation")
        return self.messages(partner=partner or self.patient, states=("sent", "delivered")).filtered(
            lambda m: m.kind in kinds
        )

    def weekly_series(self, count=5):
        start = NOW + timedelta(days=2)  # Wednesday 11:00 Copenhagen
        return self.make_event(
            start, recurrency=True, rrule_type="weekly", interval=1, end_type="count", count=count, wed=True
        )

    def test_a_booking_waits_to_settle_before_it_goes(self):
        event = self.make_event(NOW + timedelta(days=2))
        confirmation = self.messages(event, "confirmation")
        self.assertEqual((confirmation.state, confirmation.due_at), ("scheduled", NOW + timedelta(minutes=2)))
        self.dispatch()
        self.assertFalse(self.sent)
        self.dispatch(NOW + SETTLED)
        self.assertEqual(confirmation.state, "delivered")

    def test_a_new_weekly_series_gets_one_confirmation_listing_its_dates(self):
        event = self.weekly_series()
        occurrences = event.recurrence_id.calendar_event_ids
        self.assertEqual(len(occurrences), 5)
        self.dispatch(NOW + SETTLED)
        sent = self.notices_sent()
        self.assertEqual(len(sent), 1, "one booking confirmation for the whole series")
        self.assertEqual(sent.kind, "confirmation")
        self.assertEqual(sent.event_id, occurrences.sorted("start")[:1])
        self.assertEqual(len(self.sent_to(self.patient)), 1)
        body = self.sent_to(self.patient)[0].body
        self.assertIn("Also:", body)
        self.assertEqual(body.count("January 2027") + body.count("February 2027"), 5)

    def test_moving_a_whole_series_sends_one_notice_and_no_cancellations(self):
        event = self.weekly_series()
        self.dispatch(NOW + SETTLED)
        self.sent.clear()
        later = event.start + timedelta(hours=2)
        event.write({"start": later, "stop": later + timedelta(hours=1), "recurrence_update": "all_events"})
        self.dispatch(NOW + 2 * SETTLED)
        kinds = [m.kind for m in self.notices_sent() if m.sent_at and m.sent_at > NOW + SETTLED]
        self.assertLessEqual(len(self.sent_to(self.patient)), 1, kinds)
        self.assertNotIn("cancellation", kinds)

    def test_changing_the_series_rule_sends_at_most_one_notice(self):
        event = self.weekly_series()
        self.dispatch(NOW + SETTLED)
        self.sent.clear()
        event.write({"count": 3, "recurrence_update": "all_events"})
        self.dispatch(NOW + 2 * SETTLED)
        self.assertLessEqual(len(self.sent_to(self.patient)), 1)

    def test_a_cancellation_followed_by_a_booking_at_the_same_time_sends_nothing(self):
        start = NOW + timedelta(days=2)
        event = self.make_event(start)
        self.dispatch(NOW + SETTLED)
        self.sent.clear()
        self.move_to(NOW + 2 * SETTLED)
        event.action_archive()
        self.make_event(start)
        self.dispatch(NOW + 4 * SETTLED)
        self.assertFalse(self.sent_to(self.patient))

    def test_a_cancellation_followed_by_a_booking_at_another_time_sends_one_moved_notice(self):
        start = NOW + timedelta(days=2)
        event = self.make_event(start)
        self.dispatch(NOW + SETTLED)
        self.sent.clear()
        self.move_to(NOW + 2 * SETTLED)
        event.unlink()
        new = self.make_event(start + timedelta(days=1))
        self.dispatch(NOW + 4 * SETTLED)
        self.assertEqual(len(self.sent_to(self.patient)), 1)
        notice = self.notices_sent().filtered(lambda m: m.event_id == new)
        self.assertEqual(notice.kind, "reschedule")

    def test_several_moves_send_one_notice(self):
        start = NOW + timedelta(days=2)
        event = self.make_event(start)
        self.dispatch(NOW + SETTLED)
        self.sent.clear()
        self.move_to(NOW + 2 * SETTLED)
        for hours in (1, 2, 3):
            event.write({"start": start + timedelta(hours=hours), "stop": start + timedelta(hours=hours + 1)})
        self.dispatch(NOW + 4 * SETTLED)
        self.assertEqual(len(self.sent_to(self.patient)), 1)
        self.assertIn("14:00", self.sent_to(self.patient)[0].body, "the last time, 14:00 Copenhagen")

    def test_a_booking_cancelled_before_it_settled_sends_only_the_cancellation(self):
        """The patient booked by phone and knows of the appointment: they are told it is cancelled,
        never that it is booked."""
        event = self.make_event(NOW + timedelta(days=2))
        event.action_archive()
        self.dispatch(NOW + SETTLED)
        self.assertEqual(len(self.sent_to(self.patient)), 1)
        self.assertEqual(self.notices_sent().kind, "cancellation")
