from odoo import api, fields, models
from odoo.exceptions import ValidationError


class ClinicSmsCreditPrice(models.Model):
    _name = "clinic.sms.credit.price"
    _description = "Clinic SMS price per country prefix"
    _order = "company_id, prefix"

    company_id = fields.Many2one(
        "res.company", required=True, index=True, ondelete="cascade", default=lambda self: self.env.company
    )
    prefix = fields.Char(required=True, help="International prefix, e.g. +48 or +4420.")
    credits_per_part = fields.Float("Credits per SMS part", required=True, digits=(16, 2), default=1.0)

    _prefix_uniq = models.UniqueIndex("(company_id, prefix)", "This prefix already has a price.")

    @api.constrains("prefix", "credits_per_part")
    def _check_price(self):
        for price in self:
            prefix = (price.prefix or "").strip()
            if not (prefix.startswith("+") and prefix[1:].isdigit()):
                raise ValidationError(
                    self.env._("%s is not an international prefix such as +48.", price.prefix)
                )
            if price.credits_per_part < 0:
                raise ValidationError(self.env._("A price cannot be negative."))
