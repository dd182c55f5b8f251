"""Crash recovery: the rows a dispatcher left ``sending`` are resolved without a blind re-send.

The dispatcher (``clinic_sms_message_dispatch.py``) writes the rows of a batch ``sending`` before
the gateway call and their answers after. A dispatcher that died in between leaves them
``sending``; a later run takes those no live dispatcher holds and hands them here.
"""

import logging
from collections import defaultdict

from odoo import models

from ..core import gateway as gw
from ..core import providers, segments
from .clinic_sms_message_dispatch import Outbound

_logger = logging.getLogger(__name__)


class ClinicSmsMessageRecovery(models.AbstractModel):
    """The crash recovery of ``clinic.sms.message`` (a mixin of it, as ``mail.thread``'s parts are)."""

    _name = "clinic.sms.message.recovery"
    _description = "Clinic SMS message: crash recovery"

    def _resolve_interrupted(self, now):
        """Settle the locked ``sending`` rows ``self`` that a dispatcher left behind, never by a
        blind re-send.

        - A row whose provider reference is known was taken by the provider: it is ``sent``, and
          the provider's status API (when it has one) is asked what became of it.
        - A row whose gateway deduplicates a re-send (``idempotent_resend``: SMSAPI's ``idx`` and
          ``check_idx``) is handed to that same gateway again with the same reference, number and
          text: the provider refuses a duplicate, which reads as sent, or sends it now if the first
          attempt never reached it. A temporary failure leaves it ``sending`` for the next run.
        - Any other row, and any row past its expiry, ends ``failed`` with reason ``interrupted``:
          it may or may not have reached the patient, and staff decide whether to send it again.
        """
        updates = {}
        settled = []  # items whose outcome is known now
        taken = []  # items the provider has
        known = defaultdict(list)  # gateway -> provider references to ask about
        resend = defaultdict(list)  # gateway -> items to hand over again
        lost = self.env._(
            "Sending was interrupted (the dispatcher stopped while handing this message to the"
            " gateway), so it may or may not have reached the patient. Check before sending it again."
        )
        for message in self:
            body = message.body or ""
            item = Outbound(message, message.number or "", body, segments.count_parts(body), message.attempts)
            gateway = message.gateway_id
            if message.provider_ref:
                updates[message.id] = {"state": "sent", "reason": False, "error": False, "sent_at": now}
                settled.append(item)
                taken.append(item)
                if gateway:
                    known[gateway].append(message.provider_ref)
            elif (
                gateway.active
                and item.number
                and providers.client_class(gateway.provider).idempotent_resend
                and not (message.expire_at and message.expire_at <= now)
            ):
                resend[gateway].append(item)
            else:
                updates[message.id] = {"state": "failed", "reason": "interrupted", "error": lost}
                settled.append(item)
        for gateway, items in resend.items():
            sender = gateway.sender or ""
            outgoing = [
                gw.Outgoing(ref=str(item.message.id), number=item.number, body=item.body, sender=sender)
                for item in items
            ]
            for item, result in zip(items, gateway._clinic_sms_send(outgoing), strict=True):
                if result.status == gw.TEMPORARY:
                    # Still unknown: the next run asks the same gateway again (never another one).
                    updates[item.message.id] = {"error": result.error[:250]}
                    continue
                item = Outbound(item.message, item.number, item.body, item.parts, item.attempts + 1)
                values = self._result_values(item, gateway, result, now, 0.0)
                values["attempts"] = item.attempts
                updates[item.message.id] = values
                settled.append(item)
                if result.status in (gw.SENT, gw.DELIVERED):
                    taken.append(item)
        Ledger = self.env["clinic.sms.credit"]
        reserved, costs = Ledger._paid(settled)
        for item in taken:
            updates[item.message.id]["credits"] = costs[item.message.id]
        self._write_rows(updates, now)
        Ledger._settle(settled, taken, reserved, costs, now)
        for gateway, refs in known.items():
            self._clinic_sms_apply_reports(gateway, gateway._clinic_sms_fetch_status(refs))
        self._update_odoo_sms()
        _logger.info(
            "clinic_sms: resolved %d interrupted messages (%d taken by the provider, %d handed over again)",
            len(self),
            len(taken),
            sum(len(items) for items in resend.values()),
        )
