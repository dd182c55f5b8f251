from collections import defaultdict

from odoo import api, fields, models

from ..core import planner
from .clinic_sms_message import BLOCKING_STATES, EVENT_KINDS, UNSENT_STATES, to_aware, to_naive

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
            events._clinic_sms_plan_notices("confirmation")
            events._clinic_sms_plan_reminders()
        return events

    def write(self, vals):
        if self.env.context.get("clinic_sms_no_plan") or not (PLANNING_FIELDS & set(vals)):
            return super().write(vals)
        events = self.with_context(active_test=False)
        internal = self.env["clinic.sms.message"]._internal_partner_ids()
        before = {
            event.id: (event.active, event.start, set(event.partner_ids.ids) - internal) for event in events
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
            elif event.active and start != event.start:
                moved |= event
            new_patients = (set(event.partner_ids.ids) - internal) - patients
            if event.active and new_patients and event.id not in moved.ids:
                added |= event
                added_partners[event.id] = new_patients
        events._clinic_sms_plan_reminders()
        future = lambda ev: ev.start and ev.start > now  # noqa: E731
        if moved:
            moved.filtered(future)._clinic_sms_plan_moved()
        if added:
            added.filtered(future)._clinic_sms_plan_notices("confirmation", added_partners)
        if cancelled and not self.env.context.get("clinic_sms_no_cancellation_notice"):
            cancelled.filtered(future)._clinic_sms_plan_notices("cancellation")
        return result

    def unlink(self):
        if not self.env.context.get("clinic_sms_no_plan"):
            now = fields.Datetime.now()
            events = self.with_context(active_test=False)
            future = events.filtered(lambda ev: ev.active and ev.start and ev.start > now)
            future._clinic_sms_plan_notices("cancellation", prerender=True)
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
        return super().unlink()

    # ------------------------------------------------------------------ planning

    def _clinic_sms_company(self):
        self.ensure_one()
        return self.user_id.company_id or self.env.company

    def _clinic_sms_patients(self, internal):
        """Attendees that are patients: never partners of internal users."""
        self.ensure_one()
        return self.partner_ids.filtered(lambda p: p.id not in internal)

    def _clinic_sms_plan_reminders(self, retime=False):
        """Bring the reminders of these appointments in line with their current state.

        Unsent messages that no longer fit (appointment cancelled or moved, patient removed, rule no
        longer applying, SMS switched off) are withdrawn with their reason; missing reminders are
        planned. With ``retime``, unsent reminders that stay get their due time recomputed (a rule's
        timing changed).
        """
        Message = self.env["clinic.sms.message"].sudo()
        events = self.with_context(active_test=False).exists()
        if not events:
            return
        now = fields.Datetime.now()
        internal = Message._internal_partner_ids()
        rules_by_company = Message._rules_by_company(["reminder"])
        existing = Message.search_fetch(
            [("event_id", "in", events.ids), ("kind", "in", EVENT_KINDS), ("state", "in", BLOCKING_STATES)],
            ["event_id", "partner_id", "rule_id", "event_start", "state", "kind", "due_at"],
        )
        by_key = {(m.event_id.id, m.partner_id.id, m.rule_id.id, m.event_start): m for m in existing}
        notices_by_event = defaultdict(list)
        for message in existing:
            if message.kind != "reminder":
                notices_by_event[message.event_id.id].append(message)
        keep = set()
        withdraw = defaultdict(lambda: Message.browse())  # (state, reason) -> messages
        retimed = []
        vals_list = []
        for event in events:
            company = event._clinic_sms_company()
            patients = event._clinic_sms_patients(internal) if event.active else event.partner_ids.browse()
            if not event.active or not company.clinic_sms_enabled or not event.sms_enabled:
                continue  # its unsent messages are withdrawn below, with the reason
            settings = Message._planner_settings(company)
            rules = Message._applicable_rules(rules_by_company, "reminder", company, event)
            for message in notices_by_event[event.id]:
                if message.event_start == event.start and message.partner_id in patients:
                    keep.add(message.id)
            for rule in rules:
                for partner in patients:
                    key = (event.id, partner.id, rule.id, event.start)
                    message = by_key.get(key)
                    if message and message.kind == "reminder":
                        keep.add(message.id)
                        if not (retime and message.state == "scheduled"):
                            continue
                    elif event.start <= now:
                        continue
                    plan = planner.plan_reminder(
                        planner.RuleTiming(rule.timing, rule.hours_before, rule.days_before, rule.send_hour),
                        to_aware(now),
                        event.start,
                        event.allday,
                        event.start_date,
                        settings,
                    )
                    if message:
                        if plan is None:
                            keep.discard(message.id)
                        elif to_naive(plan.due_at) != message.due_at:
                            retimed.append((message, plan))
                        continue
                    if plan is None:
                        continue
                    vals_list.append(
                        event._clinic_sms_message_vals("reminder", rule, partner, company, plan, "scheduled")
                    )
        for message in existing:
            if message.id in keep or message.state not in UNSENT_STATES or message.kind == "cancellation":
                continue
            event = message.event_id
            company = event._clinic_sms_company()
            if not event.active:
                withdraw["cancelled", "appointment_cancelled"] |= message
            elif message.event_start != event.start:
                withdraw["cancelled", "appointment_moved"] |= message
            elif message.partner_id not in event._clinic_sms_patients(internal):
                withdraw["cancelled", "patient_removed"] |= message
            elif not company.clinic_sms_enabled:
                withdraw["skipped", "sms_off"] |= message
            elif not event.sms_enabled:
                withdraw["skipped", "sms_disabled"] |= message
            else:
                withdraw["cancelled", "rule_changed"] |= message
        for (state, reason), messages in withdraw.items():
            messages.write({"state": state, "reason": reason})
        for message, plan in retimed:
            message.write(
                {"due_at": to_naive(plan.due_at), "expire_at": to_naive(plan.expire_at), "state": "scheduled"}
            )
        if vals_list:
            Message.create(vals_list)

    def _clinic_sms_plan_moved(self):
        """Tell the patients of moved appointments their new time.

        A patient whose booking confirmation had not gone yet gets a confirmation for the new time
        instead (the old one was withdrawn as moved); the others get the moved-appointment notice.
        """
        Message = self.env["clinic.sms.message"].sudo()
        told = Message.search_fetch(
            [("event_id", "in", self.ids), ("kind", "=", "confirmation"), ("state", "in", BLOCKING_STATES)],
            ["event_id", "partner_id"],
        )
        confirmed = {(m.event_id.id, m.partner_id.id) for m in told}
        withdrawn = Message.search_fetch(
            [
                ("event_id", "in", self.ids),
                ("kind", "=", "confirmation"),
                ("state", "=", "cancelled"),
                ("reason", "=", "appointment_moved"),
            ],
            ["event_id", "partner_id"],
        )
        unconfirmed = {(m.event_id.id, m.partner_id.id) for m in withdrawn} - confirmed
        internal = Message._internal_partner_ids()
        confirm, notify = defaultdict(set), defaultdict(set)
        for event in self:
            for partner in event._clinic_sms_patients(internal):
                target = confirm if (event.id, partner.id) in unconfirmed else notify
                target[event.id].add(partner.id)
        self._clinic_sms_plan_notices("confirmation", confirm)
        self._clinic_sms_plan_notices("reschedule", notify)

    def _clinic_sms_plan_notices(self, kind, partners_by_event=None, prerender=False):
        """Plan a notice of ``kind`` (confirmation, reschedule, cancellation) for these appointments.

        ``partners_by_event`` limits it to some patients of each appointment. ``prerender`` fills the
        text in at once (the appointment is about to be deleted and cannot be read at dispatch).
        """
        Message = self.env["clinic.sms.message"].sudo()
        events = self.with_context(active_test=False).exists()
        if not events:
            return Message
        now = fields.Datetime.now()
        internal = Message._internal_partner_ids()
        rules_by_company = Message._rules_by_company([kind])
        existing = Message.search_fetch(
            [("event_id", "in", events.ids), ("kind", "=", kind), ("state", "in", BLOCKING_STATES)],
            ["event_id", "partner_id", "rule_id", "event_start"],
        )
        seen = {(m.event_id.id, m.partner_id.id, m.rule_id.id, m.event_start) for m in existing}
        vals_list = []
        for event in events:
            company = event._clinic_sms_company()
            if not company.clinic_sms_enabled or not event.sms_enabled:
                continue
            rules = Message._applicable_rules(rules_by_company, kind, company, event)
            if not rules:
                continue
            settings = Message._planner_settings(company)
            begin = planner.event_start(event.start, event.allday, event.start_date, settings.tz)
            plan = planner.plan_notice(kind, to_aware(now), begin, settings)
            if plan is None:
                continue
            patients = event._clinic_sms_patients(internal)
            if partners_by_event is not None:
                patients = patients.filtered(lambda p, ev=event: p.id in partners_by_event.get(ev.id, ()))
            for rule in rules:
                for partner in patients:
                    if (event.id, partner.id, rule.id, event.start) in seen:
                        continue
                    vals_list.append(
                        event._clinic_sms_message_vals(
                            kind,
                            rule,
                            partner,
                            company,
                            plan,
                            "queued" if plan.due_at <= to_aware(now) else "scheduled",
                        )
                    )
        messages = Message.create(vals_list) if vals_list else Message
        if prerender:
            for message in messages:
                message.body = message._render_body()
        return messages

    def _clinic_sms_message_vals(self, kind, rule, partner, company, plan, state):
        """Values of a message of this appointment at its current start."""
        self.ensure_one()
        return {
            "kind": kind,
            "rule_id": rule.id,
            "event_id": self.id,
            "event_start": self.start,
            "user_id": self.user_id.id,
            "partner_id": partner.id,
            "company_id": company.id,
            "state": state,
            "due_at": to_naive(plan.due_at),
            "expire_at": to_naive(plan.expire_at),
        }

    def action_clinic_sms_messages(self):
        self.ensure_one()
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
