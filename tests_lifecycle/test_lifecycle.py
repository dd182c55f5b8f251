"""Installing and upgrading the add-on with Odoo itself, as a clinic does: real databases, real
``odoo-bin -i`` and ``-u``, two versions of the code.

* A clinic's database with appointments booked before *Clinic SMS* is installed (without demo
  data): the installation plans their reminders (no booking confirmations), creates no gateway,
  and what falls due waits with the reason ``no_gateway``; the administrators get one e-mail.
* A database of the last release (19.0.1.0.0, the commit ``RELEASE``, taken from this repository's
  history with ``git archive``) filled with messages, ledger lines and settings, upgraded with
  ``-u clinic_sms`` to this code: every row and setting is as it was, and the migration scripts
  (``clinic_sms/migrations/``) did what the new version needs.

Run by ``tools/run_tests.sh`` (``make test``) after the other tests; it needs ``VENV`` and
``ODOO_SRC`` (as that script sets them), a running PostgreSQL and this repository's git history.
It takes a few minutes: the databases are small.
"""

import gzip
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg2
import pytest

REPO = Path(__file__).resolve().parents[1]
#: The last release on main: clinic_sms 19.0.1.0.0.
RELEASE = "8cc8ec921867ec04b3ecdfcc8233615b72f286e2"
#: The same release as an archive, for clones without history.
SHIPPED_RELEASE = Path(__file__).with_name("release-19.0.1.0.0.tar.gz")
ODOO_SRC = Path(os.environ.get("ODOO_SRC", "/opt/odoo"))
PYTHON = str(Path(os.environ["VENV"]) / "bin" / "python") if os.environ.get("VENV") else sys.executable
DEPENDENCIES = "calendar,contacts,phone_validation,sms"  # those of 19.0.1.0.0; 19.0.2.0.0 adds calendar_sms
TIMEOUT = 1200


def addons_path(*first):
    paths = [str(p) for p in first]
    if (ODOO_SRC / "addons").is_dir():
        paths.append(str(ODOO_SRC / "addons"))
    paths.append(str(ODOO_SRC / "odoo" / "addons"))
    return ",".join(paths)


def odoo(db, addons, *args):
    """Run ``odoo-bin`` on ``db`` and stop; fail with its log when it fails or logs an error."""
    command = [PYTHON, str(ODOO_SRC / "odoo-bin"), f"--addons-path={addons}", "-d", db]
    command += ["--no-http", "--stop-after-init", "--log-level=warn", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    log = done.stdout + done.stderr
    errors = [line for line in log.splitlines() if " ERROR " in line or " CRITICAL " in line]
    assert done.returncode == 0 and not errors, f"odoo-bin {' '.join(args)} failed:\n{log[-6000:]}"
    return log


def shell(db, addons, code):
    """Run ``code`` in ``odoo-bin shell`` on ``db`` (committed at the end); the value it assigns to
    ``result``, read back as JSON."""
    script = f"result = None\n{code}\nenv.cr.commit()\nprint('RESULT:' + json.dumps(result, default=str))\n"
    command = [PYTHON, str(ODOO_SRC / "odoo-bin"), "shell", f"--addons-path={addons}", "-d", db]
    command += ["--no-http", "--log-level=warn"]
    done = subprocess.run(
        command, input="import json\n" + script, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT:")]
    assert done.returncode == 0 and lines, (
        f"odoo-bin shell failed:\n{done.stdout[-4000:]}{done.stderr[-4000:]}"
    )
    return json.loads(lines[-1][len("RESULT:") :])


def query(db, sql, params=None):
    with psycopg2.connect(dbname=db) as conn, conn.cursor() as cr:
        cr.execute(sql, params)
        return cr.fetchall()


def dropdb(db):
    subprocess.run(["dropdb", "--if-exists", db], capture_output=True, check=False)


@pytest.fixture(scope="module")
def names():
    """Database names of this run; every one is dropped at the end."""
    prefix = f"clinic_life_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    made = []

    def name(suffix):
        made.append(f"{prefix}_{suffix}")
        return made[-1]

    yield name
    for db in made:
        dropdb(db)


#: Appointments booked before Clinic SMS is installed: in 3 days (two patients), in 2 hours (its
#: 24-hour reminder is due at once), yesterday, and a cancelled (archived) one in 3 days.
BOOK_APPOINTMENTS = """
from datetime import timedelta
from odoo import fields
env.ref("base.main_company").write({"country_id": env.ref("base.dk").id})
env.ref("base.user_admin").write({"email": "admin@clinic.example"})
# The clinic's time zone defaults to the installing user's: one where it is around noon now, so that
# the sending window (8-20 by default) is open whatever hour the test runs at (a 24-hour reminder
# due at once for an appointment in 2 hours is planned only while the window is open).
offset = 12 - fields.Datetime.now().hour
env.ref("base.user_root").tz = "Etc/GMT" + ("" if not offset else f"{-offset:+d}")
dk = env.ref("base.dk").id
Partner = env["res.partner"]
anna = Partner.create({"name": "Anna Jensen", "phone": "+45 20 12 34 56", "country_id": dk})
bo = Partner.create({"name": "Bo Nielsen", "phone": "+45 31 22 33 44", "country_id": dk})
doctor = env["res.users"].with_context(no_reset_password=True).create(
    {"name": "Dr. Hansen", "login": "hansen", "tz": "Europe/Copenhagen", "email": "hansen@clinic.example"}
)
now = fields.Datetime.now().replace(microsecond=0)
quiet = {"mail_notrack": True, "tracking_disable": True, "no_mail_to_attendees": True}
Event = env["calendar.event"].with_context(**quiet)
def book(name, start, patients, active=True):
    event = Event.create({
        "name": name, "start": start, "stop": start + timedelta(hours=1), "user_id": doctor.id,
        "partner_ids": [(6, 0, [doctor.partner_id.id, *patients.ids])],
    })
    if not active:
        event.active = False
    return event.id
result = {
    "in_3_days": book("In 3 days", now + timedelta(days=3), anna | bo),
    "in_2_hours": book("In 2 hours", now + timedelta(hours=2), anna),
    "yesterday": book("Yesterday", now - timedelta(days=1), anna),
    "cancelled": book("Cancelled", now + timedelta(days=3), bo, active=False),
    "anna": anna.id, "bo": bo.id, "doctor": doctor.partner_id.id,
}
"""


@pytest.fixture(scope="module")
def booked(names):
    """A clinic's database before Clinic SMS: Odoo's calendar with appointments (a template that
    each test copies)."""
    db = names("booked")
    dropdb(db)
    odoo(db, addons_path(), "-i", DEPENDENCIES)
    return db, shell(db, addons_path(), BOOK_APPOINTMENTS)


def copy_of(names, booked, suffix):
    db = names(suffix)
    dropdb(db)
    subprocess.run(["createdb", "-T", booked[0], db], check=True, capture_output=True)
    return db


# ---------------------------------------------------------------------------------------- install


def test_installing_plans_what_was_booked_and_sends_nothing_without_a_gateway(names, booked):
    db = copy_of(names, booked, "fresh")
    ids = booked[1]
    odoo(db, addons_path(REPO), "-i", "clinic_sms")
    result = shell(
        db,
        addons_path(REPO),
        """
from odoo import fields
company = env.ref("base.main_company")
Message = env["clinic.sms.message"]
def rows():
    return [(m.event_id.id, m.partner_id.id, m.kind, m.state, m.reason or "")
            for m in Message.search([], order="event_id, partner_id, id")]
planned = rows()
due_now = Message.search([("due_at", "<=", fields.Datetime.now())]).event_id.ids
gateways = env["clinic.sms.gateway"].with_context(active_test=False).search([])
# A clinic's window keeps its SMS to the day; this one sends at any hour so that the test does not
# depend on the time of day it runs at.
company.write({"clinic_sms_window_start": 0.0, "clinic_sms_window_end": 24.0})
Message._cron_dispatch()
after = rows()
Mail = env["mail.mail"]
before_mails = Mail.search_count([])
warned = env["res.company"]._cron_clinic_sms_no_gateway()
mails = Mail.search([("id", ">", 0)], order="id desc", limit=1)
again = env["res.company"]._cron_clinic_sms_no_gateway()
result = {
    "planned": planned, "after": after, "due_now": due_now,
    "gateways": len(gateways), "default": company.clinic_sms_gateway_id.id,
    "no_gateway": company.clinic_sms_no_gateway, "waiting": company.clinic_sms_no_gateway_count,
    "warned": warned, "again": again, "mails": Mail.search_count([]) - before_mails,
    "subject": mails.subject, "to": mails.email_to,
    "calendar_sms": env["ir.module.module"].search([("name", "=", "calendar_sms")]).state,
}
""",
    )
    anna, bo = ids["anna"], ids["bo"]
    assert result["gateways"] == 0 and not result["default"], "no test gateway without demo data"
    assert sorted(result["planned"]) == sorted(
        [
            [ids["in_3_days"], anna, "reminder", "scheduled", ""],
            [ids["in_3_days"], bo, "reminder", "scheduled", ""],
            [ids["in_2_hours"], anna, "reminder", "scheduled", ""],
        ]
    ), "the reminders of future appointments, no booking confirmation, none for past or cancelled ones"
    assert result["due_now"] == [ids["in_2_hours"]], "its 24-hour reminder is due at once"
    assert [ids["in_2_hours"], anna, "reminder", "queued", "no_gateway"] in result["after"]
    assert (result["no_gateway"], result["waiting"]) == (True, 1)
    assert (result["warned"], result["again"], result["mails"]) == (1, 0, 1), "one e-mail"
    assert "no SMS gateway is set up" in result["subject"]
    assert "admin@clinic.example" in result["to"]
    assert result["calendar_sms"] == "installed"


# ---------------------------------------------------------------------------------------- upgrade

#: The last release's clinic at work: settings, a second gateway, rules and templates edited,
#: credits bought and spent, messages sent through its default test gateway, a STOP whose
#: confirmation still waits, and two waiting manual reminders for the same appointment (the new
#: version allows one).
FILL_RELEASE = """
from datetime import timedelta
from odoo import fields
company = env.ref("base.main_company")
company.write({
    "clinic_sms_tz": "Europe/Copenhagen", "clinic_sms_window_start": 0.0, "clinic_sms_window_end": 24.0,
    "clinic_sms_credit_check": True, "clinic_sms_credits_per_part": 1.5, "clinic_sms_monthly_allowance": 100,
    "clinic_sms_credit_thresholds": "40,10", "clinic_sms_retention_days": 400,
    "clinic_sms_route_odoo_sms": True, "clinic_sms_birthday_enabled": True,
})
env["ir.config_parameter"].sudo().set_param("clinic_sms.kept", "yes")
env["clinic.sms.gateway"].create({
    "name": "GatewayAPI", "provider": "gatewayapi", "api_key": "key-1", "webhook_secret": "jwt-1",
    "api_url": "http://127.0.0.1:9", "prefixes": "+46", "sender": "Klinik", "sequence": 20,
})
env["clinic.sms.credit.price"].create({"company_id": company.id, "prefix": "+46", "credits_per_part": 2.0})
env.ref("clinic_sms.rule_reminder_24h").hours_before = 26
env.ref("clinic_sms.template_reminder").body = "See you {appointment_date}, {patient_first_name}!"
Credit = env["clinic.sms.credit"]
Credit.create({"company_id": company.id, "kind": "purchase", "amount": 500, "note": "pack"})
Credit.create({"company_id": company.id, "kind": "adjustment", "amount": -3, "note": "correction"})
dk = env.ref("base.dk").id
Partner = env["res.partner"]
carl = Partner.create({"name": "Carl Holm", "phone": "+45 40 11 22 33", "country_id": dk, "lang": "en_US"})
dora = Partner.create({"name": "Dora Lund", "phone": "+45 50 11 22 33", "country_id": dk})
doctor = env["res.users"].search([("login", "=", "hansen")])
now = fields.Datetime.now().replace(microsecond=0)
quiet = {"mail_notrack": True, "tracking_disable": True, "no_mail_to_attendees": True}
Event = env["calendar.event"].with_context(**quiet)
event = Event.create({
    "name": "Check-up", "start": now + timedelta(days=4), "stop": now + timedelta(days=4, hours=1),
    "user_id": doctor.id, "partner_ids": [(6, 0, [doctor.partner_id.id, carl.id, dora.id])],
})
Message = env["clinic.sms.message"]
Message._cron_dispatch()  # the booking confirmations go through the test gateway
test_gateway = env.ref("clinic_sms.gateway_test")
Message._clinic_sms_receive_text(test_gateway.id, dora.id, "STOP")  # its confirmation waits
manual = [
    Message.sudo().create({
        "kind": "reminder", "event_id": event.id, "event_start": event.start, "partner_id": carl.id,
        "user_id": doctor.id, "state": "scheduled", "due_at": now + timedelta(days=3),
        "expire_at": event.start, "company_id": company.id,
    }).id
    for _ in range(2)
]
result = {
    "manual": manual, "dora": dora.id, "carl": carl.id, "test_gateway": test_gateway.id,
    "delivered": Message.search([("state", "=", "delivered"), ("gateway_id", "=", test_gateway.id)]).ids,
    "stop": Message.search([("kind", "=", "inbound")]).ids,
    "opt_out": Message.search([("kind", "=", "opt_out")]).ids,
}
"""

#: Tables whose rows must survive the upgrade, and the condition naming the add-on's rows.
KEPT = {
    "clinic_sms_message": "TRUE",
    "clinic_sms_credit": "TRUE",
    "clinic_sms_credit_price": "TRUE",
    "clinic_sms_credit_state": "TRUE",
    "clinic_sms_gateway": "TRUE",
    "clinic_sms_rule": "TRUE",
    "clinic_sms_template": "TRUE",
    "clinic_sms_keyword": "TRUE",
    "phone_blacklist": "TRUE",
    "ir_config_parameter": "key LIKE 'clinic_sms.%'",
    "res_company": "TRUE",
    "res_partner": "TRUE",
    "calendar_event": "TRUE",
}


def snapshot(db):
    """{table: {key: {column: value}}} of the rows the upgrade must keep (as JSON text)."""
    tables = {}
    for table, where in KEPT.items():
        key = "company_id" if table == "clinic_sms_credit_state" else "id"
        rows = query(db, f"SELECT {key}, row_to_json(t)::text FROM {table} t WHERE {where}")
        tables[table] = {row[0]: json.loads(row[1]) for row in rows}
    return tables


#: Columns the upgrade may change: bookkeeping of the ORM and of the data files.
BOOKKEEPING = {"write_date", "write_uid"}


def test_upgrading_the_last_release_keeps_every_row_and_setting(names, booked, tmp_path):
    db = copy_of(names, booked, "upgrade")
    old = tmp_path / "release"
    old.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", RELEASE, "clinic_sms"],
        capture_output=True,
        check=False,
    )
    release = archive.stdout
    if archive.returncode != 0:
        # A shallow clone has no history: the same release, archived from that commit (git archive
        # --format=tar 8cc8ec9 clinic_sms | gzip), ships beside this test.
        assert SHIPPED_RELEASE.exists(), (
            f"the release {RELEASE[:7]} is neither in this repository's history nor in "
            f"{SHIPPED_RELEASE.name}: {archive.stderr.decode()}"
        )
        release = gzip.decompress(SHIPPED_RELEASE.read_bytes())
    subprocess.run(["tar", "-x", "-C", str(old)], input=release, check=True)
    odoo(db, addons_path(old), "-i", "clinic_sms")
    filled = shell(db, addons_path(old), FILL_RELEASE)
    assert len(filled["delivered"]) >= 2 and len(filled["opt_out"]) == 1, filled
    before = snapshot(db)
    started = time.monotonic()
    log = odoo(db, addons_path(REPO), "-u", "clinic_sms")
    upgrade_seconds = time.monotonic() - started
    after = snapshot(db)

    # Every row and every value of the release is still there.
    changed = []
    for table, rows in before.items():
        for key, row in rows.items():
            new = after[table].get(key)
            assert new is not None, f"{table} row {key} lost by the upgrade"
            changed += [
                (table, key, column, value, new.get(column))
                for column, value in row.items()
                if column not in BOOKKEEPING and new.get(column) != value
            ]
    duplicate = filled["manual"][1]
    expected = {
        ("clinic_sms_message", duplicate, "state"): "cancelled",
        ("clinic_sms_message", duplicate, "reason"): "duplicate",
    }
    assert {(t, k, c): new for t, k, c, _old, new in changed} == expected, (changed, log[-3000:])

    result = shell(
        db,
        addons_path(REPO),
        f"""
Message = env["clinic.sms.message"]
company = env.ref("base.main_company")
opt_out = Message.browse({filled["opt_out"][0]})
answers = opt_out.reply_to_id.id
env.cr.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'clinic_sms_message'")
indexes = [row[0] for row in env.cr.fetchall()]
simulated = Message.search([("simulated", "=", True)]).ids
Message._cron_dispatch()
result = {{
    "version": env["ir.module.module"].search([("name", "=", "clinic_sms")]).latest_version,
    "calendar_sms": env["ir.module.module"].search([("name", "=", "calendar_sms")]).state,
    "simulated": simulated,
    "answers": answers,
    "opt_out": (opt_out.state, opt_out.reason or ""),
    "blacklist": company.clinic_sms_opt_out_blacklist,
    "indexes": indexes,
    "default_gateway": company.clinic_sms_gateway_id.id,
    "banner": company.clinic_sms_simulated,
}}
""",
    )
    assert result["version"] == "19.0.2.0.0"
    assert result["calendar_sms"] == "installed", "the new dependency comes with the upgrade"
    assert sorted(result["simulated"]) == sorted(set(filled["delivered"] + filled["stop"])), (
        "what went through or came from the test gateway is marked simulated, nothing else"
    )
    assert result["answers"] == filled["stop"][0], "the waiting confirmation answers its STOP"
    assert result["opt_out"] == ["delivered", ""], "so it still goes, although the number said no"
    assert result["blacklist"], "one company: opted-out numbers still go on Odoo's blacklist"
    assert "clinic_sms_message_manual_reminder_once" in result["indexes"]
    assert result["default_gateway"] == filled["test_gateway"], "the settings are kept"
    assert result["banner"], "and the log says that the test gateway's messages are simulated"
    print(f"upgrade took {upgrade_seconds:.0f} s")
