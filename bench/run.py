#!/usr/bin/env python3
"""Benchmark of clinic_sms: planning overhead, dispatch throughput, queries, idle runs.

Run through ``make bench`` (``tools/dev.sh bench``), which sets ODOO_SRC, VENV and ADDONS_PATH and
makes sure PostgreSQL answers; any argument is passed on (``make bench`` takes none, so call
``tools/dev.sh bench --appointments 2000`` for a quick run).

What it does, in its own database (``clinic_bench``, dropped and created again on each run, modules
``clinic_sms`` and ``calendar_sms`` installed without demo data), scenario by scenario
(``bench/scenarios/``, described in bench/README.md):

1. Planning overhead: N appointments created with and without the add-on's planning.
2. Dispatch: N reminders due at once, sent by ``_cron_dispatch()`` through the ``test`` gateway.
3. Odoo's own figure for the same work: calendar_sms's reminder cron on M appointments.
4. Dispatch runs with nothing due.
5. Dispatch through real HTTP to the local gateway emulator (GatewayAPI's batch API, Twilio).

No time is frozen: appointments are placed relative to the real clock, so the timings use the real
clock too. Exit status 1 when a target is missed (``--no-check`` only reports); the targets are
listed in bench/targets.py.
"""

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if sys.path[0] == str(HERE):  # run as a script: import the bench as the package it is
    sys.path[0] = str(HERE.parent)

from bench import database  # noqa: E402  (it also puts ODOO_SRC on the path)
from bench.table import log  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--appointments", "-n", type=int, default=10000, help="N (default 10000)")
    parser.add_argument(
        "--odoo-appointments",
        "-m",
        type=int,
        default=1000,
        help="appointments for Odoo's calendar_sms reference run, projected to N (default 1000)",
    )
    parser.add_argument("--create-batch", type=int, default=500, help="appointments per create() call")
    parser.add_argument("--idle-runs", type=int, default=5, help="dispatch runs with nothing due")
    parser.add_argument(
        "--http-messages",
        type=int,
        default=2000,
        help="messages for the HTTP run without a batch API (Twilio, one request each), at most N;"
        " 0: all N (default 2000)",
    )
    parser.add_argument(
        "--sync-appointments",
        type=int,
        default=100000,
        help="future appointments for the *Synchronize all* run (default 100000; 0: skip it)",
    )
    parser.add_argument("--db", default="clinic_bench", help="database (dropped and created again)")
    parser.add_argument("--keep-db", action="store_true", help="reuse the database when it exists")
    parser.add_argument("--no-check", action="store_true", help="only report, never fail")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    started = time.perf_counter()
    install_seconds = database.prepare(args.db, args.keep_db, log)

    from bench import report, scenarios, targets
    from bench.clinic import Clinic
    from odoo import SUPERUSER_ID, api

    registry = database.registry(args.db)
    with registry.cursor() as cr:
        clinic = Clinic(api.Environment(cr, SUPERUSER_ID, {}), args)
        for label, step in (("setup", lambda clinic: clinic.setup()), *scenarios.STEPS):
            t0 = time.perf_counter()
            step(clinic)
            log(f"{label}: done in {time.perf_counter() - t0:.1f} s")
        ok = report.report(clinic, targets.checks(clinic.results, clinic.n))
    log()
    log(f"bench run time: {time.perf_counter() - started:.0f} s (install {install_seconds:.0f} s)")
    if not ok and not args.no_check:
        log("bench: a target was missed (see above); --no-check only reports")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
