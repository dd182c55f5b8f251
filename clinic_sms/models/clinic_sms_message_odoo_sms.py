"""Odoo's own SMS sent through the clinic gateway: what a log row that sends one tells Odoo's
``sms.sms`` / ``sms.tracker`` (the API shape of ``res_company.ClinicSmsApi``)."""

from odoo import models

from .res_company import ODOO_SMS_STATE, ClinicSmsApi


class ClinicSmsMessageOdooSms(models.AbstractModel):
    """The Odoo SMS half of ``clinic.sms.message`` (a mixin of it, as ``mail.thread``'s parts are)."""

    _name = "clinic.sms.message.odoo.sms"
    _description = "Clinic SMS message: Odoo's own SMS"

    def _odoo_sms_result(self):
        """This row's outcome in the shape Odoo's sms.sms expects from an SMS API."""
        self.ensure_one()
        result = {"uuid": self.sms_uuid, "state": ODOO_SMS_STATE.get(self.state, "processing")}
        if self.state in ("failed", "skipped", "expired", "cancelled"):
            # Provider errors Odoo knows (sms.sms DELIVERY_ERRORS and PROVIDER_TO_SMS_FAILURE_TYPE).
            if self.reason in ("invalid_number", "no_number"):
                result["state"] = "wrong_number_format"
            elif self.state == "expired":
                result["state"] = "expired"
            elif self.state == "failed":
                result["state"] = "not_delivered" if self.reason == "undeliverable" else "rejected"
            else:
                result["state"] = "not_allowed"  # opted out, deceased, SMS switched off, cancelled
            reasons = dict(self._fields["reason"]._description_selection(self.env))
            result["failure_reason"] = self.error or reasons.get(self.reason) or self.state
        return result

    def _update_odoo_sms(self):
        """Tell Odoo's notifications what became of the rows that send Odoo's own SMS."""
        rows = self.filtered("sms_uuid")
        if not rows or self.env.context.get("clinic_sms_no_tracker"):
            return
        trackers = self.env["sms.tracker"].sudo().search([("sms_uuid", "in", rows.mapped("sms_uuid"))])
        by_uuid = {tracker.sms_uuid: tracker for tracker in trackers}
        for row in rows:
            tracker = by_uuid.get(row.sms_uuid)
            if not tracker:
                continue
            if row.state == "delivered":
                tracker._action_update_from_sms_state("sent")
            elif row.state in ("sent", "buffered"):
                tracker._action_update_from_sms_state("pending")
            elif row.state in ("failed", "skipped", "expired", "cancelled"):
                result = row._odoo_sms_result()
                failure = ClinicSmsApi.PROVIDER_TO_SMS_FAILURE_TYPE.get(result["state"])
                if failure:
                    tracker._action_update_from_sms_state(
                        "error", failure_type=failure, failure_reason=result["failure_reason"]
                    )
                else:
                    tracker.with_context(
                        sms_known_failure_reason=result["failure_reason"]
                    )._action_update_from_provider_error(result["state"])
