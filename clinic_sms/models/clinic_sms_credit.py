from odoo import api, fields, models
from odoo.exceptions import UserError

from ..constants import MESSAGE_KINDS


class ClinicSmsCredit(models.Model):
    _name = "clinic.sms.credit"
    _description = "Clinic SMS credit ledger line"
    _order = "date desc, id desc"

    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
        readonly=True,
    )
    date = fields.Datetime(required=True, default=fields.Datetime.now, index=True, readonly=True)
    kind = fields.Selection(
        [
            ("allowance", "Monthly allowance"),
            ("lapse", "Unused allowance lapsed"),
            ("purchase", "Pack purchased"),
            ("consumption", "SMS sent"),
            ("refund", "Refund"),
            ("adjustment", "Adjustment"),
        ],
        required=True,
        default="adjustment",
        readonly=True,
    )
    amount = fields.Float(
        required=True, digits=(16, 2), readonly=True, help="Credits granted (+) or used (-)."
    )
    allowance_amount = fields.Float(
        "From the allowance",
        digits=(16, 2),
        readonly=True,
        help="The part of the amount that belongs to the month's allowance; the rest belongs to "
        "purchased packs, which roll over.",
    )
    period = fields.Char(
        readonly=True, help="The month (YYYY-MM, clinic time) an allowance was granted for or lapsed in."
    )
    price = fields.Monetary(readonly=True, help="What a purchased pack cost.")
    currency_id = fields.Many2one(related="company_id.currency_id")
    message_id = fields.Many2one("clinic.sms.message", index="btree_not_null", ondelete="set null")
    # Copied from the message when the line is written (not related fields: those would be
    # recomputed at every flush of a dispatch batch, and they must not change with the message).
    message_kind = fields.Selection(MESSAGE_KINDS, string="Message kind", readonly=True)
    user_id = fields.Many2one("res.users", "Practitioner", readonly=True, index="btree_not_null")
    parts = fields.Integer(readonly=True, help="SMS parts of the message (consumption and refunds).")
    note = fields.Char()

    _period_once = models.UniqueIndex(
        "(company_id, kind, period) WHERE kind IN ('allowance', 'lapse')",
        "This month's allowance was already granted (or lapsed).",
    )

    def init(self):
        # One row per company: written by whoever spends or grants its credits, as a lock, and
        # where the month last granted and the thresholds warned are kept (res.company
        # _clinic_sms_credit_lock).
        self.env.cr.execute(
            "CREATE TABLE IF NOT EXISTS clinic_sms_credit_state"
            " (company_id integer PRIMARY KEY REFERENCES res_company(id) ON DELETE CASCADE,"
            " period varchar, warned varchar)"
        )

    @api.depends("kind", "amount")
    def _compute_display_name(self):
        kinds = dict(self._fields["kind"]._description_selection(self.env))
        for line in self:
            line.display_name = f"{kinds.get(line.kind, '')} {line.amount:+.2f}"

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("kind", "adjustment") == "adjustment" and not vals.get("note"):
                raise UserError(self.env._("A manual adjustment of credits needs a reason."))
        return super().create(vals_list)

    def write(self, vals):
        if set(vals) - {"note", "message_id"}:
            raise UserError(self.env._("The credit ledger cannot be changed; add an adjustment instead."))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(self.env._("The credit ledger cannot be changed; add an adjustment instead."))
