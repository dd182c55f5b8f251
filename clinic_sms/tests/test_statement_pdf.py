"""The quarterly statement on paper: a real PDF from wkhtmltopdf, its figures read back with pdftotext.

Debian's wkhtmltopdf and poppler-utils are installed by `make test` and .ci/run; without them this
test fails (it is never skipped). wkhtmltopdf fetches the report's styles over HTTP from the test
server (HttpCase sets web.base.url to it), as it does from a real Odoo.
"""

import re
import shutil
import subprocess
from datetime import datetime

from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestStatementPdf(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.clinic = cls.env["res.company"].create(
            {
                "name": "Nørrebro Physio",
                "clinic_sms_tz": "Europe/Copenhagen",
                "clinic_sms_credit_check": False,
                "currency_id": cls.env.ref("base.DKK").id,
                "vat": "DK12345674",
            }
        )
        cls.staff = new_test_user(
            cls.env,
            login="clinic_sms_pdf_staff",
            groups="base.group_user,clinic_sms.group_clinic_sms_user",
            company_id=cls.clinic.id,
            company_ids=[(6, 0, [cls.clinic.id])],
        )

    def line(self, kind, amount, when, **values):
        values.setdefault("note", "test" if kind == "adjustment" else False)
        return (
            self.env["clinic.sms.credit"]
            .sudo()
            .create({"company_id": self.clinic.id, "kind": kind, "amount": amount, "date": when, **values})
        )

    def test_the_statement_prints_as_a_pdf_whose_totals_read_back(self):
        self.assertTrue(
            shutil.which("wkhtmltopdf"),
            "wkhtmltopdf is missing: apt-get install wkhtmltopdf (make test does)",
        )
        self.assertTrue(
            shutil.which("pdftotext"), "pdftotext is missing: apt-get install poppler-utils (make test does)"
        )
        Report = self.env["ir.actions.report"]
        self.assertEqual(Report.get_wkhtmltopdf_state(), "ok", "Odoo finds a working wkhtmltopdf")

        # The second quarter of 2027 in Copenhagen (UTC+2), lines on the month edges.
        self.line("consumption", -1, datetime(2027, 3, 31, 21, 30), parts=1)  # March in Copenhagen
        self.line("allowance", 100, datetime(2027, 3, 31, 22, 0), allowance_amount=100, period="2027-04")
        self.line("consumption", -2, datetime(2027, 3, 31, 23, 30), parts=2)
        self.line("lapse", -50, datetime(2027, 4, 30, 22, 0), allowance_amount=-50, period="2027-05")
        self.line("purchase", 1500, datetime(2027, 5, 10, 9, 0), price=320.0, note="INV-7")
        self.line("consumption", -3, datetime(2027, 5, 11, 9, 0), parts=3)
        self.line("refund", 1, datetime(2027, 5, 12, 9, 0), parts=1)
        self.line("adjustment", -5.5, datetime(2027, 6, 30, 21, 59))
        self.line("adjustment", 7, datetime(2027, 6, 30, 22, 0))  # 1 July in Copenhagen: next quarter
        # Kroner per credit: 0.99 until the price changes on 1 May (clinic time).
        for valid_from, price in (("2027-01-01", 0.99), ("2027-05-01", 1.25)):
            self.env["clinic.sms.credit.rate"].create(
                {"company_id": self.clinic.id, "valid_from": valid_from, "price": price}
            )
        statement = (
            self.env["clinic.sms.statement"]
            .with_user(self.staff)
            .with_company(self.clinic)
            .create({"company_id": self.clinic.id, "year": 2027, "quarter": "2"})
        )

        pdf, kind = (
            Report.with_user(self.staff)
            .with_company(self.clinic)
            .with_context(force_report_rendering=True)
            ._render_qweb_pdf("clinic_sms.clinic_sms_statement_report", statement.ids)
        )
        self.assertEqual(kind, "pdf")
        self.assertTrue(pdf.startswith(b"%PDF-"), "wkhtmltopdf made a PDF, not Odoo's HTML fallback")

        text = subprocess.run(
            ["pdftotext", "-layout", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True
        ).stdout.decode()
        self.assertIn("Nørrebro Physio", text)
        self.assertIn("VAT number: DK12345674", " ".join(text.split()))
        self.assertIn("SMS statement, Q2 2027", text)
        months = [line.split() for line in text.splitlines() if re.match(r"\s*(April|May|June) 2027", line)]
        self.assertEqual([" ".join(month[:2]) for month in months], ["April 2027", "May 2027", "June 2027"])
        # The last column is the amount in kroner: April's 2 credits at 0.99, May's 2 at 1.25.
        self.assertEqual([month[-2:] for month in months], [["kr", "1.98"], ["kr", "2.50"], ["kr", "0.00"]])
        total = next(line.split() for line in text.splitlines() if line.strip().startswith("Total"))
        # Messages, parts, used, granted, lapsed, adjustments, net change, amount.
        self.assertEqual(total, ["Total", "2", "5", "4", "1,600", "50", "-5.50", "1,540.50", "kr", "4.48"])
        balances = " ".join(text.split())
        self.assertIn(
            "Balance at the start of the quarter: -1 credits; at its end: 1,539.50 credits.", balances
        )
        self.assertIn("Granted: 100 from monthly allowances, 1,500 from purchased packs.", balances)
        self.assertIn("Price per credit: kr 0.99 from 01/01/2027, kr 1.25 from 05/01/2027 ", balances)
