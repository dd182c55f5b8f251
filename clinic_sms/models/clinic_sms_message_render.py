"""Rendering: the text a message goes with, filled in at dispatch from the template's current text
and the appointment, patient and clinic as they are then."""

import json
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from odoo import models

from ..constants import EVENT_KINDS, to_aware
from ..core import placeholders
from ..core.exceptions import TemplateError


class ClinicSmsMessageRender(models.AbstractModel):
    """The rendering of ``clinic.sms.message`` (a mixin of it, as ``mail.thread``'s parts are)."""

    _name = "clinic.sms.message.render"
    _description = "Clinic SMS message: rendering"

    def _render_values(self):
        """Placeholder values for this message, read now (not when it was planned)."""
        self.ensure_one()
        partner = self.partner_id
        company = self.company_id
        lang = partner.lang or company.partner_id.lang or "en_US"
        event = self.event_id.with_context(active_test=False, lang=lang)
        common = {
            "patient_name": partner.name or "",
            "clinic": company.name or "",
            "clinic_phone": company.phone or "",
        }
        if not event:
            return lang, {
                "patient_first_name": (partner.name or "").split(" ")[0],
                **common,
            }
        tz = ZoneInfo(company.clinic_sms_tz or "UTC")
        start = self.event_start or event.start
        if event.allday and event.start_date:
            start_local = datetime(event.start_date.year, event.start_date.month, event.start_date.day)
        else:
            start_local = to_aware(start).astimezone(tz).replace(tzinfo=None)
        values = placeholders.event_values(
            patient_name=partner.name or "",
            start_local=start_local,
            allday=event.allday,
            lang=lang,
            appointment_type=event.categ_ids[:1].name or "",
            practitioner=event.user_id.name or "",
            clinic=common["clinic"],
            clinic_phone=common["clinic_phone"],
            location=event.location or "",
        )
        return lang, values

    def _render_body(self):
        """The text to send: the template's current text filled in, or the text already written."""
        self.ensure_one()
        template = self.template_id or self.rule_id.template_id
        if self.body and self.body_fixed:
            return self.body
        if self.body and self.kind in EVENT_KINDS and not self.event_id:
            return self._with_also(self.body)  # written when its appointment was deleted
        if not template:
            if not self.body:
                raise TemplateError(self.env._("The message has neither a template nor a text."))
            return self.body
        lang, values = self._render_values()
        body = template.with_context(lang=lang).body or ""
        placeholders.validate(body)
        return template._clinic_sms_finish(self._with_also(placeholders.render(body, values), lang))

    def _with_also(self, body, lang=None):
        """``body`` with the sentence naming the other appointments this notice (or a patient's one
        reminder of the day) speaks for: their times only when they are all on its own day."""
        if not self.coalesced_starts:
            return body
        lang = lang or self.partner_id.lang or self.company_id.partner_id.lang or "en_US"
        tz = ZoneInfo(self.company_id.clinic_sms_tz or "UTC")
        starts = [
            datetime.fromisoformat(value).replace(tzinfo=timezone.utc).astimezone(tz).replace(tzinfo=None)
            for value in json.loads(self.coalesced_starts)
        ]
        event = self.event_id.with_context(active_test=False)
        allday = bool(event.allday)
        own = self.event_start or event.start
        day = to_aware(own).astimezone(tz).date() if own and not allday else None
        return f"{body} {placeholders.also_sentence(starts, lang, allday, day)}"
