import logging
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from odoo import api, fields, models, modules
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, split_every

from ..core import credits as credit_rules
from ..core import gateway as gw
from ..core import phone, placeholders, planner, replies, segments
from ..core.exceptions import TemplateError
from .clinic_sms_template import MESSAGE_KINDS
from .res_company import ODOO_SMS_STATE, ClinicSmsApi

_logger = logging.getLogger(__name__)

STATES = [
    ("scheduled", "Scheduled"),
    ("queued", "Queued"),
    ("sending", "Sending"),
    ("sent", "Sent"),
    ("delivered", "Delivered"),
    ("buffered", "Buffered"),
    ("failed", "Failed"),
    ("expired", "Expired"),
    ("cancelled", "Cancelled"),
    ("skipped", "Skipped"),
]
REASONS = [
    ("opted_out", "Patient does not want SMS"),
    ("no_number", "No SMS number"),
    ("invalid_number", "Invalid SMS number"),
    ("deceased", "Patient deceased"),
    ("appointment_cancelled", "Appointment cancelled"),
    ("appointment_moved", "Appointment moved"),
    ("appointment_restored", "Appointment restored"),
    ("patient_removed", "Patient removed from the appointment"),
    ("rule_changed", "Rule changed"),
    ("sms_disabled", "SMS switched off for the appointment"),
    ("sms_off", "Clinic SMS switched off"),
    ("no_credit", "Not enough credits"),
    ("no_gateway", "No SMS gateway"),
    ("outside_window", "Waiting for the sending window"),
    ("gateway_error", "Gateway failed, will retry"),
    ("gateway_unreachable", "Gateway unreachable, will retry"),
    ("throttled", "Gateway busy, will retry"),
    ("gateway_auth", "Gateway refused the credentials"),
    ("undeliverable", "Could not be delivered"),
    ("rejected", "Rejected by the gateway"),
    ("template_error", "Template cannot be filled in"),
    ("interrupted", "Sending interrupted"),
    ("staff", "Cancelled by staff"),
]
REASON_CODES = {code for code, _label in REASONS}
#: States in which a message blocks planning the same message again.
BLOCKING_STATES = ("scheduled", "queued", "sending", "sent", "delivered", "buffered")
#: States of a message that has not been handed to a gateway yet and can still be withdrawn.
UNSENT_STATES = ("scheduled", "queued")
#: Kinds about one appointment at one start.
EVENT_KINDS = ("reminder", "confirmation", "reschedule", "cancellation")
FINAL_STATES = ("delivered", "failed", "expired", "cancelled", "skipped")
BATCH_SIZE = 500
PURGE_BATCH_SIZE = 5000
NO_CREDIT_RETRY = timedelta(minutes=10)
NO_GATEWAY_RETRY = timedelta(minutes=10)
STALE_SENDING = timedelta(hours=1)


def to_aware(value):
    """Odoo's naive UTC datetime -> aware UTC datetime."""
    return value.replace(tzinfo=timezone.utc) if value else value


def to_naive(value):
    """Aware datetime -> Odoo's naive UTC datetime."""
    return value.astimezone(timezone.utc).replace(tzinfo=None) if value else value


class ClinicSmsMessage(models.Model):
    _name = "clinic.sms.message"
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
    reason = fields.Selection(REASONS, readonly=True)
    error = fields.Char(readonly=True)
    due_at = fields.Datetime("Due", required=True, default=fields.Datetime.now, readonly=True)
    expire_at = fields.Datetime("Expires", readonly=True)
    sent_at = fields.Datetime("Sent", readonly=True)
    delivered_at = fields.Datetime("Delivered", readonly=True)
    gateway_id = fields.Many2one("clinic.sms.gateway", readonly=True, ondelete="set null")
    provider_ref = fields.Char("Provider reference", readonly=True, index="btree_not_null")
    encoding = fields.Selection([("gsm7", "GSM-7"), ("ucs2", "Unicode (UCS-2)")], readonly=True)
    segments = fields.Integer("Parts", readonly=True)
    credits = fields.Float(readonly=True, digits=(16, 2))
    attempts = fields.Integer(readonly=True)
    birthday_year = fields.Integer("Birthday year", readonly=True)
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
        ],
        "Reply meant",
        readonly=True,
        help="What a patient's reply was understood as.",
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
    _birthday_once = models.UniqueIndex(
        "(partner_id, rule_id, birthday_year)"
        " WHERE kind = 'birthday'"
        " AND state IN ('scheduled', 'queued', 'sending', 'sent', 'delivered', 'buffered')",
        "This patient already has a birthday greeting this year.",
    )
    _event_note_idx = models.Index(
        "(id) WHERE event_id IS NOT NULL AND event_noted IS NOT TRUE"
        " AND state IN ('sent', 'delivered', 'failed', 'skipped') AND kind != 'inbound'"
    )
    _dispatch_idx = models.Index("(state, due_at) WHERE state IN ('scheduled', 'queued')")
    # the SMS log in its order (_order), and its Problems filter (views/clinic_sms_message_views.xml)
    _log_order_idx = models.Index("(due_at DESC, id DESC)")
    _log_problems_idx = models.Index(
        "(due_at DESC, id DESC) INCLUDE (company_id) WHERE state IN ('failed', 'skipped', 'expired')"
    )
    _expire_idx = models.Index("(expire_at) WHERE state IN ('scheduled', 'queued')")

    @api.depends("kind", "partner_id", "due_at")
    def _compute_display_name(self):
        kinds = dict(self._fields["kind"]._description_selection(self.env))
        for message in self:
            message.display_name = f"{kinds.get(message.kind, '')} – {message.partner_id.name or ''}"

    # ------------------------------------------------------------------ planning helpers

    @api.model
    def _internal_partner_ids(self):
        """Partners of internal users (archived users included): never messaged as patients."""
        self.env["res.users"].flush_model(["partner_id", "share"])
        self.env.cr.execute("SELECT partner_id FROM res_users WHERE share IS NOT TRUE")
        return {row[0] for row in self.env.cr.fetchall()}

    @api.model
    def _planner_settings(self, company):
        return planner.Settings(**company._clinic_sms_settings())

    @api.model
    def _rules_by_company(self, kinds):
        rules = self.env["clinic.sms.rule"].sudo().search([("kind", "in", list(kinds))])
        result = defaultdict(lambda: self.env["clinic.sms.rule"].sudo())
        for rule in rules:
            result[rule.company_id.id] |= rule
        return result

    @api.model
    def _applicable_rules(self, rules_by_company, kind, company, event=None):
        rules = (rules_by_company.get(company.id) or self.env["clinic.sms.rule"]) | (
            rules_by_company.get(False) or self.env["clinic.sms.rule"]
        )
        return rules.filtered(lambda r: r.kind == kind and (event is None or r._applies_to(event)))

    # ------------------------------------------------------------------ dispatch

    @api.model
    def _cron_dispatch(self, batch_size=BATCH_SIZE):
        """Send what is due: expire what is too late, queue what is due, then send in batches.

        Run by the cron, every batch is its own transaction (committed through
        ``ir.cron._commit_progress``), so that a second dispatcher running at the same time takes
        other rows (``FOR UPDATE SKIP LOCKED``) and sees the rows the first one has finished.
        Tests run it in their own transaction unless they ask for ``clinic_sms_autocommit``.
        """
        now = fields.Datetime.now()
        context = self.env.context
        autocommit = context.get(
            "clinic_sms_autocommit", bool(context.get("cron_id")) and not modules.module.current_test
        )
        self.env.flush_all()
        cr = self.env.cr
        if autocommit:
            self._begin_queue_transaction()
        cr.execute(
            """UPDATE clinic_sms_message SET
                      state = CASE WHEN expire_at <= %(now)s THEN 'expired' ELSE 'queued' END,
                      write_date = %(now)s
                WHERE id IN (SELECT id FROM clinic_sms_message
                              WHERE state IN ('scheduled', 'queued')
                                AND (expire_at <= %(now)s OR (state = 'scheduled' AND due_at <= %(now)s))
                                FOR UPDATE SKIP LOCKED)""",
            {"now": now},
        )
        cr.execute(
            """UPDATE clinic_sms_message SET state = 'failed', reason = 'interrupted', write_date = %s
                WHERE state = 'sending' AND write_date <= %s""",
            [now, now - STALE_SENDING],
        )
        self.invalidate_model(["state", "reason"])
        done = 0
        while True:
            if autocommit:
                self._begin_queue_transaction()
            cr.execute(
                """SELECT id FROM clinic_sms_message
                    WHERE state = 'queued' AND due_at <= %s
                    ORDER BY due_at, id
                    LIMIT %s
                    FOR UPDATE SKIP LOCKED""",
                [now, batch_size],
            )
            ids = [row[0] for row in cr.fetchall()]
            if not ids:
                break
            self.browse(ids).sudo()._dispatch_batch(now)
            done += len(ids)
            if autocommit:
                self.env.flush_all()
                self.env["ir.cron"]._commit_progress(len(ids))
        if done:
            # Chatter notes are written by their own job, outside the dispatch batches.
            self.env.ref("clinic_sms.ir_cron_clinic_sms_event_notes")._trigger()
        return done

    def _begin_queue_transaction(self):
        """End the current transaction and start one in READ COMMITTED.

        Odoo's transactions are REPEATABLE READ: there, locking a row that another dispatcher has
        changed and committed since our snapshot fails with a serialization error. In READ COMMITTED
        ``FOR UPDATE SKIP LOCKED`` re-reads such a row and drops it when it is no longer queued,
        which is what a queue needs.
        """
        self.env["ir.cron"]._commit_progress()
        self.env.invalidate_all()
        self.env.cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")

    def _dispatch_batch(self, now):
        """Re-check, render and send the locked queued messages ``self``."""
        events = self.event_id.with_context(active_test=False)
        internal = self._internal_partner_ids() if events else set()
        updates = {}
        ready = []  # (message, number, body, parts)
        blacklisted = self._blacklisted_numbers(
            self.partner_id.mapped("sms_number_e164") + self.mapped("number")
        )
        for message in self:
            values = self._check_before_sending(message, now, internal, blacklisted)
            if values:
                updates[message.id] = values
                continue
            try:
                body = message._render_body()
            except TemplateError as error:
                updates[message.id] = {
                    "state": "failed",
                    "reason": "template_error",
                    "error": error.message[:250],
                }
                continue
            number = message._destination()
            ready.append((message, number, body, segments.count_parts(body)))

        costs = {item[0].id: item[0].company_id._clinic_sms_cost(item[1], item[3].parts) for item in ready}
        ready, reserved = self._reserve_credits(ready, costs, updates, now)
        routes = {}  # company -> its active gateways in order
        pending = []  # (item, candidate gateways, index of the one to try)
        for item in ready:
            message, number = item[0], item[1]
            company = message.company_id
            if company not in routes:
                routes[company] = company._clinic_sms_gateways()
            candidates = list(company._clinic_sms_gateways_for(number, routes[company]))
            if not candidates:
                updates[message.id] = {
                    "reason": "no_gateway",
                    "error": self.env._("No SMS gateway is configured for this company.")
                    if not routes[company]
                    else self.env._("None of this company's SMS gateways sends to this country."),
                    "due_at": now + NO_GATEWAY_RETRY,
                }
                continue
            pending.append((item, candidates, 0))

        delivered = []  # items the gateways took
        handed = 0
        # Each round hands every pending message to its current gateway; a temporary failure moves
        # the message on to the next gateway that serves its number, in the same run.
        while pending:
            by_gateway = defaultdict(list)
            for entry in pending:
                by_gateway[entry[1][entry[2]]].append(entry)
            pending = []
            for gateway, entries in by_gateway.items():
                outgoing = [
                    gw.Outgoing(
                        ref=str(item[0].id), number=item[1], body=item[2], sender=gateway.sender or ""
                    )
                    for item, _c, _i in entries
                ]
                results = gateway._clinic_sms_send(outgoing)
                handed += len(outgoing)
                for (item, candidates, index), result in zip(entries, results, strict=True):
                    if result.status == gw.TEMPORARY and index + 1 < len(candidates):
                        pending.append((item, candidates, index + 1))
                        continue
                    values = self._result_values(item, gateway, result, now, costs[item[0].id])
                    if result.status in (gw.SENT, gw.DELIVERED):
                        delivered.append(item)
                    updates[item[0].id] = values
        self._write_rows(updates, now)
        self._settle_credits(ready, delivered, reserved, costs, now)
        self._update_odoo_sms()
        _logger.info("clinic_sms: dispatched %d messages (%d handed to a gateway)", len(self), handed)

    def _destination(self):
        """The number to send to: the one the message was created for when it answers a number
        (Odoo's own SMS, an opt-out confirmation), else the patient's current SMS number."""
        self.ensure_one()
        if self.number and (self.sms_uuid or self.kind == "opt_out"):
            return self.number
        return self.partner_id.sms_number_e164 or self.number

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

    @api.model
    def _result_values(self, item, gateway, result, now, cost):
        """The write values for a message after ``gateway`` answered ``result`` for it."""
        message, number, body, parts = item
        values = {
            "number": number,
            "body": body,
            "encoding": parts.encoding,
            "segments": parts.parts,
            "gateway_id": gateway.id,
            "attempts": message.attempts + 1,
        }
        if result.status in (gw.SENT, gw.DELIVERED):
            values.update(
                state="delivered" if result.status == gw.DELIVERED else "sent",
                reason=False,
                error=False,
                sent_at=now,
                delivered_at=now if result.status == gw.DELIVERED else False,
                provider_ref=result.provider_ref or False,
                credits=cost,
            )
        elif result.status == gw.TEMPORARY:
            retry = gw.backoff(message.attempts + 1, to_aware(now), result.retry_after)
            values.update(
                state="queued",
                reason=self._reason(result.reason, "gateway_error"),
                error=result.error[:250],
                due_at=to_naive(retry),
            )
        else:
            values.update(
                state="failed", reason=self._reason(result.reason, "rejected"), error=result.error[:250]
            )
        return values

    @api.model
    def _reason(self, code, default):
        """``code`` when it is one of the log's reasons, else ``default``."""
        return code if code in REASON_CODES else default

    @api.model
    def _blacklisted_numbers(self, numbers):
        """The numbers among ``numbers`` (E.164 already) that are on Odoo's phone blacklist."""
        numbers = [n for n in numbers if n]
        if not numbers:
            return set()
        self.env["phone.blacklist"].flush_model(["number", "active"])
        self.env.cr.execute("SELECT number FROM phone_blacklist WHERE active AND number = ANY(%s)", [numbers])
        return {row[0] for row in self.env.cr.fetchall()}

    @api.model
    def _check_before_sending(self, message, now, internal, blacklisted):
        """The write values that stop ``message`` from going now, or None when it may go."""
        company = message.company_id
        settings = self._planner_settings(company)
        if message.expire_at and message.expire_at <= now:
            return {"state": "expired"}
        if not company.clinic_sms_enabled:
            return {"state": "skipped", "reason": "sms_off"}
        event = message.event_id.with_context(active_test=False)
        if message.kind == "cancellation":
            if event and event.active and event.start == message.event_start:
                return {"state": "cancelled", "reason": "appointment_restored"}
        elif message.kind in EVENT_KINDS and message.event_start:
            if not event or not event.active:
                return {"state": "cancelled", "reason": "appointment_cancelled"}
            elif event.start != message.event_start:
                return {"state": "cancelled", "reason": "appointment_moved"}
            if event and event.active:
                if message.partner_id not in event.partner_ids or message.partner_id.id in internal:
                    return {"state": "cancelled", "reason": "patient_removed"}
                if not event.sms_enabled:
                    return {"state": "skipped", "reason": "sms_disabled"}
                begin = planner.event_start(event.start, event.allday, event.start_date, settings.tz)
                if message.kind == "reminder" and begin <= to_aware(now):
                    return {"state": "expired"}
        partner = message.partner_id
        if partner.deceased:
            return {"state": "skipped", "reason": "deceased"}
        # The confirmation of an opt-out is the one message that goes to a number that said no.
        number = message._destination()
        if message.kind != "opt_out" and (partner.sms_opt_out or (number and number in blacklisted)):
            return {"state": "skipped", "reason": "opted_out"}
        if not partner and message.number:
            pass  # a message to a number without a contact (Odoo's own SMS, an opt-out reply)
        elif partner.sms_number_state != "valid":
            reason = "no_number" if partner.sms_number_state == "missing" else "invalid_number"
            problem = dict(partner._fields["sms_number_problem"]._description_selection(self.env))
            return {
                "state": "skipped",
                "reason": reason,
                "error": problem.get(partner.sms_number_problem, False),
            }
        if not planner.may_send_now(to_aware(now), to_aware(message.due_at), settings):
            opens = planner.timing.next_window_open(
                to_aware(now), settings.tz, settings.window_start, settings.window_end
            )
            if message.expire_at and to_naive(opens) >= message.expire_at:
                return {"state": "expired", "reason": "outside_window"}
            return {"reason": "outside_window", "due_at": to_naive(opens)}
        return None

    @api.model
    def _lock_credits(self, companies, now):
        """Make this transaction the only one spending ``companies``' credits until it ends, and
        answer their balances {company id: (balance, allowance part)} read after the lock.

        (``res.company._clinic_sms_credit_lock``; the month's allowance is rolled first).
        """
        companies._clinic_sms_credit_roll(now)
        return companies._clinic_sms_balances()

    def _reserve_credits(self, ready, costs, updates, now):
        """Pay in advance, from the ledger, for the messages of companies whose credit check is on.

        Answers the items that may go and {message id: part paid from the allowance} of what was
        reserved; what the balance cannot pay waits with the reason ``no_credit``.
        """
        checked = {m.company_id for m, *_ in ready if m.company_id.clinic_sms_credit_check}
        if not checked:
            return ready, {}
        companies = self.env["res.company"].sudo().browse(sorted(c.id for c in checked))
        balances = {cid: list(values) for cid, values in self._lock_credits(companies, now).items()}
        kept, reserved, lines = [], {}, []
        for item in ready:
            message = item[0]
            company = message.company_id
            if company not in checked:
                kept.append(item)
                continue
            balance = balances.setdefault(company.id, [0.0, 0.0])
            cost = costs[message.id]
            if cost > balance[0] + 1e-9:
                updates[message.id] = {
                    "reason": "no_credit",
                    "error": self.env._("The credit balance does not pay for this message."),
                    "due_at": now + NO_CREDIT_RETRY,
                }
                continue
            from_allowance, _from_packs = credit_rules.split(cost, balance[1])
            balance[0] -= cost
            balance[1] -= from_allowance
            reserved[message.id] = from_allowance
            lines.append(self._credit_line(item, "consumption", -cost, -from_allowance, now))
            kept.append(item)
        if lines:
            self.env["clinic.sms.credit"].sudo().create(lines)
        return kept, reserved

    def _settle_credits(self, ready, delivered, reserved, costs, now):
        """After sending: refund what was reserved for messages the gateways did not take, and
        charge the messages of companies without the credit check. Then warn on low balances."""
        taken = {item[0].id for item in delivered}
        lines = [
            self._credit_line(item, "refund", costs[item[0].id], reserved[item[0].id], now)
            for item in ready
            if item[0].id in reserved and item[0].id not in taken
        ]
        unpaid = [item for item in delivered if item[0].id not in reserved and costs[item[0].id]]
        if unpaid:
            companies = (
                self.env["res.company"].sudo().browse(sorted({item[0].company_id.id for item in unpaid}))
            )
            balances = {cid: list(values) for cid, values in self._lock_credits(companies, now).items()}
            for item in unpaid:
                balance = balances.setdefault(item[0].company_id.id, [0.0, 0.0])
                cost = costs[item[0].id]
                from_allowance, _from_packs = credit_rules.split(cost, balance[1])
                balance[1] -= from_allowance
                lines.append(self._credit_line(item, "consumption", -cost, -from_allowance, now))
        if lines:
            self.env["clinic.sms.credit"].sudo().create(lines)
        touched = {item[0].company_id.id for item in ready if item[0].id in reserved} | {
            item[0].company_id.id for item in unpaid
        }
        if touched:
            self.env["res.company"].sudo().browse(sorted(touched))._clinic_sms_credit_warning_due()

    @api.model
    def _credit_line(self, item, kind, amount, allowance_amount, now):
        message, _number, _body, parts = item
        return {
            "company_id": message.company_id.id,
            "date": now,
            "kind": kind,
            "amount": amount,
            "allowance_amount": allowance_amount,
            "message_id": message.id,
            "message_kind": message.kind,
            "user_id": message.user_id.id,
            "parts": parts.parts,
        }

    def _render_values(self):
        """Placeholder values for this message, read now (not when it was planned)."""
        self.ensure_one()
        partner = self.partner_id
        company = self.company_id
        lang = partner.lang or company.partner_id.lang or "en_US"
        event = self.event_id.with_context(active_test=False, lang=lang)
        common = {
            "patient_name": partner.name or "",
            "clinic": company.name or "",
            "clinic_phone": company.phone or "",
        }
        if not event:
            return lang, {
                "patient_first_name": (partner.name or "").split(" ")[0],
                **common,
            }
        tz = ZoneInfo(company.clinic_sms_tz or "UTC")
        start = self.event_start or event.start
        if event.allday and event.start_date:
            start_local = datetime(event.start_date.year, event.start_date.month, event.start_date.day)
        else:
            start_local = to_aware(start).astimezone(tz).replace(tzinfo=None)
        values = placeholders.event_values(
            patient_name=partner.name or "",
            start_local=start_local,
            allday=event.allday,
            lang=lang,
            appointment_type=event.categ_ids[:1].name or "",
            practitioner=event.user_id.name or "",
            clinic=common["clinic"],
            clinic_phone=common["clinic_phone"],
            location=event.location or "",
        )
        return lang, values

    def _render_body(self):
        """The text to send: the template's current text filled in, or the text already written."""
        self.ensure_one()
        template = self.template_id or self.rule_id.template_id
        if self.body and self.kind in EVENT_KINDS and not self.event_id:
            return self.body  # written when its appointment was deleted
        if not template:
            if not self.body:
                raise TemplateError(self.env._("The message has neither a template nor a text."))
            return self.body
        lang, values = self._render_values()
        body = template.with_context(lang=lang).body or ""
        placeholders.validate(body)
        return placeholders.render(body, values)

    def _write_rows(self, updates, now):
        """Write the per-message results of a batch in one query."""
        if not updates:
            return
        columns = [
            ("state", "varchar"),
            ("reason", "varchar"),
            ("error", "varchar"),
            ("number", "varchar"),
            ("body", "text"),
            ("encoding", "varchar"),
            ("segments", "int4"),
            ("credits", "numeric"),
            ("attempts", "int4"),
            ("gateway_id", "int4"),
            ("provider_ref", "varchar"),
            ("due_at", "timestamp"),
            ("sent_at", "timestamp"),
            ("delivered_at", "timestamp"),
        ]
        names = [name for name, _type in columns]
        rows = []
        for message in self.browse(list(updates)):
            values = updates[message.id]
            row = [message.id]
            for name in names:
                if name in values:
                    row.append(values[name] or None)
                else:
                    current = message[name]
                    row.append(
                        (current.id or None) if isinstance(current, models.BaseModel) else (current or None)
                    )
            rows.append(SQL("(%s)", SQL(", ").join(SQL("%s", value) for value in row)))
        self.env.cr.execute(
            SQL(
                "UPDATE clinic_sms_message AS m SET %s, write_date = %s, write_uid = %s"
                " FROM (VALUES %s) AS v(id, %s) WHERE m.id = v.id",
                SQL(", ").join(SQL(f"{name} = v.{name}::{ctype}") for name, ctype in columns),
                now,
                self.env.uid,
                SQL(", ").join(rows),
                SQL(", ").join(SQL.identifier(name) for name in names),
            )
        )
        self.invalidate_model([*names, "write_date", "write_uid"])

    # ------------------------------------------------------------------ birthdays

    @api.model
    def _cron_birthdays(self):
        """Plan today's birthday greetings, in each company's time zone."""
        now = fields.Datetime.now()
        companies = (
            self.env["res.company"]
            .sudo()
            .search(
                [("clinic_sms_enabled", "=", True), ("clinic_sms_birthday_enabled", "=", True)], order="id"
            )
        )
        if not companies:
            return 0
        rules_by_company = self._rules_by_company(["birthday"])
        internal = self._internal_partner_ids()
        default_company = companies[:1]
        created = 0
        for company in companies:
            rules = self._applicable_rules(rules_by_company, "birthday", company)
            if not rules:
                continue
            settings = self._planner_settings(company)
            today = to_aware(now).astimezone(ZoneInfo(settings.tz)).date()
            partner_ids = self._birthday_partner_ids(company, company == default_company, today, internal)
            if not partner_ids:
                continue
            existing = self.search_fetch(
                [
                    ("kind", "=", "birthday"),
                    ("birthday_year", "=", today.year),
                    ("partner_id", "in", partner_ids),
                    ("rule_id", "in", rules.ids),
                ],
                ["partner_id", "rule_id"],
            )
            seen = {(m.partner_id.id, m.rule_id.id) for m in existing}
            partners = self.env["res.partner"].browse(partner_ids)
            vals_list = []
            for rule in rules:
                due = planner.timing.due_days_before_at(
                    datetime(today.year, today.month, today.day, tzinfo=timezone.utc),
                    0,
                    rule.send_hour,
                    settings.tz,
                    allday=True,
                )
                plan = planner.timing.plan(
                    "birthday",
                    to_aware(now),
                    due,
                    due,
                    settings.tz,
                    settings.window_start,
                    settings.window_end,
                )
                if plan is None:
                    continue
                for partner in partners:
                    if (partner.id, rule.id) in seen:
                        continue
                    vals = {
                        "kind": "birthday",
                        "rule_id": rule.id,
                        "partner_id": partner.id,
                        "company_id": company.id,
                        "birthday_year": today.year,
                        "due_at": to_naive(plan.due_at),
                        "expire_at": to_naive(plan.expire_at),
                        "state": "scheduled",
                    }
                    if partner.deceased:
                        vals.update(state="skipped", reason="deceased")
                    elif partner.sms_opt_out:
                        vals.update(state="skipped", reason="opted_out")
                    vals_list.append(vals)
            if vals_list:
                self.sudo().create(vals_list)
                created += len(vals_list)
        return created

    @api.model
    def _birthday_partner_ids(self, company, include_shared, today, internal):
        """Patients of ``company`` whose birthday is ``today`` (29 February counts on 28 February
        in other years)."""
        days = planner.birthday_dates(today)
        self.env["res.partner"].flush_model(["birthday", "company_id", "active", "is_company"])
        clauses = " OR ".join(
            "(EXTRACT(MONTH FROM birthday) = %s AND EXTRACT(DAY FROM birthday) = %s)" for _ in days
        )
        params = [value for pair in days for value in pair]
        company_clause = "(company_id = %s OR company_id IS NULL)" if include_shared else "company_id = %s"
        self.env.cr.execute(
            f"SELECT id FROM res_partner WHERE active AND NOT is_company AND birthday IS NOT NULL"
            f" AND ({clauses}) AND {company_clause}",
            [*params, company.id],
        )
        return [row[0] for row in self.env.cr.fetchall() if row[0] not in internal]

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
        ids = {int(r.ref) for r in reports if r.ref and r.ref.isdigit() and int(r.ref) < 2**31}
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
        """Ask the providers what became of the selected messages."""
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
        partners = (
            self.env["res.partner"]
            .sudo()
            .search([("sms_number_e164", "=", number), ("company_id", "in", [company.id, False])], order="id")
        )
        patient = partners[:1]
        last = (
            Message.search(
                [
                    ("kind", "=", "reminder"),
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
        now = fields.Datetime.now()
        received = Message.create(
            {
                "kind": "inbound",
                "partner_id": patient.id,
                "event_id": event.id,
                "event_start": event.start if event else False,
                "user_id": event.user_id.id,
                "number": number,
                "body": inbound.body,
                "state": "delivered",
                "due_at": now,
                "sent_at": to_naive(inbound.at) if inbound.at else now,
                "delivered_at": now,
                "gateway_id": gateway.id,
                "provider_ref": inbound.provider_ref or False,
                "reply_action": action,
                "company_id": company.id,
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
    def _clinic_sms_opt_out(self, number, partners, company, received):
        """Opt every contact with ``number`` out, blacklist it, withdraw what was waiting and say so."""
        partners.write({"sms_opt_out": True})
        self.env["phone.blacklist"].sudo()._add([number], message=self.env._("Replied STOP by SMS."))
        waiting = self.sudo().search(
            [("state", "in", UNSENT_STATES), "|", ("partner_id", "in", partners.ids), ("number", "=", number)]
        )
        waiting.write({"state": "cancelled", "reason": "opted_out"})
        for partner in partners:
            partner.sudo().message_post(
                body=self.env._("Opted out of SMS by replying “%s”.", received.body),
                author_id=partner.id,
                message_type="comment",
                subtype_xmlid="mail.mt_note",
            )
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
            now = fields.Datetime.now()
            self.sudo().create(
                {
                    "kind": "opt_out",
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

    # ------------------------------------------------------------------ staff actions

    def action_cancel(self):
        unsent = self.filtered(lambda m: m.state in UNSENT_STATES)
        if not unsent:
            raise UserError(self.env._("Only scheduled or queued messages can be cancelled."))
        unsent.write({"state": "cancelled", "reason": "staff"})

    def action_retry(self):
        """Queue failed or expired messages again as new messages; the old ones stay in the log."""
        retry = self.filtered(lambda m: m.state in ("failed", "expired", "skipped", "cancelled"))
        if not retry:
            raise UserError(
                self.env._("Only failed, expired, skipped or cancelled messages can be sent again.")
            )
        now = fields.Datetime.now()
        new = self.create(
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
        if not self.env.user.has_group("clinic_sms.group_clinic_sms_user"):
            raise AccessError(self.env._("Only Clinic SMS users can send messages again."))
        return self.filtered(lambda m: m.kind != "inbound").action_retry()

    @api.model
    def _cron_clinic_sms_event_notes(self, batch_size=1000, since_days=2):
        """Note on the appointments what became of their messages (sent, delivered, failed,
        skipped), ``batch_size`` messages at a time, each once. Run after every dispatch (triggered)
        and every few minutes, so the dispatcher's batches stay free of chatter writes."""
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
        """Post one short note per message of ``self`` that was sent, delivered, failed or skipped on
        its appointment's chatter. Never the number or the text. The notes are created in rounds
        (one per message of the same appointment), so the number of queries does not grow with the
        number of messages."""
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
                    lines.append(self.env._("SMS %(kind)s to %(patient)s: %(state)s (%(reason)s).", **values))
                else:
                    lines.append(self.env._("SMS %(kind)s to %(patient)s: %(state)s.", **values))
            # One note per appointment and batch, whatever the number of its patients.
            bodies[event_id] = " ".join(lines)
        if bodies:
            Event.browse(list(bodies))._message_log_batch(
                bodies, author_id=self.env.ref("base.partner_root").id
            )
