"""The SMS log: the plan, the queue and the log in one record (fields, indexes, staff actions).

The record's other jobs live beside it, as Odoo's mail splits ``mail.thread``:
dispatch in ``clinic_sms_message_dispatch.py``, the text it sends in ``clinic_sms_message_render.py``,
the recovery of what a dispatcher left ``sending`` in ``clinic_sms_message_recovery.py``, delivery
reports, polling and replies in ``clinic_sms_message_inbound.py``; planning (appointments, birthdays)
in the ``clinic.sms.planner`` abstract model (``clinic_sms_planner.py``); credits in the ledger's API
(``clinic.sms.credit``).
"""

import logging
from collections import defaultdict
from datetime import timedelta

from odoo import api, fields, models, modules
from odoo.exceptions import UserError

from .. import access
from ..constants import (
    CHANNELS,
    FINAL_STATES,
    MESSAGE_KINDS,
    PURGE_BATCH_SIZE,
    REASONS,
    STATES,
    UNSENT_STATES,
    to_aware,
    to_naive,
)
from ..core import planner

_logger = logging.getLogger(__name__)


class ClinicSmsMessage(models.Model):
    _name = "clinic.sms.message"
    _inherit = [
        "clinic.sms.audit.mixin",
        "clinic.sms.message.dispatch",
        "clinic.sms.message.recovery",
        "clinic.sms.message.render",
        "clinic.sms.message.inbound",
        "clinic.sms.message.odoo.sms",
        "clinic.sms.message.email",
    ]
    _description = "Clinic SMS message"
    _order = "due_at desc, id desc"
    _rec_name = "display_name"

    kind = fields.Selection(MESSAGE_KINDS, required=True, index=True, readonly=True)
    rule_id = fields.Many2one("clinic.sms.rule", index="btree_not_null", readonly=True)
    template_id = fields.Many2one("clinic.sms.template", readonly=True)
    event_id = fields.Many2one(
        "calendar.event", "Appointment", index="btree_not_null", ondelete="set null", readonly=True
    )
    event_start = fields.Datetime(
        "Appointment start", readonly=True, help="The start the message was planned for."
    )
    user_id = fields.Many2one("res.users", "Practitioner", index="btree_not_null", readonly=True)
    partner_id = fields.Many2one(
        "res.partner",
        "Patient",
        index=True,
        ondelete="cascade",
        help="Empty only for a reply from a number no contact has, or a message to such a number.",
    )
    number = fields.Char(readonly=True, index="trigram", help="Filled when the message is dispatched.")
    body = fields.Text(
        "Text", help="Filled in when the message is dispatched, from the template's current text."
    )
    state = fields.Selection(STATES, required=True, default="queued", index=True, readonly=True)
    channel = fields.Selection(
        CHANNELS,
        required=True,
        default="sms",
        readonly=True,
        help="SMS, or E-mail when the rule allows e-mail and the patient had no valid SMS number when "
        "it was sent. An e-mail is Delivered once the clinic's mail server took it, and Failed when "
        "it could not be sent or bounced; it costs no credits.",
    )
    email_to = fields.Char("E-mail address", readonly=True, help="Where the e-mail went.")
    mail_id = fields.Many2one(
        "mail.mail",
        "E-mail",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
        help="Odoo's outgoing e-mail that carries this message, until it is sent: Odoo then deletes it "
        "(the log keeps the text); one that failed stays.",
    )
    reason = fields.Selection(REASONS, readonly=True)
    error = fields.Char(readonly=True)
    due_at = fields.Datetime("Due", required=True, default=fields.Datetime.now, readonly=True)
    expire_at = fields.Datetime("Expires", readonly=True)
    sent_at = fields.Datetime("Sent", readonly=True)
    delivered_at = fields.Datetime("Delivered", readonly=True)
    gateway_id = fields.Many2one("clinic.sms.gateway", readonly=True, ondelete="set null")
    simulated = fields.Boolean(
        readonly=True,
        help="Handed to (or received from) the test gateway, which sends nothing: it never reached a "
        "phone, whatever its state says.",
    )
    provider_ref = fields.Char("Provider reference", readonly=True, index="btree_not_null")
    encoding = fields.Selection([("gsm7", "GSM-7"), ("ucs2", "Unicode (UCS-2)")], readonly=True)
    segments = fields.Integer("Parts", readonly=True)
    credits = fields.Float(readonly=True, digits=(16, 2))
    attempts = fields.Integer(readonly=True)
    birthday_year = fields.Integer("Birthday year", readonly=True)
    recall_date = fields.Date("Recall date", readonly=True, help="The recall date a recall was planned for.")
    event_noted = fields.Boolean(
        "Noted on the appointment",
        readonly=True,
        copy=False,
        help="Whether the appointment's chatter has a note of what became of this message.",
    )
    sms_uuid = fields.Char(
        "Odoo SMS", readonly=True, index="btree_not_null", help="The uuid of Odoo's own SMS this row sends."
    )
    reply_action = fields.Selection(
        [
            ("stop", "Opted out"),
            ("confirm", "Confirmed the appointment"),
            ("cancel", "Cancelled the appointment"),
            ("other", "Note for staff"),
            ("ignored", "Ignored: too many replies"),
        ],
        "Reply meant",
        readonly=True,
        help="What a patient's reply was understood as.",
    )
    body_fixed = fields.Boolean(
        "Text as previewed",
        readonly=True,
        help="The text was filled in and shown to staff before sending (a manual run): it goes as it is.",
    )
    coalesced_starts = fields.Text(
        "Also about",
        readonly=True,
        help="The starts (UTC, JSON) of the other appointments this notice speaks for: a series, or a "
        "burst of changes merged into one message.",
    )
    reply_to_id = fields.Many2one(
        "clinic.sms.message",
        "Answer to",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
        help="The patient's reply this message answers (an opt-out confirmation answers a STOP).",
    )
    resend_of_id = fields.Many2one(
        "clinic.sms.message",
        "Sent again from",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
        help="The reminder that had reached the patient and that staff sent again with this message.",
    )
    resend = fields.Boolean(
        "Sent again",
        readonly=True,
        help="A reminder that had reached the patient, sent again by staff. It is not the "
        "appointment's reminder: the limit of one reminder per appointment leaves it out.",
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )

    _event_rule_once = models.UniqueIndex(
        "(event_id, partner_id, rule_id, event_start)"
        " WHERE event_id IS NOT NULL AND rule_id IS NOT NULL"
        " AND state IN ('scheduled', 'queued', 'sending', 'sent', 'delivered', 'buffered')",
        "This patient already has this message for this appointment.",
    )
    # A reminder sent again (*Send again* on a delivered one, vitosms' "rücksetzen") is a new row
    # with no rule and ``resend`` set: it copies the text that reached the patient, so it is not
    # the appointment's reminder that the two indexes above and below keep to one (``_event_rule_once``
    # only holds rows with a rule; this one leaves resends out). A flag rather than
    # ``resend_of_id IS NULL``: purging the original sets that link to null, the flag stays. Instead,
    # at most one resend of a reminder is on its way at a time (``_resend_pending_once``), so a
    # second click while the first is pending adds nothing.
    _manual_reminder_once = models.UniqueIndex(
        "(event_id, partner_id, event_start)"
        " WHERE kind = 'reminder' AND rule_id IS NULL AND event_id IS NOT NULL AND resend IS NOT TRUE"
        " AND state IN ('scheduled', 'queued', 'sending', 'sent', 'delivered', 'buffered')",
        "This patient already has a manual reminder for this appointment.",
    )
    _resend_pending_once = models.UniqueIndex(
        "(resend_of_id) WHERE resend_of_id IS NOT NULL AND state IN ('scheduled', 'queued', 'sending')",
        "This reminder is already being sent again.",
    )
    _birthday_once = models.UniqueIndex(
        "(partner_id, rule_id, birthday_year)"
        " WHERE kind = 'birthday'"
        " AND state IN ('scheduled', 'queued', 'sending', 'sent', 'delivered', 'buffered')",
        "This patient already has a birthday greeting this year.",
    )
    _recall_once = models.UniqueIndex(
        "(partner_id, rule_id, recall_date)"
        " WHERE kind = 'recall'"
        " AND state IN ('scheduled', 'queued', 'sending', 'sent', 'delivered', 'buffered')",
        "This patient already has this recall message for this recall date.",
    )
    _event_note_idx = models.Index(
        "(id) WHERE event_id IS NOT NULL AND event_noted IS NOT TRUE"
        " AND state IN ('sent', 'delivered', 'failed', 'skipped') AND kind != 'inbound'"
    )
    _inbound_number_idx = models.Index("(gateway_id, number, due_at) WHERE kind = 'inbound'")
    _dispatch_idx = models.Index("(state, due_at) WHERE state IN ('scheduled', 'queued')")
    # the SMS log in its order (_order), and its Problems filter (views/clinic_sms_message_views.xml)
    _log_order_idx = models.Index("(due_at DESC, id DESC)")
    _log_problems_idx = models.Index(
        "(due_at DESC, id DESC) INCLUDE (company_id) WHERE state IN ('failed', 'skipped', 'expired')"
    )
    _expire_idx = models.Index("(expire_at) WHERE state IN ('scheduled', 'queued')")

    def init(self):
        # Planning inserts rows in SQL (clinic.sms.planner): the column default gives them "sms".
        self.env.cr.execute("ALTER TABLE clinic_sms_message ALTER COLUMN channel SET DEFAULT 'sms'")

    @api.depends("kind", "partner_id", "due_at")
    def _compute_display_name(self):
        kinds = dict(self._fields["kind"]._description_selection(self.env))
        for message in self:
            message.display_name = f"{kinds.get(message.kind, '')} – {message.partner_id.name or ''}"

    @api.model
    def _cron_birthdays(self):
        """Plan today's birthday greetings (the cron's entry point; see ``clinic.sms.planner``)."""
        return self.env["clinic.sms.planner"]._plan_birthdays()

    @api.model
    def _cron_recalls(self, batch_size=500):
        """Move recall dates after ended appointments and plan today's recalls (the cron's entry
        point; see ``clinic.sms.planner``)."""
        return self.env["clinic.sms.planner"]._plan_recalls(batch_size=batch_size)

    # ------------------------------------------------------------------ staff actions

    def _clinic_sms_check_staff(self):
        """The caller is a Clinic SMS user who may read these messages (their companies)."""
        access.require_user(self.env)
        self.check_access("read")

    def action_cancel(self):
        """Withdraw scheduled or queued messages (Clinic SMS users, messages of their companies)."""
        self._clinic_sms_check_staff()
        unsent = self.filtered(lambda m: m.state in UNSENT_STATES)
        if not unsent:
            raise UserError(self.env._("Only scheduled or queued messages can be cancelled."))
        unsent.sudo().write({"state": "cancelled", "reason": "staff"})

    def action_retry(self):
        """Queue failed or expired messages again as new messages; the old ones stay in the log.
        Replies and opt-out confirmations are never sent again: a confirmation only answers a
        received opt-out. Clinic SMS users, messages of their companies."""
        self._clinic_sms_check_staff()
        retry = self.filtered(
            lambda m: (
                m.state in ("failed", "expired", "skipped", "cancelled")
                and m.kind not in ("inbound", "opt_out")
            )
        )
        if not retry:
            raise UserError(
                self.env._("Only failed, expired, skipped or cancelled messages can be sent again.")
            )
        now = fields.Datetime.now()
        new = self.sudo().create(
            [
                {
                    "kind": m.kind,
                    "rule_id": m.rule_id.id,
                    "template_id": m.template_id.id,
                    "event_id": m.event_id.id,
                    "event_start": m.event_start,
                    "user_id": m.user_id.id,
                    "partner_id": m.partner_id.id,
                    "body": False if (m.template_id or m.rule_id) else m.body,
                    "company_id": m.company_id.id,
                    "birthday_year": m.birthday_year,
                    "resend": m.resend,
                    "resend_of_id": m.resend_of_id.id,
                    "state": "queued",
                    "due_at": now,
                    "expire_at": m.event_start if m.kind == "reminder" else now + timedelta(hours=24),
                }
                for m in retry
            ]
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "view_mode": "list,form",
            "domain": [("id", "in", new.ids)],
            "name": self.env._("Messages queued again"),
        }

    #: The states of a reminder that reached the patient (or the provider) and may be sent again.
    RESENDABLE_STATES = ("sent", "delivered", "buffered")

    def _clinic_sms_resendable(self):
        """Whether *Send again* with a confirmation (``clinic.sms.resend``) applies: a reminder
        about an appointment that reached the patient (failed ones go through ``action_retry``)."""
        self.ensure_one()
        return self.kind == "reminder" and self.state in self.RESENDABLE_STATES and bool(self.event_id)

    def _clinic_sms_resend(self):
        """Send this reminder, which reached the patient, again: a new queued row with the same text;
        this one stays as it is. While a resend of the same reminder is on its way, that one is
        answered and nothing is added. Callers check the access rights (runs as superuser)."""
        self.ensure_one()
        if not self._clinic_sms_resendable():
            raise UserError(self.env._("Only a reminder that reached the patient can be sent again here."))
        original = self.resend_of_id or self
        Message = self.sudo()
        pending = Message.search(
            [("resend_of_id", "=", original.id), ("state", "in", ("scheduled", "queued", "sending"))],
            limit=1,
        )
        if pending:
            return pending
        company = self.company_id
        event = self.event_id.sudo().with_context(active_test=False)
        settings = self.env["clinic.sms.planner"]._settings(company)
        begin = planner.event_start(event.start, event.allday, event.start_date, settings.tz)
        plan = planner.plan_manual_reminder(to_aware(fields.Datetime.now()), None, begin, settings)
        if not plan:
            raise UserError(self.env._("Too late: the appointment starts before the reminder could go."))
        return Message.create(
            {
                "kind": "reminder",
                "event_id": event.id,
                "event_start": self.event_start,
                "user_id": self.user_id.id,
                "partner_id": self.partner_id.id,
                "company_id": company.id,
                "body": self.body,
                "body_fixed": True,
                "resend": True,
                "resend_of_id": original.id,
                "state": "queued",
                "due_at": to_naive(plan.due_at),
                "expire_at": to_naive(plan.expire_at),
            }
        )

    # --- log care

    @api.model
    def _clinic_sms_purge_domain(self, before):
        """Rows that may be purged: final states and patients' replies, due before ``before``."""
        return [
            ("due_at", "<", before),
            "|",
            ("kind", "=", "inbound"),
            ("state", "in", FINAL_STATES),
        ]

    @api.model
    def _clinic_sms_purge(self, before, company_ids, batch_size=PURGE_BATCH_SIZE, autocommit=False):
        """Delete the log rows of ``company_ids`` that are final (or replies) and due before
        ``before``, ``batch_size`` rows per query. The credit ledger keeps its lines (their
        ``message_id`` is set to null by the database) and so its totals. Answers the number of
        rows deleted. Callers check the access rights."""
        if not company_ids:
            return 0
        self.env.flush_all()
        cr = self.env.cr
        deleted = 0
        while True:
            cr.execute(
                """DELETE FROM clinic_sms_message WHERE id IN (
                       SELECT id FROM clinic_sms_message
                        WHERE company_id = ANY(%s) AND due_at < %s
                          AND (kind = 'inbound' OR state = ANY(%s))
                        ORDER BY id LIMIT %s)""",
                [list(company_ids), before, list(FINAL_STATES), batch_size],
            )
            count = cr.rowcount
            deleted += count
            if autocommit and count:
                self.env["ir.cron"]._commit_progress(count)
            if count < batch_size:
                break
        if deleted:
            self.env.invalidate_all()
            _logger.info("clinic_sms: purged %d log rows", deleted)
        return deleted

    def action_clinic_sms_requeue(self):
        """The log's list action "Send again" for Clinic SMS users (replies cannot be sent again)."""
        self._clinic_sms_check_staff()
        return self.filtered(lambda m: m.kind != "inbound").action_retry()

    @api.model
    def _cron_clinic_sms_event_notes(self, batch_size=1000, since_days=2):
        """Note on the appointments' chatter what became of their messages: every message that is
        sent, delivered, failed or skipped, was written in the last ``since_days`` days and is not
        noted yet (``event_noted``), once, in the state it has then (a delivery report that comes
        later adds no note). Works ``batch_size`` messages at a time and, as a cron, commits after
        each batch. The dispatcher triggers it after every run that handled messages, and it runs
        every 5 minutes, so the dispatch batches stay free of chatter writes. Returns how many
        messages it noted."""
        since = fields.Datetime.now() - timedelta(days=since_days)
        total = 0
        while True:
            messages = self.sudo().search(
                [
                    ("event_id", "!=", False),
                    ("event_noted", "=", False),
                    ("state", "in", ("sent", "delivered", "failed", "skipped")),
                    ("kind", "!=", "inbound"),
                    ("write_date", ">=", since),
                ],
                order="id",
                limit=batch_size,
            )
            if not messages:
                return total
            messages._clinic_sms_log_on_events()
            self.env.cr.execute(
                "UPDATE clinic_sms_message SET event_noted = TRUE WHERE id = ANY(%s)", [messages.ids]
            )
            messages.invalidate_recordset(["event_noted"])
            total += len(messages)
            if self.env.context.get("cron_id") and not modules.module.current_test:
                self.env["ir.cron"]._commit_progress(len(messages))
            if len(messages) < batch_size:
                return total

    def _clinic_sms_log_on_events(self):
        """Log one note on the chatter of each appointment of ``self``'s messages that are sent,
        delivered, failed or skipped: one sentence per message with its kind, its patient and its
        state (and the reason when failed or skipped), never the number or the text, written by
        OdooBot. Appointments deleted since are left out. All notes are written by one
        ``_message_log_batch`` call, so the number of queries does not grow with the number of
        messages or appointments. The messages are not marked noted here: the caller
        (``_cron_clinic_sms_event_notes``) does that."""
        self.invalidate_recordset(["state", "reason"])
        logged = self.filtered(
            lambda m: (
                m.event_id and m.kind != "inbound" and m.state in ("sent", "delivered", "failed", "skipped")
            )
        )
        if not logged:
            return
        kinds = dict(self._fields["kind"]._description_selection(self.env))
        states = dict(self._fields["state"]._description_selection(self.env))
        reasons = dict(self._fields["reason"]._description_selection(self.env))
        by_event = defaultdict(list)
        for message in logged:
            by_event[message.event_id.id].append(message)
        Event = self.env["calendar.event"].sudo().with_context(active_test=False)
        existing = set(Event.browse(list(by_event)).exists().ids)
        bodies = {}
        for event_id, messages in by_event.items():
            if event_id not in existing:
                continue
            lines = []
            for message in messages:
                values = {
                    "kind": kinds.get(message.kind, message.kind),
                    "patient": message.partner_id.name or self.env._("unknown patient"),
                    "state": states.get(message.state, message.state),
                }
                if message.reason and message.state in ("failed", "skipped"):
                    values["reason"] = reasons.get(message.reason, message.reason)
                    if message.channel == "email":
                        lines.append(
                            self.env._("E-mail %(kind)s to %(patient)s: %(state)s (%(reason)s).", **values)
                        )
                    else:
                        lines.append(
                            self.env._("SMS %(kind)s to %(patient)s: %(state)s (%(reason)s).", **values)
                        )
                elif message.channel == "email":
                    lines.append(self.env._("E-mail %(kind)s to %(patient)s: %(state)s.", **values))
                else:
                    lines.append(self.env._("SMS %(kind)s to %(patient)s: %(state)s.", **values))
            # One note per appointment and batch, whatever the number of its patients.
            bodies[event_id] = " ".join(lines)
        if bodies:
            Event.browse(list(bodies))._message_log_batch(
                bodies, author_id=self.env.ref("base.partner_root").id
            )
