from collections import defaultdict

from odoo import api, fields, models

from .. import access
from ..constants import UNSENT_STATES

#: The reminder state shown on the calendar for each state of the latest reminder.
REMINDER_STATE = {
    "scheduled": "planned",
    "queued": "planned",
    "sending": "planned",
    "sent": "sent",
    "buffered": "sent",
    "delivered": "delivered",
    "failed": "failed",
    "expired": "failed",
    "skipped": "failed",
}

#: Fields of an appointment whose change can change its messages.
PLANNING_FIELDS = {
    "start",
    "stop",
    "allday",
    "start_date",
    "stop_date",
    "partner_ids",
    "attendee_ids",
    "categ_ids",
    "active",
    "sms_enabled",
    "user_id",
}


class CalendarEvent(models.Model):
    _inherit = "calendar.event"

    sms_enabled = fields.Boolean(
        "SMS reminders",
        default=True,
        tracking=True,
        help="Send this appointment's reminders and notices to its patients by SMS.",
    )
    clinic_sms_message_ids = fields.One2many("clinic.sms.message", "event_id", "SMS messages")

    # ------------------------------------------------------------------ ORM hooks

    @api.model_create_multi
    def create(self, vals_list):
        events = super().create(vals_list)
        if not self.env.context.get("clinic_sms_no_plan"):
            planner = self.env["clinic.sms.planner"]
            planner._plan_notices(events, "confirmation")
            planner._plan_reminders(events)
        return events

    def write(self, vals):
        if self.env.context.get("clinic_sms_no_plan") or not (PLANNING_FIELDS & set(vals)):
            return super().write(vals)
        events = self.with_context(active_test=False)
        planner = self.env["clinic.sms.planner"]
        internal = planner._internal_partner_ids()
        before = {
            event.id: (event.active, event.start, set(event.partner_ids.ids) - internal) for event in events
        }
        # The days and patients they leave (one reminder per patient per day decides those days again).
        former = {
            event.id: (event.start, event.allday, event.start_date, before[event.id][2])
            for event in events
            if event.start
        }
        result = super().write(vals)
        now = fields.Datetime.now()
        moved, cancelled, restored, added = (self.browse() for _ in range(4))
        added_partners = defaultdict(set)
        for event in events.exists():
            active, start, patients = before[event.id]
            if active and not event.active:
                cancelled |= event
            elif event.active and not active:
                restored |= event
                if start != event.start:
                    moved |= event  # restored at another time: for the patient, it moved
            elif event.active and start != event.start:
                moved |= event
            new_patients = (set(event.partner_ids.ids) - internal) - patients
            if event.active and new_patients and event.id not in moved.ids:
                added |= event
                added_partners[event.id] = new_patients
        future = lambda ev: ev.start and ev.start > now  # noqa: E731
        if cancelled and not self.env.context.get("clinic_sms_no_cancellation_notice"):
            # Before the replanning withdraws an untold booking confirmation: the two cancel out.
            planner._plan_notices(cancelled.filtered(future), "cancellation")
        planner._plan_reminders(events, former=former)
        if moved:
            planner._plan_moved(moved.filtered(future))
        if added:
            planner._plan_notices(added.filtered(future), "confirmation", added_partners)
        return result

    def unlink(self):
        if not self.env.context.get("clinic_sms_no_plan"):
            now = fields.Datetime.now()
            events = self.with_context(active_test=False)
            future = events.filtered(lambda ev: ev.active and ev.start and ev.start > now)
            self.env["clinic.sms.planner"]._plan_notices(future, "cancellation", prerender=True)
            pending = (
                self.env["clinic.sms.message"]
                .sudo()
                .search(
                    [
                        ("event_id", "in", events.ids),
                        ("state", "in", UNSENT_STATES),
                        ("kind", "!=", "cancellation"),
                    ]
                )
            )
            pending.write({"state": "cancelled", "reason": "appointment_cancelled"})
            # One reminder per patient per day: the patients' other appointments of those days.
            same_day = self.env["clinic.sms.planner"]._same_day_events(future) - events
            result = super().unlink()
            if same_day:
                self.env["clinic.sms.planner"]._plan_reminders(same_day)
            return result
        return super().unlink()

    # ------------------------------------------------------------------ planning

    def _clinic_sms_company(self):
        self.ensure_one()
        return self.user_id.company_id or self.env.company

    def _clinic_sms_patients(self, internal):
        """Attendees that are patients: never partners of internal users."""
        self.ensure_one()
        return self.partner_ids.filtered(lambda p: p.id not in internal)

    def action_clinic_sms_messages(self):
        """The appointment's SMS (Clinic SMS users, appointments they can read)."""
        self.ensure_one()
        access.require_user(self.env)
        self.check_access("read")
        action = self.env["ir.actions.act_window"]._for_xml_id("clinic_sms.clinic_sms_message_action")
        action["domain"] = [("event_id", "=", self.id)]
        return action

    # --- reminder state at a glance

    clinic_sms_reminder_state = fields.Selection(
        [
            ("planned", "Planned"),
            ("sent", "Sent"),
            ("delivered", "Delivered"),
            ("failed", "Failed"),
            ("none", "None"),
        ],
        "SMS reminder",
        compute="_compute_clinic_sms_reminder_state",
        help="What became of the appointment's latest SMS reminder.",
    )

    def _compute_clinic_sms_reminder_state(self):
        """One query for all the events: their reminders, latest first, the first one per event wins
        (cancelled reminders, e.g. for an old start, are left out)."""
        ids = [event_id for event_id in self.ids if event_id]
        states = {}
        if ids:
            reminders = (
                self.env["clinic.sms.message"]
                .sudo()
                .search_fetch(
                    [("event_id", "in", ids), ("kind", "=", "reminder"), ("state", "!=", "cancelled")],
                    ["event_id", "state"],
                    order="due_at desc, id desc",
                )
            )
            for reminder in reminders:
                states.setdefault(reminder.event_id.id, REMINDER_STATE.get(reminder.state, "none"))
        for event in self:
            event.clinic_sms_reminder_state = states.get(event.id, "none")


class CalendarEventType(models.Model):
    _inherit = "calendar.event.type"

    clinic_sms_sets_recall = fields.Boolean(
        "Sets the next recall",
        help="When an appointment of this type ends, each patient's recall date moves to that day plus "
        "the patient's recall interval (patients with an interval of 0 are left alone).",
    )


class CalendarAttendee(models.Model):
    _inherit = "calendar.attendee"

    def write(self, vals):
        """A patient's answer (by staff, the invitation or an SMS reply) changes what they may get:
        declining withdraws their unsent messages for the appointment, accepting plans them again."""
        before = {attendee.id: attendee.state for attendee in self} if "state" in vals else {}
        result = super().write(vals)
        if before and not self.env.context.get("clinic_sms_no_plan"):
            changed = self.filtered(lambda a: a.state != before.get(a.id))
            if changed:
                self.env["clinic.sms.planner"]._plan_reminders(changed.event_id)
        return result
