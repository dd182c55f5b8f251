from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from .. import access
from ..constants import TEMPLATE_KINDS
from ..core import placeholders, segments
from ..core.exceptions import TemplateError


class ClinicSmsTemplate(models.Model):
    _name = "clinic.sms.template"
    _description = "Clinic SMS template"
    _order = "kind, name, id"

    name = fields.Char(required=True, translate=True)
    code = fields.Char(help="Technical key, unique per company.", copy=False)
    kind = fields.Selection(TEMPLATE_KINDS, required=True, default="reminder")
    body = fields.Text(required=True, translate=True)
    subject = fields.Char(
        "E-mail subject",
        translate=True,
        help="The subject when a message of this template goes by e-mail (a rule's option for patients "
        'without a valid SMS number); placeholders as in the text. Empty: "Message from" and the '
        "clinic's name.",
    )
    company_id = fields.Many2one("res.company", index=True)
    active = fields.Boolean(default=True)
    placeholder_help = fields.Html(
        "Placeholders", compute="_compute_placeholder_help", sanitize=False, readonly=True
    )
    body_encoding = fields.Char("Encoding", compute="_compute_body_parts")
    body_parts = fields.Integer("SMS parts", compute="_compute_body_parts")
    body_units = fields.Integer("Characters", compute="_compute_body_parts")
    transliterate = fields.Boolean(
        "Transliterate to GSM-7",
        help="Send the messages of this template with Polish letters and typographic characters "
        'replaced by plain ones (ł becomes l, „ becomes ", … becomes ...), but only when that makes '
        "the message cheaper: when the whole text becomes GSM-7 and needs fewer SMS parts. Otherwise "
        "the text goes as written. Symbols never change (≠ stays ≠).",
    )
    translit_parts = fields.Integer("SMS parts transliterated", compute="_compute_body_parts")
    translit_units = fields.Integer("Characters transliterated", compute="_compute_body_parts")
    translit_saves = fields.Boolean("Transliteration saves parts", compute="_compute_body_parts")

    _code_company_uniq = models.UniqueIndex(
        "(code, COALESCE(company_id, 0)) WHERE code IS NOT NULL",
        "A template with this code already exists for this company.",
    )

    def _compute_placeholder_help(self):
        html = self._clinic_sms_placeholder_help()
        for template in self:
            template.placeholder_help = html

    @api.model
    def _clinic_sms_placeholder_help(self):
        """The placeholder catalogue as a table, in the user's language: the help of the template
        form and of the composer."""
        rows = "".join(
            f"<tr><td><code>{{{name}}}</code></td><td>{escape(self.env._(label))}</td></tr>"
            for name, label in placeholders.CATALOGUE.items()
        )
        return Markup(f'<table class="table table-sm o_clinic_sms_placeholders">{rows}</table>')

    @api.depends("body")
    def _compute_body_parts(self):
        for template in self:
            body = template.body or ""
            parts = segments.count_parts(body)
            template.body_encoding = "GSM-7" if parts.encoding == "gsm7" else "Unicode (UCS-2)"
            template.body_parts = parts.parts
            template.body_units = parts.units
            translit = segments.count_parts(segments.transliterate(body))
            template.translit_parts = translit.parts
            template.translit_units = translit.units
            template.translit_saves = segments.transliterate_if_cheaper(body) != body

    def _clinic_sms_finish(self, text):
        """The text a message of this template goes with: transliterated to GSM-7 when the option is
        on and that saves parts (:func:`~..core.segments.transliterate_if_cheaper`), else ``text``."""
        self.ensure_one()
        if self.env.context.get("clinic_sms_channel") == "email":
            return text  # an e-mail costs nothing by its characters: it goes as written
        return segments.transliterate_if_cheaper(text) if self.transliterate else text

    @api.constrains("body", "subject")
    def _check_body(self):
        for template in self:
            template._check_body_text(template.body or "")
            template._check_body_text(template.subject or "")

    def _check_body_text(self, text):
        try:
            placeholders.validate(text)
        except TemplateError as error:
            raise ValidationError(
                self.env._(
                    "The text of template %(name)s cannot be used: %(error)s",
                    name=self.display_name,
                    error=error.message,
                )
            ) from error

    # ------------------------------------------------------------------ send me a test

    def action_send_test(self):
        """Send this template, filled in for a sample patient and appointment (tomorrow at 10:00),
        to the current user's own mobile through the company's gateway, at once, and say what
        happened. Nothing is logged and no credits are used. Clinic SMS users, on their companies'
        and the shared templates."""
        self.ensure_one()
        access.require_user(self.env)
        self.check_access("read")
        access.require_companies(self.env, self.company_id)
        company = self.company_id or self.env.company
        number = self.env["clinic.sms.gateway"]._clinic_sms_test_number()
        body = self._clinic_sms_sample_body(company)
        gateway = company._clinic_sms_gateways_for(number)[:1]
        if not gateway:
            raise UserError(self.env._("No SMS gateway of %s sends to your number.", company.name))
        return gateway._clinic_sms_send_test(number, body, self.env._("Test of %s", self.display_name))

    def _clinic_sms_sample_body(self, company):
        """The text of this template in the current user's language, filled in for a sample patient
        and an appointment tomorrow at 10:00 (clinic time) with the current user as practitioner,
        and transliterated as the patients' messages would be."""
        self.ensure_one()
        lang = self.env.lang or "en_US"
        tz = ZoneInfo(company.clinic_sms_tz or "UTC")
        tomorrow = datetime.now(tz).date() + timedelta(days=1)
        values = placeholders.sample_values(
            lang=lang,
            start_local=datetime.combine(tomorrow, time(10, 0)),
            appointment_type=self.env._("Check-up"),
            practitioner=self.env.user.name,
            clinic=company.name,
            clinic_phone=company.phone,
            location=self.env._("Room 1"),
        )
        body = self.with_context(lang=lang).body or ""
        return self._clinic_sms_finish(placeholders.render(body, values))

    def _update_field_translations(self, field_name, translations, digest=None, source_lang=""):
        """Translations of the text are checked like the text itself (the translation dialog and
        ``update_field_translations`` write them without the constraint)."""
        if field_name in ("body", "subject"):
            for text in translations.values():
                if isinstance(text, str):
                    self._check_body_text(text)
        return super()._update_field_translations(
            field_name, translations, digest=digest, source_lang=source_lang
        )
