#!/usr/bin/env python3
"""``make bench-scale``: clinic_sms with a large backlog and a large log (not part of ``make bench``).

1. Dispatch of a backlog: ``--small`` (10,000) and ``--large`` (100,000) due reminders, each sent
   by one ``_cron_dispatch()`` run (batch per transaction, as the cron) through the ``test``
   gateway, in one fresh process: time per message and the process's peak memory after each run.
   Targets: per-message time of the large run within 1.2 x that of the small one, and peak memory
   growing by less than 200 MB from the small run to the large one (the ORM cache must not grow
   with the backlog).
2. The SMS log as a clinic group sees it after a few years: the table filled up to
   ``--log-messages`` (1,000,000) rows with one ``INSERT … SELECT generate_series``, then the reads
   the log's views ask for, through the ORM as the web client asks (``web_search_read`` of the list
   view's fields, ``web_read`` of the contact's SMS tab), as the administrator (record rules
   apply): the first page in the default order, the *Problems* filter, a search by number and by
   patient, the contact's SMS tab. Target: each within 50 ms (median of ``--repeat`` runs).

Run as ``python -m bench.scale`` from the repository (``make bench-scale``). Its own database
(``clinic_bench_scale``, created again on each run). Exit status 1 when a target
is missed (``--no-check`` only reports); the targets are in bench/targets.py.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import database
from bench.table import fmt_ms, fmt_s, log, table

REPO = Path(__file__).resolve().parent.parent


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=10000, help="the smaller backlog (default 10000)")
    parser.add_argument("--large", type=int, default=100000, help="the larger backlog (default 100000)")
    parser.add_argument(
        "--log-messages", type=int, default=1000000, help="rows in the SMS log (default 1000000)"
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs of each log read (default 5)")
    parser.add_argument("--create-batch", type=int, default=1000, help="appointments per create() call")
    parser.add_argument("--db", default="clinic_bench_scale", help="database (dropped and created again)")
    parser.add_argument("--no-check", action="store_true", help="only report, never fail")
    parser.add_argument(
        "--log-only", action="store_true", help="only part 2, on the database of an earlier run (kept)"
    )
    parser.add_argument("--measure-dispatch", metavar="JSON", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args(argv)
    if not 0 < args.small < args.large:
        parser.error("--small must be positive and smaller than --large")
    return args


def clinic_args(args):
    """The arguments of :class:`bench.clinic.Clinic` for ``--large`` patients and appointments."""
    return argparse.Namespace(
        appointments=args.large, odoo_appointments=0, create_batch=args.create_batch, db=args.db
    )


# --- 1. the backlog --------------------------------------------------------------------------------


def build_backlog(clinic):
    """``--large`` patients and as many appointments starting within 2 to 21 hours: their 24-hour
    reminders are all due."""
    from bench.scenarios import dispatch

    clinic.setup()
    t0 = time.perf_counter()
    dispatch.create_due_set(clinic)
    log(f"backlog: {clinic.n:,} appointments with due reminders in {time.perf_counter() - t0:.0f} s")


def measure_dispatch(args):
    """In this (fresh) process: the small backlog dispatched, then the large one; what each took."""
    from bench import measure
    from bench.clinic import Clinic
    from odoo import SUPERUSER_ID, api

    registry = database.registry(args.db)
    out = {"baseline_mb": measure.peak_memory_mb()}  # the registry loaded, nothing dispatched yet
    with registry.cursor() as cr:
        clinic = Clinic(api.Environment(cr, SUPERUSER_ID, {}), clinic_args(args))
        clinic.due_ids = clinic.env["calendar.event"].search([("name", "=like", "Due %")], order="id").ids
        rest = clinic.due_ids[args.small :]
        clinic.requeue_due()
        # only the first --small reminders wait; the others are out of the queue meanwhile
        clinic.cr.execute(
            "UPDATE clinic_sms_message SET state = 'cancelled' WHERE event_id = ANY(%s)", [rest]
        )
        clinic.commit()
        for label, count in (("small", args.small), ("large", args.large)):
            if label == "large":
                clinic.requeue_due()
            run = measure.dispatch(clinic, autocommit=True)
            run["states"] = clinic.states_of_due(clinic.due_ids[:count])
            out[label] = {
                "messages": count,
                "seconds": run["seconds"],
                "queries": run["queries"],
                "done": run["done"],
                "batches": run["batches"],
                "states": run["states"],
                "peak_mb": measure.peak_memory_mb(),
            }
            log(f"dispatch of {count:,}: {run['seconds']:.1f} s, peak memory {out[label]['peak_mb']:.0f} MB")
    Path(args.measure_dispatch).write_text(json.dumps(out))


def dispatch_in_fresh_process(args):
    with tempfile.NamedTemporaryFile(suffix=".json") as result:
        cmd = [sys.executable, "-m", "bench.scale", "--measure-dispatch", result.name]
        cmd += ["--db", args.db, "--small", str(args.small), "--large", str(args.large)]
        subprocess.run(cmd, check=True, cwd=REPO)
        return json.loads(Path(result.name).read_text())


def report_dispatch(figures):
    from bench import targets as t

    small, large = figures["small"], figures["large"]
    log()
    log(
        f"1. Dispatch of a backlog: {small['messages']:,} and {large['messages']:,} due reminders, one"
        " _cron_dispatch() run each (batch per transaction, test gateway), in one fresh process"
    )
    rows = []
    for run in (small, large):
        count = run["messages"]
        rows.append(
            [
                f"{count:,} reminders",
                fmt_s(run["seconds"]),
                fmt_ms(1000 * run["seconds"] / count),
                f"{run['queries'] / count:.3f}",
                f"{count / run['seconds']:,.0f}",
                f"{run['peak_mb']:,.0f} MB",
            ]
        )
    log(table(rows, ["", "total", "per message", "queries/message", "msg/s", "peak memory"]))
    for run in (small, large):
        states = ", ".join(f"{k}: {v:,}" for k, v in sorted(run["states"].items()))
        log(
            f"   {run['messages']:,}: {run['done']:,} dispatched in {run['batches']} batches;"
            f" states after: {states}"
        )
    log(
        f"   process peak memory with the registry loaded, before the first run:"
        f" {figures['baseline_mb']:,.0f} MB;"
        f" targets: per message at {large['messages']:,} <= {t.TARGET_SCALE_PER_MESSAGE_RATIO} x"
        f" at {small['messages']:,}, memory growth < {t.TARGET_SCALE_MEMORY_GROWTH_MB:,.0f} MB"
    )


def main(argv=None):
    args = parse_args(argv)
    if args.measure_dispatch:
        measure_dispatch(args)
        return 0
    started = time.perf_counter()
    install_seconds = 0.0 if args.log_only else database.prepare(args.db, False, log)

    from bench import scale_log, targets
    from bench.clinic import Clinic
    from odoo import SUPERUSER_ID, api

    registry = database.registry(args.db)
    dispatch_figures = None
    if not args.log_only:
        with registry.cursor() as cr:
            clinic = Clinic(api.Environment(cr, SUPERUSER_ID, {}), clinic_args(args))
            build_backlog(clinic)
        dispatch_figures = dispatch_in_fresh_process(args)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        log_figures = scale_log.run(env, args)
    if dispatch_figures:
        report_dispatch(dispatch_figures)
    scale_log.report(log_figures, args)
    checks = targets.scale_checks(dispatch_figures, log_figures)
    log()
    log("Targets")
    for label, ok, detail in checks:
        log(f"   [{'ok' if ok else 'MISSED'}] {label}: {detail}")
    log()
    log(f"bench-scale run time: {time.perf_counter() - started:.0f} s (install {install_seconds:.0f} s)")
    if not all(ok for _label, ok, _detail in checks) and not args.no_check:
        log("bench-scale: a target was missed (see above); --no-check only reports")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
