"""The SMS log is an audit trail: read by staff, written only by the add-on, never rewritten once sent."""

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import NOW
from .security_common import USER_ERROR, SecurityRpcCase


@tagged("post_install", "-at_install")
class TestSecurityLog(SecurityRpcCase):
    def test_nobody_forges_a_delivery_over_rpc(self):
        failed = self.make_message(state="failed", reason="rejected")
        for user in (self.staff, self.admin, self.sysadmin):
            self.assertRefused(user, "clinic.sms.message", "write", [failed.ids, {"state": "delivered"}])
            self.assertRefused(user, "clinic.sms.message", "write", [failed.ids, {"credits": 0, "body": "x"}])
        self.env.invalidate_all()
        self.assertEqual((failed.state, failed.body), ("failed", "Hello"))

    def test_nobody_creates_an_opt_out_confirmation_over_rpc(self):
        """The opt-out confirmation skips the opt-out check: created at will, it would reach a patient
        who said no."""
        self.patient.sms_opt_out = True
        values = {"kind": "opt_out", "partner_id": self.patient.id, "number": self.patient.sms_number_e164}
        for user in (self.staff, self.admin, self.sysadmin):
            self.assertRefused(user, "clinic.sms.message", "create", [values])
            self.assertRefused(
                user, "clinic.sms.message", "create", [{**values, "kind": "manual", "body": "Hi"}]
            )
        self.assertFalse(self.messages(partner=self.patient))

    def test_nobody_deletes_log_rows_but_the_purge(self):
        old = self.make_message(state="delivered", sent_at=NOW, due_at=NOW.replace(year=2025))
        for user in (self.staff, self.admin, self.sysadmin):
            self.assertRefused(user, "clinic.sms.message", "unlink", [old.ids])
        self.assertTrue(old.exists())
        wizard = self.call(self.admin, "clinic.sms.purge", "create", [{"date": "2026-01-01"}])
        self.call(self.admin, "clinic.sms.purge", "action_purge", [[wizard]])
        self.env.invalidate_all()
        self.assertFalse(old.exists())

    def test_a_failed_opt_out_confirmation_is_not_sent_again(self):
        confirmation = self.env["clinic.sms.message"]._clinic_sms_create_opt_out_confirmation(
            {"kind": "opt_out", "partner_id": self.patient.id, "number": "+4520123456", "state": "failed"}
        )
        self.assertRefused(
            self.staff, "clinic.sms.message", "action_retry", [confirmation.ids], error=USER_ERROR
        )
        self.assertEqual(len(self.messages(kind="opt_out")), 1)

    # ------------------------------------------------------------------ even the add-on's own code

    def test_even_the_superuser_does_not_rewrite_a_sent_message(self):
        Message = self.env["clinic.sms.message"].sudo()
        sent = self.make_message(state="sent", sent_at=NOW, number="+4520123456", provider_ref="p1")
        for values in (
            {"body": "Other text"},
            {"number": "+4599999999"},
            {"kind": "reminder"},
            {"credits": 0},
        ):
            with self.assertRaises(UserError, msg=str(values)):
                sent.write(values)
        with self.assertRaises(UserError):
            sent.write({"state": "queued"})
        sent.write({"state": "delivered", "delivered_at": NOW})  # what a delivery report does
        self.assertEqual(sent.state, "delivered")
        with self.assertRaises(UserError):
            sent.write({"state": "failed"})
        received = Message.search([("id", "=", sent.id)])
        self.assertEqual((received.body, received.number), ("Hello", "+4520123456"))

    def test_a_reply_is_never_rewritten(self):
        reply = self.make_message(kind="inbound", state="delivered", body="STOP", number="+4520123456")
        with self.assertRaises(UserError):
            reply.write({"body": "Yes please"})

    def test_an_opt_out_confirmation_only_answers_a_received_opt_out(self):
        Message = self.env["clinic.sms.message"].sudo()
        values = {"kind": "opt_out", "partner_id": self.patient.id, "number": "+4520123456"}
        with self.assertRaises(AccessError):
            Message.create(values)
        with self.assertRaises(AccessError):
            Message.with_context(clinic_sms_opt_out_reply=True).create(values)
        with self.assertRaises(AccessError):
            self.make_message().write({"kind": "opt_out"})

    def test_without_superuser_the_log_is_read_only_whatever_the_rights(self):
        """Even where a database gives write access on the log, only the add-on writes it."""
        self.env["ir.model.access"].create(
            {
                "name": "too generous",
                "model_id": self.env.ref("clinic_sms.model_clinic_sms_message").id,
                "group_id": self.env.ref("clinic_sms.group_clinic_sms_user").id,
                "perm_read": True,
                "perm_write": True,
                "perm_create": True,
                "perm_unlink": True,
            }
        )
        message = self.make_message()
        Staff = self.env["clinic.sms.message"].with_user(self.staff)
        with self.assertRaises(AccessError):
            message.with_user(self.staff).write({"state": "delivered"})
        with self.assertRaises(AccessError):
            Staff.create({"kind": "manual", "partner_id": self.patient.id, "body": "x"})
        with self.assertRaises(AccessError):
            message.with_user(self.staff).unlink()
        self.assertEqual(message.state, "queued")
