"""The SMS composer: one text to a contact, a group of contacts, or the patients of an appointment."""

from datetime import timedelta
from zoneinfo import ZoneInfo

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError

from .. import access
from ..constants import to_aware, to_naive
from ..core import placeholders, segments, timing
from ..core.exceptions import TemplateError

#: Placeholders that need an appointment; without one they would be sent empty.
EVENT_PLACEHOLDERS = (
    "appointment_date",
    "appointment_time",
    "appointment_weekday",
    "appointment_type",
    "practitioner",
    "location",
)
#: Messages sent "now" are handed to the gateway at once up to this many; more go with the cron.
IMMEDIATE_LIMIT = 100
EXPIRY = timedelta(hours=24)


def format_hours(hours):
    """8.5 -> "08:30"; 24 -> "24:00"."""
    minutes = round((hours or 0.0) * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class ClinicSmsComposer(models.TransientModel):
    _name = "clinic.sms.composer"
    _description = "Clinic SMS: send a message"

    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        domain=lambda self: [("id", "in", self.env.user.company_ids.ids)],
    )
    event_id = fields.Many2one("calendar.event", "Appointment", readonly=True)
    partner_ids = fields.Many2many("res.partner", string="Recipients")
    template_id = fields.Many2one(
        "clinic.sms.template",
        domain="[('kind', 'in', ('manual', 'notice')), ('company_id', 'in', [company_id, False])]",
    )
    body = fields.Text(
        "Text",
        compute="_compute_body",
        store=True,
        readonly=False,
        help="Placeholders such as {patient_first_name} are filled in for each recipient.",
    )
    placeholder_help = fields.Html(
        "Placeholders", compute="_compute_placeholder_help", sanitize=False, readonly=True
    )
    send_mode = fields.Selection(
        [("now", "Now"), ("later", "At a chosen time")],
        "Send",
        required=True,
        default="now",
        help="Now: up to 100 messages are handed to the gateway at once, so the log shows how they went; "
        "a larger group goes with the next run of the dispatcher, within minutes. At a chosen time: the "
        "messages wait in the log as scheduled.",
    )
    scheduled_at = fields.Datetime("Send at")
    window_info = fields.Char("Sending window", compute="_compute_window_info")
    body_error = fields.Char("Problem with the text", compute="_compute_preview")
    preview_partner_id = fields.Many2one("res.partner", "Preview for", compute="_compute_preview")
    preview_body = fields.Text("Preview", compute="_compute_preview")
    preview_encoding = fields.Char("Encoding", compute="_compute_preview")
    preview_units = fields.Integer("Characters", compute="_compute_preview")
    preview_parts = fields.Integer("SMS parts", compute="_compute_preview")
    preview_cost = fields.Float("Credits for this message", compute="_compute_preview", digits=(16, 2))
    total_cost = fields.Float("Credits in all", compute="_compute_preview", digits=(16, 2))
    recipient_count = fields.Integer("Will receive it", compute="_compute_preview")
    excluded_count = fields.Integer("Left out", compute="_compute_preview")
    excluded_html = fields.Html("Left out and why", compute="_compute_preview", sanitize=False, readonly=True)

    # ------------------------------------------------------------------ defaults

    @api.model
    def default_get(self, fields_list):
        access.require_user(self.env)
        values = super().default_get(fields_list)
        context = self.env.context
        event_id = values.get("event_id") or (
            context.get("active_model") == "calendar.event" and context.get("active_id")
        )
        if event_id:
            event = self.env["calendar.event"].browse(event_id)
            values["event_id"] = event.id
            if "partner_ids" in fields_list and not values.get("partner_ids"):
                values["partner_ids"] = [(6, 0, self._event_patients(event).ids)]
            company = event.user_id.company_id
            if company and company in self.env.user.company_ids:
                values["company_id"] = company.id
        elif context.get("active_model") == "res.partner" and "partner_ids" in fields_list:
            ids = context.get("active_ids") or ([context["active_id"]] if context.get("active_id") else [])
            if ids and not values.get("partner_ids"):
                values["partner_ids"] = [(6, 0, ids)]
        return values

    @api.model
    def _event_patients(self, event):
        """The appointment's attendees that are patients (never partners of internal users)."""
        internal = self.env["clinic.sms.planner"]._internal_partner_ids()
        return event._clinic_sms_patients(internal)

    # ------------------------------------------------------------------ computes

    @api.depends("template_id")
    def _compute_body(self):
        for wizard in self:
            if wizard.template_id:
                wizard.body = wizard.template_id.body

    def _compute_placeholder_help(self):
        html = self.env["clinic.sms.template"]._clinic_sms_placeholder_help()
        for wizard in self:
            wizard.placeholder_help = html

    @api.depends("company_id", "send_mode")
    def _compute_window_info(self):
        for wizard in self:
            settings = wizard.company_id._clinic_sms_settings() if wizard.company_id else None
            if not settings or timing._no_limit(settings["window_start"], settings["window_end"]):
                wizard.window_info = self.env._("No sending window: messages may go at any hour.")
                continue
            text = self.env._(
                "SMS go out only between %(start)s and %(end)s (%(tz)s). A chosen time outside these "
                "hours is refused.",
                start=format_hours(settings["window_start"]),
                end=format_hours(settings["window_end"]),
                tz=settings["tz"],
            )
            now = to_aware(fields.Datetime.now())
            if wizard.send_mode == "now" and not timing.in_window(
                now, settings["tz"], settings["window_start"], settings["window_end"]
            ):
                opens = timing.next_window_open(
                    now, settings["tz"], settings["window_start"], settings["window_end"]
                )
                text += " " + self.env._(
                    "It is outside these hours now: the messages wait until %s.", wizard._local_text(opens)
                )
            wizard.window_info = text

    @api.depends("partner_ids", "event_id", "template_id", "body", "company_id")
    def _compute_preview(self):
        for wizard in self:
            sendable, excluded = wizard._recipients()
            wizard.recipient_count = len(sendable)
            wizard.excluded_count = len(excluded)
            wizard.excluded_html = wizard._excluded_table(excluded)
            wizard.body_error = wizard._body_problem() or False
            texts = []
            if not wizard.body_error:
                texts = [(partner, wizard._text_for(partner)) for partner in sendable]
            first = texts[0] if texts else None
            costs = [
                wizard.company_id._clinic_sms_cost(p.sms_number_e164, segments.count_parts(t).parts)
                for p, t in texts
            ]
            if first:
                parts = segments.count_parts(first[1])
                wizard.preview_partner_id = first[0]
                wizard.preview_body = first[1]
                wizard.preview_encoding = "GSM-7" if parts.encoding == segments.GSM7 else "Unicode (UCS-2)"
                wizard.preview_units = parts.units
                wizard.preview_parts = parts.parts
                wizard.preview_cost = costs[0]
            else:
                wizard.preview_partner_id = False
                wizard.preview_body = False
                wizard.preview_encoding = False
                wizard.preview_units = 0
                wizard.preview_parts = 0
                wizard.preview_cost = 0.0
            wizard.total_cost = sum(costs)

    # ------------------------------------------------------------------ rules

    def _local_text(self, moment):
        """An aware moment as the clinic reads it: "2027-01-11 08:00"."""
        tz = ZoneInfo(self.company_id.clinic_sms_tz or "UTC")
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    def _reason_labels(self):
        return dict(self.env["clinic.sms.message"]._fields["reason"]._description_selection(self.env))

    def _recipients(self):
        """([partners that get the message], [(partner, reason code, detail)] left out), as the rule
        book decides (the dispatcher asks it again when the message goes)."""
        self.ensure_one()
        partners = self.partner_ids._origin
        if self.event_id:
            internal = self.env["clinic.sms.planner"]._internal_partner_ids()
            partners = partners.filtered(lambda p: p.id not in internal)
        problems = dict(
            self.env["res.partner"]._fields["sms_number_problem"]._description_selection(self.env)
        )
        sendable, excluded = [], []
        # The rule book decides, in its order (core/eligibility.py).
        for partner, decision in self.env["clinic.sms.eligibility"]._decide_patients(
            partners, company=self.company_id._origin or self.env.company
        ):
            if not decision:
                sendable.append(partner)
            elif decision.reason == "opted_out":
                detail = self.env._("The number is on the blacklist.") if decision.detail else ""
                excluded.append((partner, "opted_out", detail))
            elif decision.reason == "invalid_number":
                excluded.append((partner, "invalid_number", problems.get(decision.detail, "")))
            else:
                excluded.append((partner, decision.reason, ""))
        return sendable, excluded

    def _excluded_table(self, excluded):
        if not excluded:
            return False
        labels = self._reason_labels()
        rows = Markup("").join(
            Markup("<tr><td>%s</td><td>%s</td><td>%s</td></tr>")
            % (partner.display_name, labels.get(reason, reason), detail or "")
            for partner, reason, detail in excluded
        )
        head = Markup("<tr><th>%s</th><th>%s</th><th>%s</th></tr>") % (
            self.env._("Contact"),
            self.env._("Left out because"),
            self.env._("Details"),
        )
        return Markup(
            '<table class="table table-sm o_clinic_sms_excluded"><thead>%s</thead><tbody>%s</tbody></table>'
        ) % (
            head,
            rows,
        )

    def _body_problem(self):
        """Why the text cannot be sent, in plain words, or None."""
        self.ensure_one()
        if not (self.body or "").strip():
            return self.env._("Write a text or choose a template.")
        try:
            placeholders.validate(self.body)
        except TemplateError as error:
            return error.message
        if not self.event_id:
            used = [name for name in placeholders.find(self.body) if name in EVENT_PLACEHOLDERS]
            if used:
                return self.env._(
                    "%(placeholders)s can only be filled in when the message is sent from an appointment. "
                    "Without one, use: %(allowed)s.",
                    placeholders=", ".join("{%s}" % name for name in used),
                    allowed=", ".join(
                        "{%s}" % name for name in placeholders.CATALOGUE if name not in EVENT_PLACEHOLDERS
                    ),
                )
        return None

    def _message_kind(self):
        return "notice" if self.template_id.kind == "notice" else "manual"

    def _text_for(self, partner):
        """The text ``partner`` gets: filled with the values the dispatcher uses for a message
        (``clinic.sms.message._render_values``). An unchanged template is taken in the patient's
        language."""
        self.ensure_one()
        event = self.event_id._origin
        message = self.env["clinic.sms.message"].new(
            {
                "kind": self._message_kind(),
                "partner_id": partner.id,
                "company_id": self.company_id._origin.id,
                "event_id": event.id,
                "event_start": event.start if event else False,
            }
        )
        lang, values = message._render_values()
        source = self.body or ""
        template = self.template_id
        if template and source == template.body:
            source = template.with_context(lang=lang).body or source
        text = placeholders.render(source, values)
        return template._clinic_sms_finish(text) if template else text

    def _check_text(self):
        problem = self._body_problem()
        if problem:
            raise UserError(self.env._("The text cannot be sent: %s", problem))

    # ------------------------------------------------------------------ actions

    def _clinic_sms_check_access(self):
        """A Clinic SMS user, in the wizard's company, with read access to its recipients and
        appointment: checked before anything is sent (the log is then written as superuser)."""
        access.require_user(self.env)
        self.check_access("write")
        access.require_companies(self.env, self.company_id)
        self.partner_ids.check_access("read")
        self.event_id.check_access("read")

    def action_send(self):
        """Log one message per recipient (the left-out ones as skipped, with the reason) and send
        them now or at the chosen time. Answers the log rows created."""
        self.ensure_one()
        self._clinic_sms_check_access()
        self._check_text()
        sendable, excluded = self._recipients()
        if not sendable:
            raise UserError(
                self.env._(
                    "None of the recipients can receive SMS. Left out: %s",
                    ", ".join(p.display_name for p, _r, _d in excluded) or self.env._("nobody selected"),
                )
            )
        now = fields.Datetime.now()
        if self.send_mode == "later":
            due = self._check_scheduled_at(now)
            state = "scheduled"
        else:
            due, state = now, "queued"
        event = self.event_id
        common = {
            "kind": self._message_kind(),
            "event_id": event.id,
            "event_start": event.start if event else False,
            "user_id": event.user_id.id,
            "company_id": self.company_id.id,
        }
        values = [
            {
                **common,
                "partner_id": partner.id,
                # The text as written now: editing the template later does not change it.
                "body": self._text_for(partner),
                "state": state,
                "due_at": due,
                "expire_at": due + EXPIRY,
            }
            for partner in sendable
        ]
        values += [
            {
                **common,
                "partner_id": partner.id,
                "body": False,
                "state": "skipped",
                "reason": reason,
                "error": detail or False,
                "due_at": due,
            }
            for partner, reason, detail in excluded
        ]
        Message = self.env["clinic.sms.message"].sudo()
        messages = Message.create(values)
        queued = messages.filtered(lambda m: m.state == "queued")
        if queued and len(queued) <= IMMEDIATE_LIMIT:
            # Hand them to the gateway now, so the log shows the outcome when it opens. The rows
            # were created in this transaction: no dispatcher running elsewhere can see them yet.
            self.env.flush_all()
            queued.sudo()._dispatch_batch(now)
            messages.invalidate_recordset()
        return {
            "type": "ir.actions.act_window",
            "res_model": "clinic.sms.message",
            "name": self.env._("Messages from the composer"),
            "view_mode": "list,form",
            "views": [(False, "list"), (False, "form")],
            "domain": [("id", "in", messages.ids)],
            "target": "current",
        }

    def _check_scheduled_at(self, now):
        """The chosen time, when it is in the future and inside the sending window; else a clear
        refusal that says the window."""
        if not self.scheduled_at:
            raise UserError(self.env._("Choose when the messages should go."))
        if self.scheduled_at <= now:
            raise UserError(self.env._("The chosen time has passed. Choose a later time or send now."))
        settings = self.company_id._clinic_sms_settings()
        moment = to_aware(self.scheduled_at)
        if not timing.in_window(moment, settings["tz"], settings["window_start"], settings["window_end"]):
            opens = timing.next_window_open(
                moment, settings["tz"], settings["window_start"], settings["window_end"]
            )
            raise UserError(
                self.env._(
                    "%(chosen)s is outside the sending window: SMS go out only between %(start)s and "
                    "%(end)s (%(tz)s). Choose a time inside it, e.g. %(next)s.",
                    chosen=self._local_text(moment),
                    start=format_hours(settings["window_start"]),
                    end=format_hours(settings["window_end"]),
                    tz=settings["tz"],
                    next=self._local_text(opens),
                )
            )
        return to_naive(moment)

    def action_send_test(self):
        """Send the preview text to the current user's own number at once and say what happened.
        Nothing is logged and no credits are used."""
        self.ensure_one()
        self._clinic_sms_check_access()
        self._check_text()
        if not self.preview_body:
            raise UserError(self.env._("There is no text to test: none of the recipients can receive SMS."))
        number = self.env["clinic.sms.gateway"]._clinic_sms_test_number()
        gateway = self.company_id._clinic_sms_gateways_for(number)[:1]
        if not gateway:
            raise UserError(self.env._("No SMS gateway of %s sends to your number.", self.company_id.name))
        return gateway._clinic_sms_send_test(number, self.preview_body, self.env._("Test SMS"))
