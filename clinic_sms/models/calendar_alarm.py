"""Odoo's calendar SMS alarms (``calendar_sms``) next to Clinic SMS.

The clinic's rules own patients' reminders: where Clinic SMS is on, an Odoo *SMS Text Message*
alarm still reminds the practitioner and other internal attendees, never the patients, who would
otherwise get a second reminder. The alarm's form says so.
"""

from odoo import fields, models


class CalendarAlarm(models.Model):
    _inherit = "calendar.alarm"

    clinic_sms_covers_patients = fields.Boolean(
        "Patients reminded by Clinic SMS",
        compute="_compute_clinic_sms_covers_patients",
        help="Clinic SMS is on for the current company: SMS alarms skip the patients.",
    )

    def _compute_clinic_sms_covers_patients(self):
        self.clinic_sms_covers_patients = self.env.company.clinic_sms_enabled


class CalendarEvent(models.Model):
    # The appointment's side of the SMS alarms lives with the alarm, one concern per file (as the
    # SMS log is split); the rest of calendar.event is in calendar_event.py.
    _inherit = "calendar.event"  # pylint: disable=consider-merging-classes-inherited

    def _do_sms_reminder(self, alarms):
        """calendar_sms's alarm SMS: the appointments of companies with Clinic SMS on remind only
        their internal attendees (see ``_message_sms_with_template``)."""
        covered = self.filtered(lambda event: event._clinic_sms_company().clinic_sms_enabled)
        if covered:
            super(CalendarEvent, covered.with_context(clinic_sms_alarm_internal_only=True))._do_sms_reminder(
                alarms
            )
        return super(CalendarEvent, self - covered)._do_sms_reminder(alarms)

    def _message_sms_with_template(
        self, template=False, template_xmlid=False, template_fallback="", partner_ids=False, **kwargs
    ):
        """Under ``_do_sms_reminder`` for an appointment Clinic SMS covers: only the attendees that
        are partners of internal users (never patients) get the alarm SMS."""
        if not self.env.context.get("clinic_sms_alarm_internal_only"):
            return super()._message_sms_with_template(
                template=template,
                template_xmlid=template_xmlid,
                template_fallback=template_fallback,
                partner_ids=partner_ids,
                **kwargs,
            )
        internal = self.env["clinic.sms.planner"]._internal_partner_ids()
        partner_ids = [partner_id for partner_id in partner_ids or [] if partner_id in internal]
        if not partner_ids:
            return self.env["mail.message"]
        event = self.with_context(clinic_sms_alarm_internal_only=False)
        return super(CalendarEvent, event)._message_sms_with_template(
            template=template,
            template_xmlid=template_xmlid,
            template_fallback=template_fallback,
            partner_ids=partner_ids,
            **kwargs,
        )
