"""Planning: which messages appointments and birthdays call for, and when they are due.

An ``AbstractModel`` like ``calendar.alarm_manager``: no table, only the planning logic. It always
works in one explicit environment (:meth:`_planning_env`): superuser, active records only, and none of
its caller's context (``active_test``, language, time zone), so that what is planned never depends on
who or what triggered it. The decisions themselves are the core's (``core/planner.py`` for timing,
``core/eligibility.py`` for who may receive what).
"""

import json
from collections import defaultdict
from datetime import timedelta

from odoo import api, fields, models, modules
from odoo.exceptions import AccessError
from odoo.tools import SQL, split_every

from ..constants import BLOCKING_STATES, EVENT_KINDS, UNSENT_STATES, to_aware, to_naive
from ..core import eligibility, planner


class ClinicSmsPlanner(models.AbstractModel):
    _name = "clinic.sms.planner"
    _inherit = [
        "clinic.sms.planner.notices",
        "clinic.sms.planner.birthdays",
        "clinic.sms.planner.recalls",
        "clinic.sms.planner.days",
    ]
    _description = "Clinic SMS planner"

    SYNC_BATCH = 2000

    @api.model
    def _check_manager(self):
        if not (
            self.env.su
            or self.env.user.has_group("clinic_sms.group_clinic_sms_manager")
            or self.env.user.has_group("base.group_system")
        ):
            raise AccessError(self.env._("Only Clinic SMS administrators can do this."))

    @api.model
    def _synchronize(self, companies, batch_size=None, autocommit=False):
        """Plan what is missing for the future appointments of ``companies``, ``batch_size``
        appointments at a time (idempotent: what exists is kept). Answers the number checked."""
        company_ids = companies.ids
        self = self._planning_env()
        batch_size = batch_size or self.SYNC_BATCH
        Event = self.env["calendar.event"]
        Event.flush_model(["start", "active", "user_id"])
        default = self.env.company.id
        self.env.cr.execute(
            """SELECT e.id FROM calendar_event e LEFT JOIN res_users u ON u.id = e.user_id
                WHERE e.active AND e.start > %s
                  AND (u.company_id = ANY(%s) OR (e.user_id IS NULL AND %s))
                ORDER BY e.id""",
            [fields.Datetime.now(), company_ids, default in company_ids],
        )
        ids = [row[0] for row in self.env.cr.fetchall()]
        for batch in split_every(batch_size, ids):
            self._plan_reminders(Event.browse(batch))
            if autocommit and not modules.module.current_test:
                self.env["ir.cron"]._commit_progress(len(batch))
            self.env.invalidate_all()
        return len(ids)

    @api.model
    def _notice_settle(self):
        """How long notices settle before they go (``clinic_sms.notice_settle_minutes``, default
        ``core.planner.NOTICE_SETTLE_MINUTES``)."""
        value = self.env["ir.config_parameter"].sudo().get_param("clinic_sms.notice_settle_minutes")
        try:
            minutes = float(value) if value not in (None, False, "") else planner.NOTICE_SETTLE_MINUTES
        except ValueError:
            minutes = planner.NOTICE_SETTLE_MINUTES
        return timedelta(minutes=max(minutes, 0))

    @api.model
    def _planning_env(self):
        """The planner in its own environment: superuser, no inherited context."""
        return self.with_env(self.env(context={}, su=True))

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
    def _event_rows(self, event_ids):
        """The planning facts of the appointments ``event_ids``, read in one query as plain values:
        {id: (start, allday, start_date, active, sms_enabled, user_id, company_id, type ids,
        ((patient id, attendee state), …))}."""
        self.env["calendar.event"].flush_model()
        self.env["calendar.attendee"].flush_model(["event_id", "partner_id", "state"])
        cr = self.env.cr
        ids = list(event_ids)
        types, partners, answers = defaultdict(set), defaultdict(list), {}
        cr.execute("SELECT event_id, type_id FROM meeting_category_rel WHERE event_id = ANY(%s)", [ids])
        for event_id, type_id in cr.fetchall():
            types[event_id].add(type_id)
        cr.execute(
            "SELECT calendar_event_id, res_partner_id FROM calendar_event_res_partner_rel"
            " WHERE calendar_event_id = ANY(%s) ORDER BY res_partner_id",
            [ids],
        )
        for event_id, partner_id in cr.fetchall():
            partners[event_id].append(partner_id)
        cr.execute(
            "SELECT event_id, partner_id, state FROM calendar_attendee WHERE event_id = ANY(%s)", [ids]
        )
        for event_id, partner_id, state in cr.fetchall():
            answers[event_id, partner_id] = state or "needsAction"
        cr.execute(
            """SELECT e.id, e.start, e.allday, e.start_date, e.active, e.sms_enabled, e.user_id, u.company_id
                 FROM calendar_event e LEFT JOIN res_users u ON u.id = e.user_id
                WHERE e.id = ANY(%s)""",
            [ids],
        )
        rows = {}
        for eid, start, allday, start_date, active, sms_on, uid, cid in cr.fetchall():
            patients = tuple((pid, answers.get((eid, pid), "needsAction")) for pid in partners[eid])
            rows[eid] = (start, allday, start_date, active, sms_on, uid, cid, frozenset(types[eid]), patients)
        return rows

    @api.model
    def _plan_reminders(self, events, retime=False, former=None):
        """Bring the messages of ``events`` in line with their current state.

        Unsent messages that the rule book no longer allows (appointment cancelled or moved, patient
        removed or declined, rule archived, SMS switched off) are withdrawn with its reason, and those
        whose rule no longer concerns the appointment with ``rule_changed``; missing reminders are
        planned. With ``retime``, unsent reminders that stay get their due time recomputed (a rule's
        timing changed). Idempotent: what exists is kept.

        Under a rule with *One reminder per patient per day* (``one_per_day``), each patient's day is
        decided as a whole (``core.planner.one_per_day``): the patients' other appointments on the days
        these ones are or were on are planned along (``former``: {event id: (start, all-day, start date,
        patient ids)} before a change), the first appointment's reminder names the others' times, and
        theirs are withdrawn (``same_day``).

        It works on plain values (one query for the appointments, one for their messages), so that
        *Synchronize all* goes through the same code at the speed of the data: the rule book decides
        for every (appointment, patient, rule).
        """
        self = self._planning_env()
        Message = self.env["clinic.sms.message"]
        rows = self._event_rows(events.ids)
        if not rows:
            return
        now = fields.Datetime.now()
        now_aware = to_aware(now)
        internal = self._internal_partner_ids()
        rules_by_company = self._rules_by_company(["reminder"])
        existing = self._live_messages(rows)
        day_rule_ids = self._one_per_day_rule_ids(rules_by_company)
        days, tz_of = None, self._tz_getter()  # days: the (patient, day) decided as a whole
        reminded = set()
        if day_rule_ids:
            days, peer_ids, reminded = self._same_day_scope(
                rows, existing, internal, tz_of, day_rule_ids, former
            )
            if peer_ids:
                peers = self._event_rows(peer_ids)
                # Of the other appointments, only their patients' days in question are planned.
                for event_id, row in peers.items():
                    day = planner.local_day(row[0], row[1], row[2], tz_of(row[6]))
                    rows[event_id] = (*row[:8], tuple(p for p in row[8] if (p[0], day) in days))
                existing += [
                    message
                    for message in self._live_messages(peers)
                    if (message[2], planner.local_day(*peers[message[1]][:3], tz_of(peers[message[1]][6])))
                    in days
                ]
        by_key = {
            (e, p, r, start): (mid, state, kind, due, also)
            for mid, e, p, r, start, state, kind, due, also in existing
        }
        # A reminder the rule book skipped when it was due for a reason of the patient's own (no
        # number, opted out, no consent, ...) is on the log once: planning it again would only add
        # the same skip at the next dispatch. Staff who fixed the reason use Send again.
        skipped = self._skipped_for_patient(rows)
        keep, dropped, merged = set(), set(), set()
        retimed, recoalesced, vals_list = [], [], []
        groups = defaultdict(list)  # (patient, day, rule) -> [(DayAppointment, planning context)]
        applicable = {}  # event id -> ids of the reminder rules that concern it
        default_company = self.env.company
        companies = {}  # company id -> (company, Clinic fact, planner settings)
        rule_facts = {}  # rule id -> (confirmed only, RuleTiming)
        rules_of = {}  # (company id, appointment types) -> applicable rules
        patients = {}  # (internal, attendee state) -> core Patient fact

        def place(event, partner_id, rule, timing, settings, also=()):
            """Keep (or retime) the reminder of ``event`` to ``partner_id``, or plan it."""
            event_id, start, allday, start_date, uid, cid = event
            started = start <= now
            also = json.dumps([value.isoformat() for value in also]) if also else False
            found = by_key.get((event_id, partner_id, rule.id, start))
            if not found and (event_id, partner_id, rule.id, start) in skipped:
                return
            if found and found[2] == "reminder":
                keep.add(found[0])
                if found[1] in UNSENT_STATES and (found[4] or False) != also:
                    recoalesced.append((found[0], also))
                if started or not (retime and found[1] == "scheduled"):
                    return
            elif started:
                return
            plan = planner.plan_reminder(timing, now_aware, start, allday, start_date, settings)
            if found:
                if plan is None:
                    keep.discard(found[0])
                    dropped.add(found[0])
                elif to_naive(plan.due_at) != found[3]:
                    retimed.append((found[0], plan))
                return
            if plan is None:
                return
            vals_list.append(
                {
                    "kind": "reminder",
                    "rule_id": rule.id,
                    "event_id": event_id,
                    "event_start": start,
                    "user_id": uid,
                    "partner_id": partner_id,
                    "company_id": cid,
                    "state": "scheduled",
                    "due_at": to_naive(plan.due_at),
                    "expire_at": to_naive(plan.expire_at),
                    "coalesced_starts": also,
                }
            )

        for event_id, (
            start,
            allday,
            start_date,
            active,
            sms_on,
            _uid,
            cid,
            types,
            attendees,
        ) in rows.items():
            cid = cid or default_company.id
            if cid not in companies:
                company = self.env["res.company"].browse(cid)
                companies[cid] = (
                    company,
                    eligibility.Clinic(enabled=bool(company.clinic_sms_enabled)),
                    self._settings(company),
                )
            company, clinic, settings = companies[cid]
            if (cid, types) not in rules_of:
                rules_of[cid, types] = [
                    rule
                    for rule in self._applicable_rules(rules_by_company, "reminder", company)
                    if not rule.event_type_ids or set(rule.event_type_ids.ids) & types
                ]
            rules = rules_of[cid, types]
            applicable[event_id] = {rule.id for rule in rules}
            if not active or not clinic.enabled or not sms_on:
                continue  # its unsent messages are withdrawn below, with the rule book's reason
            start_aware = to_aware(start)
            appointment = eligibility.Appointment(
                start=start_aware,
                begin=planner.event_start(start, allday, start_date, settings.tz),
                sms_enabled=True,
            )
            event = (event_id, start, allday, start_date, _uid, cid)
            day = planner.local_day(start, allday, start_date, settings.tz) if days is not None else None
            # The message facts of this appointment's reminders, one per rule (not per patient).
            reminders = []
            for rule in rules:
                if rule.id not in rule_facts:
                    rule_facts[rule.id] = (
                        bool(rule.confirmed_only),
                        planner.RuleTiming(rule.timing, rule.hours_before, rule.days_before, rule.send_hour),
                    )
                confirmed_only, timing = rule_facts[rule.id]
                message_fact = eligibility.Message(
                    kind="reminder",
                    planned_start=start_aware,
                    rule_active=True,
                    rule_confirmed_only=confirmed_only,
                )
                reminders.append((rule, message_fact, timing))
            for partner_id, answer in attendees:
                fact_key = (partner_id in internal, answer)
                if fact_key not in patients:
                    patients[fact_key] = eligibility.Patient(internal=fact_key[0], attendee_state=answer)
                for rule, message_fact, timing in reminders:
                    facts = eligibility.Facts(
                        message=message_fact,
                        patient=patients[fact_key],
                        clinic=clinic,
                        appointment=appointment,
                        now=now_aware,
                    )
                    if not eligibility.may_plan(facts):
                        continue
                    if rule.id in day_rule_ids:
                        groups[partner_id, day, rule.id].append(
                            (
                                planner.DayAppointment(event_id, appointment.begin, start),
                                (event, timing, settings),
                            )
                        )
                    else:
                        place(event, partner_id, rule, timing, settings)
        for (partner_id, day, rule_id), members in groups.items():
            rule = self.env["clinic.sms.rule"].browse(rule_id)
            result = planner.one_per_day(
                [appointment for appointment, _context in members], (partner_id, day, rule_id) in reminded
            )
            for appointment, (event, timing, settings) in members:
                if appointment.id == result.first:
                    place(event, partner_id, rule, timing, settings, result.also)
                    continue
                found = by_key.get((appointment.id, partner_id, rule_id, appointment.start))
                if found and found[2] == "reminder" and found[1] in UNSENT_STATES:
                    merged.add(found[0])
        unsent = Message.browse(
            [mid for mid, *_rest, state, _kind, _due, _also in existing if state in UNSENT_STATES]
        ) - Message.browse(keep)
        if unsent:
            decisions = self.env["clinic.sms.eligibility"]._decide_messages(unsent, now, eligibility.PLAN)
            withdraw = defaultdict(Message.browse)  # (state, reason) -> messages
            for message in unsent:
                decision = decisions.get(message.id)
                if decision:
                    withdraw[decision.state, decision.reason] |= message
                elif (
                    message.kind == "reminder"
                    and message.rule_id
                    and message.rule_id.id not in applicable.get(message.event_id.id, ())
                ) or message.id in dropped:
                    withdraw["cancelled", "rule_changed"] |= message
                elif message.id in merged:
                    withdraw["cancelled", "same_day"] |= message
            for (state, reason), messages in withdraw.items():
                messages.write({"state": state, "reason": reason or False})
        for message_id, plan in retimed:
            Message.browse(message_id).write(
                {"due_at": to_naive(plan.due_at), "expire_at": to_naive(plan.expire_at), "state": "scheduled"}
            )
        for message_id, also in recoalesced:
            Message.browse(message_id).write({"coalesced_starts": also})
        if vals_list:
            self._insert_messages(vals_list)

    @api.model
    def _skipped_for_patient(self, rows):
        """The (appointment, patient, rule, start) of the reminders about the appointments ``rows``
        that were skipped at dispatch for one of the patient's own reasons."""
        self.env["clinic.sms.message"].flush_model()
        self.env.cr.execute(
            """SELECT event_id, partner_id, rule_id, event_start FROM clinic_sms_message
                WHERE event_id = ANY(%s) AND kind = 'reminder' AND state = 'skipped'
                  AND reason = ANY(%s)""",
            [list(rows), list(eligibility.PATIENT_REASONS)],
        )
        return set(self.env.cr.fetchall())

    @api.model
    def _live_messages(self, rows):
        """The live messages (unsent or gone) about the appointments ``rows``, as plain values:
        [(id, event id, patient id, rule id, start, state, kind, due at, coalesced starts)]."""
        self.env["clinic.sms.message"].flush_model()
        self.env.cr.execute(
            """SELECT id, event_id, partner_id, rule_id, event_start, state, kind, due_at, coalesced_starts
                 FROM clinic_sms_message
                WHERE event_id = ANY(%s) AND kind = ANY(%s) AND state = ANY(%s)""",
            [list(rows), list(EVENT_KINDS), list(BLOCKING_STATES)],
        )
        return self.env.cr.fetchall()

    #: The columns :meth:`_insert_messages` writes, with their SQL types.
    _INSERT_COLUMNS = (
        ("kind", "varchar"),
        ("rule_id", "int4"),
        ("event_id", "int4"),
        ("event_start", "timestamp"),
        ("user_id", "int4"),
        ("partner_id", "int4"),
        ("company_id", "int4"),
        ("state", "varchar"),
        ("due_at", "timestamp"),
        ("expire_at", "timestamp"),
        ("coalesced_starts", "text"),
    )

    @api.model
    def _insert_messages(self, vals_list):
        """Create the planned messages ``vals_list`` (of :meth:`_message_vals`) in one query per
        thousand rows. A row that a partial unique index already holds (another transaction planned
        it meanwhile) is skipped, not an error: planning is idempotent. Answers the number inserted."""
        Message = self.env["clinic.sms.message"]
        Message.flush_model()
        names = [name for name, _type in self._INSERT_COLUMNS]
        now = fields.Datetime.now()
        inserted = 0
        for chunk in split_every(1000, vals_list):
            columns = {name: [vals.get(name) or None for vals in chunk] for name in names}
            self.env.cr.execute(
                SQL(
                    "INSERT INTO clinic_sms_message (%s, create_uid, create_date, write_uid, write_date)"
                    " SELECT *, %s, %s, %s, %s FROM unnest(%s) ON CONFLICT DO NOTHING",
                    SQL(", ").join(SQL.identifier(name) for name in names),
                    self.env.uid,
                    now,
                    self.env.uid,
                    now,
                    SQL(", ").join(
                        SQL("%s::" + ctype + "[]", columns[name]) for name, ctype in self._INSERT_COLUMNS
                    ),
                )
            )
            inserted += self.env.cr.rowcount
        Message.invalidate_model()
        return inserted
