from odoo import api, fields, models

from .. import access
from ..core import phone


def _trigram(column):
    """A trigram index on ``column`` where PostgreSQL has pg_trgm (none otherwise)."""
    return lambda registry: f"USING gin ({column} gin_trgm_ops)" if registry.has_trigram else ""


class ResPartner(models.Model):
    _inherit = "res.partner"

    # Finding a patient by part of a name (the SMS log's "Patient" search, the contact list): a
    # contact's name search ORs these five columns (res.partner._rec_names_search), so each needs a
    # trigram index for PostgreSQL to answer from indexes instead of reading every contact.
    _clinic_sms_complete_name_trgm = models.Index(_trigram("complete_name"))
    _clinic_sms_email_trgm = models.Index(_trigram("email"))
    _clinic_sms_ref_trgm = models.Index(_trigram("ref"))
    _clinic_sms_vat_trgm = models.Index(_trigram("vat"))
    _clinic_sms_company_registry_trgm = models.Index(_trigram("company_registry"))

    sms_number = fields.Char(
        "SMS number",
        help="The number SMS are sent to. When empty, the phone number is used.",
    )
    sms_opt_out = fields.Boolean(
        "No SMS", tracking=True, help="The patient does not want to receive SMS from the clinic."
    )
    sms_consent = fields.Boolean(
        "Consents to SMS",
        tracking=True,
        copy=False,
        help="The patient agreed to receive SMS from the clinic. Only asked when the company's setting "
        "*Patients must consent to SMS* is on.",
    )
    sms_consent_date = fields.Date(
        "SMS consent date",
        readonly=True,
        copy=False,
        help="When the tick Consents to SMS was last set or removed (filled in automatically).",
    )
    sms_consent_user_id = fields.Many2one(
        "res.users",
        "SMS consent set by",
        readonly=True,
        copy=False,
        ondelete="set null",
        help="Who last set or removed the tick Consents to SMS (filled in automatically).",
    )
    birthday = fields.Date()
    recall_date = fields.Date(
        "Recall date",
        tracking=True,
        copy=False,
        help="When the patient is due for their next check-up. Recall rules invite them by SMS; it moves "
        "on by the recall interval when an appointment of a type that sets the next recall ends.",
    )
    recall_interval = fields.Integer(
        "Recall every (months)",
        default=0,
        help="Months between check-ups; 0 means no recall.",
    )
    deceased = fields.Boolean(tracking=True)

    _clinic_sms_recall_interval_range = models.Constraint(
        "CHECK (recall_interval IS NULL OR (recall_interval >= 0 AND recall_interval <= 120))",
        "The recall interval is a number of months from 0 (no recall) to 120.",
    )

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

    def _clinic_sms_consent_stamp(self):
        return {"sms_consent_date": fields.Date.context_today(self), "sms_consent_user_id": self.env.uid}

    #: Filled in by the add-on alone: who set or removed the consent, and when (an audit trail).
    _CONSENT_STAMP = ("sms_consent_date", "sms_consent_user_id")

    def _clinic_sms_without_stamp(self, vals):
        """``vals`` without the consent's date and user, unless the superuser writes them (data
        files, migrations): a caller cannot forge who gave the consent or when."""
        if self.env.su:
            return vals
        return {key: value for key, value in vals.items() if key not in self._CONSENT_STAMP}

    @api.model_create_multi
    def create(self, vals_list):
        vals_list = [self._clinic_sms_without_stamp(vals) for vals in vals_list]
        for vals in vals_list:
            if vals.get("sms_consent") and "sms_consent_date" not in vals:
                vals.update(self._clinic_sms_consent_stamp())
        return super().create(vals_list)

    def write(self, vals):
        vals = self._clinic_sms_without_stamp(vals)
        if "sms_consent" in vals and "sms_consent_date" not in vals:
            # Only the contacts whose tick changes get the date and the user of the change.
            changed = self.filtered(lambda p: p.sms_consent != bool(vals["sms_consent"]))
            result = super().write(vals)
            if changed:
                super(ResPartner, changed).write(self._clinic_sms_consent_stamp())
            return result
        return super().write(vals)

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
        """The contact's SMS (Clinic SMS users, contacts they can read)."""
        self.ensure_one()
        access.require_user(self.env)
        self.check_access("read")
        action = self.env["ir.actions.act_window"]._for_xml_id("clinic_sms.clinic_sms_message_action")
        action["domain"] = [("partner_id", "=", self.id)]
        action["context"] = {"default_partner_id": self.id}
        return action

    def _clinic_sms_region(self):
        self.ensure_one()
        return self.country_id.code or self.company_id.country_id.code or self.env.company.country_id.code

    def action_clinic_sms_use_phone(self):
        """Use the phone as the SMS number of the selected contacts whose phone is a valid mobile
        number; report the others by name and reason (never their numbers)."""
        access.require_user(self.env)
        self.check_access("read")
        problems = dict(self._fields["sms_number_problem"]._description_selection(self.env))
        copied, invalid = self.browse(), []
        for partner in self:
            if not partner.phone:
                invalid.append((partner, problems["missing"]))
                continue
            result = phone.check(partner.phone, partner._clinic_sms_region())
            if result.state != "valid":
                invalid.append((partner, problems.get(result.reason) or problems["invalid"]))
                continue
            if partner.sms_number != partner.phone:
                # Clinic SMS users keep SMS numbers without the right to edit whole contacts: only
                # this field is written, for contacts they can read.
                partner.sudo().sms_number = partner.phone
            copied |= partner
        message = self.env._("%s contacts now get SMS at their phone number.", len(copied))
        if invalid:
            lines = "; ".join(f"{partner.display_name}: {reason}" for partner, reason in invalid)
            message = " ".join(
                (message, self.env._("These phone numbers cannot receive SMS and were left alone:"), lines)
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Use phone as SMS number"),
                "message": message,
                "type": "warning" if invalid else "success",
                "sticky": bool(invalid),
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }
