from odoo import models


class MailMail(models.Model):
    _inherit = "mail.mail"

    def _postprocess_sent_message(
        self, success_pids, success_emails, failure_reason=False, failure_type=None
    ):
        # The SMS log follows what became of the e-mails it sent (e-mail when no valid SMS number).
        self.env["clinic.sms.message"]._clinic_sms_email_sent(self)
        return super()._postprocess_sent_message(
            success_pids, success_emails, failure_reason=failure_reason, failure_type=failure_type
        )
