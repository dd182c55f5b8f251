"""A practitioner's day (the sick-day case): tell every patient of the day, or cancel it all."""

from collections import defaultdict
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from odoo import api, fields, models
from odoo.exceptions import UserError

from .. import access
from ..constants import to_aware
from ..core import eligibility, placeholders, planner
from ..core.exceptions import TemplateError

EXPIRY = timedelta(hours=24)


def local_times(events, tz, lang):
    """The appointments' start times in ``tz``, e.g. ["09:00", "10:30"] (all-day ones say so)."""
    result = []
    for event in events:
        if event.allday:
            result.append(placeholders.allday_label(lang))
        else:
            start = to_aware(event.start).astimezone(tz)
            result.append(placeholders.format_time(start.time(), lang))
    return result


class ClinicSmsDayMixin(models.AbstractModel):
    """What the practitioner's day and the reminder run share: the clinic's days and the texts."""

    _name = "clinic.sms.day.mixin"
    _description = "Clinic SMS: appointments of a day"

    @api.model
    def _clinic_tz(self, company):
        return ZoneInfo(company.clinic_sms_tz or "UTC")

    @api.model
    def _local_today(self, company):
        return to_aware(fields.Datetime.now()).astimezone(self._clinic_tz(company)).date()

    @api.model
    def _events_between(self, company, date_from, date_to, extra_domain=()):
        """Active appointments overlapping the clinic days ``date_from`` to ``date_to`` (included)."""
        tz = self._clinic_tz(company)
        begin = datetime.combine(date_from, time.min, tz).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
        end = (
            datetime.combine(date_to + timedelta(days=1), time.min, tz)
            .astimezone(ZoneInfo("UTC"))
            .replace(tzinfo=None)
        )
        domain = [
            ("active", "=", True),
            "|",
            "&",
            "&",
            ("allday", "=", False),
            ("start", "<", end),
            ("stop", ">", begin),
            "&",
            "&",
            ("allday", "=", True),
            ("start_date", "<=", date_to),
            ("stop_date", ">=", date_from),
            *extra_domain,
        ]
        return self.env["calendar.event"].search(domain, order="start, id")

    @api.model
    def _patients_by_day(self, events, company):
        """{(patient, clinic date): appointments in order of start}, patients never internal users."""
        tz = company.clinic_sms_tz or "UTC"
        internal = self.env["clinic.sms.planner"]._internal_partner_ids()
        grouped = defaultdict(lambda: self.env["calendar.event"])
        # The same days and order as planning's one reminder per patient per day (core.planner).
        for event in events.sorted(
            lambda e: planner.day_order(planner.event_start(e.start, e.allday, e.start_date, tz), e.id)
        ):
            day = planner.local_day(event.start, event.allday, event.start_date, tz)
            for partner in event._clinic_sms_patients(internal):
                grouped[partner, day] |= event
        return grouped

    @api.model
    def _draft_message(self, kind, partner, event, company):
        """An unsaved message, to fill a text in for ``partner`` and ``event`` as the dispatcher would."""
        return self.env["clinic.sms.message"].new(
            {
                "kind": kind,
                "partner_id": partner.id,
                "event_id": event.id,
                "event_start": event.start,
                "user_id": event.user_id.id,
                "company_id": company.id,
            }
        )

    @api.model
    def _render_for(self, text, kind, partner, events, company, also, template=None):
        """``text`` filled in for ``partner``'s first appointment of ``events``; when there are several,
        ``also(env, times)`` answers the sentence, in ``env``'s language (the patient's), that lists the
        times of the others. ``template``: the template the text comes from, whose *Transliterate to
        GSM-7* option then applies."""
        draft = self._draft_message(kind, partner, events[:1], company)
        lang, values = draft._render_values()
        placeholders.validate(text)
        body = placeholders.render(text, values)
        others = events[1:]
        if others:
            times = ", ".join(local_times(others, self._clinic_tz(company), lang))
            body = f"{body} {also(self.with_context(lang=lang).env, times)}"
        return template._clinic_sms_finish(body) if template else body

    @api.model
    def _template_for(self, kind, company):
        """The template of the company's first rule of ``kind``, else its first template of ``kind``."""
        Rule, Template = self.env["clinic.sms.rule"].sudo(), self.env["clinic.sms.template"].sudo()
        companies = [company.id, False]
        rule = Rule.search(
            [("kind", "=", kind), ("company_id", "in", companies), ("template_id", "!=", False)],
            order="company_id, sequence, id",
            limit=1,
        )
        return rule.template_id or Template.search(
            [("kind", "=", kind), ("company_id", "in", companies)], order="company_id, id", limit=1
        )


class ClinicSmsDay(models.TransientModel):
    _name = "clinic.sms.day"
    _inherit = ["clinic.sms.day.mixin"]
    _description = "Clinic SMS: a practitioner's day"

    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        domain=lambda self: [("id", "in", self.env.user.company_ids.ids)],
    )
    user_id = fields.Many2one(
        "res.users",
        "Practitioner",
        required=True,
        domain=[("share", "=", False)],
        default=lambda self: self.env.user,
    )
    date_from = fields.Date("From", required=True, default=lambda self: self._local_today(self.env.company))
    date_to = fields.Date(
        "To",
        required=True,
        compute="_compute_date_to",
        store=True,
        readonly=False,
        precompute=True,
    )
    event_ids = fields.Many2many(
        "calendar.event", string="Appointments", compute="_compute_event_ids", readonly=True
    )
    event_count = fields.Integer("Appointments found", compute="_compute_event_ids")
    patient_count = fields.Integer("Patients", compute="_compute_event_ids")
    mode = fields.Selection(
        [("notice", "Send a notice"), ("cancel", "Cancel the appointments")],
        required=True,
        default="notice",
    )
    template_id = fields.Many2one(
        "clinic.sms.template",
        domain="[('kind', '=', 'notice'), ('company_id', 'in', [company_id, False])]",
    )
    body = fields.Text(
        "Text",
        compute="_compute_body",
        store=True,
        readonly=False,
        help="Placeholders such as {appointment_time} are filled in for each patient's first appointment.",
    )

    @api.model
    def default_get(self, fields_list):
        access.require_user(self.env)
        values = super().default_get(fields_list)
        context = self.env.context
        if context.get("active_model") == "calendar.event" and context.get("active_id"):
            event = self.env["calendar.event"].browse(context["active_id"])
            if event.user_id:
                values["user_id"] = event.user_id.id
            company = values.get("company_id") and self.env["res.company"].browse(values["company_id"])
            company = company or self.env.company
            day = (
                event.start_date
                if event.allday
                else to_aware(event.start).astimezone(self._clinic_tz(company)).date()
            )
            values["date_from"] = day
            values["date_to"] = day
        return values

    @api.depends("date_from")
    def _compute_date_to(self):
        for wizard in self:
            if not wizard.date_to or (wizard.date_from and wizard.date_to < wizard.date_from):
                wizard.date_to = wizard.date_from

    @api.depends("template_id")
    def _compute_body(self):
        for wizard in self:
            if wizard.template_id:
                wizard.body = wizard.template_id.body

    @api.depends("user_id", "date_from", "date_to", "company_id")
    def _compute_event_ids(self):
        internal = self.env["clinic.sms.planner"]._internal_partner_ids()
        for wizard in self:
            events = wizard._events()
            wizard.event_ids = events
            wizard.event_count = len(events)
            wizard.patient_count = len(set(events.partner_ids.ids) - internal)

    def _events(self):
        self.ensure_one()
        if not (self.user_id and self.date_from and self.date_to) or self.date_to < self.date_from:
            return self.env["calendar.event"]
        return self._events_between(
            self.company_id, self.date_from, self.date_to, [("user_id", "=", self.user_id.id)]
        )

    def _check_ready(self):
        self.ensure_one()
        if self.date_to < self.date_from:
            raise UserError(self.env._("The end date is before the start date."))
        events = self._events()
        if not events:
            raise UserError(self.env._("%s has no appointments in these days.", self.user_id.name))
        return events

    # ------------------------------------------------------------------ actions

    def _clinic_sms_check_access(self):
        """A Clinic SMS user, in the wizard's company and the practitioner's: the messages are then
        written as superuser."""
        access.require_user(self.env)
        self.check_access("write")
        access.require_companies(self.env, self.company_id | self.user_id.sudo().company_id)

    def action_send(self):
        """Notice mode: one queued notice per patient and day; cancel mode: see action_cancel_day."""
        self.ensure_one()
        self._clinic_sms_check_access()
        if self.mode == "cancel":
            return self.action_cancel_day()
        events = self._check_ready()
        text = (self.body or "").strip()
        if not text:
            raise UserError(self.env._("Write the text of the notice or choose a template."))
        try:
            placeholders.validate(text)
        except TemplateError as error:
            raise UserError(error.message) from error
        messages = self._create_messages(
            "notice", events, lambda partner, day_events: text, template=self.template_id
        )
        return self._done(messages, self.env._("Notice queued"))

    def action_cancel_day(self):
        """Archive the appointments without their automatic cancellation notices, then queue one
        cancellation message per patient and day, for the first appointment, listing the others."""
        self.ensure_one()
        self._clinic_sms_check_access()
        company = self.company_id
        today = self._local_today(company)
        now = fields.Datetime.now()
        # Appointments that have started already stay: only what is still to come is cancelled.
        events = self._check_ready().filtered(
            lambda e: (e.start_date >= today) if e.allday else (e.start > now)
        )
        if not events:
            raise UserError(self.env._("All these appointments have started already."))
        template = self._template_for("cancellation", company)
        if not template:
            raise UserError(self.env._("There is no template for cancelled appointments."))
        # Group before archiving: the patients and times are read from the active appointments.
        grouped = self._patients_by_day(events, company)
        events.with_context(clinic_sms_no_cancellation_notice=True).action_archive()
        messages = self._create_messages(
            "cancellation",
            events,
            lambda partner, day_events: template.with_context(lang=partner.lang).body,
            grouped=grouped,
            template=template,
        )
        return self._done(messages, self.env._("Appointments cancelled"))

    def _create_messages(self, kind, events, text_for, grouped=None, template=None):
        """One message of ``kind`` per patient and clinic day, queued now, for the first appointment.

        A patient whose appointments of the day all have SMS switched off gets a skipped row
        (``sms_disabled``) instead, so staff see whom to phone."""
        company = self.company_id
        grouped = grouped if grouped is not None else self._patients_by_day(events, company)
        now = fields.Datetime.now()
        if kind == "cancellation":

            def also(env, times):
                return env._("Your appointments that day at %(times)s are cancelled too.", times=times)

        else:

            def also(env, times):
                return env._("This is also about your appointments at %(times)s.", times=times)

        Eligibility = self.env["clinic.sms.eligibility"]
        context = Eligibility._context(self.env["res.partner"], events)
        vals_list = []
        for (partner, _day), day_events in grouped.items():
            enabled = day_events.filtered("sms_enabled")
            first = (enabled or day_events)[:1]
            values = {
                "kind": kind,
                "event_id": first.id,
                "event_start": first.start,
                "user_id": first.user_id.id,
                "partner_id": partner.id,
                "company_id": company.id,
                "due_at": now,
                "expire_at": now + EXPIRY,
            }
            decision = eligibility.decide(
                Eligibility._event_facts(first.sudo(), partner, kind, context, now), eligibility.PLAN
            )
            if decision:
                values.update(state=decision.state, reason=decision.reason)
            else:
                try:
                    body = self._render_for(
                        text_for(partner, enabled), kind, partner, enabled, company, also, template
                    )
                except TemplateError as error:
                    raise UserError(error.message) from error
                values.update(state="queued", body=body)
            vals_list.append(values)
        return self.env["clinic.sms.message"].sudo().create(vals_list)

    def _done(self, messages, title):
        queued = messages.filtered(lambda m: m.state == "queued")
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": title,
                "message": self.env._(
                    "%(queued)s messages queued, %(skipped)s patients left out (SMS switched off).",
                    queued=len(queued),
                    skipped=len(messages) - len(queued),
                ),
                "type": "success",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
