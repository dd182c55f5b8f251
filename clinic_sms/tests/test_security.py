from datetime import timedelta

from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import NOW, ClinicSmsCase


@tagged("post_install", "-at_install")
class TestSecurity(ClinicSmsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.add_users()

    def test_staff_reads_log_but_not_configuration(self):
        event = self.make_event(NOW + timedelta(days=2))
        reminder = self.messages(event, "reminder")
        self.assertEqual(reminder.with_user(self.staff).read(["state"])[0]["state"], "scheduled")
        with self.assertRaises(AccessError):
            self.rule_reminder.with_user(self.staff).write({"hours_before": 2})
        with self.assertRaises(AccessError):
            self.env["clinic.sms.gateway"].with_user(self.staff).create({"name": "Mine"})
        reminder.with_user(self.staff).action_cancel()
        self.assertEqual((reminder.state, reminder.reason), ("cancelled", "staff"))

    def test_employee_without_group_sees_no_log_but_still_plans(self):
        event = (
            self.env["calendar.event"]
            .with_user(self.employee)
            .create(
                {
                    "name": "Booked by an employee",
                    "start": NOW + timedelta(days=2),
                    "stop": NOW + timedelta(days=2, hours=1),
                    "partner_ids": [(6, 0, [self.employee.partner_id.id, self.patient.id])],
                }
            )
        )
        self.assertEqual(len(self.messages(event, "reminder")), 1)
        with self.assertRaises(AccessError):
            self.env["clinic.sms.message"].with_user(self.employee).search([])

    def test_admin_manages_rules_and_credentials_are_hidden(self):
        self.rule_reminder.with_user(self.admin).write({"hours_before": 12})
        gateway = (
            self.env["clinic.sms.gateway"]
            .with_user(self.admin)
            .create({"name": "Mine", "provider": "gatewayapi"})
        )
        with self.assertRaises(AccessError):
            gateway.with_user(self.admin).write({"api_key": "x"})
        gateway.sudo().api_key = "x"  # a system administrator sets credentials
        with self.assertRaises(AccessError):
            gateway.with_user(self.staff).read(["api_key"])

    def test_multi_company_log(self):
        other = self.env["res.company"].create({"name": "Other clinic"})
        event = self.make_event(NOW + timedelta(days=2))
        reminder = self.messages(event, "reminder")
        self.staff.write({"company_ids": [(6, 0, [other.id])], "company_id": other.id})
        self.assertFalse(
            self.env["clinic.sms.message"].with_user(self.staff).search([("id", "=", reminder.id)])
        )
