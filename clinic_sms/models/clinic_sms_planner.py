"""Planning: which messages appointments and birthdays call for, and when they are due.

An ``AbstractModel`` like ``calendar.alarm_manager``: no table, only the planning logic. It always
works in one explicit environment (:meth:`_planning_env`): superuser, active records only, and none of
its caller's context (``active_test``, language, time zone), so that what is planned never depends on
who or what triggered it. The decisions themselves are the core's (``core/planner.py`` for timing,
``core/eligibility.py`` for who may receive what).
"""

from collections import defaultdict
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from odoo import api, fields, models

from ..constants import BLOCKING_STATES, EVENT_KINDS, UNSENT_STATES, to_aware, to_naive
from ..core import planner


class ClinicSmsPlanner(models.AbstractModel):
    _name = "clinic.sms.planner"
    _description = "Clinic SMS planner"

    @api.model
    def _planning_env(self):
        """The planner in its own environment: superuser, no inherited context."""
        return self.with_env(self.env(context={}, su=True))

    @api.model
    def _plan_birthdays(self):
        """Plan today's birthday greetings, in each company's time zone."""
        self = self._planning_env()
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
            settings = self._settings(company)
            today = to_aware(now).astimezone(ZoneInfo(settings.tz)).date()
            partner_ids = self._birthday_partner_ids(company, company == default_company, today, internal)
            if not partner_ids:
                continue
            existing = self.env["clinic.sms.message"].search_fetch(
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
                self.env["clinic.sms.message"].create(vals_list)
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

    @api.model
    def _internal_partner_ids(self):
        """Partners of internal users (archived users included): never messaged as patients."""
        self.env["res.users"].flush_model(["partner_id", "share"])
        self.env.cr.execute("SELECT partner_id FROM res_users WHERE share IS NOT TRUE")
        return {row[0] for row in self.env.cr.fetchall()}

    @api.model
    def _settings(self, company):
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

    @api.model
    def _plan_reminders(self, events, retime=False):
        """Bring the reminders of ``events`` in line with their current state.

        Unsent messages that no longer fit (appointment cancelled or moved, patient removed, rule no
        longer applying, SMS switched off) are withdrawn with their reason; missing reminders are
        planned. With ``retime``, unsent reminders that stay get their due time recomputed (a rule's
        timing changed).
        """
        self = self._planning_env()
        Message = self.env["clinic.sms.message"].sudo()
        events = events.with_env(self.env).with_context(active_test=False).exists()
        if not events:
            return
        now = fields.Datetime.now()
        internal = self._internal_partner_ids()
        rules_by_company = self._rules_by_company(["reminder"])
        existing = Message.search_fetch(
            [("event_id", "in", events.ids), ("kind", "in", EVENT_KINDS), ("state", "in", BLOCKING_STATES)],
            ["event_id", "partner_id", "rule_id", "event_start", "state", "kind", "due_at"],
        )
        by_key = {(m.event_id.id, m.partner_id.id, m.rule_id.id, m.event_start): m for m in existing}
        notices_by_event = defaultdict(list)
        for message in existing:
            if message.kind != "reminder":
                notices_by_event[message.event_id.id].append(message)
        keep = set()
        withdraw = defaultdict(lambda: Message.browse())  # (state, reason) -> messages
        retimed = []
        vals_list = []
        for event in events:
            company = event._clinic_sms_company()
            patients = event._clinic_sms_patients(internal) if event.active else event.partner_ids.browse()
            if not event.active or not company.clinic_sms_enabled or not event.sms_enabled:
                continue  # its unsent messages are withdrawn below, with the reason
            settings = self._settings(company)
            rules = self._applicable_rules(rules_by_company, "reminder", company, event)
            for message in notices_by_event[event.id]:
                if message.event_start == event.start and message.partner_id in patients:
                    keep.add(message.id)
            for rule in rules:
                for partner in patients:
                    key = (event.id, partner.id, rule.id, event.start)
                    message = by_key.get(key)
                    if message and message.kind == "reminder":
                        keep.add(message.id)
                        if not (retime and message.state == "scheduled"):
                            continue
                    elif event.start <= now:
                        continue
                    plan = planner.plan_reminder(
                        planner.RuleTiming(rule.timing, rule.hours_before, rule.days_before, rule.send_hour),
                        to_aware(now),
                        event.start,
                        event.allday,
                        event.start_date,
                        settings,
                    )
                    if message:
                        if plan is None:
                            keep.discard(message.id)
                        elif to_naive(plan.due_at) != message.due_at:
                            retimed.append((message, plan))
                        continue
                    if plan is None:
                        continue
                    vals_list.append(
                        self._message_vals(event, "reminder", rule, partner, company, plan, "scheduled")
                    )
        for message in existing:
            if message.id in keep or message.state not in UNSENT_STATES or message.kind == "cancellation":
                continue
            event = message.event_id
            company = event._clinic_sms_company()
            if not event.active:
                withdraw["cancelled", "appointment_cancelled"] |= message
            elif message.event_start != event.start:
                withdraw["cancelled", "appointment_moved"] |= message
            elif message.partner_id not in event._clinic_sms_patients(internal):
                withdraw["cancelled", "patient_removed"] |= message
            elif not company.clinic_sms_enabled:
                withdraw["skipped", "sms_off"] |= message
            elif not event.sms_enabled:
                withdraw["skipped", "sms_disabled"] |= message
            else:
                withdraw["cancelled", "rule_changed"] |= message
        for (state, reason), messages in withdraw.items():
            messages.write({"state": state, "reason": reason})
        for message, plan in retimed:
            message.write(
                {"due_at": to_naive(plan.due_at), "expire_at": to_naive(plan.expire_at), "state": "scheduled"}
            )
        if vals_list:
            Message.create(vals_list)

    @api.model
    def _plan_moved(self, events):
        """Tell the patients of moved appointments their new time.

        A patient whose booking confirmation had not gone yet gets a confirmation for the new time
        instead (the old one was withdrawn as moved); the others get the moved-appointment notice.
        """
        self = self._planning_env()
        Message = self.env["clinic.sms.message"].sudo()
        told = Message.search_fetch(
            [("event_id", "in", events.ids), ("kind", "=", "confirmation"), ("state", "in", BLOCKING_STATES)],
            ["event_id", "partner_id"],
        )
        confirmed = {(m.event_id.id, m.partner_id.id) for m in told}
        withdrawn = Message.search_fetch(
            [
                ("event_id", "in", events.ids),
                ("kind", "=", "confirmation"),
                ("state", "=", "cancelled"),
                ("reason", "=", "appointment_moved"),
            ],
            ["event_id", "partner_id"],
        )
        unconfirmed = {(m.event_id.id, m.partner_id.id) for m in withdrawn} - confirmed
        internal = self._internal_partner_ids()
        confirm, notify = defaultdict(set), defaultdict(set)
        for event in events:
            for partner in event._clinic_sms_patients(internal):
                target = confirm if (event.id, partner.id) in unconfirmed else notify
                target[event.id].add(partner.id)
        self._plan_notices(events, "confirmation", confirm)
        self._plan_notices(events, "reschedule", notify)

    @api.model
    def _plan_notices(self, events, kind, partners_by_event=None, prerender=False):
        """Plan a notice of ``kind`` (confirmation, reschedule, cancellation) for these appointments.

        ``partners_by_event`` limits it to some patients of each appointment. ``prerender`` fills the
        text in at once (the appointment is about to be deleted and cannot be read at dispatch).
        """
        self = self._planning_env()
        Message = self.env["clinic.sms.message"].sudo()
        events = events.with_env(self.env).with_context(active_test=False).exists()
        if not events:
            return Message
        now = fields.Datetime.now()
        internal = self._internal_partner_ids()
        rules_by_company = self._rules_by_company([kind])
        existing = Message.search_fetch(
            [("event_id", "in", events.ids), ("kind", "=", kind), ("state", "in", BLOCKING_STATES)],
            ["event_id", "partner_id", "rule_id", "event_start"],
        )
        seen = {(m.event_id.id, m.partner_id.id, m.rule_id.id, m.event_start) for m in existing}
        vals_list = []
        for event in events:
            company = event._clinic_sms_company()
            if not company.clinic_sms_enabled or not event.sms_enabled:
                continue
            rules = self._applicable_rules(rules_by_company, kind, company, event)
            if not rules:
                continue
            settings = self._settings(company)
            begin = planner.event_start(event.start, event.allday, event.start_date, settings.tz)
            plan = planner.plan_notice(kind, to_aware(now), begin, settings)
            if plan is None:
                continue
            patients = event._clinic_sms_patients(internal)
            if partners_by_event is not None:
                patients = patients.filtered(lambda p, ev=event: p.id in partners_by_event.get(ev.id, ()))
            for rule in rules:
                for partner in patients:
                    if (event.id, partner.id, rule.id, event.start) in seen:
                        continue
                    vals_list.append(
                        self._message_vals(
                            event,
                            kind,
                            rule,
                            partner,
                            company,
                            plan,
                            "queued" if plan.due_at <= to_aware(now) else "scheduled",
                        )
                    )
        messages = Message.create(vals_list) if vals_list else Message
        if prerender:
            for message in messages:
                message.body = message._render_body()
        return messages

    @api.model
    def _message_vals(self, event, kind, rule, partner, company, plan, state):
        """Values of a message of ``event`` at its current start."""
        return {
            "kind": kind,
            "rule_id": rule.id,
            "event_id": event.id,
            "event_start": event.start,
            "user_id": event.user_id.id,
            "partner_id": partner.id,
            "company_id": company.id,
            "state": state,
            "due_at": to_naive(plan.due_at),
            "expire_at": to_naive(plan.expire_at),
        }
