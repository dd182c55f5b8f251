import sys
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from freezegun import freeze_time

from odoo import api
from odoo.addons.clinic_sms.core import gateway as gw
from odoo.addons.clinic_sms.core.providers.test import TestClient
from odoo.addons.clinic_sms.models.clinic_sms_gateway import ClinicSmsGateway
from odoo.tests import TransactionCase, new_test_user

#: A Monday; Copenhagen is UTC+1 then.
NOW = datetime(2027, 1, 11, 10, 0)
STAFF_GROUPS = "base.group_user,clinic_sms.group_clinic_sms_user"
MANAGER_GROUPS = "base.group_user,clinic_sms.group_clinic_sms_manager"


def queued_messages(env, partners, body="Hi", **values):
    """One queued manual message for each of ``partners`` (records; a partner may come twice)."""
    return env["clinic.sms.message"].create(
        [{"kind": "manual", "partner_id": p.id, "body": body, "state": "queued", **values} for p in partners]
    )


#: The repository's tools/ (the gateway emulator), put on the path by :func:`emulator_class`.
TOOLS = Path(__file__).resolve().parents[2] / "tools"


def emulator_class():
    """The gateway emulator's class (``tools/emulator``: tools/ is not a package)."""
    if str(TOOLS) not in sys.path:
        sys.path.insert(0, str(TOOLS))
    from emulator import Emulator

    return Emulator


class ClinicSmsCase(TransactionCase):
    """A clinic in Copenhagen (window 08:00–20:00), one practitioner, a few patients, the default rules."""

    @classmethod
    def start_emulator(cls):
        """The gateway emulator on 127.0.0.1 for this class's tests, stopped after them."""
        emu = emulator_class()()
        emu.start()
        cls.addClassCleanup(emu.stop)
        return emu

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(
            context=dict(cls.env.context, tracking_disable=True, mail_notrack=True, no_reset_password=True)
        )
        cls.company = cls.env.company
        # The tests' own test gateway (a database without demo data has none): it sends nothing.
        cls.gateway = cls.env["clinic.sms.gateway"].create(
            {"name": "Test gateway", "provider": "test", "sender": "Clinic"}
        )
        cls.company.write(
            {
                "country_id": cls.env.ref("base.dk").id,
                "clinic_sms_enabled": True,
                "clinic_sms_tz": "Europe/Copenhagen",
                "clinic_sms_window_start": 8.0,
                "clinic_sms_window_end": 20.0,
                "clinic_sms_birthday_enabled": True,
                "clinic_sms_credit_check": False,
                "clinic_sms_credits_per_part": 1.0,
                "clinic_sms_gateway_id": cls.gateway.id,
            }
        )
        # Notices go at once here; the tests of coalescing (test_conversation.py) let them settle.
        cls.env["ir.config_parameter"].sudo().set_param("clinic_sms.notice_settle_minutes", "0")
        cls.rule_reminder = cls.env.ref("clinic_sms.rule_reminder_24h")
        cls.rule_confirmation = cls.env.ref("clinic_sms.rule_confirmation")
        cls.rule_reschedule = cls.env.ref("clinic_sms.rule_reschedule")
        cls.rule_cancellation = cls.env.ref("clinic_sms.rule_cancellation")
        cls.rule_birthday = cls.env.ref("clinic_sms.rule_birthday")
        cls.practitioner = new_test_user(
            cls.env,
            login="clinic_sms_doctor",
            name="Dr. Mette Hansen",
            groups="base.group_user,clinic_sms.group_clinic_sms_user",
            tz="Europe/Copenhagen",
        )
        dk = cls.env.ref("base.dk").id
        Partner = cls.env["res.partner"]
        cls.patient = Partner.create({"name": "Anna Jensen", "phone": "+45 20 12 34 56", "country_id": dk})
        cls.patient2 = Partner.create(
            {"name": "Bo Nielsen", "sms_number": "+45 31 22 33 44", "country_id": dk}
        )
        cls.type_treatment = cls.env["calendar.event.type"].create({"name": "Treatment"})
        cls.type_checkup = cls.env["calendar.event.type"].create({"name": "Check-up"})

    @classmethod
    def add_users(cls):
        """``cls.staff`` (a Clinic SMS user), ``cls.employee`` (an internal user without Clinic SMS)
        and ``cls.admin`` (a Clinic SMS manager)."""
        cls.staff = new_test_user(cls.env, login="clinic_sms_staff", groups=STAFF_GROUPS)
        cls.employee = new_test_user(cls.env, login="clinic_sms_employee", groups="base.group_user")
        cls.admin = new_test_user(cls.env, login="clinic_sms_admin", groups=MANAGER_GROUPS)

    def setUp(self):
        super().setUp()
        freezer = freeze_time(NOW)
        self.freezer = freezer
        self.clock = freezer.start()
        self.addCleanup(freezer.stop)
        self.sent = []  # what the gateway was handed, in order
        original = ClinicSmsGateway._clinic_sms_send
        sent = self.sent

        def recording_send(gateway, outgoing):
            sent.extend(outgoing)
            return original(gateway, outgoing)

        self.patch(ClinicSmsGateway, "_clinic_sms_send", recording_send)

    # ------------------------------------------------------------------ helpers

    def move_to(self, moment):
        self.clock.move_to(moment)

    def make_event(self, start, patients=None, hours=1, **values):
        patients = self.patient if patients is None else patients
        return self.env["calendar.event"].create(
            {
                "name": "Appointment",
                "start": start,
                "stop": start + timedelta(hours=hours),
                "user_id": self.practitioner.id,
                "partner_ids": [(6, 0, [self.practitioner.partner_id.id, *patients.ids])],
                **values,
            }
        )

    def messages(self, event=None, kind=None, states=None, partner=None):
        domain = []
        if event is not None:
            domain.append(("event_id", "=", event.id))
        if kind:
            domain.append(("kind", "=", kind))
        if states:
            domain.append(("state", "in", list(states)))
        if partner is not None:
            domain.append(("partner_id", "=", partner.id))
        return self.env["clinic.sms.message"].search(domain, order="id")

    def dispatch(self, at=None):
        if at is not None:
            self.move_to(at)
        return self.env["clinic.sms.message"]._cron_dispatch()

    def sent_to(self, partner):
        return [o for o in self.sent if o.number == partner.sms_number_e164]


def commit_test_gateway(case):
    """A test gateway committed to the database, for the tests whose dispatchers work on connections
    of their own (which do not see the test's transaction, nor so its gateway); removed after the
    test. Call it before registering the test's own cleanups, so that it is removed last."""
    with case.registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        gateway_id = (
            env["clinic.sms.gateway"].create({"name": "Committed test gateway", "provider": "test"}).id
        )

    def remove():
        with case.registry.cursor() as cr:
            cr.execute("UPDATE clinic_sms_message SET gateway_id = NULL WHERE gateway_id = %s", [gateway_id])
            cr.execute("DELETE FROM clinic_sms_gateway WHERE id = %s", [gateway_id])

    case.addCleanup(remove)
    return gateway_id


class FlakyClient(TestClient):
    """Fails temporarily for the first ``failures`` calls, then behaves like the test gateway."""

    def __init__(self, failures):
        super().__init__()
        self.failures = failures

    def send(self, messages):
        if self.failures > 0:
            self.failures -= 1
            return [gw.Result(m.ref, gw.TEMPORARY, reason="gateway_error", error="busy") for m in messages]
        return super().send(messages)


@contextmanager
def flaky_gateway(case, failures):
    client = FlakyClient(failures)
    case.patch(ClinicSmsGateway, "_clinic_sms_client", lambda self: client)
    yield client


# --- two real connections --------------------------------------------------------------------------
# Tests of two dispatchers at once work on rows committed by a connection of their own (the test's
# transaction would hide them from the dispatchers), and delete them again afterwards.


def queue_committed(env, partners, body, now):
    """One queued manual message per patient, due a minute before ``now`` (committed with ``env``'s
    connection)."""
    return queued_messages(
        env,
        partners,
        body,
        due_at=now - timedelta(minutes=1),
        expire_at=now + timedelta(hours=24),
        company_id=env.company.id,
    )


def delete_committed(registry, message_ids, partner_ids, credit_ids=()):
    """Remove what :func:`queue_committed` and the dispatchers committed."""
    with registry.cursor() as cr:
        cr.execute(
            "DELETE FROM clinic_sms_credit WHERE message_id = ANY(%s) OR id = ANY(%s)",
            [message_ids, list(credit_ids)],
        )
        cr.execute("DELETE FROM clinic_sms_message WHERE id = ANY(%s)", [message_ids])
        cr.execute("DELETE FROM clinic_sms_credit_state")  # the month and warnings it committed
        cr.execute("DELETE FROM res_partner WHERE id = ANY(%s)", [partner_ids])


def run_dispatchers(registry, batch_size, count=2):
    """``count`` dispatch runs started at once, each on a connection of its own and committing each
    batch (as the cron); the errors they raised."""
    barrier = threading.Barrier(count, timeout=30)
    errors = []

    def run():
        try:
            with registry.cursor() as cr:
                env = api.Environment(cr, api.SUPERUSER_ID, {})
                barrier.wait()
                env["clinic.sms.message"].with_context(clinic_sms_autocommit=True)._cron_dispatch(
                    batch_size=batch_size
                )
        except Exception as error:  # reported by the test
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


def committed_states(registry, message_ids):
    """``{(state, reason): count}`` of the messages as committed."""
    with registry.cursor() as cr:
        cr.execute(
            "SELECT state, reason, count(*) FROM clinic_sms_message WHERE id = ANY(%s) GROUP BY 1, 2",
            [message_ids],
        )
        return {(state, reason): count for state, reason, count in cr.fetchall()}
