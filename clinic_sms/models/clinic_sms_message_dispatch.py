"""Dispatch: due messages are re-checked, rendered, paid for and handed to the gateways in batches."""

import json
import logging
from collections import defaultdict
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from odoo import api, fields, models, modules
from odoo.tools import SQL

from ..constants import (
    BATCH_SIZE,
    EVENT_KINDS,
    NO_CREDIT_RETRY,
    NO_GATEWAY_RETRY,
    REASON_CODES,
    STALE_SENDING,
    to_aware,
    to_naive,
)
from ..core import credits as credit_rules
from ..core import eligibility, placeholders, planner, segments
from ..core import gateway as gw
from ..core.exceptions import TemplateError
from .res_company import ODOO_SMS_STATE, ClinicSmsApi

_logger = logging.getLogger(__name__)


class ClinicSmsMessageDispatch(models.AbstractModel):
    """The dispatch half of ``clinic.sms.message`` (a mixin of it, as ``mail.thread``'s parts are)."""

    _name = "clinic.sms.message.dispatch"
    _description = "Clinic SMS message: dispatch"

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
        self.env["clinic.sms.planner"]._coalesce_notices(now)
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
        internal = self.env["clinic.sms.planner"]._internal_partner_ids() if events else set()
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
        if stranded := [c.id for c, gateways in routes.items() if not gateways]:
            self.env["res.company"].browse(stranded)._clinic_sms_no_gateway_warning_due()
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
            "simulated": gateway.simulated,
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
        return self.env["clinic.sms.eligibility"]._blacklisted_numbers(numbers)

    @api.model
    def _check_before_sending(self, message, now, internal, blacklisted):
        """The write values that stop ``message`` from going now, or None when it may go: first what
        the rule book (``core/eligibility.py``) says, then the message's own time (expiry, window)."""
        company = message.company_id
        settings = self.env["clinic.sms.planner"]._settings(company)
        if message.expire_at and message.expire_at <= now:
            return {"state": "expired"}
        Eligibility = self.env["clinic.sms.eligibility"]
        context = {"internal": internal, "blacklisted": blacklisted}
        decision = eligibility.decide(Eligibility._message_facts(message, context, now))
        if decision:
            values = {"state": decision.state, "reason": decision.reason or False}
            if decision.reason == "invalid_number" and decision.detail:
                problems = dict(
                    message.partner_id._fields["sms_number_problem"]._description_selection(self.env)
                )
                values["error"] = problems.get(decision.detail, False)
            elif decision.reason == "opted_out" and decision.detail == "blacklisted":
                values["error"] = self.env._("The number is on the blacklist.")
            return values
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
        if self.body and self.body_fixed:
            return self.body
        if self.body and self.kind in EVENT_KINDS and not self.event_id:
            return self._with_also(self.body)  # written when its appointment was deleted
        if not template:
            if not self.body:
                raise TemplateError(self.env._("The message has neither a template nor a text."))
            return self.body
        lang, values = self._render_values()
        body = template.with_context(lang=lang).body or ""
        placeholders.validate(body)
        return self._with_also(placeholders.render(body, values), lang)

    def _with_also(self, body, lang=None):
        """``body`` with the sentence naming the other appointments this notice speaks for."""
        if not self.coalesced_starts:
            return body
        lang = lang or self.partner_id.lang or self.company_id.partner_id.lang or "en_US"
        tz = ZoneInfo(self.company_id.clinic_sms_tz or "UTC")
        starts = [
            datetime.fromisoformat(value).replace(tzinfo=timezone.utc).astimezone(tz).replace(tzinfo=None)
            for value in json.loads(self.coalesced_starts)
        ]
        allday = bool(self.event_id.with_context(active_test=False).allday)
        return f"{body} {placeholders.also_sentence(starts, lang, allday)}"

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
            ("simulated", "bool"),
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
