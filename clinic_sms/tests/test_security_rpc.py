"""Every public method, called through the real door (JSON-RPC), as the README's Security table says.

The table in README.rst is read here: each row is called as an employee without Clinic SMS, a
Clinic SMS user, a Clinic SMS administrator and a system administrator of clinic A, and as a Clinic
SMS administrator of clinic B acting on clinic A's records. Allowed calls must work; refused ones
must answer an AccessError and change nothing.
"""

import inspect
import re
from datetime import date, datetime, timedelta
from pathlib import Path

from odoo.exceptions import AccessError
from odoo.service.model import get_public_method
from odoo.tests import new_test_user, tagged
from odoo.tests.common import JsonRpcException

from .common import NOW
from .security_common import ACCESS_ERROR, VALIDATION_ERROR, SecurityRpcCase

README = Path(__file__).resolve().parents[2] / "README.rst"
ROLES = ("employee", "user", "admin", "system")


def readme_table():
    """{(model, method): {"employee": bool, "user": bool, "admin": bool, "system": bool,
    "other": bool}} from the README's Security table (``other``: an administrator of another
    clinic, allowed only on rows whose companies are *any*)."""
    lines = README.read_text(encoding="utf-8").split("\n")
    start = lines.index("Security")
    borders = [i for i in range(start, len(lines)) if re.fullmatch(r"=+( +=+)+", lines[i])]
    top, _head, bottom = borders[:3]
    spans = [m.span() for m in re.finditer(r"=+", lines[top])]
    rows = {}
    last = None
    for line in lines[borders[1] + 1 : bottom]:
        cells = [line[a : (b if i < len(spans) - 1 else None)].strip() for i, (a, b) in enumerate(spans)]
        if not cells[0]:
            continue  # the companies cell goes on
        model, method = (part.strip() for part in cells[0].split(":"))
        allowed = dict(zip(ROLES, (cell == "yes" for cell in cells[1:5]), strict=True))
        allowed["other"] = cells[5].startswith("any") and allowed["admin"]
        rows[model, method] = last = allowed
    assert last, "the Security table has rows"
    return rows


@tagged("post_install", "-at_install")
class TestSecurityRpc(SecurityRpcCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("da_DK")
        cls.system = new_test_user(
            cls.env,
            login="sec_system",
            groups="base.group_system",
            company_ids=[(6, 0, [cls.company_a.id])],
        )
        for index, user in enumerate((cls.employee, cls.staff, cls.admin, cls.other, cls.system)):
            user.partner_id.phone = f"+45 20 11 22 3{index}"
        cls.users = {
            "employee": cls.employee,
            "user": cls.staff,
            "admin": cls.admin,
            "system": cls.system,
            "other": cls.other,
        }
        # A gateway that can be asked about delivery; nobody answers there, which changes nothing.
        cls.gateway_poll = cls.env["clinic.sms.gateway"].create(
            {
                "name": "Pollable A",
                "provider": "gatewayapi",
                "company_id": cls.company_a.id,
                "api_url": "http://127.0.0.1:9",
                "api_key": "k",
                "timeout": 1,
                "sequence": 99,
            }
        )
        cls.rule_a = cls.env["clinic.sms.rule"].create(
            {
                "name": "A: 48 h before",
                "kind": "reminder",
                "template_id": cls.rule_reminder.template_id.id,
                "company_id": cls.company_a.id,
                "hours_before": 48,
                "active": False,
            }
        )
        cls.template_a = cls.env["clinic.sms.template"].create(
            {
                "name": "A's text",
                "kind": "manual",
                "body": "Hi {patient_first_name}",
                "company_id": cls.company_a.id,
            }
        )

    # ------------------------------------------------------------------ the table

    def test_every_public_method_answers_as_the_table_says(self):
        """Each public method the add-on defines on a model has its row, and each row is called as
        every kind of user: allowed ones work, refused ones answer an AccessError."""
        table = readme_table()
        defined = set()
        for name in self.env.registry:
            if self.env[name]._abstract:
                continue  # no records to call a method on; what models inherit is listed under them
            for cls in type(self.env[name]).mro():
                if not cls.__module__.startswith("odoo.addons.clinic_sms."):
                    continue
                for attr, value in vars(cls).items():
                    if inspect.isfunction(value) and is_public(self.env[name], attr):
                        defined.add((name, attr))
        self.assertFalse(defined - set(table), "public methods missing from the README's Security table")
        for model, method in table:
            self.assertTrue(hasattr(self.env[model], method), f"{model}.{method} does not exist")
            self.assertTrue(hasattr(self, door_name(model, method)), f"no test calls {model}.{method}")
        for (model, method), allowed in table.items():
            door = getattr(self, door_name(model, method))
            for role, user in self.users.items():
                with self.subTest(f"{model}.{method} as {role}"):
                    try:
                        door(user)
                    except JsonRpcException as error:
                        self.assertFalse(allowed[role], f"{model}.{method} refused to {role}: {error}")
                        self.assertEqual(str(error), ACCESS_ERROR, f"{model}.{method} as {role}")
                    else:
                        self.assertTrue(allowed[role], f"{model}.{method} allowed to {role}")

    # ------------------------------------------------------------------ the doors, one per row

    def new_event(self, start=None, patients=None):
        start = start or NOW + timedelta(days=3)
        return self.make_event(start, patients=self.patient2 if patients is None else patients)

    def door__calendar_event__create(self, user):
        self.call(
            user,
            "calendar.event",
            "create",
            [
                {
                    "name": "Booked over RPC",
                    "start": "2027-01-20 09:00:00",
                    "stop": "2027-01-20 10:00:00",
                    "partner_ids": [(6, 0, [self.patient2.id])],
                }
            ],
        )

    def door__calendar_event__write(self, user):
        self.call(user, "calendar.event", "write", [[self.new_event().id], {"name": "Renamed"}])

    def door__calendar_attendee__write(self, user):
        attendee = self.new_event().attendee_ids.filtered(lambda a: a.partner_id == self.patient2)
        self.call(user, "calendar.attendee", "write", [attendee.ids, {"state": "accepted"}])

    def door__calendar_event__unlink(self, user):
        self.call(user, "calendar.event", "unlink", [[self.new_event().id]])

    def door__calendar_event__action_clinic_sms_messages(self, user):
        self.call(user, "calendar.event", "action_clinic_sms_messages", [[self.new_event().id]])

    def door__res_partner__action_clinic_sms_messages(self, user):
        self.call(user, "res.partner", "action_clinic_sms_messages", [[self.patient.id]])

    def door__res_partner__action_clinic_sms_use_phone(self, user):
        self.call(user, "res.partner", "action_clinic_sms_use_phone", [[self.patient.id]])

    def door__res_partner__create(self, user):
        self.call(user, "res.partner", "create", [{"name": "Created over RPC", "sms_consent": True}])

    def door__res_partner__write(self, user):
        self.call(
            user, "res.partner", "write", [[self.patient2.id], {"sms_consent": not self.patient2.sms_consent}]
        )

    def door__res_company__write(self, user):
        self.call(user, "res.company", "write", [[self.company_a.id], {"clinic_sms_window_start": 7.0}])

    def door__res_config_settings__action_clinic_sms_open_log(self, user):
        self.call(user, "res.config.settings", "action_clinic_sms_open_log", [[]])

    def door__res_config_settings__action_clinic_sms_open_prices(self, user):
        self.call(user, "res.config.settings", "action_clinic_sms_open_prices", [[]])

    def door__res_config_settings__action_clinic_sms_synchronize(self, user):
        self.call(user, "res.config.settings", "action_clinic_sms_synchronize", [[]])

    def door__res_config_settings__action_clinic_sms_review(self, user):
        self.call(user, "res.config.settings", "action_clinic_sms_review", [[]])

    def door__res_config_settings__action_clinic_sms_reviewed(self, user):
        self.call(user, "res.config.settings", "action_clinic_sms_reviewed", [[]])

    def door__clinic_sms_message__read(self, user):
        self.call(user, "clinic.sms.message", "read", [[self.make_message().id], ["state"]])

    def door__clinic_sms_message__create(self, user):
        self.call(
            user,
            "clinic.sms.message",
            "create",
            [
                {
                    "kind": "manual",
                    "partner_id": self.patient.id,
                    "body": "Hi",
                    "company_id": self.company_a.id,
                }
            ],
        )

    def door__clinic_sms_message__write(self, user):
        failed = self.make_message(state="failed", reason="rejected")
        self.call(user, "clinic.sms.message", "write", [[failed.id], {"state": "delivered"}])

    def door__clinic_sms_message__unlink(self, user):
        self.call(user, "clinic.sms.message", "unlink", [[self.make_message(state="cancelled").id]])

    def door__clinic_sms_message__action_cancel(self, user):
        self.call(user, "clinic.sms.message", "action_cancel", [[self.make_message().id]])

    def door__clinic_sms_message__action_retry(self, user):
        self.call(user, "clinic.sms.message", "action_retry", [[self.make_message(state="failed").id]])

    def door__clinic_sms_message__action_clinic_sms_requeue(self, user):
        message = self.make_message(state="failed")
        self.call(user, "clinic.sms.message", "action_clinic_sms_requeue", [[message.id]])

    def door__clinic_sms_message__action_refresh_status(self, user):
        message = self.make_message(
            state="sent",
            gateway_id=self.gateway_poll.id,
            provider_ref="gw-1",
            sent_at=NOW,
            number="+4520123456",
        )
        self.call(user, "clinic.sms.message", "action_refresh_status", [[message.id]])

    def door__clinic_sms_gateway__create(self, user):
        self.call(
            user,
            "clinic.sms.gateway",
            "create",
            [{"name": "New", "provider": "test", "company_id": self.company_a.id}],
        )

    def door__clinic_sms_gateway__write(self, user):
        self.call(user, "clinic.sms.gateway", "write", [[self.gateway_a.id], {"sequence": 7}])

    def door__clinic_sms_gateway__unlink(self, user):
        gateway = self.env["clinic.sms.gateway"].create(
            {"name": "Spare", "provider": "test", "company_id": self.company_a.id, "active": False}
        )
        self.call(user, "clinic.sms.gateway", "unlink", [[gateway.id]])

    def door__clinic_sms_gateway__action_regenerate_webhook_token(self, user):
        self.call(user, "clinic.sms.gateway", "action_regenerate_webhook_token", [[self.gateway_a.id]])

    def door__clinic_sms_gateway__action_send_test(self, user):
        self.call(user, "clinic.sms.gateway", "action_send_test", [[self.gateway_a.id]])

    def door__clinic_sms_credit__create(self, user):
        values = {"company_id": self.company_a.id, "kind": "adjustment", "amount": 5, "note": "Goodwill"}
        self.call(user, "clinic.sms.credit", "create", [values])

    def door__clinic_sms_credit__write(self, user):
        line = self.env["clinic.sms.credit"].create(
            {"company_id": self.company_a.id, "kind": "purchase", "amount": 100}
        )
        self.call(user, "clinic.sms.credit", "write", [[line.id], {"note": "Invoice 7"}])

    def door__clinic_sms_credit_price__read(self, user):
        price = self.env["clinic.sms.credit.price"].search([("company_id", "=", self.company_a.id)], limit=1)
        price = price or self.env["clinic.sms.credit.price"].create(
            {"company_id": self.company_a.id, "prefix": "+46", "credits_per_part": 2.0}
        )
        self.call(user, "clinic.sms.credit.price", "read", [[price.id], ["prefix"]])

    def door__clinic_sms_credit_rate__read(self, user):
        Rate = self.env["clinic.sms.credit.rate"]
        rate = Rate.search([("company_id", "=", self.company_a.id)], limit=1) or Rate.create(
            {"company_id": self.company_a.id, "valid_from": "2026-01-01", "price": 0.45}
        )
        self.call(user, "clinic.sms.credit.rate", "read", [rate.ids, ["price"]])

    def door__clinic_sms_credit_rate__create(self, user):
        self.rates_made = getattr(self, "rates_made", 0) + 1
        values = {
            "company_id": self.company_a.id,
            "valid_from": f"2027-02-{self.rates_made:02d}",
            "price": 0.5,
        }
        self.call(user, "clinic.sms.credit.rate", "create", [values])

    def door__clinic_sms_rule__create(self, user):
        values = {
            "name": "Two hours before",
            "kind": "reminder",
            "template_id": self.rule_reminder.template_id.id,
            "company_id": self.company_a.id,
            "hours_before": 2,
        }
        self.call(user, "clinic.sms.rule", "create", [values])

    def door__clinic_sms_rule__write(self, user):
        self.call(user, "clinic.sms.rule", "write", [[self.rule_a.id], {"sequence": 3}])

    def door__clinic_sms_template__update_field_translations(self, user):
        self.call(
            user,
            "clinic.sms.template",
            "update_field_translations",
            [[self.template_a.id], "body", {"da_DK": "Hej {patient_first_name}"}],
        )

    def door__clinic_sms_template__action_send_test(self, user):
        self.call(user, "clinic.sms.template", "action_send_test", [[self.template_a.id]])

    def door__clinic_sms_composer__default_get(self, user):
        self.call(user, "clinic.sms.composer", "default_get", [["company_id", "body"]])

    def composer(self, user):
        values = {
            "company_id": self.company_a.id,
            "partner_ids": [(6, 0, [self.patient.id])],
            "body": "Hello",
        }
        return self.call(user, "clinic.sms.composer", "create", [values])

    def door__clinic_sms_composer__action_send(self, user):
        self.call(user, "clinic.sms.composer", "action_send", [[self.composer(user)]])

    def door__clinic_sms_composer__action_send_test(self, user):
        self.call(user, "clinic.sms.composer", "action_send_test", [[self.composer(user)]])

    def door__clinic_sms_day__default_get(self, user):
        self.call(user, "clinic.sms.day", "default_get", [["user_id", "date_from"]])

    def day(self, user, mode):
        self.new_event(datetime(2027, 1, 12, 9, 0), patients=self.patient)
        values = {
            "company_id": self.company_a.id,
            "user_id": self.practitioner.id,
            "date_from": "2027-01-12",
            "mode": mode,
            "body": "Dr. Hansen is running late.",
        }
        return self.call(user, "clinic.sms.day", "create", [values])

    def door__clinic_sms_day__action_send(self, user):
        self.call(user, "clinic.sms.day", "action_send", [[self.day(user, "notice")]])

    def door__clinic_sms_day__action_cancel_day(self, user):
        self.call(user, "clinic.sms.day", "action_cancel_day", [[self.day(user, "cancel")]])

    def reminder_run(self, user):
        """A reminder run of clinic A for tomorrow, where a new patient has an appointment."""
        self.patients_made = getattr(self, "patients_made", 0) + 1
        patient = self.env["res.partner"].create(
            {
                "name": "Run patient",
                "phone": f"+45 31 40 {self.patients_made:04d}",
                "company_id": self.company_a.id,
            }
        )
        self.new_event(datetime(2027, 1, 12, 13, 0), patients=patient)
        return self.call(user, "clinic.sms.reminder.run", "create", [{"company_id": self.company_a.id}])

    def door__clinic_sms_reminder_run__action_preview(self, user):
        self.call(user, "clinic.sms.reminder.run", "action_preview", [[self.reminder_run(user)]])

    def door__clinic_sms_reminder_run__action_send(self, user):
        self.call(user, "clinic.sms.reminder.run", "action_send", [[self.reminder_run(user)]])

    def door__clinic_sms_reminder_run_line__create(self, user):
        run = (
            self.env["clinic.sms.reminder.run"]
            .with_user(self.staff)
            .create({"company_id": self.company_a.id})
        )
        values = {"run_id": run.id, "partner_id": self.patient.id, "body": "Pay here: http://x"}
        self.call(user, "clinic.sms.reminder.run.line", "create", [values])

    def door__clinic_sms_reminder_run_line__write(self, user):
        run_id = self.reminder_run(user)
        self.call(user, "clinic.sms.reminder.run", "action_preview", [[run_id]])
        line = self.env["clinic.sms.reminder.run"].browse(run_id).line_ids[:1]
        self.call(user, "clinic.sms.reminder.run.line", "write", [line.ids, {"selected": False}])

    def door__clinic_sms_resend__action_confirm(self, user):
        event = self.new_event(patients=self.patient)
        reminder = self.make_message(
            kind="reminder", state="delivered", event_id=event.id, event_start=event.start, body="Hi"
        )
        wizard = self.call(user, "clinic.sms.resend", "create", [{"message_id": reminder.id}])
        self.call(user, "clinic.sms.resend", "action_confirm", [[wizard]])

    def door__clinic_sms_credit_purchase__action_confirm(self, user):
        values = {"company_id": self.company_a.id, "pack": "100"}
        wizard = self.call(user, "clinic.sms.credit.purchase", "create", [values])
        self.call(user, "clinic.sms.credit.purchase", "action_confirm", [[wizard]])

    def statement(self, user):
        values = {"company_id": self.company_a.id, "year": 2026, "quarter": "4"}
        return self.call(user, "clinic.sms.statement", "create", [values])

    def door__clinic_sms_statement__action_print(self, user):
        self.call(user, "clinic.sms.statement", "action_print", [[self.statement(user)]])

    def door__clinic_sms_statement__action_export(self, user):
        self.call(user, "clinic.sms.statement", "action_export", [[self.statement(user)]])

    def door__clinic_sms_purge__action_purge(self, user):
        values = {"date": str(date(2026, 1, 1)), "company_ids": [(6, 0, [self.company_a.id])]}
        wizard = self.call(user, "clinic.sms.purge", "create", [values])
        self.call(user, "clinic.sms.purge", "action_purge", [[wizard]])

    # ------------------------------------------------------------------ what the doors keep

    def test_gateway_buttons_of_a_clinic_are_its_administrators_only(self):
        for user in (self.employee, self.staff, self.other, self.system):
            self.assertRefused(
                user, "clinic.sms.gateway", "action_regenerate_webhook_token", [[self.gateway_a.id]]
            )
            self.assertRefused(user, "clinic.sms.gateway", "action_send_test", [[self.gateway_a.id]])
        self.env.invalidate_all()
        self.assertEqual(self.gateway_a.sudo().webhook_token, "tok-a", "a refused click changes nothing")
        self.assertFalse(self.sent, "and sends nothing")
        self.call(self.admin, "clinic.sms.gateway", "action_regenerate_webhook_token", [[self.gateway_a.id]])
        self.env.invalidate_all()
        self.assertNotEqual(self.gateway_a.sudo().webhook_token, "tok-a")
        self.assertRefused(
            self.admin, "clinic.sms.gateway", "action_regenerate_webhook_token", [[self.gateway_b.id]]
        )
        self.assertEqual(self.gateway_b.sudo().webhook_token, "tok-b")

    def test_a_shared_gateway_is_changed_only_by_who_answers_for_every_clinic(self):
        shared = self.gateway  # the test gateway of the database, no company
        token = shared.sudo().webhook_token
        self.assertRefused(self.admin, "clinic.sms.gateway", "action_regenerate_webhook_token", [shared.ids])
        self.assertRefused(self.admin, "clinic.sms.gateway", "write", [shared.ids, {"active": False}])
        self.assertRefused(
            self.admin, "clinic.sms.gateway", "create", [{"name": "Everyone's", "provider": "test"}]
        )
        self.env.invalidate_all()
        self.assertEqual((shared.sudo().webhook_token, shared.active), (token, True))
        self.call(self.admin, "clinic.sms.gateway", "action_send_test", [shared.ids])  # sending is fine
        self.call(self.sysadmin, "clinic.sms.gateway", "action_regenerate_webhook_token", [shared.ids])
        self.env.invalidate_all()
        self.assertNotEqual(shared.sudo().webhook_token, token)

    def test_staff_actions_work_for_a_clinic_sms_user_who_cannot_write_the_log(self):
        queued, failed = self.make_message(), self.make_message(state="failed", reason="rejected")
        self.assertRefused(self.staff, "clinic.sms.message", "write", [queued.ids, {"state": "cancelled"}])
        self.call(self.staff, "clinic.sms.message", "action_cancel", [queued.ids])
        action = self.call(self.staff, "clinic.sms.message", "action_retry", [failed.ids])
        self.env.invalidate_all()
        self.assertEqual((queued.state, queued.reason), ("cancelled", "staff"))
        again = self.env["clinic.sms.message"].search(action["domain"])
        self.assertEqual((len(again), again.state, again.body), (1, "queued", "Hello"))
        self.assertEqual(failed.state, "failed", "the old one stays in the log")

    def test_another_clinic_reads_neither_this_clinics_log_nor_its_prices(self):
        queued = self.make_message()
        self.assertRefused(self.other, "clinic.sms.message", "action_cancel", [queued.ids])
        self.assertRefused(self.other, "clinic.sms.message", "read", [queued.ids, ["body"]])
        self.assertEqual(queued.state, "queued")
        self.env["clinic.sms.credit.price"].create(
            {"company_id": self.company_a.id, "prefix": "+48", "credits_per_part": 3}
        )
        self.env["clinic.sms.credit.price"].create(
            {"company_id": self.company_b.id, "prefix": "+49", "credits_per_part": 4}
        )
        seen = self.call(self.other, "clinic.sms.credit.price", "search_read", [[]], fields=["prefix"])
        self.assertEqual([row["prefix"] for row in seen], ["+49"])
        Rate = self.env["clinic.sms.credit.rate"]
        rate_a = Rate.create({"company_id": self.company_a.id, "valid_from": "2027-01-01", "price": 0.45})
        Rate.create({"company_id": self.company_b.id, "valid_from": "2027-01-01", "price": 0.6})
        seen = self.call(self.other, "clinic.sms.credit.rate", "search_read", [[]], fields=["price"])
        self.assertEqual([row["price"] for row in seen], [0.6], "a clinic never sees another's prices")
        self.assertRefused(self.other, "clinic.sms.credit.rate", "read", [rate_a.ids, ["price"]])
        self.assertRefused(self.other, "clinic.sms.credit.rate", "write", [rate_a.ids, {"price": 0.01}])
        self.assertEqual(rate_a.price, 0.45)

    def test_the_practitioners_day_of_another_clinic_creates_nothing(self):
        self.new_event(datetime(2027, 1, 12, 9, 0), patients=self.patient)
        values = {
            "company_id": self.company_b.id,
            "user_id": self.practitioner.id,
            "date_from": "2027-01-12",
            "body": "Closed today.",
        }
        wizard = self.call(self.other, "clinic.sms.day", "create", [values])
        self.assertRefused(self.other, "clinic.sms.day", "action_send", [[wizard]])
        self.assertFalse(self.messages(kind="notice"))

    def test_a_colleagues_wizard_is_not_yours(self):
        wizard = self.composer(self.staff)
        self.assertRefused(self.admin, "clinic.sms.composer", "action_send", [[wizard]])
        self.assertFalse(self.messages(kind="manual"))

    def test_run_lines_send_only_the_text_the_preview_wrote(self):
        run_id = self.reminder_run(self.staff)
        self.call(self.staff, "clinic.sms.reminder.run", "action_preview", [[run_id]])
        line = self.env["clinic.sms.reminder.run"].browse(run_id).line_ids.filtered("selected")
        previewed = line.body
        self.assertTrue(previewed)
        evil = "Your appointment is cancelled, pay 50 DKK at http://evil.example"
        self.assertRefused(self.staff, "clinic.sms.reminder.run.line", "write", [line.ids, {"body": evil}])
        self.assertRefused(
            self.staff,
            "clinic.sms.reminder.run",
            "write",
            [[run_id], {"line_ids": [(1, line.id, {"body": evil})]}],
        )
        self.assertRefused(
            self.staff,
            "clinic.sms.reminder.run",
            "write",
            [
                [run_id],
                {
                    "line_ids": [
                        (0, 0, {"partner_id": self.patient.id, "event_id": line.event_id.id, "body": evil})
                    ]
                },
            ],
        )
        self.call(self.staff, "clinic.sms.reminder.run", "action_send", [[run_id]])
        sent = self.messages(kind="reminder", partner=line.partner_id, states=["queued"])
        self.assertEqual(sent.mapped("body"), [previewed])

    def test_translated_template_text_is_checked_like_the_text(self):
        with self.assertRaises(JsonRpcException) as caught:
            self.call(
                self.admin,
                "clinic.sms.template",
                "update_field_translations",
                [[self.template_a.id], "body", {"da_DK": "Hej {patient_fornavn}"}],
            )
        self.assertEqual(str(caught.exception), VALIDATION_ERROR)
        self.env.invalidate_all()
        self.assertEqual(self.template_a.with_context(lang="da_DK").body, "Hi {patient_first_name}")


def is_public(model, name):
    """Whether JSON-RPC may call ``name`` on ``model`` (Odoo's own test of it)."""
    try:
        get_public_method(model, name)
    except AccessError:
        return False
    return True


def door_name(model, method):
    return f"door__{model.replace('.', '_')}__{method}"
