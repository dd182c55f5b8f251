"""Planning the notices about appointments (booked, moved, cancelled) and keeping them one
conversation: a mixin of ``clinic.sms.planner``."""

import dataclasses
import json
from collections import defaultdict

from odoo import api, fields, models

from ..constants import BLOCKING_STATES, UNSENT_STATES, to_aware, to_naive
from ..core import eligibility, planner


class ClinicSmsPlannerNotices(models.AbstractModel):
    _name = "clinic.sms.planner.notices"
    _description = "Clinic SMS planner: notices"

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
        Eligibility = self.env["clinic.sms.eligibility"]
        context = Eligibility._context(self.env["res.partner"], events)
        settle = self._notice_settle()
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
            # Notices settle before they go, so that a burst of changes becomes one message.
            plan = planner.plan_notice(kind, to_aware(now) + settle, begin, settings)
            if plan is None:
                continue
            patients = event._clinic_sms_patients(internal)
            if partners_by_event is not None:
                patients = patients.filtered(lambda p, ev=event: p.id in partners_by_event.get(ev.id, ()))
            for rule in rules:
                for partner in patients:
                    if (event.id, partner.id, rule.id, event.start) in seen:
                        continue
                    facts = Eligibility._event_facts(event, partner, kind, context, now, rule)
                    if kind == "cancellation":
                        # Planned as the appointment goes (archived or about to be deleted).
                        facts = dataclasses.replace(
                            facts, appointment=dataclasses.replace(facts.appointment, active=False)
                        )
                    if not eligibility.may_plan(facts):
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

    @api.model
    def _coalesce_notices(self, now, partner_ids=None):
        """Merge each patient's pending notices into one conversation (``core.planner.coalesce``)
        once the first of them has settled (``partner_ids``: the patients whose notices just became
        due, as the dispatcher's queueing step answers them; else every patient with a due notice)."""
        self = self._planning_env()
        Message = self.env["clinic.sms.message"]
        kinds = list(planner.NOTICE_KINDS)
        if partner_ids is None:
            due = Message._read_group(
                [("kind", "in", kinds), ("state", "in", UNSENT_STATES), ("due_at", "<=", now)],
                ["partner_id"],
            )
            partner_ids = [partner.id for [partner] in due if partner]
        partner_ids = list(partner_ids)
        if not partner_ids:
            return 0
        # Only the automatic notices (a rule's), per practitioner: what staff write themselves (the
        # practitioner's day) goes as they wrote it.
        pending = Message.search(
            [
                ("kind", "in", kinds),
                ("state", "in", UNSENT_STATES),
                ("partner_id", "in", partner_ids),
                ("rule_id", "!=", False),
            ],
            order="id",
        )
        groups = defaultdict(list)
        for message in pending:
            groups[message.company_id.id, message.partner_id.id, message.user_id.id].append(message)
        if all(len(messages) < 2 for messages in groups.values()):
            return 0
        rules = self._rules_by_company(["reschedule"])
        withdrawn = Message.browse()
        changes = []
        for (company_id, _partner_id, _user_id), messages in groups.items():
            if len(messages) < 2:
                continue
            reschedule = (rules.get(company_id) or rules.get(False) or Message.env["clinic.sms.rule"])[:1]
            result = planner.coalesce(
                [planner.PendingNotice(m.id, m.kind, to_aware(m.event_start)) for m in messages],
                can_reschedule=bool(reschedule),
            )
            withdrawn |= Message.browse(result.withdrawn)
            if result.kept:
                kept = Message.browse(result.kept)
                values = {}
                if result.also:
                    values["coalesced_starts"] = json.dumps(
                        [to_naive(start).isoformat() for start in result.also]
                    )
                if result.kind != kept.kind:
                    values.update(kind=result.kind, rule_id=reschedule.id, template_id=False)
                if values:
                    changes.append((kept, values))
        withdrawn.write({"state": "cancelled", "reason": "coalesced"})
        for kept, values in changes:
            kept.write(values)
        return len(withdrawn)
