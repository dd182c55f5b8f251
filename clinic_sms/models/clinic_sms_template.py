from markupsafe import Markup, escape

from odoo import api, fields, models
from odoo.exceptions import ValidationError

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
    company_id = fields.Many2one("res.company", index=True)
    active = fields.Boolean(default=True)
    placeholder_help = fields.Html(
        "Placeholders", compute="_compute_placeholder_help", sanitize=False, readonly=True
    )
    body_encoding = fields.Char("Encoding", compute="_compute_body_parts")
    body_parts = fields.Integer("SMS parts", compute="_compute_body_parts")
    body_units = fields.Integer("Characters", compute="_compute_body_parts")

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
            parts = segments.count_parts(template.body or "")
            template.body_encoding = "GSM-7" if parts.encoding == "gsm7" else "Unicode (UCS-2)"
            template.body_parts = parts.parts
            template.body_units = parts.units

    @api.constrains("body")
    def _check_body(self):
        for template in self:
            template._check_body_text(template.body or "")

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

    def _update_field_translations(self, field_name, translations, digest=None, source_lang=""):
        """Translations of the text are checked like the text itself (the translation dialog and
        ``update_field_translations`` write them without the constraint)."""
        if field_name == "body":
            for text in translations.values():
                if isinstance(text, str):
                    self._check_body_text(text)
        return super()._update_field_translations(
            field_name, translations, digest=digest, source_lang=source_lang
        )
