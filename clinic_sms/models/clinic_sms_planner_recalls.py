"""Planning recalls (a patient's next check-up): a mixin of ``clinic.sms.planner``.

Once a day: first the recall dates move on after the appointments that set the next recall and have
ended; then each recall rule plans its messages for the patients whose recall date it announces
today (or reminds of again, after the date), in batches of patients with a fixed number of queries
each. Whether a recall still fits (a booked appointment, a moved recall date, consent, the number)
is the rule book's (``core/eligibility.py``), asked here when planning and again when it goes.
"""

from datetime import timedelta
from zoneinfo import ZoneInfo

from odoo import api, fields, models

from ..constants import to_aware, to_naive
from ..core import eligibility, planner

#: How far back ended appointments still move recall dates (a cron that was down catches up).
RECALL_LOOKBACK = timedelta(days=7)


class ClinicSmsPlannerRecalls(models.AbstractModel):
    _name = "clinic.sms.planner.recalls"
    _description = "Clinic SMS planner: recalls"

    @api.model
    def _plan_recalls(self, batch_size=500):
        """Move recall dates after ended appointments, then plan today's recalls in each company's
        time zone. Idempotent: run twice, it plans nothing more."""
        self = self._planning_env()
        now = fields.Datetime.now()
        self._move_recall_dates(now)
        companies = self.env["res.company"].search([("clinic_sms_enabled", "=", True)], order="id")
        if not companies:
            return 0
        rules_by_company = self._rules_by_company(["recall"])
        internal = self._internal_partner_ids()
        default_company = companies[:1]
        created = 0
        for company in companies:
            rules = self._applicable_rules(rules_by_company, "recall", company)
            if not rules:
                continue
            settings = self._settings(company)
            today = to_aware(now).astimezone(ZoneInfo(settings.tz)).date()
            for rule in rules:
                first, last = planner.recall_dates_for(today, rule.days_before, rule.days_after)
                after_id = 0
                while True:
                    rows = self._recall_partner_rows(
                        company, company == default_company, first, last, after_id, batch_size
                    )
                    if not rows:
                        break
                    after_id = rows[-1][0]
                    created += self._plan_recall_batch(company, rule, settings, rows, internal, now)
                    if len(rows) < batch_size:
                        break
        return created

    @api.model
    def _recall_partner_rows(self, company, include_shared, first, last, after_id, limit):
        """[(id, recall date)] of ``company``'s patients (and the shared ones for the first company)
        whose recall date is between ``first`` and ``last``, by id after ``after_id``: one query."""
        self.env["res.partner"].flush_model(["recall_date", "company_id", "active", "is_company"])
        company_clause = "(company_id = %s OR company_id IS NULL)" if include_shared else "company_id = %s"
        self.env.cr.execute(
            "SELECT id, recall_date FROM res_partner WHERE active AND NOT is_company"
            f" AND recall_date BETWEEN %s AND %s AND {company_clause} AND id > %s ORDER BY id LIMIT %s",
            [first, last, company.id, after_id, limit],
        )
        return self.env.cr.fetchall()

    @api.model
    def _plan_recall_batch(self, company, rule, settings, rows, internal, now):
        """Plan ``rule``'s recalls for one batch of (partner id, recall date): a fixed number of
        queries (what exists, the facts, the bookings, one create)."""
        rows = [(pid, day) for pid, day in rows if pid not in internal]
        if not rows:
            return 0
        partner_ids = [pid for pid, _day in rows]
        existing = self.env["clinic.sms.message"].search_fetch(
            [("kind", "=", "recall"), ("rule_id", "=", rule.id), ("partner_id", "in", partner_ids)],
            ["partner_id", "recall_date"],
        )
        seen = {(m.partner_id.id, m.recall_date) for m in existing}
        Eligibility = self.env["clinic.sms.eligibility"]
        partners = self.env["res.partner"].browse(partner_ids)
        context = Eligibility._context(partners)
        booked = Eligibility._recall_booked(partner_ids, rule, now)
        clinic = Eligibility._clinic(company)
        vals_list = []
        for partner, (_pid, recall_date) in zip(partners, rows, strict=True):
            if (partner.id, recall_date) in seen:
                continue
            due = planner.recall_due(
                recall_date, rule.days_before, rule.days_after, rule.send_hour, settings.tz
            )
            plan = planner.timing.plan(
                "recall", to_aware(now), None, due, settings.tz, settings.window_start, settings.window_end
            )
            if plan is None:
                continue
            facts = eligibility.Facts(
                message=eligibility.Message(kind="recall", rule_active=rule.active, recall_date=recall_date),
                patient=Eligibility._patient(partner, context, recall_booked=partner.id in booked),
                clinic=clinic,
                now=to_aware(now),
            )
            if not eligibility.may_plan(facts):
                continue  # booked already (or the clinic is off): nothing to announce
            vals = {
                "kind": "recall",
                "rule_id": rule.id,
                "template_id": rule.template_id.id,
                "partner_id": partner.id,
                "company_id": company.id,
                "recall_date": recall_date,
                "due_at": to_naive(plan.due_at),
                "expire_at": to_naive(plan.expire_at),
                "state": "scheduled",
            }
            decision = eligibility.decide(facts)
            if decision and decision.reason in ("deceased", "opted_out", "no_consent"):
                # Known for the day: logged at once. The number is read when it goes.
                vals.update(state="skipped", reason=decision.reason)
            vals_list.append(vals)
        if vals_list:
            self.env["clinic.sms.message"].create(vals_list)
        return len(vals_list)

    @api.model
    def _move_recall_dates(self, now):
        """Each patient of an appointment of a type that *sets the next recall*, which ended within
        :data:`RECALL_LOOKBACK`, gets the appointment's day plus their recall interval as recall
        date, unless it is already that late. Idempotent. Returns the patients moved."""
        types = self.env["calendar.event.type"].search([("clinic_sms_sets_recall", "=", True)])
        if not types:
            return self.env["res.partner"]
        events = self.env["calendar.event"].search(
            [
                ("categ_ids", "in", types.ids),
                ("stop", "<=", now),
                ("stop", ">", now - RECALL_LOOKBACK),
            ],
            order="stop, id",
        )
        internal = self._internal_partner_ids()
        moved = self.env["res.partner"]
        for event in events:
            tz = event._clinic_sms_company().clinic_sms_tz or "UTC"
            day = event.start_date if event.allday else to_aware(event.stop).astimezone(ZoneInfo(tz)).date()
            declined = event.attendee_ids.filtered(lambda a: a.state == "declined").partner_id
            for partner in event.partner_ids - declined:
                if partner.id in internal or partner.recall_interval <= 0:
                    continue
                target = planner.add_months(day, partner.recall_interval)
                if not partner.recall_date or partner.recall_date < target:
                    partner.recall_date = target
                    moved |= partner
        return moved
