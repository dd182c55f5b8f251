from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    clinic_sms_enabled = fields.Boolean(related="company_id.clinic_sms_enabled", readonly=False)
    clinic_sms_birthday_enabled = fields.Boolean(
        related="company_id.clinic_sms_birthday_enabled", readonly=False
    )
    clinic_sms_window_start = fields.Float(related="company_id.clinic_sms_window_start", readonly=False)
    clinic_sms_window_end = fields.Float(related="company_id.clinic_sms_window_end", readonly=False)
    clinic_sms_tz = fields.Selection(related="company_id.clinic_sms_tz", readonly=False)
    clinic_sms_gateway_id = fields.Many2one(related="company_id.clinic_sms_gateway_id", readonly=False)
    clinic_sms_credit_check = fields.Boolean(related="company_id.clinic_sms_credit_check", readonly=False)
    clinic_sms_credits_per_part = fields.Float(
        related="company_id.clinic_sms_credits_per_part", readonly=False
    )
    clinic_sms_credit_balance = fields.Float(related="company_id.clinic_sms_credit_balance")
    clinic_sms_route_odoo_sms = fields.Boolean(related="company_id.clinic_sms_route_odoo_sms", readonly=False)

    def action_clinic_sms_open_log(self):
        return self.env["ir.actions.act_window"]._for_xml_id("clinic_sms.clinic_sms_message_action")
