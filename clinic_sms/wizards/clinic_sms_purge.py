from datetime import datetime, time

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import UserError

from .. import access


class ClinicSmsPurge(models.TransientModel):
    _name = "clinic.sms.purge"
    _description = "Clinic SMS: delete old log rows"

    date = fields.Date(
        "Delete messages due before",
        required=True,
        default=lambda self: fields.Date.context_today(self) - relativedelta(years=1),
        help="Sent, delivered, failed, expired, cancelled and skipped messages and patients' replies "
        "due before this date are deleted. Planned messages are never deleted.",
    )
    company_ids = fields.Many2many(
        "res.company", string="Companies", default=lambda self: self.env.companies, readonly=True
    )
    count = fields.Integer("Messages to delete", compute="_compute_count")
    summary = fields.Char(compute="_compute_count")

    def _before(self):
        self.ensure_one()
        return datetime.combine(self.date, time.min)

    def _domain(self):
        Message = self.env["clinic.sms.message"]
        return [*Message._clinic_sms_purge_domain(self._before()), ("company_id", "in", self.company_ids.ids)]

    @api.depends("date", "company_ids")
    def _compute_count(self):
        Message = self.env["clinic.sms.message"]
        for wizard in self:
            wizard.count = Message.search_count(wizard._domain()) if wizard.date else 0
            wizard.summary = self.env._("%s messages will be deleted.", wizard.count)

    def action_purge(self):
        self.ensure_one()
        # The log is deleted only here (and by the retention cron): nobody has unlink on it.
        access.require_manager(self.env)
        self.check_access("write")
        companies = self.company_ids & self.env.companies
        if not companies:
            raise UserError(self.env._("Choose at least one of your companies."))
        deleted = self.env["clinic.sms.message"]._clinic_sms_purge(self._before(), companies.ids)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("SMS log"),
                "message": self.env._("%s messages deleted.", deleted),
                "type": "success",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
