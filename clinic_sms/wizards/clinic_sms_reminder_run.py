"""A manual reminder run: preview who gets which reminder for a coming day, then send."""

from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from .. import access
from ..constants import REASONS, UNSENT_STATES
from ..core import eligibility
from ..core.exceptions import TemplateError

EXCLUDED = [
    *REASONS,
    ("already_reminded", "Already reminded"),
    ("started", "Appointment already started"),
]
#: States of a reminder that reached (or is on its way to) the patient.
REMINDED_STATES = ("sending", "sent", "delivered", "buffered")


class ClinicSmsReminderRun(models.TransientModel):
    _name = "clinic.sms.reminder.run"
    _inherit = ["clinic.sms.day.mixin"]
    _description = "Clinic SMS: send reminders now"

    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        domain=lambda self: [("id", "in", self.env.user.company_ids.ids)],
    )
    days_ahead = fields.Integer(
        "Days ahead", required=True, default=1, help="0 is today, 1 tomorrow, in the clinic's time zone."
    )
    day = fields.Date("Appointments on", compute="_compute_day")
    event_type_ids = fields.Many2many(
        "calendar.event.type", string="Appointment types", help="Leave empty for every appointment."
    )
    one_per_day = fields.Boolean(
        "One reminder per patient",
        help="A patient with several appointments that day gets one reminder, for the first one, "
        "that lists the times of the others.",
    )
    line_ids = fields.One2many("clinic.sms.reminder.run.line", "run_id", "Reminders")
    previewed = fields.Boolean(readonly=True)
    selected_count = fields.Integer("Will be sent", compute="_compute_counts")
    excluded_count = fields.Integer("Left out", compute="_compute_counts")

    @api.depends("days_ahead", "company_id")
    def _compute_day(self):
        for run in self:
            run.day = self._local_today(run.company_id or self.env.company) + timedelta(days=run.days_ahead)

    @api.depends("line_ids.selected", "line_ids.excluded_reason")
    def _compute_counts(self):
        for run in self:
            run.selected_count = len(
                run.line_ids.filtered(lambda line: line.selected and not line.excluded_reason)
            )
            run.excluded_count = len(run.line_ids.filtered("excluded_reason"))

    # ------------------------------------------------------------------ preview

    def _reopen(self):
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
            "name": self.env._("Send reminders now"),
        }

    def _clinic_sms_check_access(self):
        """A Clinic SMS user, in the run's company: the lines and messages are then written as
        superuser."""
        access.require_user(self.env)
        self.check_access("write")
        access.require_companies(self.env, self.company_id)

    def action_preview(self):
        self.ensure_one()
        self._clinic_sms_check_access()
        if self.days_ahead < 0:
            raise UserError(self.env._("Days ahead cannot be negative."))
        self.line_ids.sudo().unlink()
        # Only the preview writes the lines' texts (see ClinicSmsReminderRunLine.write).
        self.env["clinic.sms.reminder.run.line"].sudo().create(self._line_values())
        self.previewed = True
        return self._reopen()

    def _line_values(self):
        company = self.company_id
        template = self._reminder_template()
        extra = [("categ_ids", "in", self.event_type_ids.ids)] if self.event_type_ids else []
        events = self._events_between(company, self.day, self.day, extra)
        events = events.filtered(lambda e: (e.user_id.company_id or self.env.company) == company)
        now = fields.Datetime.now()
        reminded = {
            (m.event_id.id, m.partner_id.id, m.event_start)
            for m in self.env["clinic.sms.message"]
            .sudo()
            .search_fetch(
                [("event_id", "in", events.ids), ("kind", "=", "reminder"), ("state", "in", REMINDED_STATES)],
                ["event_id", "partner_id", "event_start"],
            )
        }
        planned = {
            (m.event_id.id, m.partner_id.id, m.event_start)
            for m in self.env["clinic.sms.message"]
            .sudo()
            .search_fetch(
                [
                    ("event_id", "in", events.ids),
                    ("kind", "=", "reminder"),
                    ("rule_id", "!=", False),
                    ("state", "in", UNSENT_STATES),
                ],
                ["event_id", "partner_id", "event_start"],
            )
        }
        Eligibility = self.env["clinic.sms.eligibility"]
        context = Eligibility._context(events.partner_ids, events)

        def patient_reason(partner):
            decision = eligibility.patient_decision(
                Eligibility._patient(partner, context),
                consent_required=bool(company.sudo().clinic_sms_consent_required),
            )
            return decision.reason if decision else False

        def event_reason(partner, event):
            # The rule book first (toggle, declined, started, …), then what the log already says.
            decision = eligibility.decide(
                Eligibility._event_facts(event.sudo(), partner, "reminder", context, now)
            )
            if decision:
                return decision.reason or "started"
            if (event.id, partner.id, event.start) in reminded:
                return "already_reminded"
            return False

        def also(env, times):
            return env._("You also have appointments that day at %(times)s.", times=times)

        lines = []
        for (partner, _day), day_events in self._patients_by_day(events, company).items():
            reason = patient_reason(partner)
            if reason:
                lines.append(self._line(partner, day_events, "", reason))
                continue
            eligible = self.env["calendar.event"]
            for event in day_events:
                event_excluded = event_reason(partner, event)
                if event_excluded:
                    lines.append(self._line(partner, event, "", event_excluded))
                else:
                    eligible |= event
            groups = [eligible] if self.one_per_day and eligible else list(eligible)
            for group in groups:
                try:
                    text = self._render_for(
                        template.with_context(lang=partner.lang).body or "",
                        "reminder",
                        partner,
                        group,
                        company,
                        also,
                    )
                except TemplateError as error:
                    raise UserError(error.message) from error
                lines.append(self._line(partner, group, text, False, planned))
        return lines

    def _line(self, partner, events, text, reason, planned=()):
        first = events[:1]
        return {
            "run_id": self.id,
            "partner_id": partner.id,
            "event_ids": [(6, 0, events.ids)],
            "event_id": first.id,
            "body": text,
            "excluded_reason": reason,
            "selected": not reason,
            "brings_forward": bool(first and (first.id, partner.id, first.start) in planned),
        }

    def _reminder_template(self):
        template = self._template_for("reminder", self.company_id)
        if not template:
            raise UserError(self.env._("There is no reminder template."))
        return template

    # ------------------------------------------------------------------ send

    def action_send(self):
        """Queue a reminder for every selected line that is not left out, with the text previewed."""
        self.ensure_one()
        self._clinic_sms_check_access()
        if not self.previewed:
            self.action_preview()
        lines = self.line_ids.filtered(
            lambda line: line.selected and not line.excluded_reason and line.event_id
        )
        if not lines:
            raise UserError(self.env._("No reminder is selected."))
        now = fields.Datetime.now()
        Message = self.env["clinic.sms.message"].sudo()
        events = lines.event_id
        # One reminder per appointment, patient and start: a planned one is brought forward (the
        # same message, sent now) instead of adding a second.
        planned = Message.search(
            [
                ("event_id", "in", events.ids),
                ("kind", "=", "reminder"),
                ("rule_id", "!=", False),
                ("state", "in", UNSENT_STATES),
            ],
            order="due_at, id",
        )
        by_key = {}
        for message in planned:
            by_key.setdefault((message.event_id.id, message.partner_id.id, message.event_start), message)
        forward = Message.browse()
        new_lines = self.env["clinic.sms.reminder.run.line"]
        for line in lines:
            message = by_key.get((line.event_id.id, line.partner_id.id, line.event_id.start))
            if message:
                # The same message, now, with the text the preview showed.
                message.write(
                    {"state": "queued", "due_at": now, "reason": False, "body": line.body, "body_fixed": True}
                )
                forward |= message
            else:
                new_lines |= line
        existing_manual = {
            (m.event_id.id, m.partner_id.id, m.event_start)
            for m in Message.search_fetch(
                [
                    ("event_id", "in", new_lines.event_id.ids),
                    ("kind", "=", "reminder"),
                    ("rule_id", "=", False),
                    ("state", "in", ("scheduled", "queued", "sending", "sent", "delivered", "buffered")),
                ],
                ["event_id", "partner_id", "event_start"],
            )
        }
        messages = Message.create(
            [
                {
                    "kind": "reminder",
                    "event_id": line.event_id.id,
                    "event_start": line.event_id.start,
                    "user_id": line.event_id.user_id.id,
                    "partner_id": line.partner_id.id,
                    "company_id": self.company_id.id,
                    "body": line.body,
                    "body_fixed": True,
                    "state": "queued",
                    "due_at": now,
                    "expire_at": line.event_id.start,
                }
                for line in new_lines
                if (line.event_id.id, line.partner_id.id, line.event_id.start) not in existing_manual
            ]
        )
        messages |= forward
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Reminders queued"),
                "message": self.env._("%s reminders will be sent in a moment.", len(messages)),
                "type": "success",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }


class ClinicSmsReminderRunLine(models.TransientModel):
    _name = "clinic.sms.reminder.run.line"
    _description = "Clinic SMS: a reminder of a manual run"
    _order = "excluded_reason desc, partner_id, id"

    run_id = fields.Many2one("clinic.sms.reminder.run", required=True, ondelete="cascade", index=True)
    partner_id = fields.Many2one("res.partner", "Patient", readonly=True)
    event_id = fields.Many2one("calendar.event", "Appointment", readonly=True)
    event_ids = fields.Many2many("calendar.event", string="Appointments", readonly=True)
    body = fields.Text("Text", readonly=True)
    excluded_reason = fields.Selection(EXCLUDED, "Left out because", readonly=True)
    selected = fields.Boolean("Send", default=True)
    brings_forward = fields.Boolean(
        "Planned reminder sent now",
        readonly=True,
        help="The patient's planned reminder for this appointment is sent now instead of later: "
        "no second reminder.",
    )

    # A line's text is copied into the message as it is: only the preview (as superuser) writes
    # lines; their user may only tick or untick them.
    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            raise AccessError(self.env._("The reminders of a run come from its preview."))
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su and set(vals) - {"selected"}:
            raise AccessError(self.env._("Only the preview writes a reminder's text; tick or untick it."))
        return super().write(vals)
