import base64
import csv
import io
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools.misc import format_date

from .. import access
from ..core import credits as credit_rules
from ..money import format_price
from .clinic_sms_credit_purchase import format_credits

QUARTERS = [
    ("1", "Q1 (January – March)"),
    ("2", "Q2 (April – June)"),
    ("3", "Q3 (July – September)"),
    ("4", "Q4 (October – December)"),
]

#: The figures of a statement row, in the order of the table and the CSV file.
COLUMNS = ("messages", "parts", "used", "granted", "lapsed", "adjusted", "net")


def last_finished_quarter(now, tz):
    """(year, quarter) of the last quarter that has ended at the clinic, ``now`` being naive UTC."""
    local = now.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz or "UTC"))
    quarter = (local.month - 1) // 3 + 1
    return (local.year, quarter - 1) if quarter > 1 else (local.year - 1, 4)


def month_start(year, month, tz):
    """Midnight on the 1st of a month at the clinic, as naive UTC (what Odoo stores)."""
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    local = datetime(year, month, 1, tzinfo=ZoneInfo(tz or "UTC"))
    return local.astimezone(timezone.utc).replace(tzinfo=None)


class ClinicSmsStatement(models.TransientModel):
    _name = "clinic.sms.statement"
    _description = "Clinic SMS: quarterly credit statement"

    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        domain=lambda self: [("id", "in", self.env.user.company_ids.ids)],
    )
    year = fields.Integer(
        compute="_compute_period", store=True, readonly=False, precompute=True, required=True
    )
    quarter = fields.Selection(
        QUARTERS, compute="_compute_period", store=True, readonly=False, precompute=True, required=True
    )
    tz = fields.Selection(related="company_id.clinic_sms_tz", string="Clinic time zone")
    preview = fields.Html(compute="_compute_preview", sanitize=False)

    @api.depends("company_id")
    def _compute_period(self):
        now = fields.Datetime.now()
        for statement in self:
            year, quarter = last_finished_quarter(now, statement.company_id.clinic_sms_tz or "UTC")
            statement.year, statement.quarter = year, str(quarter)

    @api.depends("company_id", "year", "quarter")
    def _compute_preview(self):
        for statement in self:
            if not (statement.company_id and statement.year and statement.quarter):
                statement.preview = False
                continue
            statement.preview = self.env["ir.qweb"]._render(
                "clinic_sms.statement_table", {"statement": statement._statement_data()}
            )

    @api.constrains("year")
    def _check_year(self):
        for statement in self:
            if not 2000 <= statement.year <= 2999:
                raise UserError(self.env._("Choose a year between 2000 and 2999."))

    # ------------------------------------------------------------------ figures

    def _months(self):
        """[(first day as a date, start, end)] of the quarter's months; start and end in naive UTC."""
        self.ensure_one()
        tz = self.company_id.clinic_sms_tz or "UTC"
        first = (int(self.quarter) - 1) * 3 + 1
        return [
            (
                date(self.year, month, 1),
                month_start(self.year, month, tz),
                month_start(self.year, month + 1, tz),
            )
            for month in range(first, first + 3)
        ]

    def _ledger(self):
        """The ledger as this user may read it, for the statement's company."""
        self.ensure_one()
        access.require_user(self.env)
        company = self.company_id
        if company not in self.env.user.company_ids:
            raise AccessError(self.env._("You cannot see the SMS credits of %s.", company.name))
        return self.env["clinic.sms.credit"].with_company(company)

    def _row(self, groups):
        """A statement row from {kind: (amount, parts, count)} of ledger lines."""

        def amount(kind):
            return groups.get(kind, (0.0, 0, 0))[0]

        row = {
            "messages": groups.get("consumption", (0.0, 0, 0))[2],
            "parts": groups.get("consumption", (0.0, 0, 0))[1],
            "used": -(amount("consumption") + amount("refund")),
            "granted": amount("allowance") + amount("purchase"),
            "allowance": amount("allowance"),
            "purchased": amount("purchase"),
            "lapsed": -amount("lapse"),
            "adjusted": amount("adjustment"),
        }
        row["net"] = sum(value[0] for value in groups.values())
        return {key: round(value, 2) if isinstance(value, float) else value for key, value in row.items()}

    def _statement_data(self):
        """Everything a statement shows: one row per month (clinic time), the total, and the balances.

        The figures are sums of the ledger's lines by kind, so the net change of a month is exactly the
        sum of its lines and the closing balance is the ledger's balance at the end of the quarter.
        """
        self.ensure_one()
        Credit = self._ledger()
        company = self.company_id
        months = self._months()
        rows = []
        for first_day, start, end in months:
            domain = [("company_id", "=", company.id), ("date", ">=", start), ("date", "<", end)]
            groups = {
                kind: (amount or 0.0, parts or 0, count)
                for kind, amount, parts, count in Credit._read_group(
                    domain, ["kind"], ["amount:sum", "parts:sum", "__count"]
                )
            }
            row = self._row(groups)
            row.update(
                label=format_date(self.env, first_day, date_format="MMMM y"),
                period=first_day.strftime("%Y-%m"),
                start=start,
                end=end,
            )
            rows.append(row)
        prices = self.env["clinic.sms.credit.rate"]._prices(company)
        money = self._money(months, prices)
        for row in rows:
            row.update(money[row["period"]])
        currency = company.currency_id
        total = {key: round(sum(row[key] for row in rows), 2) for key in (*COLUMNS, "allowance", "purchased")}
        total["amount"] = currency.round(sum(row["amount"] for row in rows))
        total["unpriced"] = round(sum(row["unpriced"] for row in rows), 2)
        total["label"] = self.env._("Total")
        opening = Credit._read_group(
            [("company_id", "=", company.id), ("date", "<", months[0][1])], [], ["amount:sum"]
        )[0][0]
        opening = round(opening or 0.0, 2)
        return {
            "company": company,
            "vat": company.vat or "",
            "currency": currency,
            "prices": self._prices_shown(months, prices),
            "title": self.env._("SMS statement, Q%(quarter)s %(year)s", quarter=self.quarter, year=self.year),
            "period": self.env._(
                "%(start)s to %(end)s, %(tz)s time",
                start=format_date(self.env, months[0][0]),
                end=format_date(self.env, months[-1][0] + relativedelta(months=1, days=-1)),
                tz=company.clinic_sms_tz or "UTC",
            ),
            "months": rows,
            "total": total,
            "opening": opening,
            "closing": round(opening + total["net"], 2),
            "fmt": lambda value: format_credits(self.env, value),
            "fmt_money": lambda value: format_price(
                self.env, value, currency, digits=currency.decimal_places
            ),
        }

    def _money(self, months, prices):
        """{month ("2027-04"): {"amount": what its credits used cost, "unpriced": credits used on
        days without a price}}: the credits used (SMS sent less refunds) of each clinic-time day,
        read in one query, times the price per credit of that day."""
        company = self.company_id
        tz = company.clinic_sms_tz or "UTC"
        Credit = self._ledger().with_context(tz=tz)
        used = {}  # {month: {day: credits used}}
        for day, amount in Credit._read_group(
            [
                ("company_id", "=", company.id),
                ("kind", "in", ("consumption", "refund")),
                ("date", ">=", months[0][1]),
                ("date", "<", months[-1][2]),
            ],
            ["date:day"],
            ["amount:sum"],
        ):
            day = day.date() if isinstance(day, datetime) else day
            used.setdefault(day.strftime("%Y-%m"), {})[day] = -(amount or 0.0)
        money = {}
        for first_day, _start, _end in months:
            period = first_day.strftime("%Y-%m")
            amount, unpriced = credit_rules.value_of_use(used.get(period, {}), prices)
            money[period] = {"amount": company.currency_id.round(amount), "unpriced": unpriced}
        return money

    def _prices_shown(self, months, prices):
        """Of ``prices`` ([(valid from, price per credit)], oldest first), those that apply during
        the quarter, as text ("0.99 kr from 1 April 2027")."""
        company = self.company_id
        first, last = months[0][0], months[-1][0] + relativedelta(months=1, days=-1)
        # The one in force on the first day, then those that start during the quarter.
        start = max((valid_from for valid_from, _price in prices if valid_from <= first), default=None)
        shown = [
            (valid_from, price)
            for valid_from, price in prices
            if valid_from == start or first < valid_from <= last
        ]
        return [
            self.env._(
                "%(price)s from %(date)s",
                price=format_price(self.env, price, company.currency_id),
                date=format_date(self.env, valid_from),
            )
            for valid_from, price in shown
        ]

    def _statement_csv(self):
        """The statement as CSV text: a header, one line per month and the total."""
        data = self._statement_data()
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(
            [
                self.env._("Month"),
                self.env._("Messages sent"),
                self.env._("SMS parts"),
                self.env._("Credits used"),
                self.env._("Credits granted"),
                self.env._("Lapsed"),
                self.env._("Adjustments"),
                self.env._("Net change"),
                self.env._("Amount"),
                self.env._("Currency"),
                self.env._("Company"),
                self.env._("VAT number"),
            ]
        )
        currency = data["currency"]
        for row in [*data["months"], {**data["total"], "period": data["total"]["label"]}]:
            writer.writerow(
                [
                    row["period"],
                    *(_csv_number(row[key]) for key in COLUMNS),
                    f"{row['amount']:.{currency.decimal_places}f}",
                    currency.name,
                    data["company"].name,
                    data["vat"],
                ]
            )
        return out.getvalue()

    # ------------------------------------------------------------------ buttons

    def action_print(self):
        self.ensure_one()
        self.check_access("read")
        self._ledger()
        return self.env.ref("clinic_sms.clinic_sms_statement_report").report_action(self)

    def action_export(self):
        self.ensure_one()
        self.check_access("read")
        text = self._statement_csv()
        name = f"sms-statement-{self.company_id.name}-{self.year}-Q{self.quarter}.csv".replace("/", "-")
        attachment = self.env["ir.attachment"].create(
            {
                "name": name,
                "datas": base64.b64encode(text.encode("utf-8-sig")),
                "mimetype": "text/csv",
                "res_model": self._name,
                "res_id": self.id,
            }
        )
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{attachment.id}?download=true",
            "target": "download",
        }


def _csv_number(value):
    """Plain numbers in CSV: 12 rather than 12.0, 12.5 stays 12.5."""
    if isinstance(value, float) and value == int(value):
        return int(value)
    return value
