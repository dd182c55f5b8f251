from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools.misc import formatLang

from .. import access

PACK_SIZES = [("100", "100 credits"), ("500", "500 credits"), ("1000", "1,000 credits"), ("other", "Other")]


def format_credits(env, value):
    """Credits as the user reads them: 1,000 or 12.50 (in the user's language)."""
    value = round(value or 0.0, 2)
    return formatLang(env, value, digits=0 if value == int(value) else 2)


class ClinicSmsCreditPurchase(models.TransientModel):
    _name = "clinic.sms.credit.purchase"
    _description = "Clinic SMS: buy credits"

    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        domain=lambda self: [("id", "in", self.env.user.company_ids.ids)],
    )
    credit_check = fields.Boolean(related="company_id.clinic_sms_credit_check", string="Credits checked")
    credit_balance = fields.Float(related="company_id.clinic_sms_credit_balance", string="Balance now")
    pack = fields.Selection(PACK_SIZES, required=True, default="1000")
    custom_size = fields.Integer("Credits", help="The number of credits of the pack.")
    size = fields.Integer("Credits bought", compute="_compute_size")
    currency_id = fields.Many2one(related="company_id.currency_id")
    credit_price = fields.Float(
        "Price per credit",
        digits=(16, 4),
        compute="_compute_credit_price",
        help="The price per credit that applies today (SMS credits > Prices per credit); the purchase "
        "records it.",
    )
    price = fields.Monetary(
        compute="_compute_price",
        store=True,
        readonly=False,
        precompute=True,
        help="What the pack cost: its credits times the price per credit, or the figure of your invoice.",
    )
    note = fields.Char(help="E.g. the invoice number.")
    switch_check_on = fields.Boolean(
        "Check credits before sending",
        default=True,
        help="Check credits before sending: messages wait instead of going out unpaid.",
    )

    @api.depends("pack", "custom_size")
    def _compute_size(self):
        for wizard in self:
            wizard.size = wizard.custom_size if wizard.pack == "other" else int(wizard.pack or 0)

    @api.depends("company_id")
    def _compute_credit_price(self):
        now = fields.Datetime.now()
        Rate = self.env["clinic.sms.credit.rate"]
        mine = self.env.user.company_ids
        for wizard in self:
            # Only the prices of the user's own companies (a wizard's company is checked on save).
            known = wizard.company_id and (self.env.su or wizard.company_id in mine)
            price = Rate._price_at(wizard.company_id, now) if known else None
            wizard.credit_price = price or 0.0

    @api.depends("size", "credit_price")
    def _compute_price(self):
        for wizard in self:
            wizard.price = wizard.size * wizard.credit_price

    def action_confirm(self):
        self.ensure_one()
        access.require_manager(self.env)
        self.check_access("write")
        company = self.company_id
        access.require_companies(self.env, company)
        if self.size <= 0:
            raise UserError(self.env._("A pack must have more than 0 credits."))
        if self.price < 0:
            raise UserError(self.env._("The price cannot be negative."))
        self.env["clinic.sms.credit"].sudo().create(
            {
                "company_id": company.id,
                "kind": "purchase",
                "amount": self.size,
                "allowance_amount": 0.0,
                "price": self.price,
                "note": self.note or False,
            }
        )
        if self.switch_check_on and not company.clinic_sms_credit_check:
            company.sudo().clinic_sms_credit_check = True
        self.env["clinic.sms.credit"].sudo()._warn(company)
        company.invalidate_recordset(["clinic_sms_credit_balance"])
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "title": self.env._("Credits added"),
                "message": self.env._(
                    "%(size)s credits were added. The balance of %(company)s is now %(balance)s credits.",
                    size=format_credits(self.env, self.size),
                    company=company.name,
                    balance=format_credits(self.env, company.clinic_sms_credit_balance),
                ),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
