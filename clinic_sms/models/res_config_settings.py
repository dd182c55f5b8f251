from odoo import api, fields, models

from .. import access


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
    clinic_sms_allowance_balance = fields.Float(related="company_id.clinic_sms_allowance_balance")
    clinic_sms_pack_balance = fields.Float(related="company_id.clinic_sms_pack_balance")
    clinic_sms_credit_low = fields.Boolean(related="company_id.clinic_sms_credit_low")
    clinic_sms_monthly_allowance = fields.Float(
        related="company_id.clinic_sms_monthly_allowance", readonly=False
    )
    clinic_sms_credit_thresholds = fields.Char(
        related="company_id.clinic_sms_credit_thresholds", readonly=False
    )
    clinic_sms_credit_price_count = fields.Integer(
        "Prices by country", compute="_compute_clinic_sms_credit_price_count"
    )
    clinic_sms_route_odoo_sms = fields.Boolean(related="company_id.clinic_sms_route_odoo_sms", readonly=False)
    clinic_sms_retention_days = fields.Integer(related="company_id.clinic_sms_retention_days", readonly=False)
    clinic_sms_opt_out_blacklist = fields.Boolean(
        related="company_id.clinic_sms_opt_out_blacklist", readonly=False
    )
    clinic_sms_consent_required = fields.Boolean(
        related="company_id.clinic_sms_consent_required", readonly=False
    )

    # The setup checklist and the no-gateway banner (computed on the company).
    clinic_sms_no_gateway = fields.Boolean(related="company_id.clinic_sms_no_gateway")
    clinic_sms_no_gateway_count = fields.Integer(related="company_id.clinic_sms_no_gateway_count")
    clinic_sms_simulated = fields.Boolean(related="company_id.clinic_sms_simulated")
    clinic_sms_setup_tz_done = fields.Boolean(related="company_id.clinic_sms_setup_tz_done")
    clinic_sms_setup_window_done = fields.Boolean(related="company_id.clinic_sms_setup_window_done")
    clinic_sms_setup_gateway_done = fields.Boolean(related="company_id.clinic_sms_setup_gateway_done")
    clinic_sms_setup_templates_done = fields.Boolean(related="company_id.clinic_sms_setup_templates_done")
    clinic_sms_setup_credits_done = fields.Boolean(related="company_id.clinic_sms_setup_credits_done")
    clinic_sms_setup_credits_apply = fields.Boolean(related="company_id.clinic_sms_setup_credits_apply")
    clinic_sms_setup_done = fields.Boolean(related="company_id.clinic_sms_setup_done")
    clinic_sms_setup_steps_done = fields.Integer(related="company_id.clinic_sms_setup_steps_done")
    clinic_sms_setup_steps_total = fields.Integer(related="company_id.clinic_sms_setup_steps_total")
    clinic_sms_setup_langs_todo = fields.Char(related="company_id.clinic_sms_setup_langs_todo")
    clinic_sms_setup_lang_next_id = fields.Many2one(related="company_id.clinic_sms_setup_lang_next_id")
    clinic_sms_setup_langs_reviewed = fields.Char(related="company_id.clinic_sms_setup_langs_reviewed")

    @api.depends("company_id")
    def _compute_clinic_sms_credit_price_count(self):
        for settings in self:
            settings.clinic_sms_credit_price_count = len(settings.company_id.clinic_sms_credit_price_ids)

    @api.onchange("clinic_sms_monthly_allowance")
    def _onchange_clinic_sms_monthly_allowance(self):
        """Turning an allowance on while credits are not checked offers to check them: without the
        check, SMS keep going out once the allowance is used up."""
        before = self.company_id._origin.clinic_sms_monthly_allowance
        if self.clinic_sms_monthly_allowance > 0 and not before and not self.clinic_sms_credit_check:
            self.clinic_sms_credit_check = True
            return {
                "warning": {
                    "title": self.env._("Credits will be checked before sending"),
                    "message": self.env._(
                        "With a monthly allowance, SMS should wait when the credits run out instead of "
                        'going out unpaid, so "Check credits before sending" was ticked as well. '
                        "Untick it before saving if SMS should keep going out when the balance is used up."
                    ),
                }
            }
        return None

    def action_clinic_sms_open_prices(self):
        """The prices by country (Clinic SMS administrators)."""
        access.require_manager(self.env)
        return self.env["ir.actions.act_window"]._for_xml_id("clinic_sms.clinic_sms_credit_price_action")

    def action_clinic_sms_synchronize(self):
        """*Synchronize all*: plan whatever is missing for the company's future appointments."""
        self.env["clinic.sms.planner"]._check_manager()
        count = self.env["clinic.sms.planner"]._synchronize(self.env.company)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Synchronize all"),
                "message": self.env._(
                    "%(count)s future appointments checked; what was missing is planned.", count=count
                ),
                "type": "success",
            },
        }

    def action_clinic_sms_open_log(self):
        """The SMS log (Clinic SMS users)."""
        access.require_user(self.env)
        return self.env["ir.actions.act_window"]._for_xml_id("clinic_sms.clinic_sms_message_action")

    def action_clinic_sms_review(self):
        """The SMS templates in the next language the setup checklist asks to review (Clinic SMS
        administrators, their current company)."""
        access.require_manager(self.env)
        lang = self.env.company.clinic_sms_setup_lang_next_id
        action = self.env["ir.actions.act_window"]._for_xml_id("clinic_sms.clinic_sms_template_action")
        if lang:
            action["context"] = {"lang": lang.code}
            action["name"] = self.env._("SMS templates in %s", lang.name)
        return action

    def action_clinic_sms_reviewed(self):
        """Mark the templates reviewed in the next language the checklist asks for (Clinic SMS
        administrators, their current company)."""
        access.require_manager(self.env)
        company = self.env.company
        lang = company.clinic_sms_setup_lang_next_id
        if lang:
            company.sudo().clinic_sms_reviewed_lang_ids = [(4, lang.id)]
        return True
