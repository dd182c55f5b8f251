"""The credit ledger and its API: roll (the month's allowance and lapse), reserve (before the
gateway call), settle (after it) and warn (low balances).

Whatever spends or grants a company's credits first locks them (``clinic.sms.credit.state._lock``):
:meth:`~ClinicSmsCredit._roll` takes the lock and answers the balances read after it, which the
caller spends from until its transaction ends. A dispatch batch takes each company's lock once:
before the gateway call for the companies whose credit check is on (:meth:`~ClinicSmsCredit._reserve`),
after it for the others (:meth:`~ClinicSmsCredit._settle`).
"""

from dataclasses import dataclass

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..constants import MESSAGE_KINDS
from ..core import credits as credit_rules


@dataclass
class Balance:
    """A company's credits as the ledger read them (under the company's lock when it was taken);
    spending from it in a batch lowers it."""

    total: float
    allowance: float  # the part of ``total`` that is this month's allowance
    warned: str  # the thresholds warned about so far, as stored ("50,30")


class ClinicSmsCredit(models.Model):
    _name = "clinic.sms.credit"
    _description = "Clinic SMS credit ledger line"
    _order = "date desc, id desc"

    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
        readonly=True,
    )
    date = fields.Datetime(required=True, default=fields.Datetime.now, index=True, readonly=True)
    kind = fields.Selection(
        [
            ("allowance", "Monthly allowance"),
            ("lapse", "Unused allowance lapsed"),
            ("purchase", "Pack purchased"),
            ("consumption", "SMS sent"),
            ("refund", "Refund"),
            ("adjustment", "Adjustment"),
        ],
        required=True,
        default="adjustment",
        readonly=True,
    )
    amount = fields.Float(
        required=True, digits=(16, 2), readonly=True, help="Credits granted (+) or used (-)."
    )
    allowance_amount = fields.Float(
        "From the allowance",
        digits=(16, 2),
        readonly=True,
        help="The part of the amount that belongs to the month's allowance; the rest belongs to "
        "purchased packs, which roll over.",
    )
    period = fields.Char(
        readonly=True, help="The month (YYYY-MM, clinic time) an allowance was granted for or lapsed in."
    )
    credit_price = fields.Float(
        "Price per credit",
        digits=(16, 4),
        readonly=True,
        help="The price per credit that applied on the day of the purchase (SMS credits > Prices per "
        "credit), in the company's currency.",
    )
    price = fields.Monetary(
        readonly=True,
        help="What a purchased pack cost: its credits times the price per credit, unless another "
        "figure was entered when it was bought.",
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    message_id = fields.Many2one("clinic.sms.message", index="btree_not_null", ondelete="set null")
    # Copied from the message when the line is written (not related fields: those would be
    # recomputed at every flush of a dispatch batch, and they must not change with the message).
    message_kind = fields.Selection(MESSAGE_KINDS, string="Message kind", readonly=True)
    user_id = fields.Many2one("res.users", "Practitioner", readonly=True, index="btree_not_null")
    parts = fields.Integer(readonly=True, help="SMS parts of the message (consumption and refunds).")
    note = fields.Char()

    _period_once = models.UniqueIndex(
        "(company_id, kind, period) WHERE kind IN ('allowance', 'lapse')",
        "This month's allowance was already granted (or lapsed).",
    )

    @api.depends("kind", "amount")
    def _compute_display_name(self):
        kinds = dict(self._fields["kind"]._description_selection(self.env))
        for line in self:
            line.display_name = f"{kinds.get(line.kind, '')} {line.amount:+.2f}"

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("kind", "adjustment") == "adjustment" and not vals.get("note"):
                raise UserError(self.env._("A manual adjustment of credits needs a reason."))
            if vals.get("kind") == "purchase" and "credit_price" not in vals:
                self._price_purchase(vals)
        return super().create(vals_list)

    def _price_purchase(self, vals):
        """A purchase records the price per credit that applies on its date, and costs its credits
        times that price unless its price was given."""
        company = self.env["res.company"].browse(vals.get("company_id")) or self.env.company
        when = fields.Datetime.to_datetime(vals.get("date")) or fields.Datetime.now()
        price = self.env["clinic.sms.credit.rate"]._price_at(company, when)
        if price is None:
            return
        vals["credit_price"] = price
        if not vals.get("price"):
            vals["price"] = (vals.get("amount") or 0.0) * price

    def write(self, vals):
        if set(vals) - {"note", "message_id"}:
            raise UserError(self.env._("The credit ledger cannot be changed; add an adjustment instead."))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(self.env._("The credit ledger cannot be changed; add an adjustment instead."))

    # ------------------------------------------------------------------ the ledger's API

    @api.model
    def _balances(self, companies):
        """{company id: :class:`Balance`} of ``companies``, read now, in one query."""
        ids = sorted(set(companies.ids))
        if not ids:
            return {}
        self.flush_model(["company_id", "amount", "allowance_amount"])
        State = self.env["clinic.sms.credit.state"]
        State.flush_model(["company_id", "warned"])
        self.env.cr.execute(
            SQL(
                """SELECT c.id, COALESCE(l.total, 0), COALESCE(l.allowance, 0), s.warned
                     FROM unnest(%(ids)s::int[]) AS c(id)
                     LEFT JOIN (SELECT company_id, SUM(amount) AS total, SUM(allowance_amount) AS allowance
                                  FROM %(ledger)s WHERE company_id = ANY(%(ids)s) GROUP BY company_id) AS l
                            ON l.company_id = c.id
                     LEFT JOIN %(state)s AS s ON s.company_id = c.id""",
                ids=ids,
                ledger=SQL.identifier(self._table),
                state=SQL.identifier(State._table),
            )
        )
        return {
            company_id: Balance(float(total), float(allowance), warned or "")
            for company_id, total, allowance, warned in self.env.cr.fetchall()
        }

    @api.model
    def _roll(self, companies, now=None):
        """Lock ``companies``' credits, then lapse last month's unused allowance and grant this
        month's (clinic time) where the month has changed since the last grant; answer their
        {company id: :class:`Balance`} read after the lock, to spend from until the transaction ends.

        Idempotent (a unique index allows one allowance and one lapse per company and month) and
        run before credits are counted, so the allowance of a month that has ended is never spent
        even when the hourly cron has not run yet.
        """
        now = now or fields.Datetime.now()
        companies = companies.sudo()
        states = self.env["clinic.sms.credit.state"].sudo()._lock(companies)
        due = {}  # company -> (month, its start) where the month has changed
        for company in companies:
            period, start = credit_rules.month_of(now, company.clinic_sms_tz or "UTC")
            if states[company.id][0] != period:
                due[company] = (period, start)
        if due:
            self._roll_months(due)
        return self._balances(companies)

    @api.model
    def _roll_months(self, due):
        """Write the lapse and allowance lines of ``due`` ({company: (month, its start)}) that are
        not written yet, and remember each company's month as granted (the lock is held)."""
        Credit = self.sudo()
        companies = self.env["res.company"].sudo().browse([company.id for company in due])
        before = self._balances(companies)
        done = {
            (line.company_id.id, line.period, line.kind)
            for line in Credit.search_fetch(
                [("company_id", "in", companies.ids), ("period", "in", [p for p, _s in due.values()])],
                ["company_id", "period", "kind"],
            )
        }
        lines = []
        for company, (period, start) in due.items():
            common = {"company_id": company.id, "period": period, "date": start}
            allowance_left = before[company.id].allowance
            if allowance_left > 0 and (company.id, period, "lapse") not in done:
                lines.append(
                    {
                        **common,
                        "kind": "lapse",
                        "amount": -allowance_left,
                        "allowance_amount": -allowance_left,
                    }
                )
            allowance = company.clinic_sms_monthly_allowance
            if allowance > 0 and (company.id, period, "allowance") not in done:
                lines.append(
                    {**common, "kind": "allowance", "amount": allowance, "allowance_amount": allowance}
                )
        if lines:
            Credit.create(lines)
        by_period = {}
        for company, (period, _start) in due.items():
            by_period.setdefault(period, []).append(company.id)
        State = self.env["clinic.sms.credit.state"].sudo()
        for period, company_ids in by_period.items():
            State._store(company_ids, period=period)

    @api.model
    def _reserve(self, items, costs, now):
        """Pay in advance, before the gateway call, for the ``items`` (the dispatcher's ``Outbound``
        entries, costing ``costs`` {message id: credits}) of companies whose credit check is on:
        their credits are locked (:meth:`_roll`) and each message the balance pays for gets its
        consumption line.

        Answers (the items that may go, the items the balance cannot pay for, {message id: part
        paid from the allowance} of what was reserved).
        """
        checked = {
            item.message.company_id for item in items if item.message.company_id.clinic_sms_credit_check
        }
        if not checked:
            return items, [], {}
        balances = self._roll(self.env["res.company"].browse(sorted(c.id for c in checked)), now)
        kept, refused, reserved, lines = [], [], {}, []
        for item in items:
            message = item.message
            if message.company_id not in checked:
                kept.append(item)
                continue
            balance = balances[message.company_id.id]
            cost = costs[message.id]
            if cost > balance.total + 1e-9:
                refused.append(item)
                continue
            from_allowance, _from_packs = credit_rules.split(cost, balance.allowance)
            balance.total -= cost
            balance.allowance -= from_allowance
            reserved[message.id] = from_allowance
            lines.append(self._line(item, "consumption", -cost, -from_allowance, now))
            kept.append(item)
        if lines:
            self.sudo().create(lines)
        return kept, refused, reserved

    @api.model
    def _settle(self, items, taken, reserved, costs, now):
        """After the gateways answered for ``items``: refund what was ``reserved`` for those they
        did not take, charge the ``taken`` ones nothing was reserved for (companies without the
        credit check; their credits are locked here, :meth:`_roll`), then, when a balance has fallen
        to a threshold not yet warned about, run the credits cron at once (it sends the e-mail:
        rendering and queueing mail stays out of the dispatcher's batches)."""
        taken_ids = {item.message.id for item in taken}
        lines = [
            self._line(item, "refund", costs[item.message.id], reserved[item.message.id], now)
            for item in items
            if item.message.id in reserved and item.message.id not in taken_ids
        ]
        refunds = list(lines)
        unpaid = [item for item in taken if item.message.id not in reserved and costs[item.message.id]]
        balances = {}  # of the companies locked here
        if unpaid:
            companies = self.env["res.company"].browse(
                sorted({item.message.company_id.id for item in unpaid})
            )
            balances = self._roll(companies, now)
            for item in unpaid:
                balance = balances[item.message.company_id.id]
                cost = costs[item.message.id]
                from_allowance, _from_packs = credit_rules.split(cost, balance.allowance)
                balance.total -= cost
                balance.allowance -= from_allowance
                lines.append(self._line(item, "consumption", -cost, -from_allowance, now))
            for line in refunds:
                balance = balances.get(line["company_id"])
                if balance:
                    balance.total += line["amount"]
                    balance.allowance += line["allowance_amount"]
        if lines:
            self.sudo().create(lines)
        touched = {item.message.company_id.id for item in items if item.message.id in reserved} | {
            item.message.company_id.id for item in unpaid
        }
        if touched:
            # Companies locked before the gateway call (credit check on) are read again: the cron's
            # dispatcher committed in between, and others may have spent since.
            others = self.env["res.company"].browse(sorted(touched - set(balances)))
            balances = {**balances, **self._balances(others)}
            self._warning_due(self.env["res.company"].sudo().browse(sorted(touched)), balances)

    @api.model
    def _warning_due(self, companies, balances):
        """When one of ``balances`` has fallen to a threshold of its company not yet warned about,
        run the credits cron at once (:meth:`_warn` sends the e-mail). Answers whether it did."""
        for company in companies:
            balance = balances[company.id]
            if credit_rules.crossing(
                balance.total, company.clinic_sms_credit_thresholds or "", balance.warned
            ).changed:
                self.env.ref("clinic_sms.ir_cron_clinic_sms_credits")._trigger()
                return True
        return False

    @api.model
    def _warn(self, companies, balances=None):
        """E-mail the Clinic SMS administrators of ``companies`` once each time a balance falls to a
        warning threshold, and remember the thresholds warned (re-armed when the balance rises
        above them again). ``balances``: what :meth:`_roll` answered in this transaction; without
        them the companies' credits are locked and read here."""
        companies = companies.sudo()
        if balances is None:
            self.env["clinic.sms.credit.state"].sudo()._lock(companies)
            balances = self._balances(companies)
        State = self.env["clinic.sms.credit.state"].sudo()
        template = self.env.ref("clinic_sms.mail_template_credit_low", raise_if_not_found=False)
        for company in companies:
            balance = balances[company.id]
            state = credit_rules.crossing(
                balance.total, company.clinic_sms_credit_thresholds or "", balance.warned
            )
            if state.changed:
                State._store([company.id], warned=state.warned)
                balance.warned = state.warned
                company.invalidate_recordset(["clinic_sms_credit_warned"])
            if state.new and template:
                template.sudo().with_context(
                    clinic_sms_balance=balance.total, clinic_sms_threshold=state.new[0]
                ).send_mail(company.id)

    @api.model
    def _paid(self, items):
        """What the ledger says the ``items`` (``Outbound`` entries) have paid so far, in one query:
        ({message id: part paid from the allowance} of those paid for, {message id: their cost}),
        the cost being what was paid, else what the message costs now."""
        if not items:
            return {}, {}
        self.flush_model(["message_id", "kind", "amount", "allowance_amount"])
        self.env.cr.execute(
            SQL(
                """SELECT message_id, -SUM(amount), -SUM(allowance_amount) FROM %s
                    WHERE message_id = ANY(%s) AND kind IN ('consumption', 'refund')
                    GROUP BY message_id""",
                SQL.identifier(self._table),
                [item.message.id for item in items],
            )
        )
        paid = {row[0]: (float(row[1]), float(row[2])) for row in self.env.cr.fetchall() if row[1] > 1e-9}
        reserved = {message_id: allowance for message_id, (_amount, allowance) in paid.items()}
        costs = {
            item.message.id: paid[item.message.id][0]
            if item.message.id in paid
            else item.message.company_id._clinic_sms_cost(item.number, item.parts.parts)
            for item in items
        }
        return reserved, costs

    @api.model
    def _line(self, item, kind, amount, allowance_amount, now):
        """The values of a ledger line for the message of ``item`` (an ``Outbound`` entry)."""
        message = item.message
        return {
            "company_id": message.company_id.id,
            "date": now,
            "kind": kind,
            "amount": amount,
            "allowance_amount": allowance_amount,
            "message_id": message.id,
            "message_kind": message.kind,
            "user_id": message.user_id.id,
            "parts": item.parts.parts,
        }
