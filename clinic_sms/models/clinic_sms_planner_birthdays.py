"""Planning birthday greetings: a mixin of ``clinic.sms.planner``."""

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from odoo import api, fields, models

from ..constants import to_aware, to_naive
from ..core import eligibility, planner


class ClinicSmsPlannerBirthdays(models.AbstractModel):
    _name = "clinic.sms.planner.birthdays"
    _description = "Clinic SMS planner: birthdays"

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
            Eligibility = self.env["clinic.sms.eligibility"]
            context = Eligibility._context(partners)
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
                    decision = eligibility.patient_decision(
                        Eligibility._patient(partner, context),
                        "birthday",
                        consent_required=bool(company.clinic_sms_consent_required),
                    )
                    if decision and decision.reason in ("deceased", "opted_out", "no_consent"):
                        # Known for the day: logged at once. The number is read when it goes.
                        vals.update(state="skipped", reason=decision.reason)
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
