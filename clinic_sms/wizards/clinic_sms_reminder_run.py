"""A manual reminder run: preview who gets which reminder for coming days, then send."""

from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from .. import access
from ..constants import REASONS, UNSENT_STATES, to_aware, to_naive
from ..core import credits, eligibility, planner, segments
from ..core.exceptions import TemplateError

EXCLUDED = [
    *REASONS,
    ("already_reminded", "Already reminded"),
    ("started", "Appointment already started"),
    ("too_late", "Would only go after the appointment has started"),
]
#: States of a reminder that reached (or is on its way to) the patient.
REMINDED_STATES = ("sending", "sent", "delivered", "buffered")
#: The most days one run covers.
MAX_DAYS = 31


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
    date_from = fields.Date(
        "From",
        required=True,
        default=lambda self: self._tomorrow(),
        help="The first day whose appointments are reminded, in the clinic's time zone.",
    )
    date_to = fields.Date(
        "To",
        required=True,
        compute="_compute_date_to",
        store=True,
        readonly=False,
        precompute=True,
        help="The last day whose appointments are reminded (at most 31 days in one run).",
    )
    include_accepted = fields.Boolean(
        "Accepted", default=True, help="Remind patients who accepted their appointment."
    )
    include_tentative = fields.Boolean("Tentative", default=True, help="Remind patients who answered maybe.")
    include_needs_action = fields.Boolean(
        "No answer yet", default=True, help="Remind patients who have not answered the invitation."
    )
    send_after = fields.Datetime(
        "Send from",
        help="The earliest time the reminders go; empty: now. Outside the sending window they wait "
        "until it opens, and a reminder that could only go after its appointment has started is "
        "left out.",
    )
    credit_check = fields.Boolean(related="company_id.clinic_sms_credit_check")
    credits_needed = fields.Float(
        "Credits needed",
        compute="_compute_credits",
        digits=(16, 2),
        help="What the selected reminders cost, by their parts and the price of each number.",
    )
    credits_left = fields.Float(
        "Credit balance", compute="_compute_credits", digits=(16, 2), help="The company's credits now."
    )
    credits_after = fields.Float(
        "Balance after sending",
        compute="_compute_credits",
        digits=(16, 2),
        help="The balance once these reminders are sent (other messages waiting in the queue not counted).",
    )
    credits_short = fields.Boolean("Not enough credits", compute="_compute_credits")
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

    @api.model
    def _tomorrow(self):
        return self._local_today(self.env.company) + timedelta(days=1)

    @api.depends("date_from")
    def _compute_date_to(self):
        for run in self:
            if not run.date_to or (run.date_from and run.date_to < run.date_from):
                run.date_to = run.date_from

    @api.depends("line_ids.selected", "line_ids.credits", "line_ids.excluded_reason", "company_id")
    def _compute_credits(self):
        for run in self:
            lines = run.line_ids.filtered(lambda line: line.selected and not line.excluded_reason)
            run.credits_needed = round(sum(lines.mapped("credits")), 2)
            run.credits_left = run.company_id.sudo().clinic_sms_credit_balance
            run.credits_after = round(run.credits_left - run.credits_needed, 2)
            run.credits_short = run.credits_needed > run.credits_left + 1e-9

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
        self._check_choices()
        self.line_ids.sudo().unlink()
        # Only the preview writes the lines' texts (see ClinicSmsReminderRunLine.write).
        self.env["clinic.sms.reminder.run.line"].sudo().create(self._line_values())
        self.previewed = True
        return self._reopen()

    def _check_choices(self):
        if not (self.date_from and self.date_to):
            raise UserError(self.env._("Choose the days to remind."))
        if self.date_to < self.date_from:
            raise UserError(self.env._("The end date is before the start date."))
        if (self.date_to - self.date_from).days + 1 > MAX_DAYS:
            raise UserError(
                self.env._("One run covers at most %(days)s days; choose a shorter range.", days=MAX_DAYS)
            )
        if self.date_from < self._local_today(self.company_id):
            raise UserError(self.env._("The days to remind cannot be in the past."))
        if not self._statuses():
            raise UserError(self.env._("Choose at least one appointment status to remind."))

    def _statuses(self):
        """The attendee states the run reminds. A declined patient is never left out here: the
        rule book says why (``declined``), in the preview."""
        chosen = {
            "accepted": self.include_accepted,
            "tentative": self.include_tentative,
            "needsAction": self.include_needs_action,
        }
        return {state for state, on in chosen.items() if on}

    def _plan(self, event, now):
        """When the reminder of ``event`` goes (core/planner.py), or None when it would be too late."""
        settings = self.env["clinic.sms.planner"]._settings(self.company_id)
        begin = planner.event_start(event.start, event.allday, event.start_date, settings.tz)
        earliest = to_aware(self.send_after) if self.send_after else None
        return planner.plan_manual_reminder(to_aware(now), earliest, begin, settings)

    def _line_values(self):
        company = self.company_id
        template = self._reminder_template()
        extra = [("categ_ids", "in", self.event_type_ids.ids)] if self.event_type_ids else []
        events = self._events_between(company, self.date_from, self.date_to, extra)
        events = events.filtered(lambda e: (e.user_id.company_id or self.env.company) == company)
        # The statuses not chosen; declined is never among them (the rule book leaves it out).
        skipped = {"accepted", "tentative", "needsAction"} - self._statuses()
        answers = {
            (attendee.event_id.id, attendee.partner_id.id): attendee.state
            for attendee in events.sudo().attendee_ids
        }
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

        def _patient_reason(partner):
            decision = eligibility.patient_decision(
                Eligibility._patient(partner, context),
                consent_required=bool(company.sudo().clinic_sms_consent_required),
            )
            return decision.reason if decision else False

        def _event_reason(partner, event):
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
            day_events = day_events.filtered(lambda e, p=partner: answers.get((e.id, p.id)) not in skipped)
            if not day_events:
                continue
            reason = _patient_reason(partner)
            if reason:
                lines.append(self._line(partner, day_events, "", reason))
                continue
            eligible = self.env["calendar.event"]
            for event in day_events:
                event_excluded = _event_reason(partner, event) or (not self._plan(event, now) and "too_late")
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
                        template,
                    )
                except TemplateError as error:
                    raise UserError(error.message) from error
                lines.append(self._line(partner, group, text, False, planned))
        return lines

    def _line(self, partner, events, text, reason, planned=()):
        first = events[:1]
        cost = 0.0
        if text:
            parts = segments.count_parts(text).parts
            cost = self.company_id._clinic_sms_cost(partner.sms_number_e164, parts)
        return {
            "credits": cost,
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
        """Queue a reminder for every selected line that is not left out, with the text previewed,
        due at the run's earliest time (inside the sending window). With the company's credit check
        on, refused when the balance does not pay for them all."""
        self.ensure_one()
        self._clinic_sms_check_access()
        self._check_choices()
        if not self.previewed:
            self.action_preview()
        lines = self.line_ids.filtered(
            lambda line: line.selected and not line.excluded_reason and line.event_id
        )
        if not lines:
            raise UserError(self.env._("No reminder is selected."))
        now = fields.Datetime.now()
        company = self.company_id
        needed = round(sum(lines.mapped("credits")), 2)
        if company.clinic_sms_credit_check:
            # Under the company's credit lock (the month's allowance granted first), as dispatch does.
            balance = self.env["clinic.sms.credit"].sudo()._roll(company, now)[company.id].total
            if needed > balance + 1e-9:
                raise UserError(
                    self.env._(
                        "These reminders need %(needed)s credits, but only %(left)s are left. "
                        "Buy credits or send fewer reminders.",
                        needed=credits.format_number(needed),
                        left=credits.format_number(balance),
                    )
                )
        else:
            balance = company.sudo().clinic_sms_credit_balance
        plans = {line.id: self._plan(line.event_id, now) for line in lines}
        if not all(plans.values()):
            raise UserError(
                self.env._("Some reminders would only go after their appointment has started: preview again.")
            )
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
        new_lines = forward_lines = self.env["clinic.sms.reminder.run.line"]
        for line in lines:
            message = by_key.get((line.event_id.id, line.partner_id.id, line.event_id.start))
            plan = plans[line.id]
            if message:
                # The same message, at the run's time, with the text the preview showed.
                message.write(
                    {
                        "state": "queued",
                        "due_at": to_naive(plan.due_at),
                        "expire_at": to_naive(plan.expire_at),
                        "reason": False,
                        "body": line.body,
                        "body_fixed": True,
                    }
                )
                forward |= message
                forward_lines |= line
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
        new_lines = new_lines.filtered(
            lambda line: (line.event_id.id, line.partner_id.id, line.event_id.start) not in existing_manual
        )
        messages = Message.create(
            [
                {
                    "kind": "reminder",
                    "event_id": line.event_id.id,
                    "event_start": line.event_id.start,
                    "user_id": line.event_id.user_id.id,
                    "partner_id": line.partner_id.id,
                    "company_id": company.id,
                    "body": line.body,
                    "body_fixed": True,
                    "state": "queued",
                    "due_at": to_naive(plans[line.id].due_at),
                    "expire_at": to_naive(plans[line.id].expire_at),
                }
                for line in new_lines
            ]
        )
        messages |= forward
        spent = round(sum((forward_lines | new_lines).mapped("credits")), 2)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Reminders queued"),
                "message": self.env._(
                    "%(count)s reminders queued; %(left)s credits left once they are sent.",
                    count=len(messages),
                    left=credits.format_number(round(balance - spent, 2)),
                ),
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
    credits = fields.Float(
        readonly=True, digits=(16, 2), help="What this reminder costs, by its parts and the patient's number."
    )
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
