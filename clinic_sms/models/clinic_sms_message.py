import logging
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from odoo import api, fields, models, modules
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..core import gateway as gw
from ..core import placeholders, planner, segments
from ..core.exceptions import TemplateError
from .clinic_sms_template import TEMPLATE_KINDS

_logger = logging.getLogger(__name__)

MESSAGE_KINDS = [*TEMPLATE_KINDS, ("inbound", "Reply from patient")]
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
    ("rejected", "Rejected by the gateway"),
    ("template_error", "Template cannot be filled in"),
    ("interrupted", "Sending interrupted"),
    ("staff", "Cancelled by staff"),
]
#: States in which a message blocks planning the same message again.
BLOCKING_STATES = ("scheduled", "queued", "sending", "sent", "delivered", "buffered")
#: States of a message that has not been handed to a gateway yet and can still be withdrawn.
UNSENT_STATES = ("scheduled", "queued")
#: Kinds about one appointment at one start.
EVENT_KINDS = ("reminder", "confirmation", "reschedule", "cancellation")
FINAL_STATES = ("delivered", "failed", "expired", "cancelled", "skipped")
BATCH_SIZE = 500
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
    partner_id = fields.Many2one("res.partner", "Patient", required=True, index=True, ondelete="cascade")
    number = fields.Char(readonly=True, help="Filled when the message is dispatched.")
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
    _dispatch_idx = models.Index("(state, due_at) WHERE state IN ('scheduled', 'queued')")
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
        blacklisted = self._blacklisted_numbers(self.partner_id.mapped("sms_number_e164"))
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
            ready.append((message, message.partner_id.sms_number_e164, body, segments.count_parts(body)))

        ready = self._reserve_credits(ready, updates, now)
        by_gateway = defaultdict(list)
        gateways = {
            company: company._clinic_sms_gateways()[:1] for company in {m.company_id for m, *_ in ready}
        }
        for item in ready:
            message = item[0]
            gateway = gateways[message.company_id]
            if not gateway:
                updates[message.id] = {
                    "reason": "no_gateway",
                    "error": self.env._("No SMS gateway is configured for this company."),
                    "due_at": now + NO_GATEWAY_RETRY,
                }
                continue
            by_gateway[gateway].append(item)

        consumption = []
        for gateway, items in by_gateway.items():
            outgoing = [
                gw.Outgoing(ref=str(message.id), number=number, body=body, sender=gateway.sender or "")
                for message, number, body, _parts in items
            ]
            results = gateway._clinic_sms_send(outgoing)
            for (message, number, body, parts), result in zip(items, results, strict=True):
                values = {
                    "number": number,
                    "body": body,
                    "encoding": parts.encoding,
                    "segments": parts.parts,
                    "gateway_id": gateway.id,
                    "attempts": message.attempts + 1,
                }
                if result.status in (gw.SENT, gw.DELIVERED):
                    credits = parts.parts * message.company_id.clinic_sms_credits_per_part
                    values.update(
                        state="delivered" if result.status == gw.DELIVERED else "sent",
                        reason=False,
                        error=False,
                        sent_at=now,
                        delivered_at=now if result.status == gw.DELIVERED else False,
                        provider_ref=result.provider_ref or False,
                        credits=credits,
                    )
                    consumption.append((message, credits))
                elif result.status == gw.TEMPORARY:
                    retry = gw.backoff(message.attempts + 1, to_aware(now))
                    values.update(state="queued", reason="gateway_error", error=result.error[:250])
                    values["due_at"] = to_naive(retry)
                else:
                    values.update(
                        state="failed", reason=result.reason or "rejected", error=result.error[:250]
                    )
                updates[message.id] = values
        self._write_rows(updates, now)
        if consumption:
            self.env["clinic.sms.credit"].sudo().create(
                [
                    {
                        "company_id": message.company_id.id,
                        "date": now,
                        "kind": "consumption",
                        "amount": -credits,
                        "message_id": message.id,
                    }
                    for message, credits in consumption
                ]
            )
        _logger.info(
            "clinic_sms: dispatched %d messages (%d handed to a gateway)",
            len(self),
            sum(len(items) for items in by_gateway.values()),
        )

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
        if partner.sms_opt_out or (partner.sms_number_e164 and partner.sms_number_e164 in blacklisted):
            return {"state": "skipped", "reason": "opted_out"}
        if partner.sms_number_state != "valid":
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

    def _reserve_credits(self, ready, updates, now):
        """Keep the messages the companies' balances pay for when their credit check is on."""
        checked = {m.company_id for m, *_ in ready if m.company_id.clinic_sms_credit_check}
        if not checked:
            return ready
        companies = self.env["res.company"].browse([c.id for c in checked])
        # One dispatcher at a time spends a company's credits.
        self.env.cr.execute(
            "SELECT id FROM res_company WHERE id IN %s ORDER BY id FOR UPDATE", [tuple(companies.ids)]
        )
        companies.invalidate_recordset(["clinic_sms_credit_balance"])
        balance = {c.id: c.clinic_sms_credit_balance for c in companies}
        kept = []
        for item in ready:
            message, _number, _body, parts = item
            company = message.company_id
            if company.id not in balance:
                kept.append(item)
                continue
            cost = parts.parts * company.clinic_sms_credits_per_part
            if cost <= balance[company.id]:
                balance[company.id] -= cost
                kept.append(item)
            else:
                updates[message.id] = {
                    "reason": "no_credit",
                    "error": self.env._("The credit balance does not pay for this message."),
                    "due_at": now + NO_CREDIT_RETRY,
                }
        return kept

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
