from odoo import api, fields, models
from odoo.addons.base.models.res_partner import _tz_get
from odoo.exceptions import ValidationError


class ResCompany(models.Model):
    _inherit = "res.company"

    clinic_sms_enabled = fields.Boolean(
        "Clinic SMS",
        default=True,
        help="Master switch: when off, nothing is planned or sent for this company.",
    )
    clinic_sms_birthday_enabled = fields.Boolean("Birthday greetings", default=False)
    clinic_sms_window_start = fields.Float(
        "Sending window from",
        default=8.0,
        help="Earliest hour of the day (clinic time) at which SMS are sent. 0 means no limit.",
    )
    clinic_sms_window_end = fields.Float(
        "Sending window until",
        default=20.0,
        help="Latest hour of the day (clinic time) at which SMS are sent. 24 means no limit.",
    )
    clinic_sms_tz = fields.Selection(
        _tz_get,
        "Clinic time zone",
        default=lambda self: self.env.user.tz or "Europe/Copenhagen",
        help="Sending windows, send hours and the dates and times written in SMS use this time zone.",
    )
    clinic_sms_gateway_id = fields.Many2one(
        "clinic.sms.gateway",
        "Default SMS gateway",
        domain="[('company_id', 'in', [id, False])]",
    )
    clinic_sms_credit_check = fields.Boolean(
        "Check credits before sending",
        default=False,
        help="When on, a message is sent only if the credit balance pays for it; "
        "otherwise it waits with the reason 'no credit'.",
    )
    clinic_sms_credits_per_part = fields.Float(
        "Credits per SMS part", default=1.0, digits=(16, 2), help="What one SMS part costs in credits."
    )
    clinic_sms_credit_balance = fields.Float(
        "SMS credit balance", compute="_compute_clinic_sms_credit_balance", digits=(16, 2)
    )

    _clinic_sms_window_valid = models.Constraint(
        "CHECK (clinic_sms_window_start >= 0 AND clinic_sms_window_end <= 24"
        " AND clinic_sms_window_start < clinic_sms_window_end)",
        "The SMS sending window must start before it ends, between 0 and 24 hours.",
    )

    def _compute_clinic_sms_credit_balance(self):
        balances = dict(
            self.env["clinic.sms.credit"]
            .sudo()
            ._read_group([("company_id", "in", self.ids)], ["company_id"], ["amount:sum"])
        )
        for company in self:
            company.clinic_sms_credit_balance = balances.get(company._origin, 0.0)

    @api.constrains("clinic_sms_gateway_id")
    def _check_clinic_sms_gateway(self):
        for company in self:
            gateway = company.clinic_sms_gateway_id
            if gateway.company_id and gateway.company_id != company:
                raise ValidationError(
                    self.env._("The default SMS gateway of %s belongs to another company.", company.name)
                )

    def _clinic_sms_settings(self):
        """The plain values the core needs for timing decisions."""
        self.ensure_one()
        return {
            "tz": self.clinic_sms_tz or "UTC",
            "window_start": self.clinic_sms_window_start,
            "window_end": self.clinic_sms_window_end,
        }

    def _clinic_sms_gateways(self):
        """Active gateways of the company in the order they are tried, the default one first."""
        self.ensure_one()
        gateways = (
            self.env["clinic.sms.gateway"]
            .sudo()
            .search([("company_id", "in", [self.id, False])], order="sequence, id")
        )
        default = self.clinic_sms_gateway_id.sudo()
        if default and default.active:
            gateways = default | (gateways - default)
        return gateways
