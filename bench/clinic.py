"""The clinic the bench measures: its company, practitioner and N patients with valid Danish mobile
numbers, and the helpers the scenarios share to create appointments and to put sent reminders back
in the queue."""

import contextlib
import time
from datetime import timedelta

from .table import log

MAIL_CONTEXT = {
    # the same for every appointment created here, with or without planning
    "tracking_disable": True,
    "mail_create_nolog": True,
    "no_mail_to_attendees": True,  # calendar 19 then sends no invitation mails
}


def danish_mobiles(count):
    """``count`` distinct numbers that clinic_sms.core.phone accepts, none ending in 0000, 1111 or
    9999 (the test gateway refuses or delays 0000 and 9999; the gateway emulator refuses 0000 and
    1111, and GatewayAPI's one refused message makes the client resend its whole batch one by one)."""
    from odoo.addons.clinic_sms.core import phone

    numbers = []
    for prefix in ("40", "41", "42", "50", "51", "52", "60", "61", "71", "81", "91", "93"):
        for i in range(100000):
            raw = f"+45 {prefix} {i // 10000 % 10}{i // 1000 % 10} {i // 100 % 10}{i // 10 % 10}{i % 10}1"
            result = phone.check(raw)
            if result.state != phone.VALID or result.e164.endswith(("0000", "1111", "9999")):
                continue
            numbers.append(raw)
            if len(numbers) == count:
                return numbers
    raise RuntimeError(f"could not make {count} valid Danish mobile numbers")


class Clinic:
    """The bench's state: the environment, the command-line arguments, the clinic's records, the ids
    of the appointments each scenario created, and the results each scenario leaves for the report."""

    def __init__(self, env, args):
        self.env = env
        self.cr = env.cr
        self.args = args
        self.n = args.appointments
        self.m = min(args.odoo_appointments, args.appointments)
        self.results = {}

    def commit(self):
        self.cr.commit()

    def setup(self):
        env = self.env
        company = env.ref("base.main_company")
        # No demo data, so no gateway: the bench's own test gateway (it sends nothing).
        self.test_gateway = env["clinic.sms.gateway"].create(
            {"name": "Test gateway", "provider": "test", "sender": "Clinic"}
        )
        company.write(
            {
                "clinic_sms_enabled": True,
                "clinic_sms_tz": "Europe/Copenhagen",
                "clinic_sms_window_start": 0.0,
                "clinic_sms_window_end": 24.0,
                "clinic_sms_credit_check": False,
                "clinic_sms_gateway_id": self.test_gateway.id,
                "country_id": env.ref("base.dk").id,
            }
        )
        self.company = company
        self.doctor = (
            env["res.users"]
            .with_context(no_reset_password=True, **MAIL_CONTEXT)
            .create(
                {
                    "name": "Dr. Bench",
                    "login": "bench_doctor",
                    "email": "doctor@bench.example",
                    "tz": "Europe/Copenhagen",
                    "company_id": company.id,
                    "company_ids": [(6, 0, company.ids)],
                }
            )
        )
        t0 = time.perf_counter()
        numbers = danish_mobiles(self.n)
        partners = env["res.partner"]
        Partner = env["res.partner"].with_context(**MAIL_CONTEXT)
        for start in range(0, self.n, 1000):
            partners |= Partner.create(
                [
                    {
                        "name": f"Patient {i:05d}",
                        "phone": numbers[i],
                        "tz": "Europe/Copenhagen",
                        "lang": "en_US",
                    }
                    for i in range(start, min(start + 1000, self.n))
                ]
            )
        env.flush_all()
        self.patient_ids = partners.ids
        invalid = env["res.partner"].search_count(
            [("id", "in", self.patient_ids), ("sms_number_state", "!=", "valid")]
        )
        no_sanitized = env["res.partner"].search_count(
            [("id", "in", self.patient_ids), ("phone_sanitized", "=", False)]
        )
        if invalid or no_sanitized:
            raise RuntimeError(
                f"{invalid} patients without a valid SMS number, {no_sanitized} without phone_sanitized"
            )
        self.commit()
        env.invalidate_all()
        seconds = time.perf_counter() - t0
        log(f"setup: {self.n:,} patients with valid Danish mobile numbers in {seconds:.1f} s")

    # --- appointments ---------------------------------------------------------------------------

    def event_vals(self, i, start, name):
        return {
            "name": f"{name} {i:05d}",
            "start": start,
            "stop": start + timedelta(minutes=30),
            "user_id": self.doctor.id,
            "partner_ids": [(6, 0, [self.patient_ids[i % self.n], self.doctor.partner_id.id])],
        }

    def create_events(self, vals_list, plan, meter=None):
        """Create, flush and commit one batch of appointments (timed when ``meter`` is given)."""
        context = dict(MAIL_CONTEXT)
        if not plan:
            context["clinic_sms_no_plan"] = True
        Event = self.env["calendar.event"].with_context(**context)
        with meter.measure() if meter else contextlib.nullcontext():
            events = Event.create(vals_list)
            self.env.flush_all()
            self.commit()
        ids = events.ids
        self.env.invalidate_all()
        return ids

    # --- the due reminders ----------------------------------------------------------------------

    def states_of_due(self, event_ids=None):
        self.env.invalidate_all()
        groups = self.env["clinic.sms.message"]._read_group(
            [("event_id", "in", self.due_ids if event_ids is None else event_ids)], ["state"], ["__count"]
        )
        return dict(groups)

    def requeue_due(self, event_ids=None):
        """Put the dispatched reminders (of ``event_ids``, default all N) back in the queue, as they
        were before the run."""
        event_ids = self.due_ids if event_ids is None else event_ids
        self.env.flush_all()
        self.cr.execute(
            """DELETE FROM clinic_sms_credit WHERE message_id IN
                   (SELECT id FROM clinic_sms_message WHERE event_id = ANY(%s))""",
            [event_ids],
        )
        self.cr.execute(
            """UPDATE clinic_sms_message SET state = 'queued', reason = NULL, error = NULL,
                      number = NULL, body = NULL, encoding = NULL, segments = 0, credits = 0,
                      attempts = 0, gateway_id = NULL, provider_ref = NULL, sent_at = NULL,
                      delivered_at = NULL
                WHERE event_id = ANY(%s)""",
            [event_ids],
        )
        self.commit()
        self.env.invalidate_all()
