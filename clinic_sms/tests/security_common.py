"""Two clinics in one database and one user of each kind, calling the add-on over JSON-RPC."""

import json
from datetime import timedelta

from odoo.tests import HttpCase, new_test_user
from odoo.tests.common import JsonRpcException

from .common import NOW, ClinicSmsCase

ACCESS_ERROR = "odoo.exceptions.AccessError"
USER_ERROR = "odoo.exceptions.UserError"
VALIDATION_ERROR = "odoo.exceptions.ValidationError"


class SecurityRpcCase(ClinicSmsCase, HttpCase):
    """Clinic A (the main company, its own gateway) and clinic B (another company, its own gateway).

    Users: ``employee`` (an employee of A without Clinic SMS), ``staff`` (Clinic SMS user of A),
    ``admin`` (Clinic SMS administrator of A), ``other`` (Clinic SMS administrator of B only) and
    ``sysadmin`` (Odoo's administrator, also a Clinic SMS administrator).
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a = cls.company
        cls.company_b = cls.env["res.company"].create(
            {
                "name": "Clinic B",
                "country_id": cls.env.ref("base.dk").id,
                "clinic_sms_tz": "Europe/Copenhagen",
            }
        )
        clinic_a = [(6, 0, [cls.company_a.id])]
        cls.employee = new_test_user(
            cls.env, login="sec_employee", groups="base.group_user", company_ids=clinic_a
        )
        cls.staff = new_test_user(
            cls.env,
            login="sec_staff",
            groups="base.group_user,clinic_sms.group_clinic_sms_user",
            company_ids=clinic_a,
        )
        cls.admin = new_test_user(
            cls.env,
            login="sec_admin",
            groups="base.group_user,clinic_sms.group_clinic_sms_manager",
            company_ids=clinic_a,
        )
        cls.other = new_test_user(
            cls.env,
            login="sec_other",
            groups="base.group_user,clinic_sms.group_clinic_sms_manager",
            company_id=cls.company_b.id,
            company_ids=[(6, 0, [cls.company_b.id])],
        )
        cls.sysadmin = cls.env.ref("base.user_admin")
        Gateway = cls.env["clinic.sms.gateway"]
        cls.gateway_a = Gateway.create(
            {
                "name": "Gateway A",
                "provider": "test",
                "company_id": cls.company_a.id,
                "webhook_token": "tok-a",
            }
        )
        cls.gateway_b = Gateway.create(
            {
                "name": "Gateway B",
                "provider": "test",
                "company_id": cls.company_b.id,
                "webhook_token": "tok-b",
            }
        )
        cls.company_a.clinic_sms_gateway_id = cls.gateway_a
        cls.company_b.clinic_sms_gateway_id = cls.gateway_b
        # Two clinics: each STOP stays with its clinic unless a clinic says otherwise.
        (cls.company_a | cls.company_b).clinic_sms_opt_out_blacklist = False
        cls.patient.company_id = cls.company_a

    # ------------------------------------------------------------------ the door

    def call(self, user, model, method, args=(), **kwargs):
        """``model.method(*args, **kwargs)`` over JSON-RPC, logged in as ``user``."""
        self.authenticate(user.login, user.login)
        return self.make_jsonrpc_request(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
        )

    def assertRefused(self, user, model, method, args=(), error=ACCESS_ERROR, **kwargs):
        with self.assertRaises(JsonRpcException) as caught:
            self.call(user, model, method, args, **kwargs)
        self.assertEqual(str(caught.exception), error, f"{user.login}: {model}.{method}")

    # ------------------------------------------------------------------ records

    def make_message(self, company=None, state="queued", **values):
        """A message of ``company`` (default A) to ``self.patient``, written as the add-on would."""
        company = company or self.company_a
        vals = {
            "kind": "manual",
            "partner_id": self.patient.id,
            "body": "Hello",
            "state": state,
            "company_id": company.id,
            "due_at": NOW,
            "expire_at": NOW + timedelta(hours=24),
        }
        vals.update(values)
        return self.env["clinic.sms.message"].sudo().create(vals)

    def post_reply(self, gateway, number, text):
        url = f"/clinic_sms/inbound/{gateway.id}/{gateway.sudo().webhook_token}"
        response = self.url_open(
            url, data=json.dumps({"from": number, "text": text}), headers={"Content-Type": "application/json"}
        )
        self.assertEqual(response.status_code, 200)
        return response
