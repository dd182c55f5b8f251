"""Dispatch: due messages are re-checked, rendered, paid for and handed to the gateways in batches.

A crash never sends twice. The rows of a batch that are about to be handed to a gateway are written
``sending`` first, with the gateway, number and text they go with, and in the cron that is committed
before any gateway is asked; the gateways' answers are written after. A dispatcher that dies in
between (a crash, or Odoo killing a cron worker past ``limit_time_real_cron``) leaves its rows
``sending``, and a later run resolves them without a blind re-send (``_resolve_interrupted``, in
``clinic_sms_message_recovery.py``).

Credits are paid through the ledger's API (``clinic.sms.credit``: reserve before the gateway call,
settle after it); the text is rendered by ``clinic_sms_message_render.py``. What the rule book
sends by e-mail bypasses gateways and credits (``clinic_sms_message_email.py``).
"""

import logging
import time
from collections import defaultdict
from dataclasses import dataclass

from odoo import api, fields, models, modules
from odoo.tools import SQL

from ..constants import (
    BATCH_SIZE,
    NO_CREDIT_RETRY,
    NO_GATEWAY_RETRY,
    REASON_CODES,
    SENDING_GRACE,
    to_aware,
    to_naive,
)
from ..core import eligibility, planner, segments
from ..core import gateway as gw
from ..core.exceptions import TemplateError

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outbound:
    """One message on its way to a gateway, as the dispatcher carries it through a batch."""

    message: models.BaseModel  # the clinic.sms.message row
    number: str  # E.164, where it goes
    body: str  # the text as rendered now
    parts: segments.Parts
    attempts: int  # hand-overs to a gateway, this one included


class ClinicSmsMessageDispatch(models.AbstractModel):
    """The dispatch half of ``clinic.sms.message`` (a mixin of it, as ``mail.thread``'s parts are)."""

    _name = "clinic.sms.message.dispatch"
    _description = "Clinic SMS message: dispatch"

    # ------------------------------------------------------------------ dispatch

    @api.model
    def _cron_dispatch(self, batch_size=BATCH_SIZE):
        """Send what is due: expire what is too late, queue what is due, resolve what an interrupted
        dispatcher left ``sending``, then send in batches.

        Run by the cron, every batch is its own transaction (committed through
        ``ir.cron._commit_progress``), so that a second dispatcher running at the same time takes
        other rows (``FOR UPDATE SKIP LOCKED``) and sees the rows the first one has finished; the
        run stops between batches when ``_commit_progress`` says the cron's time is up, reporting
        what is left so that Odoo runs it again at once. Tests run it in their own transaction
        unless they ask for ``clinic_sms_autocommit``.
        """
        now = fields.Datetime.now()
        autocommit = self._dispatch_autocommit()
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
                                FOR UPDATE SKIP LOCKED)
            RETURNING partner_id, kind, state""",
            {"now": now},
        )
        settled = {
            partner_id
            for partner_id, kind, state in cr.fetchall()
            if partner_id and state == "queued" and kind in planner.NOTICE_KINDS
        }
        self.invalidate_model(["state"])
        if settled:
            # Notices that settled become one conversation per patient before any goes.
            self.env["clinic.sms.planner"]._coalesce_notices(now, settled)
            self.env.flush_all()
        done, stopped, fresh = 0, False, True
        for state in ("sending", "queued"):
            while not stopped:
                if autocommit and not fresh:
                    self._begin_queue_transaction()
                fresh = False  # the first look for interrupted rows shares the queueing's transaction
                ids = self._dispatch_take(state, now, batch_size)
                if not ids:
                    break
                batch = self.browse(ids).sudo()
                if state == "sending":
                    batch._resolve_interrupted(now)
                else:
                    batch.with_context(clinic_sms_commit_sending=autocommit)._dispatch_batch(now)
                done += len(ids)
                if self._dispatch_time_left(len(ids), autocommit) <= 0:
                    self._dispatch_stop(now, autocommit)
                    stopped = True
        if done:
            # Chatter notes are written by their own job, outside the dispatch batches.
            self.env.ref("clinic_sms.ir_cron_clinic_sms_event_notes")._trigger()
        return done

    def _dispatch_autocommit(self):
        """Whether this run commits batch by batch: in the cron, not in tests (unless asked)."""
        context = self.env.context
        return context.get(
            "clinic_sms_autocommit", bool(context.get("cron_id")) and not modules.module.current_test
        )

    def _dispatch_take(self, state, now, batch_size):
        """Lock and answer the ids of the next batch: due ``queued`` rows, or ``sending`` rows that
        no live dispatcher holds (locked rows are skipped) and that are older than a short grace."""
        if state == "sending":
            self.env.cr.execute(
                """SELECT id FROM clinic_sms_message
                    WHERE state = 'sending' AND write_date <= %s
                    ORDER BY id
                    LIMIT %s
                    FOR UPDATE SKIP LOCKED""",
                [now - SENDING_GRACE, batch_size],
            )
        else:
            self.env.cr.execute(
                """SELECT id FROM clinic_sms_message
                    WHERE state = 'queued' AND due_at <= %s
                    ORDER BY due_at, id
                    LIMIT %s
                    FOR UPDATE SKIP LOCKED""",
                [now, batch_size],
            )
        return [row[0] for row in self.env.cr.fetchall()]

    def _dispatch_time_left(self, processed, autocommit):
        """Commit the batch (in the cron) and answer the seconds the cron may still run: what
        ``ir.cron._commit_progress`` answers, or, without commits, what the context's
        ``cron_end_time`` leaves (infinite outside a cron)."""
        if autocommit:
            self.env.flush_all()
            return self.env["ir.cron"]._commit_progress(processed)
        end = self.env.context.get("cron_end_time")
        return float("inf") if end is None else max(end - time.monotonic(), 0)

    def _dispatch_stop(self, now, autocommit):
        """The cron's time is up: report how many rows are left so that Odoo runs it again at once
        (a job that reports work remaining is rescheduled as soon as possible)."""
        self.env.cr.execute(
            """SELECT count(*) FROM clinic_sms_message
                WHERE (state = 'queued' AND due_at <= %s) OR (state = 'sending' AND write_date <= %s)""",
            [now, now - SENDING_GRACE],
        )
        left = self.env.cr.fetchone()[0]
        if autocommit:
            self.env["ir.cron"]._commit_progress(remaining=left)
        _logger.info("clinic_sms: dispatch stopped, its time is up; %d messages left for the next run", left)

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
        """Re-check, render and send the locked queued messages ``self``.

        The rows about to be handed to a gateway are written ``sending`` before it is asked
        (:meth:`_mark_sending`; committed when the context says ``clinic_sms_commit_sending``, as the
        cron's batches do), the answers after, each in one query for the batch.
        """
        # The rule book's facts for the whole batch, read at once (patients' blacklisting, the
        # appointments' attendees, internal partners), and each company's settings once.
        Eligibility = self.env["clinic.sms.eligibility"]
        context = Eligibility._context(
            self.partner_id, self.event_id.with_context(active_test=False).exists()
        )
        context["blacklisted"] |= Eligibility._blacklisted_numbers(self.mapped("number"))
        context["settings"] = {}
        updates = {}
        ready = []
        emails = []  # (message, body, subject): what the rule book sends by e-mail
        for message in self:
            values = message._check_before_sending(now, context)
            if values:
                updates[message.id] = values
                continue
            try:
                if message.id in context.get("email", ()):
                    emails.append((message, *message._clinic_sms_email_render()))
                    continue
                body = message._render_body()
            except TemplateError as error:
                updates[message.id] = {
                    "state": "failed",
                    "reason": "template_error",
                    "error": error.message[:250],
                }
                continue
            number = message._destination()
            ready.append(Outbound(message, number, body, segments.count_parts(body), message.attempts + 1))
        # E-mails bypass gateways and credits; queued in this transaction, with their rows' "sent".
        updates.update(self._clinic_sms_send_emails(emails, now))

        routes = {}  # company -> its active gateways in order
        candidates = {}  # message id -> the gateways that serve its number, in the order to try them
        routable = []
        for item in ready:
            company = item.message.company_id
            if company not in routes:
                routes[company] = company._clinic_sms_gateways()
            found = list(company._clinic_sms_gateways_for(item.number, routes[company]))
            if not found:
                updates[item.message.id] = {
                    "reason": "no_gateway",
                    "error": self.env._("No SMS gateway is configured for this company.")
                    if not routes[company]
                    else self.env._("None of this company's SMS gateways sends to this country."),
                    "due_at": now + NO_GATEWAY_RETRY,
                }
                continue
            candidates[item.message.id] = found
            routable.append(item)
        costs = {
            item.message.id: item.message.company_id._clinic_sms_cost(item.number, item.parts.parts)
            for item in routable
        }
        Ledger = self.env["clinic.sms.credit"]
        ready, refused, reserved = Ledger._reserve(routable, costs, now)
        for item in refused:
            updates[item.message.id] = {
                "reason": "no_credit",
                "error": self.env._("The credit balance does not pay for this message."),
                "due_at": now + NO_CREDIT_RETRY,
            }

        delivered = []  # items the gateways took
        handed = 0
        pending = [(item, 0) for item in ready]  # (item, index of the gateway to try in its candidates)
        # Each round hands every pending message to its current gateway; a temporary failure moves
        # the message on to the next gateway that serves its number, in the same run.
        while pending:
            pending = self._mark_sending(pending, candidates, updates)
            by_gateway = defaultdict(list)
            for item, index in pending:
                by_gateway[candidates[item.message.id][index]].append((item, index))
            pending = []
            for gateway, entries in by_gateway.items():
                sender = gateway.sender or ""
                outgoing = [
                    gw.Outgoing(ref=str(item.message.id), number=item.number, body=item.body, sender=sender)
                    for item, _index in entries
                ]
                results = gateway._clinic_sms_send(outgoing)
                handed += len(outgoing)
                for (item, index), result in zip(entries, results, strict=True):
                    if result.status == gw.TEMPORARY and index + 1 < len(candidates[item.message.id]):
                        pending.append((item, index + 1))
                        continue
                    updates[item.message.id] = self._result_values(
                        item, gateway, result, now, costs[item.message.id]
                    )
                    if result.status in (gw.SENT, gw.DELIVERED):
                        delivered.append(item)
        self._write_rows(updates, now)
        if stranded := [c.id for c, gateways in routes.items() if not gateways]:
            self.env["res.company"].browse(stranded)._clinic_sms_no_gateway_warning_due()
        Ledger._settle(ready, delivered, reserved, costs, now)
        self._update_odoo_sms()
        _logger.info("clinic_sms: dispatched %d messages (%d handed to a gateway)", len(self), handed)

    def _mark_sending(self, pending, candidates, updates):
        """Write ``updates`` (what the batch knows so far) and ``sending`` for every ``pending``
        message, with the gateway it is about to be handed to, the number, text and parts it goes
        with and its attempts, in one query; ``updates`` is emptied.

        With ``clinic_sms_commit_sending`` this is committed before any gateway is asked, and the
        rows are locked again in the next transaction: a later run tells this live batch from one
        whose dispatcher died by that lock. Answers the pending entries still to hand over.
        """
        for item, index in pending:
            updates[item.message.id] = {
                "state": "sending",
                "gateway_id": candidates[item.message.id][index].id,
                "number": item.number,
                "body": item.body,
                "encoding": item.parts.encoding,
                "segments": item.parts.parts,
                "attempts": item.attempts,
            }
        self._write_rows(updates, fields.Datetime.now())
        updates.clear()
        if not self.env.context.get("clinic_sms_commit_sending"):
            return pending
        cr = self.env.cr
        self.env["ir.cron"]._commit_progress()
        cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        cr.execute(
            "SELECT id FROM clinic_sms_message WHERE id = ANY(%s) AND state = 'sending' FOR UPDATE",
            [[item.message.id for item, _index in pending]],
        )
        locked = {row[0] for row in cr.fetchall()}
        return [entry for entry in pending if entry[0].message.id in locked]

    def _destination(self):
        """The number to send to: the one the message was created for when it answers a number
        (Odoo's own SMS, an opt-out confirmation), else the patient's current SMS number."""
        self.ensure_one()
        if self.number and (self.sms_uuid or self.kind == "opt_out"):
            return self.number
        return self.partner_id.sms_number_e164 or self.number

    @api.model
    def _result_values(self, item, gateway, result, now, cost):
        """The write values for the message of ``item`` (an :class:`Outbound`) after ``gateway``
        answered ``result`` for it."""
        values = {
            "number": item.number,
            "body": item.body,
            "encoding": item.parts.encoding,
            "segments": item.parts.parts,
            "gateway_id": gateway.id,
            "simulated": gateway.simulated,
            "attempts": item.attempts,
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
            retry = gw.backoff(item.attempts, to_aware(now), result.retry_after)
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

    def _check_before_sending(self, now, context):
        """The write values that stop this message from going now, or None when it may go: first
        what the rule book (``core/eligibility.py``) says, then the message's own time (expiry,
        window). ``context``: the batch's facts (``clinic.sms.eligibility._context``) and a cache of
        the companies' settings under ``"settings"``; a message that may go by e-mail (the rule
        book's ``channel``) is added to the set under ``"email"``."""
        self.ensure_one()
        company = self.company_id
        cached = context.setdefault("settings", {})
        if company.id not in cached:
            cached[company.id] = self.env["clinic.sms.planner"]._settings(company)
        settings = cached[company.id]
        if self.expire_at and self.expire_at <= now:
            return {"state": "expired"}
        Eligibility = self.env["clinic.sms.eligibility"]
        facts = Eligibility._message_facts(self, context, now)
        decision = eligibility.decide(facts)
        if decision:
            values = {"state": decision.state, "reason": decision.reason or False}
            if decision.reason == "invalid_number" and decision.detail:
                problems = dict(
                    self.partner_id._fields["sms_number_problem"]._description_selection(self.env)
                )
                values["error"] = problems.get(decision.detail, False)
            elif decision.reason == "opted_out" and decision.detail == "blacklisted":
                values["error"] = self.env._("The number is on the blacklist.")
            return values
        if not planner.may_send_now(to_aware(now), to_aware(self.due_at), settings):
            opens = planner.timing.next_window_open(
                to_aware(now), settings.tz, settings.window_start, settings.window_end
            )
            if self.expire_at and to_naive(opens) >= self.expire_at:
                return {"state": "expired", "reason": "outside_window"}
            return {"reason": "outside_window", "due_at": to_naive(opens)}
        if eligibility.channel(facts) == eligibility.EMAIL:
            context.setdefault("email", set()).add(self.id)  # the batch sends it by e-mail
        return None

    def _write_rows(self, updates, now):
        """Write the per-message values ``updates`` ({id: values}) of a batch in one query; a
        column a row's values do not name keeps its value."""
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
            ("channel", "varchar"),
            ("email_to", "varchar"),
            ("mail_id", "int4"),
        ]
        names = [name for name, _type in columns]
        ids, masks = list(updates), []
        arrays = {name: [] for name in names}
        for values in updates.values():
            # Bit i of the mask says that the row sets column i.
            masks.append(sum(1 << i for i, name in enumerate(names) if name in values))
            for name in names:
                arrays[name].append(values.get(name) or None)
        # One array per column (unnest), not a VALUES list: the query's size does not grow with
        # the number of values, and building it costs no Python per value.
        self.env.cr.execute(
            SQL(
                "UPDATE clinic_sms_message AS m SET %s, write_date = %s, write_uid = %s"
                " FROM unnest(%s::int4[], %s::int4[], %s) AS v(id, mask, %s) WHERE m.id = v.id",
                SQL(", ").join(
                    SQL(f"{name} = CASE WHEN v.mask & {1 << i} = 0 THEN m.{name} ELSE v.{name} END")
                    for i, (name, _ctype) in enumerate(columns)
                ),
                now,
                self.env.uid,
                ids,
                masks,
                SQL(", ").join(SQL(f"%s::{ctype}[]", arrays[name]) for name, ctype in columns),
                SQL(", ").join(SQL.identifier(name) for name in names),
            )
        )
        self.invalidate_model([*names, "write_date", "write_uid"])
