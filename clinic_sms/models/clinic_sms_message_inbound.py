"""What comes back: delivery reports (webhooks and polling) and patients' replies."""

import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import split_every

from ..constants import UNSENT_STATES, to_naive
from ..core import gateway as gw
from ..core import phone, replies

_logger = logging.getLogger(__name__)

#: Replies acted on per number and gateway in ``REPLY_WINDOW``; more are kept in the log, ignored.
REPLY_LIMIT = 10
REPLY_WINDOW = timedelta(hours=1)
#: At most one opt-out confirmation per number and company in this time.
OPT_OUT_CONFIRMATION_EVERY = timedelta(hours=24)


class ClinicSmsMessageInbound(models.AbstractModel):
    """What comes back to ``clinic.sms.message``: delivery reports and replies (a mixin of it)."""

    _name = "clinic.sms.message.inbound"
    _description = "Clinic SMS message: reports and replies"

    # ------------------------------------------------------------------ delivery reports

    @api.model
    def _clinic_sms_apply_reports(self, gateway, reports):
        """Apply the provider's delivery ``reports`` (core Report) for ``gateway``.

        A report is matched by our reference when the provider echoes it, else by the provider's
        id, and only to a message that went through ``gateway``. Matching rows are locked: a report
        that arrives while its message's batch is still being written waits for that batch (and
        Odoo retries the request on the serialization error). Duplicates and late reports are
        harmless: a report only moves a message forward, never out of a final state. Unknown
        references are ignored. Answers the number of messages changed.
        """
        if not reports:
            return 0
        reports = [report.cleaned() for report in reports]  # polled ones too: no NUL reaches SQL
        # ASCII digits only: "²".isdigit() is true, yet int("²") fails.
        ids = {int(r.ref) for r in reports if r.ref.isascii() and r.ref.isdigit() and int(r.ref) < 2**31}
        refs = {r.provider_ref for r in reports if r.provider_ref}
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT id FROM clinic_sms_message WHERE id = ANY(%s) OR provider_ref = ANY(%s)"
            " ORDER BY id FOR UPDATE",
            [sorted(ids), sorted(refs)],
        )
        messages = self.browse([row[0] for row in self.env.cr.fetchall()]).sudo()
        messages = messages.filtered(lambda m: m.gateway_id == gateway and m.kind != "inbound")
        by_id = {str(m.id): m for m in messages}
        by_ref = {m.provider_ref: m for m in messages if m.provider_ref}
        changed = self.browse()
        now = fields.Datetime.now()
        for report in reports:
            message = by_id.get(report.ref) or by_ref.get(report.provider_ref)
            if not message or (
                report.provider_ref and message.provider_ref and report.provider_ref != message.provider_ref
            ):
                continue
            values = {}
            if report.provider_ref and not message.provider_ref:
                values["provider_ref"] = report.provider_ref
            if gw.advances(message.state, report.state):
                values["state"] = report.state
                at = to_naive(report.at) if report.at else now
                if report.state == "delivered":
                    values.update(delivered_at=at, reason=False, error=False)
                elif report.state in ("failed", "expired"):
                    values.update(
                        reason=self._reason(report.reason, "undeliverable"),
                        error=(report.error or "")[:250] or False,
                    )
            if values:
                message.write(values)
                changed |= message
        changed._update_odoo_sms()
        return len(changed)

    @api.model
    def _cron_refresh_status(self, days=7, batch_size=200):
        """Ask the providers that can be asked about messages sent in the last ``days`` days that
        have no final state yet. One query to find them, then one poll per gateway and chunk."""
        since = fields.Datetime.now() - timedelta(days=days)
        waiting = [
            ("state", "in", ("sent", "buffered")),
            ("sent_at", ">=", since),
            ("provider_ref", "!=", False),
        ]
        gateways = self.env["clinic.sms.gateway"].browse(
            [
                gateway.id
                for [gateway] in self.sudo()._read_group(
                    [*waiting, ("gateway_id", "!=", False)], ["gateway_id"]
                )
            ]
        )
        pollable = gateways.sudo().filtered("can_poll")
        if not pollable:
            return 0
        messages = self.sudo().search([*waiting, ("gateway_id", "in", pollable.ids)], order="sent_at, id")
        return messages._refresh_status(batch_size)

    def _refresh_status(self, batch_size=200):
        changed = 0
        for gateway, messages in self.grouped("gateway_id").items():
            if not gateway or not gateway.can_poll:
                continue
            for chunk in split_every(batch_size, messages.ids, self.browse):
                reports = gateway._clinic_sms_fetch_status(chunk.mapped("provider_ref"))
                changed += self._clinic_sms_apply_reports(gateway, reports)
        return changed

    def action_refresh_status(self):
        """Ask the providers what became of the selected messages (Clinic SMS users, messages of
        their companies)."""
        self._clinic_sms_check_staff()
        asked = self.filtered(
            lambda m: m.state in ("sent", "buffered") and m.gateway_id.can_poll and m.provider_ref
        )
        if not asked:
            raise UserError(
                self.env._(
                    "None of the selected messages can be asked about: only sent messages of gateways "
                    "that answer status questions (GatewayAPI, SMSAPI, Twilio) can."
                )
            )
        changed = asked.sudo()._refresh_status()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Delivery status"),
                "message": self.env._(
                    "%(asked)s messages asked about, %(changed)s changed.", asked=len(asked), changed=changed
                ),
                "type": "info",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    # ------------------------------------------------------------------ patients' replies

    @api.model
    def _clinic_sms_receive(self, gateway, inbounds):
        """Keep and act on patients' replies (core Inbound) that reached ``gateway``."""
        return self.browse().union(*(self._clinic_sms_receive_one(gateway, inbound) for inbound in inbounds))

    @api.model
    def _clinic_sms_receive_text(self, gateway_id, partner_id, text):
        """Receive ``text`` from a contact's number through a gateway (demo data, support)."""
        gateway = self.env["clinic.sms.gateway"].sudo().browse(gateway_id)
        number = self.env["res.partner"].sudo().browse(partner_id).sms_number_e164
        return self._clinic_sms_receive(gateway, [gw.Inbound(number=number, body=text)])

    @api.model
    def _clinic_sms_receive_one(self, gateway, inbound):
        Message = self.sudo()
        company = gateway.company_id or self.env.company
        number = phone.sender_e164(inbound.number, company.country_id.code)
        if inbound.provider_ref:
            duplicate = Message.search(
                [
                    ("kind", "=", "inbound"),
                    ("gateway_id", "=", gateway.id),
                    ("provider_ref", "=", inbound.provider_ref),
                ],
                limit=1,
            )
            if duplicate:
                return duplicate  # the provider sent it again
        now = fields.Datetime.now()
        partners = (
            self.env["res.partner"]
            .sudo()
            .search([("sms_number_e164", "=", number), ("company_id", "in", [company.id, False])], order="id")
        )
        patient = partners[:1]
        received_values = {
            "kind": "inbound",
            "partner_id": patient.id,
            "number": number,
            "body": inbound.body,
            "state": "delivered",
            "due_at": now,
            "sent_at": to_naive(inbound.at) if inbound.at else now,
            "delivered_at": now,
            "gateway_id": gateway.id,
            "simulated": gateway.simulated,
            "provider_ref": inbound.provider_ref or False,
            "company_id": company.id,
        }
        if self._clinic_sms_reply_flood(gateway, number, now):
            # Kept for the record, never acted on: no opt-out, no answer, no note, nothing queued.
            received = Message.create({**received_values, "reply_action": "ignored"})
            _logger.warning(
                "clinic_sms: reply %s from %s ignored: more than %d replies in %s through gateway %s",
                received.id,
                phone.mask(number),
                REPLY_LIMIT,
                REPLY_WINDOW,
                gateway.id,
            )
            return received
        last = (
            Message.search(
                [
                    ("kind", "=", "reminder"),
                    ("company_id", "=", company.id),
                    ("partner_id", "in", partners.ids),
                    ("state", "in", ("sent", "delivered", "buffered")),
                    ("event_id.active", "=", True),
                ],
                order="sent_at desc, id desc",
                limit=1,
            )
            if partners
            else Message
        )
        event = last.event_id
        meaning = replies.classify(inbound.body, self.env["clinic.sms.keyword"]._words_for(patient.lang))
        action = meaning.action
        if action in (replies.CONFIRM, replies.CANCEL) and not event:
            action = replies.OTHER  # nothing to confirm or cancel: staff read it
        received = Message.create(
            {
                **received_values,
                "event_id": event.id,
                "event_start": event.start if event else False,
                "user_id": event.user_id.id,
                "reply_action": action,
            }
        )
        _logger.info("clinic_sms: reply %s from %s understood as %s", received.id, phone.mask(number), action)
        if action == replies.STOP:
            self._clinic_sms_opt_out(number, partners, company, received)
        elif action in (replies.CONFIRM, replies.CANCEL):
            self._clinic_sms_answer_appointment(event, partners, action, meaning.word, inbound.body)
        else:
            self._clinic_sms_note_reply(partners, event, inbound.body, number)
        return received

    @api.model
    def _clinic_sms_reply_flood(self, gateway, number, now):
        """Whether ``number`` already sent ``REPLY_LIMIT`` replies through ``gateway`` in the last
        ``REPLY_WINDOW`` (those ignored included): then the next one is kept but not acted on."""
        return (
            self.sudo().search_count(
                [
                    ("kind", "=", "inbound"),
                    ("gateway_id", "=", gateway.id),
                    ("number", "=", number),
                    ("due_at", ">", now - REPLY_WINDOW),
                ],
                limit=REPLY_LIMIT,
            )
            >= REPLY_LIMIT
        )

    @api.model
    def _clinic_sms_opt_out(self, number, partners, company, received):
        """Opt ``number`` out for ``company``, whose gateway received the opt-out.

        ``partners`` (the company's contacts and the shared contacts with that number) get *No
        SMS*; the company's waiting messages to them or to the number are withdrawn (other
        companies' are not); Odoo's global phone blacklist gets the number only when the company's
        setting *Add opted-out numbers to Odoo's blacklist* is on. One confirmation goes back, only
        to a number that is one of the company's contacts, and at most once a day per number."""
        partners.sudo().write({"sms_opt_out": True})
        if company.clinic_sms_opt_out_blacklist:
            self.env["phone.blacklist"].sudo()._add([number], message=self.env._("Replied STOP by SMS."))
        waiting = self.sudo().search(
            [
                ("company_id", "=", company.id),
                ("state", "in", UNSENT_STATES),
                "|",
                ("partner_id", "in", partners.ids),
                ("number", "=", number),
            ]
        )
        waiting.write({"state": "cancelled", "reason": "opted_out"})
        for partner in partners:
            partner.sudo().message_post(
                body=self.env._("Opted out of SMS by replying “%s”.", received.body),
                author_id=partner.id,
                message_type="comment",
                subtype_xmlid="mail.mt_note",
            )
        if not partners:
            return  # no SMS ever answers a number that is none of the company's contacts
        now = fields.Datetime.now()
        if self.sudo().search_count(
            [
                ("kind", "=", "opt_out"),
                ("company_id", "=", company.id),
                ("number", "=", number),
                ("due_at", ">", now - OPT_OUT_CONFIRMATION_EVERY),
            ],
            limit=1,
        ):
            return  # confirmed already today
        template = (
            self.env["clinic.sms.template"]
            .sudo()
            .search(
                [("kind", "=", "opt_out"), ("company_id", "in", [company.id, False])],
                order="company_id, id",
                limit=1,
            )
        )
        if template:
            self._clinic_sms_create_opt_out_confirmation(
                {
                    "kind": "opt_out",
                    "reply_to_id": received.id,
                    "template_id": template.id,
                    "partner_id": partners[:1].id,
                    "number": number,
                    "state": "queued",
                    "due_at": now,
                    "expire_at": now + timedelta(hours=24),
                    "company_id": company.id,
                }
            )

    @api.model
    def _clinic_sms_answer_appointment(self, event, partners, action, word, body):
        """Set the patient's answer on ``event`` and tell its practitioner."""
        attendees = event.attendee_ids.filtered(lambda a: a.partner_id in partners)
        patient = (attendees.partner_id[:1] or partners[:1]).name
        if action == replies.CONFIRM:
            attendees.sudo().do_accept()
            text = self.env._(
                "%(patient)s confirmed the appointment by SMS (“%(body)s”).", patient=patient, body=body
            )
        else:
            attendees.sudo().do_decline()
            text = self.env._(
                "%(patient)s cancelled the appointment by SMS (“%(body)s”). The time is free.",
                patient=patient,
                body=body,
            )
        notify = event.user_id.partner_id
        event.sudo().message_post(
            body=text,
            author_id=(attendees.partner_id[:1] or partners[:1]).id,
            message_type="comment",
            subtype_xmlid="mail.mt_note",
            partner_ids=notify.ids,
        )

    @api.model
    def _clinic_sms_note_reply(self, partners, event, body, number):
        """A reply nobody can act on automatically: a note for staff on the patient and appointment."""
        text = self.env._("SMS reply from %(number)s: “%(body)s”", number=phone.mask(number), body=body)
        for partner in partners:
            partner.sudo().message_post(
                body=text, author_id=partner.id, message_type="comment", subtype_xmlid="mail.mt_note"
            )
        if event:
            event.sudo().message_post(
                body=text,
                author_id=partners[:1].id,
                message_type="comment",
                subtype_xmlid="mail.mt_note",
                partner_ids=event.user_id.partner_id.ids,
            )
