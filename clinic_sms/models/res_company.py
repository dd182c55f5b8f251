from datetime import timedelta

from odoo import api, fields, models
from odoo.addons.base.models.res_partner import _tz_get
from odoo.addons.sms.tools.sms_api import SmsApiBase
from odoo.exceptions import ValidationError

#: clinic.sms.message state → the state Odoo's sms.sms understands (see sms.sms._send_with_api).
ODOO_SMS_STATE = {"sent": "success", "buffered": "success", "delivered": "delivered"}


class ClinicSmsApi(SmsApiBase):
    """Odoo's own SMS (chatter, sms.composer, calendar alarms) through the clinic's gateways.

    Each SMS becomes a row of the clinic's log, linked to Odoo's sms.sms by its uuid, and is
    dispatched at once by the clinic's dispatcher, with all of its checks (opt-out, blacklist,
    window, credits, failover). What cannot go now stays queued in the log and Odoo shows it as
    processing; later results reach Odoo's notifications through ``sms.tracker``.
    """

    def _send_sms_batch(self, messages, delivery_reports_url=False):
        Message = self.env["clinic.sms.message"].sudo()
        company = self.company or self.env.company
        now = fields.Datetime.now()
        vals_list = []
        for message in messages:
            for number_info in message.get("numbers") or []:
                number = Message._inbound_number(number_info.get("number"), company)
                partner = self.env["res.partner"].sudo().search([("sms_number_e164", "=", number)], limit=1)
                vals_list.append(
                    {
                        "kind": "manual",
                        "body": message.get("content") or "",
                        "number": number,
                        "partner_id": partner.id,
                        "sms_uuid": number_info["uuid"],
                        "state": "queued",
                        "due_at": now,
                        "expire_at": now + timedelta(hours=24),
                        "company_id": company.id,
                    }
                )
        rows = Message.create(vals_list)
        rows._dispatch_batch(now)
        return [row._odoo_sms_result() for row in rows]


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
    clinic_sms_route_odoo_sms = fields.Boolean(
        "Send all of Odoo's SMS through the clinic gateway",
        default=False,
        help="When on, SMS sent from the chatter, the SMS composer or calendar alarms go through the "
        "clinic's gateways and appear in the SMS log, with the same checks as reminders.",
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

    def _get_sms_api_class(self):
        self.ensure_one()
        if self.clinic_sms_route_odoo_sms and self.clinic_sms_enabled:
            return ClinicSmsApi
        return super()._get_sms_api_class()

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
