"""What ``make bench`` prints: one section per scenario (the figures and how they compare), then
the targets, met or missed (the checks themselves are in :mod:`targets`)."""

import os
import statistics

from . import targets as t
from .table import fmt_ms, fmt_s, log, runs_text, table


def report(clinic, checks):
    """Print every section, then the targets; True when every target was met."""
    n, r = clinic.n, clinic.results
    log()
    log(f"clinic_sms benchmark — {n:,} appointments, {os.cpu_count()} CPUs, database {clinic.args.db}")
    log("=" * 100)
    for section in SECTIONS:
        log()
        section(clinic, n, r)
    log()
    log("Targets")
    for label, ok, detail in checks:
        log(f"   [{'ok' if ok else 'MISSED'}] {label}: {detail}")
    return all(ok for _label, ok, _detail in checks)


def planning(clinic, n, r):
    p = r["planning"]
    wo, wi = p["without"], p["with"]
    ratio_plan = t.planning_ratio(r)
    log(
        f"1. Planning: creating {n:,} appointments over the next week,"
        f" {clinic.args.create_batch} per create()"
    )
    log(f"   (each: 1 patient + the practitioner; rules: {clinic.planning_rules};")
    log("    batches with and without planning alternate; one warm-up batch of each not counted)")
    dp = r["due_planning"]
    rows = [
        ["Odoo create, clinic_sms_no_plan", *_per_appointment(wo, n), ""],
        ["Odoo create + clinic_sms planning", *_per_appointment(wi, n), f"{ratio_plan:.3f}"],
        [
            "  planning alone (difference)",
            fmt_s(wi.seconds - wo.seconds),
            fmt_ms(1000 * (wi.seconds - wo.seconds) / n),
            f"{(wi.queries - wo.queries) / n:.1f}",
            "",
        ],
        [
            "create + planning, due now, reminder only *",
            *_per_appointment(dp, n),
            f"{dp.seconds / wo.seconds:.3f}",
        ],
    ]
    log(table(rows, ["", "total", "per appointment", "queries/appt", "vs no plan"]))
    log(
        f"   messages planned: {p['messages']:,} (withdrawn afterwards as due now: {p['withdrawn']:,});"
        f" target with/without <= {t.TARGET_PLANNING_RATIO:.2f}"
    )
    log(
        "   * the N appointments of the dispatch run (starts within 2-21 h, confirmation rule off),"
        " created after the others, not interleaved with a baseline: indicative only"
    )


def _per_appointment(meter, n):
    return [fmt_s(meter.seconds), fmt_ms(1000 * meter.seconds / n), f"{meter.queries / n:.1f}"]


def dispatch(clinic, n, r):
    from odoo.addons.clinic_sms import constants

    d, s, o = r["dispatch"], r["dispatch_single"], r["odoo"]
    om = o["meter"]
    odoo_ms = t.odoo_ms_per_reminder(r)
    odoo_q = om.queries / o["appointments"]
    odoo_projected = t.odoo_projected_seconds(r, n)
    issue_odoo = t.ISSUE_ODOO_MS_PER_REMINDER * n / 1000
    log(f"2. Dispatch of {n:,} due reminders through the test gateway (one _cron_dispatch() run)")
    log(
        f"3. Odoo's own figure: calendar_sms reminder cron (calendar.alarm_manager._send_reminder),"
        f" {o['appointments']:,} appointments"
    )
    log(
        f"   with the SMS alarm '{o['alarm']}', IAP stubbed ({o['sent']:,} SMS handed to the stub,"
        f" {o['sms_records']:,} sms.sms rows left), projected linearly to {n:,}"
    )
    odoo_row = [fmt_ms(odoo_ms), f"{odoo_q:.1f}", f"{1000 / odoo_ms:,.0f}"]
    rows = [
        [f"calendar_sms cron, {o['appointments']:,} reminders (measured)", fmt_s(om.seconds), *odoo_row, ""],
        [f"calendar_sms cron, {n:,} reminders (projected)", fmt_s(odoo_projected), *odoo_row, "1.000"],
        [
            f"  (issue's figure for {n:,})",
            fmt_s(issue_odoo),
            fmt_ms(t.ISSUE_ODOO_MS_PER_REMINDER),
            f"{t.ISSUE_ODOO_QUERIES_PER_REMINDER}",
            f"{1000 / t.ISSUE_ODOO_MS_PER_REMINDER:,.0f}",
            "",
        ],
        _dispatch_row("clinic_sms dispatch, batch per transaction", d, n, odoo_projected),
        _dispatch_row("clinic_sms dispatch, one transaction", s, n, odoo_projected),
    ]
    log(table(rows, ["", "total", "per reminder", "queries/reminder", "msg/s", "vs Odoo"]))
    log(
        f"   clinic_sms vs the issue's 140 s-class figure: {d['seconds'] / issue_odoo:.3f};"
        f" target vs Odoo <= {t.TARGET_DISPATCH_RATIO:.2f}"
    )
    for label, run in (("batch per transaction", d), ("one transaction", s)):
        states = ", ".join(f"{k}: {v:,}" for k, v in sorted(run["states"].items()))
        bsec = run["batch_seconds"] or [0]
        log(
            f"   {label}: {run['done']:,} dispatched in {run['batches']} batches"
            f" (BATCH_SIZE {constants.BATCH_SIZE}); states after: {states}"
        )
        log(
            f"     queries per full batch, in _dispatch_batch: {runs_text(run['full_inside'])};"
            f" per loop cycle (lock + batch + commit): {runs_text(run['full_cycles'])};"
            f" run end (after the last batch): {run['run_end']}"
        )
        log(
            f"     {run['before_first']} queries before the first batch, {run['queries']:,} in all;"
            f" seconds per batch: min {min(bsec):.3f}, median {statistics.median(bsec):.3f},"
            f" max {max(bsec):.3f}"
        )


def _dispatch_row(label, run, n, odoo_seconds):
    """One row of the dispatch table for a measured clinic_sms run."""
    return [
        label,
        fmt_s(run["seconds"]),
        fmt_ms(1000 * run["seconds"] / n),
        f"{run['queries'] / n:.3f}",
        f"{n / run['seconds']:,.0f}",
        f"{run['seconds'] / odoo_seconds:.3f}",
    ]


def idle(clinic, n, r):
    d = r["dispatch"]
    log(
        "4. Dispatch run with nothing due (after the runs above: "
        f"{clinic.env['clinic.sms.message'].search_count([]):,} messages in the table)"
    )
    rows = []
    for label, runs in zip(("batch per transaction", "one transaction"), r["idle"], strict=True):
        ms = [1000 * run["seconds"] for run in runs]
        queries = sorted({run["queries"] for run in runs})
        rows.append(
            [
                f"clinic_sms, {label}",
                "/".join(str(q) for q in queries),
                fmt_ms(statistics.median(ms)),
                fmt_ms(min(ms)),
                f"{statistics.median(ms) / (1000 * d['seconds']):.5f}",
            ]
        )
    log(table(rows, ["", "queries", "median", "best", "vs run with N due"]))
    log(f"   ({len(r['idle'][0])} runs each; target <= {t.TARGET_IDLE_QUERIES} queries)")


def http(clinic, n, r):
    d = r["dispatch"]
    batch, single = r["http"]["gatewayapi"], r["http"]["twilio"]
    batch_rate, single_rate = t.http_rates(r)
    log(
        "5. Dispatch through real HTTP to the local gateway emulator (tools/emulator/,"
        " in this process, 127.0.0.1)"
    )
    log(
        f"   one _cron_dispatch() run, batch per transaction, of the reminders of section 2 queued"
        f" again; Twilio on the first {single['messages']:,} of them"
    )
    rows = [
        [
            f"test gateway, no HTTP ({n:,}, section 2)",
            f"{n:,}",
            "0",
            fmt_s(d["seconds"]),
            fmt_ms(1000 * d["seconds"] / n),
            "",
            f"{n / d['seconds']:,.0f}",
        ]
    ]
    for label, run in (
        ("GatewayAPI, batch API (<= 500 per request)", batch),
        ("Twilio, no batch API (1 request per message)", single),
    ):
        count = run["messages"]
        rows.append(
            [
                label,
                f"{count:,}",
                f"{run['requests']:,}",
                fmt_s(run["seconds"]),
                fmt_ms(1000 * run["seconds"] / count),
                f"{100 * run['send_seconds'] / run['seconds']:.0f} %",
                f"{count / run['seconds']:,.0f}",
            ]
        )
    log(table(rows, ["", "messages", "HTTP requests", "total", "per message", "in gateway call", "msg/s"]))
    log(
        f"   batch / no batch: {batch_rate / single_rate:.2f} x the messages per second;"
        f" target with the batch API >= {t.TARGET_HTTP_BATCH_RATE:,.0f} msg/s"
    )
    log(
        "   in gateway call: share of the run inside clinic.sms.gateway._clinic_sms_send (client,"
        " HTTP and the emulator's handling, which shares this process)"
    )
    for label, run in (("GatewayAPI", batch), ("Twilio", single)):
        states = ", ".join(f"{k}: {v:,}" for k, v in sorted(run["states"].items()))
        log(
            f"   {label}: states after: {states}; emulator accepted {run['accepted']:,}"
            f" ({run['distinct']:,} distinct refs, {run['missing']:,} missing,"
            f" {run['unexpected']:,} unexpected) of {run['expected']:,}; {run['batches']} batches,"
            f" {run['queries']:,} queries"
        )


#: The sections, in the order they are printed (sections 2 and 3 print together). A new scenario
#: adds its section here, after its results (e.g. "6. Synchronize all").
def synchronize(clinic, n, r):
    sync = r.get("sync")
    if not sync:
        return
    log(
        f"6. Synchronize all: {sync['appointments']:,} future appointments with nothing planned, then"
        " once more (idempotent)"
    )
    rows = [
        [label, fmt_s(run["seconds"]), f"{run['checked']:,}", f"{run['created']:,}", f"{run['queries']:,}"]
        for label, run in zip(("first run", "again"), sync["runs"], strict=True)
    ]
    log(table(rows, ["", "total", "appointments", "reminders planned", "queries"]))
    log(f"   target: at most {t.TARGET_SYNC_SECONDS:.0f} s for the first run")


SECTIONS = (planning, dispatch, idle, http, synchronize)
