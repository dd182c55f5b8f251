"""The rule book's adapter: reads the facts the core's rule book (``core/eligibility.py``) decides on.

No rule lives here. This model only turns records into the core's frozen facts — in bulk, one query
per kind of fact — and answers the core's decisions, so that planning, dispatch, the wizards and
Odoo's own SMS all ask the same table with the same facts.
"""

from odoo import api, models

from ..constants import to_aware
from ..core import eligibility, planner


class ClinicSmsEligibility(models.AbstractModel):
    _name = "clinic.sms.eligibility"
    _description = "Clinic SMS rule book"

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
    def _context(self, partners, events=None):
        """What the facts of ``partners`` (and their places on ``events``) need, read at once."""
        events = events or self.env["calendar.event"]
        attendees = {}
        if events:
            self.env["calendar.attendee"].flush_model(["event_id", "partner_id", "state"])
            self.env.cr.execute(
                "SELECT event_id, partner_id, state FROM calendar_attendee WHERE event_id = ANY(%s)",
                [events.ids],
            )
            for event_id, partner_id, state in self.env.cr.fetchall():
                attendees[event_id, partner_id] = state or "needsAction"
        return {
            "internal": self.env["clinic.sms.planner"]._internal_partner_ids(),
            "blacklisted": self._blacklisted_numbers(partners.mapped("sms_number_e164")),
            "attendees": attendees,
            "email_blacklisted": self._blacklisted_emails(partners.mapped("email_normalized")),
            "partner_ids": partners.ids,  # whose recall bookings are read, once per recall rule
        }

    @api.model
    def _blacklisted_emails(self, emails):
        """The addresses among ``emails`` (normalized) that are on Odoo's e-mail blacklist."""
        emails = [e for e in emails if e]
        if not emails:
            return set()
        self.env["mail.blacklist"].flush_model(["email", "active"])
        self.env.cr.execute("SELECT email FROM mail_blacklist WHERE active AND email = ANY(%s)", [emails])
        return {row[0] for row in self.env.cr.fetchall()}

    @api.model
    def _recall_booked(self, partner_ids, rule, now):
        """The ids among ``partner_ids`` who have a future, active appointment of one of the recall
        ``rule``'s appointment types (of any type when it has none): one query."""
        if not partner_ids:
            return set()
        self.env["calendar.event"].flush_model(["active", "start", "partner_ids", "categ_ids"])
        types = rule.event_type_ids.ids
        type_clause = (
            " AND EXISTS (SELECT 1 FROM meeting_category_rel c"
            " WHERE c.event_id = e.id AND c.type_id = ANY(%s))"
            if types
            else ""
        )
        self.env.cr.execute(
            "SELECT DISTINCT rel.res_partner_id FROM calendar_event e"
            " JOIN calendar_event_res_partner_rel rel ON rel.calendar_event_id = e.id"
            " WHERE e.active AND e.start > %s AND rel.res_partner_id = ANY(%s)" + type_clause,
            [now, list(partner_ids), *([types] if types else [])],
        )
        return {row[0] for row in self.env.cr.fetchall()}

    @api.model
    def _patient(self, partner, context, event=None, own_number=None, recall_booked=False):
        """The core's Patient for ``partner`` (on ``event``, when the message is about one)."""
        number = own_number or partner.sms_number_e164
        attendee_state = None
        if event and partner:
            if "attendees" in context:
                attendee_state = context["attendees"].get((event.id, partner.id))
            else:
                attendee = event.sudo().attendee_ids.filtered(lambda a: a.partner_id == partner)[:1]
                attendee_state = (attendee.state or "needsAction") if attendee else None
            if attendee_state is None and partner in event.partner_ids:
                attendee_state = "needsAction"
        return eligibility.Patient(
            exists=bool(partner),
            internal=partner.id in context["internal"],
            opted_out=bool(partner.sms_opt_out),
            blacklisted=bool(number and number in context["blacklisted"]),
            deceased=bool(partner.deceased),
            number_state=partner.sms_number_state or "missing" if partner else "missing",
            number_problem=partner.sms_number_problem or "" if partner else "",
            attendee_state=attendee_state,
            own_number=bool(own_number),
            has_email=bool(
                partner
                and partner.email_normalized
                and partner.email_normalized not in context.get("email_blacklisted", ())
            ),
            consented=bool(partner.sms_consent) if partner else False,
            recall_date=partner.recall_date or None if partner else None,
            recall_booked=recall_booked,
        )

    @api.model
    def _clinic(self, company):
        """The core's Clinic for ``company``."""
        return eligibility.Clinic(
            enabled=bool(company.clinic_sms_enabled),
            consent_required=bool(company.clinic_sms_consent_required),
        )

    @api.model
    def _appointment(self, event, company):
        if not event:
            return eligibility.Appointment(exists=False)
        tz = company.clinic_sms_tz or "UTC"
        return eligibility.Appointment(
            exists=True,
            active=event.active,
            start=to_aware(event.start),
            begin=planner.event_start(event.start, event.allday, event.start_date, tz)
            if event.start
            else None,
            sms_enabled=event.sms_enabled,
        )

    @api.model
    def _message_facts(self, message, context, now):
        """The facts of the log row ``message`` as they are now."""
        own_number = (
            message.number if message.number and (message.sms_uuid or not message.partner_id) else None
        )
        if message.kind == "opt_out" and message.number:
            own_number = message.number
        about_event = message.kind in eligibility.EVENT_KINDS and (message.event_id or message.event_start)
        event = message.event_id if about_event else None
        recall_booked = False
        if message.kind == eligibility.RECALL and message.partner_id and message.rule_id:
            # Read for every patient of the batch at the first recall of each rule: one query per
            # rule and batch, not per message.
            checked, booked = context.setdefault("recall_booked", {}).setdefault(
                message.rule_id.id, (set(), set())
            )
            if message.partner_id.id not in checked:
                partner_ids = (set(context.get("partner_ids") or ()) - checked) | {message.partner_id.id}
                booked |= self._recall_booked(partner_ids, message.rule_id, now)
                checked |= partner_ids
            recall_booked = message.partner_id.id in booked
        return eligibility.Facts(
            message=eligibility.Message(
                kind=message.kind,
                planned_start=to_aware(message.event_start),
                rule_active=message.rule_id.active if message.rule_id else None,
                rule_confirmed_only=bool(message.rule_id.confirmed_only) if message.rule_id else False,
                answers_opt_out=message.kind == "opt_out" and bool(message.reply_to_id),
                # A reminder sent again by staff has no rule: its original's rule says.
                email_fallback=bool((message.rule_id or message.resend_of_id.rule_id).email_fallback),
                answers_reply=bool(message.reply_to_id),
                recall_date=message.recall_date or None,
            ),
            patient=self._patient(message.partner_id, context, event, own_number, recall_booked),
            clinic=self._clinic(message.company_id),
            appointment=self._appointment(event, message.company_id) if about_event else None,
            now=to_aware(now),
        )

    @api.model
    def _decide_messages(self, messages, now, moment=eligibility.SEND):
        """{message id: Decision} for the log rows ``messages`` that may not go (or be kept)."""
        messages = messages.sudo()
        context = self._context(
            messages.partner_id, messages.event_id.with_context(active_test=False).exists()
        )
        context["blacklisted"] |= self._blacklisted_numbers(messages.mapped("number"))
        decisions = {}
        for message in messages:
            decision = eligibility.decide(self._message_facts(message, context, now), moment)
            if decision:
                decisions[message.id] = decision
        return decisions

    @api.model
    def _decide_patients(self, partners, kind="manual", company=None):
        """[(partner, Decision | None)] for a message of ``kind`` about no appointment (the composer,
        a staff notice, a greeting) from ``company`` (the current one by default), in the order of
        ``partners``."""
        context = self._context(partners)
        consent_required = bool((company or self.env.company).sudo().clinic_sms_consent_required)
        return [
            (
                partner,
                eligibility.patient_decision(
                    self._patient(partner, context), kind, consent_required=consent_required
                ),
            )
            for partner in partners
        ]

    @api.model
    def _event_facts(self, event, partner, kind, context, now, rule=None, planned_start=None):
        """The facts of a message of ``kind`` to ``partner`` about ``event`` at its current start
        (or ``planned_start``), through ``rule`` when there is one."""
        company = event.sudo()._clinic_sms_company()
        facts = eligibility.Facts(
            message=eligibility.Message(
                kind=kind,
                planned_start=to_aware(planned_start or event.start),
                rule_active=rule.active if rule else None,
                rule_confirmed_only=bool(rule.confirmed_only) if rule else False,
            ),
            patient=self._patient(partner, context, event),
            clinic=self._clinic(company),
            appointment=self._appointment(event, company),
            now=to_aware(now),
        )
        return facts

    @api.model
    def _reason_label(self, reason):
        labels = dict(self.env["clinic.sms.message"]._fields["reason"]._description_selection(self.env))
        return labels.get(reason, reason or "")
