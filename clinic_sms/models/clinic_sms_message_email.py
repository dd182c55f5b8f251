"""E-mail when there is no valid SMS number: the messages the rule book sends by e-mail.

A rule may say *E-mail when no valid SMS number*; the rule book (``core/eligibility.py``,
``channel``) then answers that a message to a patient with no valid mobile number but an e-mail
address goes by e-mail. The dispatcher hands those messages here instead of to a gateway: each
becomes one Odoo ``mail.mail`` (sent by Odoo's mail queue, through the clinic's outgoing mail
server), created in the same transaction as its row's ``sent`` — so the crash recovery never sees an
e-mail ``sending`` and never sends one twice. An e-mail costs no credits.

What becomes of it follows Odoo's mail: the mail server took it → ``delivered``; it could not be sent
→ ``failed`` / ``email_failed``; it bounced → ``failed`` / ``email_bounced`` (``mail_mail.py`` and
``mail_thread.py`` call in here).
"""

import logging

from odoo import fields, models
from odoo.tools import html2plaintext, plaintext2html

from ..core import gateway as gw
from ..core import placeholders

_logger = logging.getLogger(__name__)


class ClinicSmsMessageEmail(models.AbstractModel):
    """The e-mail channel of ``clinic.sms.message`` (a mixin of it, as ``mail.thread``'s parts are)."""

    _name = "clinic.sms.message.email"
    _description = "Clinic SMS message: e-mail when no valid SMS number"

    def _clinic_sms_email_render(self):
        """(body, subject) of this message as an e-mail: the template's text and subject filled in
        now, in the patient's language, not transliterated. Raises TemplateError."""
        self.ensure_one()
        body = self.with_context(clinic_sms_channel="email")._render_body()
        template = self.template_id or (self.rule_id or self.resend_of_id.rule_id).template_id
        lang, values = self._render_values()
        subject = template.with_context(lang=lang).subject if template else ""
        if subject:
            placeholders.validate(subject)
            subject = placeholders.render(subject, values)
        else:
            subject = self.with_context(lang=lang).env._("Message from %s", self.company_id.name or "")
        return body, subject

    def _clinic_sms_send_emails(self, entries, now):
        """Queue one Odoo e-mail for each (message, body, subject) of ``entries`` and answer the
        write values of their rows ({id: values}): ``sent``, channel e-mail, no credits."""
        if not entries:
            return {}
        default_from = self.env["ir.mail_server"].sudo()._get_default_from_address()
        mails = (
            self.env["mail.mail"]
            .sudo()
            .create(
                [
                    {
                        "subject": subject,
                        "body_html": plaintext2html(body),
                        "email_to": message.partner_id.email_formatted,
                        "email_from": message.company_id.email_formatted or default_from or False,
                        "author_id": message.company_id.partner_id.id,
                        # Deleted once sent, as Odoo's notifications are: the log keeps the text
                        # (and its retention applies); a mail that failed stays for a retry.
                        "auto_delete": True,
                    }
                    for message, body, subject in entries
                ]
            )
        )
        updates = {}
        for (message, body, _subject), mail in zip(entries, mails, strict=True):
            updates[message.id] = {
                "state": "sent",
                "channel": "email",
                "reason": False,
                "error": False,
                "number": False,
                "gateway_id": False,
                "body": body,
                "email_to": message.partner_id.email_normalized,
                "mail_id": mail.id,
                "provider_ref": mail.message_id,  # the Message-Id a bounce refers to
                "attempts": message.attempts + 1,
                "sent_at": now,
            }
        _logger.info("clinic_sms: %d messages queued as e-mails", len(entries))
        return updates

    def _clinic_sms_email_sent(self, mails):
        """Odoo's mail tried to send ``mails``: their rows become ``delivered`` (the mail server took
        them) or ``failed`` (``email_failed``, with Odoo's failure reason). Never raises for a row
        that cannot move so (a late answer for a row already final is ignored)."""
        rows = self.sudo().search([("mail_id", "in", mails.ids), ("channel", "=", "email")])
        for row in rows:
            mail = row.mail_id
            if mail.state == "sent":
                values = {"state": "delivered", "delivered_at": fields.Datetime.now()}
            elif mail.state == "exception":
                values = {
                    "state": "failed",
                    "reason": "email_failed",
                    "error": (mail.failure_reason or "")[:250] or False,
                }
            else:
                continue
            if gw.advances(row.state, values["state"]):
                row.write(values)

    def _clinic_sms_email_bounced(self, message_dict):
        """A bounce came back for an Odoo e-mail (``mail.thread._routing_handle_bounce``): the rows of
        that e-mail (by its Message-Id, kept as the row's provider reference: the sent mail itself is
        deleted) become ``failed`` / ``email_bounced``, even when the mail server had taken it."""
        message_ids = message_dict.get("bounced_msg_ids") or []
        if not message_ids:
            return
        rows = self.sudo().search(
            [
                ("provider_ref", "in", list(message_ids)),
                ("channel", "=", "email"),
                ("state", "in", ("sent", "delivered")),
            ]
        )
        if rows:
            detail = html2plaintext(message_dict.get("body") or "").strip()
            rows.write({"state": "failed", "reason": "email_bounced", "error": detail[:250] or False})
