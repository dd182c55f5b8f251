"""*Send again* for a reminder that reached the patient (vitosms' "rücksetzen"), after a question that
names the patient and the appointment."""

from zoneinfo import ZoneInfo

from odoo import api, fields, models

from .. import access
from ..constants import to_aware
from ..core import placeholders


class ClinicSmsResend(models.TransientModel):
    _name = "clinic.sms.resend"
    _description = "Clinic SMS: send a reminder again"

    message_id = fields.Many2one(
        "clinic.sms.message", "Reminder", required=True, readonly=True, ondelete="cascade"
    )
    company_id = fields.Many2one(related="message_id.company_id", store=True)
    question = fields.Char(compute="_compute_question")

    @api.depends("message_id")
    def _compute_question(self):
        lang = self.env.lang or "en_US"
        for wizard in self:
            message = wizard.message_id.sudo()
            event = message.event_id.with_context(active_test=False)
            tz = ZoneInfo(message.company_id.clinic_sms_tz or "UTC")
            if event.allday and event.start_date:
                when = placeholders.format_date(event.start_date, lang)
            else:
                start = to_aware(message.event_start or event.start).astimezone(tz)
                when = self.env._(
                    "%(date)s at %(time)s",
                    date=placeholders.format_date(start.date(), lang),
                    time=placeholders.format_time(start.time(), lang),
                )
            wizard.question = self.env._(
                "Send the reminder for %(patient)s's appointment on %(when)s again?",
                patient=message.partner_id.name or "",
                when=when,
            )

    def action_confirm(self):
        """Queue the reminder again (a new message with the same text; the old one stays).
        Clinic SMS users, their own wizard, a reminder of their companies they can read."""
        self.ensure_one()
        access.require_user(self.env)
        self.check_access("write")
        message = self.message_id
        message.check_access("read")
        access.require_companies(self.env, message.company_id)
        resent = message.sudo()._clinic_sms_resend()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Reminder queued again"),
                "message": self.env._("%s will get the reminder again in a moment.", resent.partner_id.name),
                "type": "success",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
