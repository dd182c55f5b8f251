"""What a credit costs in money: the company's price per credit, from the day it applies.

Not to be confused with ``clinic.sms.credit.price``, which says how many *credits* an SMS part to a
country costs. The price that applies on a day is the one valid from the latest day on or before it
(``core.credits.price_on``); days are the clinic's.
"""

from odoo import api, fields, models
from odoo.tools.misc import format_date

from ..core import credits as credit_rules
from ..money import format_price


class ClinicSmsCreditRate(models.Model):
    _name = "clinic.sms.credit.rate"
    _description = "Clinic SMS price per credit"
    _order = "company_id, valid_from desc, id desc"
    _rec_names_search = ["valid_from"]

    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        ondelete="cascade",
        default=lambda self: self.env.company,
        help="The clinic this price is for; it is billed in the clinic's currency.",
    )
    currency_id = fields.Many2one(
        related="company_id.currency_id", string="Currency", help="The clinic's currency."
    )
    price = fields.Float(
        "Price per credit",
        required=True,
        digits=(16, 4),
        help="What one credit costs in the clinic's currency, VAT included as billed. Up to four "
        "decimals, for providers that price an SMS in fractions of a cent.",
    )
    valid_from = fields.Date(
        "Valid from",
        required=True,
        default=fields.Date.context_today,
        help="The first day (clinic time) this price applies; it applies until the next price's first day.",
    )

    _price_not_negative = models.Constraint("CHECK (price >= 0)", "A price per credit cannot be negative.")
    _one_per_day = models.UniqueIndex(
        "(company_id, valid_from)", "This company already has a price per credit from that day."
    )

    @api.depends("price", "valid_from", "currency_id")
    def _compute_display_name(self):
        for rate in self:
            rate.display_name = self.env._(
                "%(price)s from %(date)s",
                price=format_price(self.env, rate.price, rate.currency_id),
                date=format_date(self.env, rate.valid_from),
            )

    @api.model
    def _prices(self, company):
        """[(valid from, price per credit)] of ``company``, oldest first (the caller has checked
        that the user may see the company's credits)."""
        rates = self.sudo().search_fetch(
            [("company_id", "=", company.id)], ["valid_from", "price"], order="valid_from"
        )
        return [(rate.valid_from, rate.price) for rate in rates]

    @api.model
    def _price_at(self, company, when):
        """The price per credit of ``company`` at ``when`` (naive UTC), or None when none applies."""
        day = credit_rules.local_day(when, company.sudo().clinic_sms_tz or "UTC")
        return credit_rules.price_on(self._prices(company), day)
