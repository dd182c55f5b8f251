from odoo import api, fields, models

from ..core import phone


class ResPartner(models.Model):
    _inherit = "res.partner"

    sms_number = fields.Char(
        "SMS number",
        help="The number SMS are sent to. When empty, the phone number is used.",
    )
    sms_opt_out = fields.Boolean(
        "No SMS", tracking=True, help="The patient does not want to receive SMS from the clinic."
    )
    birthday = fields.Date()
    deceased = fields.Boolean(tracking=True)
    sms_number_e164 = fields.Char(
        "SMS number (E.164)",
        compute="_compute_sms_number_e164",
        store=True,
        index="btree_not_null",
        help="The number SMS will go to, in international format; empty when there is none or it is invalid.",
    )
    sms_number_state = fields.Selection(
        [("valid", "Valid"), ("invalid", "Invalid"), ("missing", "Missing")],
        "SMS number status",
        compute="_compute_sms_number_e164",
        store=True,
    )
    sms_number_problem = fields.Selection(
        [
            ("missing", "There is no phone number."),
            ("letters", "The number contains letters (an O typed for a 0?)."),
            ("no_region", "The number has no country code (such as +45) and the patient has no country."),
            ("too_short", "The number has too few digits."),
            ("too_long", "The number has too many digits."),
            ("invalid", "This is not a valid phone number."),
            ("fixed_line", "This is a landline number; it cannot receive SMS."),
            (
                "not_mobile",
                "This is a service number (toll-free, premium-rate or similar); it cannot receive SMS.",
            ),
        ],
        "SMS number problem",
        compute="_compute_sms_number_e164",
        store=True,
    )
    clinic_sms_message_ids = fields.One2many("clinic.sms.message", "partner_id", "SMS messages")
    clinic_sms_message_count = fields.Integer("SMS", compute="_compute_clinic_sms_message_count")

    @api.depends("sms_number", "phone", "country_id", "company_id.country_id")
    def _compute_sms_number_e164(self):
        default_region = self.env.company.country_id.code
        for partner in self:
            region = partner.country_id.code or partner.company_id.country_id.code or default_region
            result = phone.check(partner.sms_number or partner.phone, region)
            partner.sms_number_e164 = result.e164 or False
            partner.sms_number_state = result.state
            partner.sms_number_problem = result.reason or False

    def _compute_clinic_sms_message_count(self):
        counts = dict(
            self.env["clinic.sms.message"]._read_group(
                [("partner_id", "in", self.ids)], ["partner_id"], ["__count"]
            )
        )
        for partner in self:
            partner.clinic_sms_message_count = counts.get(partner._origin, 0)

    def action_clinic_sms_messages(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("clinic_sms.clinic_sms_message_action")
        action["domain"] = [("partner_id", "=", self.id)]
        action["context"] = {"default_partner_id": self.id}
        return action

    def _clinic_sms_region(self):
        self.ensure_one()
        return self.country_id.code or self.company_id.country_id.code or self.env.company.country_id.code
