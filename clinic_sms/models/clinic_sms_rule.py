from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..constants import RULE_KINDS

#: Rule fields whose change replans the rule's unsent messages.
TIMING_FIELDS = {
    "timing",
    "hours_before",
    "days_before",
    "send_hour",
    "event_type_ids",
    "active",
    "company_id",
    "confirmed_only",
    "days_after",
    "one_per_day",
}


class ClinicSmsRule(models.Model):
    _name = "clinic.sms.rule"
    _description = "Clinic SMS rule"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    kind = fields.Selection(RULE_KINDS, required=True, default="reminder", index=True)
    template_id = fields.Many2one(
        "clinic.sms.template",
        required=True,
        domain="[('kind', '=', kind), ('company_id', 'in', [company_id, False])]",
    )
    timing = fields.Selection(
        [
            ("hours_before", "Hours before the appointment"),
            ("days_before_at", "Days before, at a fixed hour"),
        ],
        required=True,
        default="hours_before",
    )
    hours_before = fields.Float("Hours before", default=24.0)
    days_before = fields.Integer("Days before", default=1)
    days_after = fields.Integer(
        "Days after the recall date",
        default=0,
        help="Recalls only: remind again this many days after the recall date when the patient has "
        "booked nothing since. 0: the rule sends its Days before the recall date.",
    )
    send_hour = fields.Float("Send at", default=9.0, help="Hour of the day in the clinic's time zone.")
    event_type_ids = fields.Many2many(
        "calendar.event.type",
        string="Appointment types",
        help="Only appointments of these types. Empty: all appointments. For a recall: booking a future "
        "appointment of one of these types (of any type when empty) withdraws it.",
    )
    confirmed_only = fields.Boolean(
        "Only confirmed appointments",
        help="Send this reminder only to patients who accepted the appointment.",
    )
    email_fallback = fields.Boolean(
        "E-mail when no valid SMS number",
        help="A patient without a valid mobile number but with an e-mail address gets the same text by "
        "e-mail, through the clinic's outgoing mail server, with the template's subject. It is logged "
        "like an SMS (channel E-mail) and costs no credits. Patients who opted out, declined or are "
        "deceased get no e-mail either.",
    )
    one_per_day = fields.Boolean(
        "One reminder per patient per day",
        help="A patient with several appointments on the same day gets one reminder, for the first "
        "one, that also names the times of the others.",
    )
    company_id = fields.Many2one("res.company", index=True)
    active = fields.Boolean(default=True)
    sequence = fields.Integer(default=10)
    description = fields.Char("When", compute="_compute_description")

    _hours_before_positive = models.Constraint(
        "CHECK (hours_before >= 0 AND days_before >= 0 AND days_after >= 0 AND send_hour >= 0"
        " AND send_hour < 24)",
        "Lead times cannot be negative and the send hour must be between 0 and 24.",
    )

    @api.depends("kind", "timing", "hours_before", "days_before", "days_after", "send_hour")
    def _compute_description(self):
        for rule in self:
            hour = "%02d:%02d" % divmod(round(rule.send_hour * 60), 60)
            if rule.kind in ("confirmation", "reschedule", "cancellation"):
                rule.description = self.env._("At once")
            elif rule.kind == "birthday":
                rule.description = self.env._("On the birthday at %s", hour)
            elif rule.kind == "recall" and rule.days_after:
                rule.description = self.env._(
                    "%(days)s day(s) after the recall date at %(hour)s, when nothing was booked",
                    days=rule.days_after,
                    hour=hour,
                )
            elif rule.kind == "recall":
                rule.description = self.env._(
                    "%(days)s day(s) before the recall date at %(hour)s", days=rule.days_before, hour=hour
                )
            elif rule.timing == "hours_before":
                rule.description = self.env._("%s h before", f"{rule.hours_before:g}")
            else:
                rule.description = self.env._(
                    "%(days)s day(s) before at %(hour)s", days=rule.days_before, hour=hour
                )

    @api.constrains("kind", "template_id")
    def _check_template_kind(self):
        for rule in self:
            if rule.template_id.kind != rule.kind:
                raise ValidationError(
                    self.env._(
                        "Rule %(rule)s sends %(kind)s messages, "
                        "but template %(template)s is for another kind.",
                        rule=rule.name,
                        kind=dict(self._fields["kind"]._description_selection(self.env))[rule.kind],
                        template=rule.template_id.name,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        rules = super().create(vals_list)
        rules.filtered(lambda r: r.kind == "reminder")._clinic_sms_replan()
        return rules

    def write(self, vals):
        result = super().write(vals)
        if vals.get("active") is False:
            # Archived rules never plan: their unsent messages are withdrawn, whatever their kind.
            self.env["clinic.sms.message"].sudo().search(
                [("rule_id", "in", self.ids), ("state", "in", ("scheduled", "queued"))]
            ).write({"state": "cancelled", "reason": "rule_archived"})
        if TIMING_FIELDS & set(vals):
            self.with_context(active_test=False).filtered(lambda r: r.kind == "reminder")._clinic_sms_replan()
        return result

    def _clinic_sms_replan(self):
        """Replan the future appointments these reminder rules concern."""
        if not self:
            return
        events = self.env["calendar.event"].search([("start", ">", fields.Datetime.now())])
        pending = self.env["clinic.sms.message"].search(
            [("rule_id", "in", self.ids), ("state", "in", ("scheduled", "queued"))]
        )
        self.env["clinic.sms.planner"]._plan_reminders(events | pending.event_id, retime=True)

    def _applies_to(self, event):
        """Whether this rule concerns ``event`` (company and appointment type)."""
        self.ensure_one()
        return not (self.event_type_ids and not self.event_type_ids & event.categ_ids)
