import base64
import csv
import io
from datetime import datetime

from psycopg2 import IntegrityError

from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools import mute_logger

from .common import ClinicSmsCase


@tagged("post_install", "-at_install")
class TestCreditUi(ClinicSmsCase):
    """Buying credits, the quarterly statement, the settings and the low-credit e-mail."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # A clinic of its own, so that no other ledger line (demo data) counts.
        cls.clinic = cls.env["res.company"].create(
            {
                "name": "Nørrebro Physio",
                "clinic_sms_tz": "Europe/Copenhagen",
                "clinic_sms_credit_check": False,
                "clinic_sms_credit_thresholds": "50,30,0",
                "currency_id": cls.env.ref("base.DKK").id,
                "vat": "DK12345674",
            }
        )
        companies = [(6, 0, [cls.env.company.id, cls.clinic.id])]
        cls.manager = new_test_user(
            cls.env,
            login="clinic_sms_credit_manager",
            name="Karen Holm",
            email="karen@physio.example.com",
            groups="base.group_user,clinic_sms.group_clinic_sms_manager",
            company_id=cls.clinic.id,
            company_ids=companies,
        )
        cls.staff = new_test_user(
            cls.env,
            login="clinic_sms_credit_staff",
            groups="base.group_user,clinic_sms.group_clinic_sms_user",
            company_id=cls.clinic.id,
            company_ids=companies,
        )
        cls.employee = new_test_user(cls.env, login="clinic_sms_credit_employee", groups="base.group_user")

    # ------------------------------------------------------------------ helpers

    def line(self, kind, amount, when, **values):
        values.setdefault("note", "test" if kind == "adjustment" else False)
        return (
            self.env["clinic.sms.credit"]
            .sudo()
            .create({"company_id": self.clinic.id, "kind": kind, "amount": amount, "date": when, **values})
        )

    def rate(self, valid_from, price):
        """A price per credit, entered by the clinic's administrator."""
        return (
            self.env["clinic.sms.credit.rate"]
            .with_user(self.manager)
            .with_company(self.clinic)
            .create({"company_id": self.clinic.id, "valid_from": valid_from, "price": price})
        )

    def purchase(self, user=None, **values):
        Wizard = self.env["clinic.sms.credit.purchase"].with_user(user or self.manager)
        wizard = Wizard.with_company(self.clinic).create({"company_id": self.clinic.id, **values})
        return wizard, wizard.action_confirm()

    def ledger(self, domain=()):
        return self.env["clinic.sms.credit"].sudo().search([("company_id", "=", self.clinic.id), *domain])

    def statement(self, year=2027, quarter="2", user=None):
        return (
            self.env["clinic.sms.statement"]
            .with_user(user or self.staff)
            .with_company(self.clinic)
            .create({"company_id": self.clinic.id, "year": year, "quarter": quarter})
        )

    def quarter_lines(self):
        """A second quarter of 2027 in Copenhagen (UTC+2 all quarter), with lines on the month edges."""
        self.line("consumption", -1, datetime(2027, 3, 31, 21, 30), parts=1)  # 23:30 on 31 March: March
        self.line("allowance", 100, datetime(2027, 3, 31, 22, 0), allowance_amount=100, period="2027-04")
        self.line("consumption", -2, datetime(2027, 3, 31, 23, 30), parts=2)  # 01:30 on 1 April: April
        self.line("lapse", -50, datetime(2027, 4, 30, 22, 0), allowance_amount=-50, period="2027-05")
        self.line("purchase", 500, datetime(2027, 5, 10, 9, 0), price=120.0, note="INV-7")
        self.line("consumption", -3, datetime(2027, 5, 11, 9, 0), parts=3)
        self.line("refund", 1, datetime(2027, 5, 12, 9, 0), parts=1)
        self.line("adjustment", -5, datetime(2027, 6, 30, 21, 59))  # 23:59 on 30 June: June
        self.line("adjustment", 7, datetime(2027, 6, 30, 22, 0))  # midnight on 1 July: not this quarter

    # ------------------------------------------------------------------ buying credits

    def test_purchase_adds_a_line_and_switches_the_check_on(self):
        self.assertFalse(self.clinic.clinic_sms_credit_check)
        wizard, action = self.purchase(pack="500", price=99.5, note="Invoice 2027/0042")
        self.assertTrue(wizard.switch_check_on, "switching the check on is offered by default")
        line = self.ledger([("kind", "=", "purchase")])
        self.assertEqual(len(line), 1)
        self.assertEqual(
            (line.amount, line.allowance_amount, line.price, line.note),
            (500.0, 0.0, 99.5, "Invoice 2027/0042"),
        )
        self.assertTrue(self.clinic.clinic_sms_credit_check)
        self.assertEqual(self.clinic.clinic_sms_credit_balance, 500.0)
        self.assertEqual(self.clinic.clinic_sms_pack_balance, 500.0)
        self.assertEqual(action["tag"], "display_notification")
        self.assertIn("500", action["params"]["message"])
        self.assertEqual(action["params"]["next"], {"type": "ir.actions.act_window_close"})

    def test_a_purchase_records_the_price_per_credit_of_its_day(self):
        self.rate("2027-01-01", 0.45)
        self.rate("2027-05-01", 0.5)
        self.move_to(datetime(2027, 4, 30, 21, 30))  # 23:30 on 30 April in Copenhagen
        form = Form(self.env["clinic.sms.credit.purchase"].with_user(self.manager).with_company(self.clinic))
        form.pack = "1000"
        self.assertEqual((form.credit_price, form.price), (0.45, 450.0), "the wizard offers the pack's price")
        form.pack = "500"
        self.assertEqual(form.price, 225.0)
        form.save().action_confirm()
        self.move_to(datetime(2027, 4, 30, 22, 30))  # 00:30 on 1 May in Copenhagen: the new price
        self.purchase(pack="100", note="INV-8")
        self.purchase(pack="100", price=42.0)  # the invoice said otherwise
        self.line("purchase", 200, datetime(2027, 3, 1, 9, 0))  # written in the ledger's own form
        lines = self.ledger([("kind", "=", "purchase")]).sorted("id")
        self.assertEqual(
            [(line.amount, line.credit_price, line.price) for line in lines],
            [(500.0, 0.45, 225.0), (100.0, 0.5, 50.0), (100.0, 0.5, 42.0), (200.0, 0.45, 90.0)],
        )
        # Before the first price, a purchase has none (and the price typed in, if any).
        self.line("purchase", 100, datetime(2026, 12, 31, 9, 0), price=30.0)
        first = self.ledger([("kind", "=", "purchase")]).sorted("id")[-1]
        self.assertEqual((first.credit_price, first.price), (0.0, 30.0))

    def test_prices_per_credit_are_never_negative_and_one_a_day(self):
        self.rate("2027-01-01", 0.45)
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError), self.cr.savepoint():
            self.rate("2027-01-01", 0.5)
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError), self.cr.savepoint():
            self.rate("2027-02-01", -0.1)
        other = self.env["res.company"].create({"name": "Aarhus Physio"})
        self.env["clinic.sms.credit.rate"].create(
            {"company_id": other.id, "valid_from": "2027-01-01", "price": 0.6}
        )
        with self.assertRaises(AccessError):
            self.env["clinic.sms.credit.rate"].with_user(self.staff).search([])
        seen = self.env["clinic.sms.credit.rate"].with_user(self.manager).with_company(self.clinic).search([])
        self.assertEqual(seen.mapped("price"), [0.45], "another clinic's prices are not seen")

    def test_purchase_respects_unticking_and_custom_sizes(self):
        self.purchase(pack="other", custom_size=250, switch_check_on=False)
        self.assertFalse(self.clinic.clinic_sms_credit_check)
        self.assertEqual(self.ledger([("kind", "=", "purchase")]).mapped("amount"), [250.0])
        with self.assertRaises(UserError):
            self.purchase(pack="other", custom_size=0)
        self.assertEqual(len(self.ledger([("kind", "=", "purchase")])), 1)

    def test_purchase_rearms_the_warnings(self):
        self.line("consumption", -10, datetime(2027, 1, 10, 9, 0), parts=10)
        self.env["clinic.sms.credit"]._warn(self.clinic)
        self.assertEqual(self.clinic.clinic_sms_credit_warned, "50,30,0")
        self.purchase(pack="100")
        self.assertFalse(self.clinic.clinic_sms_credit_warned, "the balance is back above every threshold")
        self.assertFalse(self.clinic.clinic_sms_credit_low)

    def test_only_administrators_buy_and_employees_see_no_ledger(self):
        with self.assertRaises(AccessError):
            self.purchase(user=self.staff, pack="100")
        self.assertFalse(self.ledger())
        # Even a wizard made for them does not let a user in.
        wizard = self.env["clinic.sms.credit.purchase"].create({"company_id": self.clinic.id, "pack": "100"})
        with self.assertRaises(AccessError):
            wizard.with_user(self.staff).action_confirm()
        self.assertFalse(self.ledger())
        self.line("purchase", 100, datetime(2027, 1, 1))
        staff_ledger = self.env["clinic.sms.credit"].with_user(self.staff)
        self.assertEqual(len(staff_ledger.search([("company_id", "=", self.clinic.id)])), 1)
        with self.assertRaises(AccessError):
            self.env["clinic.sms.credit"].with_user(self.employee).search([])
        with self.assertRaises(AccessError):
            self.env["clinic.sms.statement"].with_user(self.employee).create({"company_id": self.clinic.id})

    # ------------------------------------------------------------------ statement

    def test_statement_defaults_to_the_last_finished_quarter_in_clinic_time(self):
        self.move_to(datetime(2027, 6, 30, 22, 30))  # UTC: still June; Copenhagen: 1 July
        statement = self.env["clinic.sms.statement"].with_company(self.clinic).create({})
        self.assertEqual((statement.year, statement.quarter), (2027, "2"))
        self.move_to(datetime(2027, 1, 11, 10, 0))
        statement = self.env["clinic.sms.statement"].with_company(self.clinic).create({})
        self.assertEqual((statement.year, statement.quarter), (2026, "4"))

    def test_statement_months_in_clinic_time_and_totals_equal_the_ledger(self):
        self.quarter_lines()
        data = self.statement()._statement_data()
        months = {row["period"]: row for row in data["months"]}
        self.assertEqual(list(months), ["2027-04", "2027-05", "2027-06"])
        april, may, june = months.values()
        self.assertEqual(
            (april["messages"], april["parts"], april["used"], april["granted"], april["net"]),
            (1, 2, 2.0, 100.0, 98.0),
            "the SMS at 23:30 UTC on 31 March was sent in April in Copenhagen",
        )
        self.assertEqual(
            (may["messages"], may["parts"], may["used"], may["granted"], may["lapsed"], may["net"]),
            (1, 3, 2.0, 500.0, 50.0, 448.0),
        )
        self.assertEqual((june["messages"], june["adjusted"], june["net"]), (0, -5.0, -5.0))

        # The totals are the ledger's sums by kind over the quarter's dates (clinic time).
        lines = self.ledger(
            [("date", ">=", datetime(2027, 3, 31, 22, 0)), ("date", "<", datetime(2027, 6, 30, 22, 0))]
        )

        def total(*kinds):
            return sum(lines.filtered(lambda line: line.kind in kinds).mapped("amount"))

        consumption = lines.filtered(lambda line: line.kind == "consumption")
        expected = {
            "messages": len(consumption),
            "parts": sum(consumption.mapped("parts")),
            "used": -total("consumption", "refund"),
            "granted": total("allowance", "purchase"),
            "lapsed": -total("lapse"),
            "adjusted": total("adjustment"),
            "net": sum(lines.mapped("amount")),
        }
        self.assertEqual({key: data["total"][key] for key in expected}, expected)
        self.assertEqual(expected["net"], 541.0)
        self.assertEqual(data["opening"], -1.0)
        before_end = self.ledger([("date", "<", datetime(2027, 6, 30, 22, 0))])
        self.assertEqual(data["closing"], sum(before_end.mapped("amount")))

    def test_statement_report_and_csv(self):
        self.quarter_lines()
        statement = self.statement()
        html, kind = self.env["ir.actions.report"]._render_qweb_html(
            "clinic_sms.clinic_sms_statement_report", statement.ids
        )
        self.assertEqual(kind, "html")
        html = html.decode()
        self.assertIn("Nørrebro Physio", html)
        self.assertIn("SMS statement, Q2 2027", html)
        self.assertIn("April 2027", html)
        total_row = html[html.index("o_clinic_sms_statement_total") :]
        for figure in ("Total", "541", "600", "50", "-5"):
            self.assertIn(figure, total_row)
        self.assertIn("541", statement.preview)

        self.assertIn("<span>VAT number:</span> <span>DK12345674</span>", html)

        rows = self.csv_rows(statement)
        self.assertEqual(rows[0][:4], ["Month", "Messages sent", "SMS parts", "Credits used"])
        self.assertEqual([row[0] for row in rows[1:]], ["2027-04", "2027-05", "2027-06", "Total"])
        self.assertEqual(
            rows[-1],
            [
                "Total",
                "2",
                "5",
                "4",
                "600",
                "50",
                "-5",
                "541",
                "0.00",
                "DKK",
                "Nørrebro Physio",
                "DK12345674",
            ],
        )

    def csv_rows(self, statement):
        action = statement.action_export()
        self.assertEqual(action["type"], "ir.actions.act_url")
        self.assertTrue(action["url"].endswith("?download=true"))
        attachment = self.env["ir.attachment"].browse(int(action["url"].split("/")[3].split("?")[0]))
        return list(csv.reader(io.StringIO(base64.b64decode(attachment.datas).decode("utf-8-sig"))))

    def test_statement_values_the_credits_used_at_the_price_of_their_day(self):
        self.quarter_lines()
        self.rate("2027-04-01", 0.5)
        self.rate("2027-05-01", 0.8)  # the price changes in the middle of the quarter
        self.line("consumption", -4, datetime(2027, 4, 30, 21, 30), parts=4)  # 23:30 on 30 April
        self.line("consumption", -10, datetime(2027, 4, 30, 22, 30), parts=5)  # 00:30 on 1 May
        statement = self.statement()
        data = statement._statement_data()
        # April: 2 + 4 credits at 0.50; May: 10 + 3 credits less 1 refunded at 0.80; June: none used.
        self.assertEqual([row["amount"] for row in data["months"]], [3.0, 9.6, 0.0])
        self.assertEqual([row["used"] for row in data["months"]], [6.0, 12.0, 0.0])
        self.assertEqual((data["total"]["used"], data["total"]["amount"]), (18.0, 12.6))
        self.assertEqual(data["total"]["unpriced"], 0.0)
        self.assertEqual(
            data["prices"],
            ["kr\N{NO-BREAK SPACE}0.50 from 04/01/2027", "kr\N{NO-BREAK SPACE}0.80 from 05/01/2027"],
        )

        rows = self.csv_rows(statement)
        self.assertEqual(rows[0][8:], ["Amount", "Currency", "Company", "VAT number"])
        self.assertEqual(
            [row[8:] for row in rows[1:]],
            [
                [amount, "DKK", "Nørrebro Physio", "DK12345674"]
                for amount in ("3.00", "9.60", "0.00", "12.60")
            ],
        )
        self.assertIn("kr\N{NO-BREAK SPACE}12.60", statement.preview)

    def test_credits_used_before_the_first_price_have_no_amount(self):
        self.quarter_lines()
        self.rate("2027-05-01", 0.8)
        data = self.statement()._statement_data()
        self.assertEqual([row["amount"] for row in data["months"]], [0.0, 1.6, 0.0])
        self.assertEqual(data["total"]["unpriced"], 2.0, "April's 2 credits had no price yet")
        html = self.statement().preview
        self.assertIn("2 credits used before the first price per credit", " ".join(html.split()))

    def test_statement_print_action(self):
        action = self.statement(user=self.manager).action_print()
        self.assertEqual(action["type"], "ir.actions.report")
        self.assertEqual(action["report_name"], "clinic_sms.statement_report")

    # ------------------------------------------------------------------ settings

    def test_turning_an_allowance_on_ticks_the_credit_check(self):
        company = self.env.company
        company.write({"clinic_sms_monthly_allowance": 0, "clinic_sms_credit_check": False})
        with self.assertLogs("odoo.tests.form.onchange", "WARNING") as logs:
            settings = Form(self.env["res.config.settings"])
            settings.clinic_sms_monthly_allowance = 200
        self.assertIn("Check credits before sending", logs.output[0])
        self.assertTrue(settings.clinic_sms_credit_check)
        settings.clinic_sms_credit_check = False  # the administrator may still untick it
        settings.save().execute()
        self.assertEqual(
            (company.clinic_sms_monthly_allowance, company.clinic_sms_credit_check), (200, False)
        )

        # An allowance that was already on is only changed: nothing is ticked behind the user's back.
        settings = Form(self.env["res.config.settings"])
        settings.clinic_sms_monthly_allowance = 300
        self.assertFalse(settings.clinic_sms_credit_check)

    # ------------------------------------------------------------------ low-credit e-mail

    def test_low_credit_mail_goes_to_the_administrators(self):
        self.line("purchase", 100, datetime(2027, 1, 5, 9, 0))
        self.env["clinic.sms.credit"]._warn(self.clinic)
        Mail = self.env["mail.mail"].sudo()
        domain = [("model", "=", "res.company"), ("res_id", "=", self.clinic.id)]
        self.assertFalse(Mail.search(domain))

        self.line("consumption", -60, datetime(2027, 1, 10, 9, 0), parts=60)
        self.env["clinic.sms.credit"]._warn(self.clinic)
        mail = Mail.search(domain)
        self.assertEqual(len(mail), 1)
        self.assertIn("karen@physio.example.com", mail.email_to)
        self.assertNotIn("admin", mail.email_to, "only administrators of this company")
        self.assertIn("Nørrebro Physio", mail.subject)
        self.assertIn("40", mail.subject)
        self.assertIn("fell to", mail.body_html)
        self.assertIn("<strong>40</strong>", mail.body_html)
        self.assertIn("threshold 50", mail.body_html)
        self.assertIn("Buy credits", mail.body_html)

        self.env["clinic.sms.credit"]._warn(self.clinic)  # nothing new crossed: no second mail
        self.assertEqual(len(Mail.search(domain)), 1)
