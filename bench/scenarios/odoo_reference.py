"""3. Odoo's own figure for the same work: calendar_sms's reminder cron
(``calendar.alarm_manager._send_reminder``) on M appointments with a 24-hour SMS alarm, the IAP call
stubbed (sms.sms records are still created and "sent"); projected linearly to N by the report."""

from datetime import datetime, timedelta

from ..clinic import MAIL_CONTEXT
from ..measure import Meter


def run(clinic):
    from unittest.mock import patch

    from odoo.addons.iap.tools import iap_tools
    from odoo.addons.sms.tools.sms_api import SmsApi

    env = clinic.env
    m, size = clinic.m, clinic.args.create_batch
    alarm = env.ref("calendar_sms.alarm_sms_1", raise_if_not_found=False) or env["calendar.alarm"].create(
        {"name": "SMS 24 hours before", "alarm_type": "sms", "duration": 24, "interval": "hours"}
    )
    assert alarm.sms_template_id, "calendar_sms gave the SMS alarm no template"
    clinic.commit()
    base = datetime.now().replace(second=0, microsecond=0) + timedelta(hours=2)
    span = 19 * 60
    ids = []
    for first in range(0, m, size):
        vals = []
        for i in range(first, min(first + size, m)):
            values = clinic.event_vals(i, base + timedelta(minutes=(i * 7) % span), "Odoo")
            values["alarm_ids"] = [(6, 0, alarm.ids)]
            vals.append(values)
        ids += clinic.create_events(vals, plan=False)  # clinic_sms plans nothing for them
    clinic.commit()
    env.invalidate_all()
    sent = []

    def fake_send(api, messages, delivery_reports_url=False):
        numbers = [number for message in messages for number in message["numbers"]]
        sent.extend(numbers)
        return [{"uuid": number["uuid"], "state": "success", "credit": 1} for number in numbers]

    def no_network(*args, **kwargs):
        raise AssertionError("the bench must not call IAP")

    # With Clinic SMS on, Odoo's SMS alarms leave patients to the clinic's rules (no second
    # reminder): Odoo's own figure is measured with Clinic SMS switched off for the company.
    clinic.company.write({"clinic_sms_enabled": False})
    clinic.commit()
    sms_before = env["sms.sms"].search_count([])
    Manager = env["calendar.alarm_manager"].with_context(lastcall=datetime.now() - timedelta(days=2))
    meter = Meter()
    with (
        patch.object(SmsApi, "_send_sms_batch", fake_send),
        patch.object(iap_tools, "iap_jsonrpc", no_network),
        meter.measure(),
    ):
        Manager._send_reminder()
        env.flush_all()
        clinic.commit()
    clinic.company.with_context(clinic_sms_no_plan=True).write({"clinic_sms_enabled": True})
    clinic.commit()
    env.invalidate_all()
    sms_created = env["sms.sms"].with_context(active_test=False).search_count([]) - sms_before
    clinic.results["odoo"] = {
        "meter": meter,
        "appointments": m,
        "sent": len(sent),
        "sms_records": sms_created,
        "alarm": alarm.display_name,
    }
    if len(sent) != m:
        raise RuntimeError(f"calendar_sms sent {len(sent)} SMS for {m} appointments")
    # so that the clinic_sms runs do not touch them again
    env["calendar.event"].browse(ids).with_context(clinic_sms_no_plan=True, **MAIL_CONTEXT).write(
        {"alarm_ids": [(5,)]}
    )
    clinic.commit()
