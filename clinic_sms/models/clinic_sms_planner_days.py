"""One reminder per patient per day: which appointments and messages a batch of planning must see so
that each patient's day is decided as a whole (a mixin of ``clinic.sms.planner``).

Planning gets only the appointments that changed. Under a reminder rule with *One reminder per patient
per day*, a change to one appointment can change the reminder of another one of the patient's that
day (the first one's "Also: …", or which one is first), on the day it is on now and on the day it
was on before. :meth:`_same_day_scope` finds those days and the patients' other appointments on them
(a few queries per batch, not per appointment); the decision itself is ``core.planner.one_per_day``.
"""

from odoo import api, models

from ..constants import BLOCKING_STATES, UNSENT_STATES
from ..core import planner

#: States of a reminder that reached (or is on its way to) the patient.
GONE_STATES = tuple(state for state in BLOCKING_STATES if state not in UNSENT_STATES)


class ClinicSmsPlannerDays(models.AbstractModel):
    _name = "clinic.sms.planner.days"
    _description = "Clinic SMS planner: one reminder per patient per day"

    @api.model
    def _one_per_day_rule_ids(self, rules_by_company):
        return {rule.id for rules in rules_by_company.values() for rule in rules if rule.one_per_day}

    @api.model
    def _same_day_scope(self, rows, existing, internal, tz_of, rule_ids, former=None):
        """The patients' days that the appointments ``rows`` (of :meth:`_event_rows`) touch, for the
        reminder rules ``rule_ids`` that have the option; ``former``: {event id: (start, all-day, start
        date, patient ids)} before a change (the day it left, the patients it lost).

        Answers ``(days, peer_ids, reminded)``: ``days`` the set of (patient id, clinic day) — every
        patient of these appointments on the day each is on now, on the day it was on (``former``) and
        on the day of each of their live reminders;
        ``peer_ids`` the patients' other active appointments on those days; ``reminded`` the
        (patient id, day, rule id) whose reminder already went. ``tz_of(company id)`` answers the
        clinic's time zone; ``existing`` are the live messages of ``rows``."""
        days = set()
        for start, allday, start_date, _active, _sms, _uid, cid, _types, patients in rows.values():
            day = planner.local_day(start, allday, start_date, tz_of(cid))
            days.update((pid, day) for pid, _state in patients if pid not in internal)
        for event_id, (start, allday, start_date, partner_ids) in (former or {}).items():
            cid = rows[event_id][6] if event_id in rows else None
            day = planner.local_day(start, allday, start_date, tz_of(cid))
            days.update((pid, day) for pid in partner_ids if pid not in internal)
        for _mid, event_id, partner_id, rule_id, event_start, _state, kind, _due, _also in existing:
            if kind == "reminder" and rule_id in rule_ids:
                start, allday, start_date, *_rest, cid, _types, _patients = rows[event_id]
                same = allday and event_start == start
                days.add((partner_id, planner.local_day(event_start, same, start_date, tz_of(cid))))
        cr = self.env.cr
        if not days:
            return days, [], set()
        pairs = sorted(days)
        unnest = ([pid for pid, _day in pairs], [day for _pid, day in pairs])
        self.env["calendar.event"].flush_model(["start", "allday", "start_date", "active", "user_id"])
        cr.execute(
            """SELECT DISTINCT e.id, rel.res_partner_id, e.start, e.allday, e.start_date, u.company_id
                 FROM unnest(%s::int4[], %s::date[]) AS a(pid, day)
                 JOIN calendar_event_res_partner_rel rel ON rel.res_partner_id = a.pid
                 JOIN calendar_event e ON e.id = rel.calendar_event_id
                 LEFT JOIN res_users u ON u.id = e.user_id
                WHERE e.active AND e.id <> ALL(%s)
                  AND ((e.allday AND e.start_date = a.day)
                       OR (e.allday IS NOT TRUE AND e.start >= a.day - interval '1 day'
                           AND e.start < a.day + interval '2 days'))""",
            [*unnest, list(rows)],
        )
        peer_ids = sorted(
            {
                event_id
                for event_id, pid, start, allday, start_date, cid in cr.fetchall()
                if (pid, planner.local_day(start, allday, start_date, tz_of(cid))) in days
            }
        )
        self.env["clinic.sms.message"].flush_model()
        cr.execute(
            """SELECT m.partner_id, m.rule_id, m.event_start, m.company_id, e.allday, e.start_date, e.start
                 FROM unnest(%s::int4[], %s::date[]) AS a(pid, day)
                 JOIN clinic_sms_message m ON m.partner_id = a.pid
                 LEFT JOIN calendar_event e ON e.id = m.event_id
                WHERE m.kind = 'reminder' AND m.rule_id = ANY(%s) AND m.state = ANY(%s)
                  AND m.event_start >= a.day - interval '1 day'
                  AND m.event_start < a.day + interval '2 days'""",
            [*unnest, list(rule_ids), list(GONE_STATES)],
        )
        reminded = set()
        for pid, rule_id, event_start, cid, allday, start_date, start in cr.fetchall():
            same = bool(allday and event_start == start)
            day = planner.local_day(event_start, same, start_date, tz_of(cid))
            if (pid, day) in days:
                reminded.add((pid, day, rule_id))
        return days, peer_ids, reminded

    @api.model
    def _same_day_events(self, events):
        """The other active appointments of ``events``' patients on the same clinic days, under a
        reminder rule with the option (none without): what to replan once ``events`` are deleted."""
        self = self._planning_env()
        rules_by_company = self._rules_by_company(["reminder"])
        rule_ids = self._one_per_day_rule_ids(rules_by_company)
        Event = self.env["calendar.event"]
        if not rule_ids or not events:
            return Event
        rows = self._event_rows(events.ids)
        tz_of = self._tz_getter()
        _days, peer_ids, _reminded = self._same_day_scope(
            rows, [], self._internal_partner_ids(), tz_of, rule_ids
        )
        return Event.browse(peer_ids)

    @api.model
    def _tz_getter(self):
        """A function answering a company id's (None: the current company's) clinic time zone."""
        cache = {}
        default = self.env.company.id

        def tz_of(company_id):
            company_id = company_id or default
            if company_id not in cache:
                cache[company_id] = self.env["res.company"].browse(company_id).clinic_sms_tz or "UTC"
            return cache[company_id]

        return tz_of
