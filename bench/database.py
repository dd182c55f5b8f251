"""The bench's own database: dropped, created with clinic_sms and calendar_sms (no demo data), and
opened in this process."""

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ODOO_SRC = Path(os.environ.get("ODOO_SRC", "/opt/odoo"))
ADDONS_PATH = os.environ.get("ADDONS_PATH") or ",".join(
    str(p) for p in (REPO, ODOO_SRC / "addons", ODOO_SRC / "odoo" / "addons") if p.is_dir()
)
MODULES = ("clinic_sms", "calendar_sms")
if str(ODOO_SRC) not in sys.path:
    sys.path.insert(0, str(ODOO_SRC))


def pg_connect_params():
    params = {"dbname": "postgres"}
    for env_name, key in (("PGHOST", "host"), ("PGPORT", "port"), ("PGUSER", "user")):
        if os.environ.get(env_name):
            params[key] = os.environ[env_name]
    return params


def database_ready(db):
    import psycopg2

    try:
        cnx = psycopg2.connect(**{**pg_connect_params(), "dbname": db})
    except psycopg2.OperationalError:
        return False
    try:
        with cnx.cursor() as cr:
            cr.execute(
                "SELECT count(*) FROM ir_module_module WHERE name IN %s AND state = 'installed'",
                [MODULES],
            )
            return cr.fetchone()[0] == len(MODULES)
    except psycopg2.Error:
        return False
    finally:
        cnx.close()


def drop_database(db):
    import psycopg2

    cnx = psycopg2.connect(**pg_connect_params())
    cnx.autocommit = True
    try:
        with cnx.cursor() as cr:
            cr.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                [db],
            )
            cr.execute(f'DROP DATABASE IF EXISTS "{db}"')
    finally:
        cnx.close()


def install(db):
    cmd = [
        sys.executable,
        str(ODOO_SRC / "odoo-bin"),
        f"--addons-path={ADDONS_PATH}",
        "-d",
        db,
        "-i",
        ",".join(MODULES),
        "--stop-after-init",
        "--no-http",
        "--log-level=warn",
    ]
    started = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - started


def prepare(db, keep, log):
    """The database ready for a run (created again unless ``keep`` and it is installed); the seconds
    the installation took (0 when reused)."""
    if keep and database_ready(db):
        log(f"reusing database {db}")
        return 0.0
    log(f"creating database {db} with clinic_sms and calendar_sms (no demo data)")
    drop_database(db)
    seconds = install(db)
    log(f"installed in {seconds:.1f} s")
    return seconds


def registry(db):
    """Odoo's registry of ``db``, loaded in this process."""
    import odoo
    from odoo.modules.registry import Registry

    odoo.tools.config.parse_config(
        ["--addons-path", ADDONS_PATH, "-d", db, "--log-level", "warn", "--no-http"]
    )
    return Registry(db)
