from odoo import api, models


class MailThread(models.AbstractModel):
    _inherit = "mail.thread"

    @api.model
    def _routing_handle_bounce(self, email_message, message_dict):
        # An e-mail the SMS log sent (e-mail when no valid SMS number) bounced: its row fails.
        result = super()._routing_handle_bounce(email_message, message_dict)
        self.env["clinic.sms.message"]._clinic_sms_email_bounced(message_dict)
        return result
