"""The SMS log is an audit trail, like the credit ledger.

Clinic SMS users and administrators read it. Only the add-on's own code paths write it — planning,
dispatch, webhooks, and the staff actions and wizards after their access checks — and they do so as
superuser. So a create, write or delete that does not run as superuser is refused here, whatever
access rights a database gives (``ir.model.access`` already gives none), and even the superuser
never rewrites a message that went out or came in: only the fields a delivery report advances may
change, and its state only forward. An opt-out confirmation exists only as the answer to a received
opt-out (:meth:`_clinic_sms_create_opt_out_confirmation`).
"""

from odoo import api, models
from odoo.exceptions import AccessError, UserError

from ..core import gateway as gw

#: States of a message that was handed to a gateway (or, for a reply, received).
SENT_STATES = ("sent", "delivered", "buffered")
#: What may still change on such a message: what a delivery report or the appointment note says.
ADVANCING_FIELDS = {"state", "reason", "error", "delivered_at", "provider_ref", "event_noted"}
#: The context key under which (as superuser) an opt-out confirmation may be created, and its value:
#: an object no JSON-RPC context can carry, so a caller cannot pass it along to a public method.
_OPT_OUT_REPLY = "clinic_sms_opt_out_reply"
_OPT_OUT_TOKEN = object()


class ClinicSmsAuditMixin(models.AbstractModel):
    """The guard of ``clinic.sms.message`` (which inherits it): an append-only log."""

    _name = "clinic.sms.audit.mixin"
    _description = "Clinic SMS: append-only log"

    def _clinic_sms_refuse(self):
        raise AccessError(
            self.env._(
                "The SMS log is an audit trail: only Clinic SMS itself writes it. Use the log's "
                "actions (cancel, send again) or the SMS wizards."
            )
        )

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            self._clinic_sms_refuse()
        if self.env.context.get(_OPT_OUT_REPLY) is not _OPT_OUT_TOKEN and any(
            v.get("kind") == "opt_out" for v in vals_list
        ):
            raise AccessError(
                self.env._("An opt-out confirmation is only ever sent in answer to a received opt-out.")
            )
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su:
            self._clinic_sms_refuse()
        frozen = set(vals) - ADVANCING_FIELDS
        if vals.get("kind") == "opt_out" and self.env.context.get(_OPT_OUT_REPLY) is not _OPT_OUT_TOKEN:
            raise AccessError(
                self.env._("An opt-out confirmation is only ever sent in answer to a received opt-out.")
            )
        if frozen or "state" in vals:
            for message in self:
                if not message._clinic_sms_is_sent():
                    continue
                if frozen:
                    raise UserError(
                        self.env._(
                            "A message that was sent or received is never rewritten (%(fields)s).",
                            fields=", ".join(sorted(frozen)),
                        )
                    )
                state = vals["state"]
                # An e-mail's "delivered" says only that the mail server took it: a bounce may
                # still fail it.
                bounce = (
                    message.channel == "email"
                    and message.state == "delivered"
                    and state == "failed"
                    and vals.get("reason") == "email_bounced"
                )
                if state != message.state and not bounce and not gw.advances(message.state, state):
                    raise UserError(
                        self.env._(
                            "A sent message's state only moves forward, as its delivery reports say: "
                            "not from %(old)s to %(new)s.",
                            old=message.state,
                            new=state,
                        )
                    )
        return super().write(vals)

    def unlink(self):
        # Deleting old rows is the purge's job (the wizard after its checks, the retention cron),
        # which deletes in SQL batches; a plain delete is for the superuser only.
        if not self.env.su:
            self._clinic_sms_refuse()
        return super().unlink()

    def _clinic_sms_is_sent(self):
        """Whether this message went to a gateway or came from a patient: never rewritten."""
        self.ensure_one()
        return self.kind == "inbound" or self.state in SENT_STATES or bool(self.sent_at)

    @api.model
    def _clinic_sms_create_opt_out_confirmation(self, values):
        """Queue the confirmation of a received opt-out (the only way one is created)."""
        return self.sudo().with_context(**{_OPT_OUT_REPLY: _OPT_OUT_TOKEN}).create(values)
