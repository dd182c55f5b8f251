"""``make bench-scale``, part 2: the SMS log with ``--log-messages`` rows, read as its views ask.

The rows are made by one ``INSERT … SELECT generate_series`` from the patients and appointments the
backlog run created: mostly delivered reminders spread over the past three years, with a share of
problems (failed, skipped, expired) and cancellations, each with the patient's number.

The reads follow the views as they are: the list view's fields (its arch) fetched by
``web_search_read`` with the list's page size, the default order and the count the web client
asks for; the *Problems* filter's domain and the search fields' domains from the search view; the
contact form's SMS tab fetched by ``web_read`` with the tab's fields, order and limit.
"""

import statistics
import time
from datetime import datetime

from lxml import etree

from .measure import queries_now
from .table import fmt_ms, log, table

PAGE = 80  # the list view's default page size
COUNT_LIMIT = 10001  # the count the web client asks for

#: The generated rows by ``mod(i, 100)``: 2 % failed, 3 % skipped, 1 % expired (the Problems
#: filter: 6 %), 5 % cancelled, the rest delivered.
_STATES = """CASE
    WHEN mod(i, 100) < 2 THEN 'failed' WHEN mod(i, 100) < 5 THEN 'skipped'
    WHEN mod(i, 100) < 6 THEN 'expired' WHEN mod(i, 100) < 11 THEN 'cancelled' ELSE 'delivered' END"""
_REASONS = """CASE
    WHEN mod(i, 100) < 2 THEN 'undeliverable' WHEN mod(i, 100) < 5 THEN 'opted_out'
    WHEN mod(i, 100) < 11 THEN 'appointment_cancelled' END"""
#: handed to the gateway: delivered and failed rows
_HANDED = "(mod(i, 100) >= 11 OR mod(i, 100) < 2)"


def fill(env, total):
    """Add rows to ``clinic_sms_message`` until it holds ``total``; the seconds it took."""
    cr = env.cr
    env.flush_all()
    cr.execute("SELECT count(*) FROM clinic_sms_message")
    missing = total - cr.fetchone()[0]
    if missing <= 0:
        return 0.0
    t0 = time.perf_counter()
    company = env.ref("base.main_company")
    rule = env.ref("clinic_sms.rule_reminder_24h")
    gateway = env["clinic.sms.gateway"].search([("provider", "=", "test")], limit=1) or env[
        "clinic.sms.gateway"
    ].create({"name": "Test gateway", "provider": "test", "sender": "Clinic"})
    now = datetime.now().replace(microsecond=0)
    # every row its own moment, the newest one hour ago, spread over about three years
    step = max(1, int(3 * 365 * 24 * 3600 / missing))
    cr.execute(
        f"""
        WITH patients AS (
            SELECT array_agg(id ORDER BY id) AS ids, array_agg(sms_number_e164 ORDER BY id) AS numbers
              FROM res_partner WHERE name LIKE 'Patient %%' AND sms_number_e164 IS NOT NULL
        ), events AS (
            SELECT array_agg(id ORDER BY id) AS ids, array_agg(user_id ORDER BY id) AS users
              FROM calendar_event WHERE name LIKE 'Due %%'
        ), rows AS (
            SELECT i, %(now)s - make_interval(secs => 3600 + i * %(step)s) AS due
              FROM generate_series(1, %(missing)s) AS i
        )
        INSERT INTO clinic_sms_message (
            kind, rule_id, template_id, event_id, event_start, user_id, partner_id, number, body,
            state, reason, due_at, expire_at, sent_at, delivered_at, gateway_id, provider_ref,
            encoding, segments, credits, attempts, company_id, event_noted,
            create_uid, create_date, write_uid, write_date)
        SELECT 'reminder', %(rule)s, %(template)s,
               events.ids[1 + mod(i, cardinality(events.ids))], rows.due + interval '24 hours',
               events.users[1 + mod(i, cardinality(events.ids))],
               patients.ids[1 + mod(i, cardinality(patients.ids))],
               patients.numbers[1 + mod(i, cardinality(patients.ids))],
               'Reminder: your appointment tomorrow at 10:00. Reply STOP to opt out.',
               {_STATES}, {_REASONS}, rows.due, rows.due + interval '24 hours',
               CASE WHEN {_HANDED} THEN rows.due END,
               CASE WHEN mod(i, 100) >= 11 THEN rows.due + interval '5 seconds' END,
               CASE WHEN {_HANDED} THEN %(gateway)s END,
               CASE WHEN {_HANDED} THEN 'log-' || i END,
               'gsm7', 1, 1, 1, %(company)s, TRUE,
               1, rows.due, 1, rows.due
          FROM rows, patients, events
        """,
        {
            "now": now,
            "step": step,
            "missing": missing,
            "rule": rule.id,
            "template": rule.template_id.id,
            "gateway": gateway.id,
            "company": company.id,
        },
    )
    cr.commit()
    env.invalidate_all()
    vacuum(env.cr.dbname)
    return time.perf_counter() - t0


def vacuum(db):
    """``VACUUM ANALYZE`` of the whole database, as autovacuum leaves a database that has lived with
    its rows: statistics up to date (the planner's estimates) and the visibility map set (index-only
    scans). It cannot run in a transaction, hence a connection of its own."""
    import psycopg2

    from .database import pg_connect_params

    cnx = psycopg2.connect(**{**pg_connect_params(), "dbname": db})
    cnx.autocommit = True
    try:
        with cnx.cursor() as cr:
            cr.execute("VACUUM ANALYZE")
    finally:
        cnx.close()


def _specification(model, fields_node):
    """What the web client asks for the ``<field>`` children of a list: many2ones with their name."""
    spec = {}
    for node in fields_node.iterchildren("field"):
        name = node.get("name")
        field = model._fields[name]
        spec[name] = {"fields": {"display_name": {}}} if field.type == "many2one" else {}
    return spec


def _search_domain(search_arch, name, value):
    """The domain the search view builds for ``value`` typed in its field ``name``."""
    from odoo.tools.safe_eval import safe_eval

    node = search_arch.xpath(f"//field[@name='{name}']")[0]
    if node.get("filter_domain"):
        return safe_eval(node.get("filter_domain"), {"self": value, "raw_value": value})
    return [(name, "ilike", value)]


def reads(env):
    """``(label, read, search)`` of each read the log's views ask for, as the administrator: the read
    as the web client asks it, and its searches alone (the SQL the indexes serve)."""
    admin = env.ref("base.user_admin")
    env = env(user=admin, context={"lang": "en_US", "tz": "Europe/Copenhagen", "active_test": True})
    Message = env["clinic.sms.message"]
    views = Message.get_views([(False, "list"), (False, "search")])["views"]
    list_arch = etree.fromstring(views["list"]["arch"])
    search_arch = etree.fromstring(views["search"]["arch"])
    spec = _specification(Message, list_arch)
    limit = int(list_arch.get("limit") or PAGE)
    problems = search_arch.xpath("//filter[@name='problems']")[0].get("domain")
    from odoo.tools.safe_eval import safe_eval

    problems = safe_eval(problems)
    # a patient with messages, and the end of their number as a receptionist types it
    env.cr.execute(
        "SELECT partner_id, number FROM clinic_sms_message WHERE number IS NOT NULL ORDER BY id LIMIT 1"
    )
    partner_id, number = env.cr.fetchone()
    patient = env["res.partner"].browse(partner_id)
    partner_form = etree.fromstring(env["res.partner"].get_views([(False, "form")])["views"]["form"]["arch"])
    tab = partner_form.xpath("//field[@name='clinic_sms_message_ids']")[0]
    tab_list = tab.find("list")
    tab_spec = {
        "clinic_sms_message_ids": {
            "fields": _specification(Message, tab_list),
            "limit": int(tab_list.get("limit") or 40),
            "order": tab_list.get("default_order") or "",
        }
    }

    def searches(domain):
        """The ids of the page, and the count when the page is full (as web_search_read asks)."""
        ids = Message.search(domain, limit=limit).ids
        return ids, Message.search_count(domain, limit=COUNT_LIMIT) if len(ids) == limit else len(ids)

    def page(domain):
        return (
            lambda: Message.web_search_read(domain, spec, limit=limit, count_limit=COUNT_LIMIT),
            lambda: searches(domain),
        )

    def tab():
        return (
            lambda: patient.web_read(tab_spec),
            lambda: (
                Message.search(
                    [("partner_id", "=", patient.id)], order=tab_spec["clinic_sms_message_ids"]["order"]
                ).ids
            ),
        )

    number_domain = _search_domain(search_arch, "number", number[-8:])
    patient_domain = _search_domain(search_arch, "partner_id", patient.name)
    return [
        ("first page, default order", *page([])),
        ("Problems filter", *page(problems)),
        (f"search by number ('{number[-8:]}')", *page(number_domain)),
        (f"search by patient ('{patient.name}')", *page(patient_domain)),
        ("contact's SMS tab", *tab()),
    ]


def _timed(env, function, repeat):
    """Median and best milliseconds of ``function`` over ``repeat`` runs, each with an empty ORM
    cache, and the queries of one run."""
    times = []
    for _ in range(max(repeat, 1)):
        env.invalidate_all()
        q0, t0 = queries_now(), time.perf_counter()
        function()
        times.append(1000 * (time.perf_counter() - t0))
        queries = queries_now() - q0
    return statistics.median(times), min(times), queries


def run(env, args):
    seconds = fill(env, args.log_messages)
    env.cr.execute("SELECT count(*) FROM clinic_sms_message")
    rows = env.cr.fetchone()[0]
    log(f"SMS log: {rows:,} rows (filled in {seconds:.0f} s)")
    figures = {"rows": rows, "fill_seconds": seconds, "reads": []}
    for label, read, search in reads(env):
        env.invalidate_all()
        result = read()  # warm-up: caches, plans
        found = result["length"] if isinstance(result, dict) else len(result[0]["clinic_sms_message_ids"])
        median, best, queries = _timed(env, read, args.repeat)
        search_median, _best, _queries = _timed(env, search, args.repeat)
        figures["reads"].append(
            {
                "label": label,
                "found": found,
                "median_ms": median,
                "best_ms": best,
                "queries": queries,
                "search_ms": search_median,
            }
        )
    env.cr.rollback()
    return figures


def report(figures, args):
    from . import targets as t

    log()
    log(
        f"2. The SMS log with {figures['rows']:,} messages, read as its views ask (web_search_read /"
        f" web_read as the administrator, {args.repeat} runs each after a warm-up)"
    )
    rows = [
        [
            read["label"],
            f"{read['found']:,}",
            str(read["queries"]),
            fmt_ms(read["median_ms"]),
            fmt_ms(read["best_ms"]),
            fmt_ms(read["search_ms"]),
        ]
        for read in figures["reads"]
    ]
    log(table(rows, ["", "found", "queries", "median", "best", "its searches alone"]))
    log(
        f"   found: the count the list shows (at most {COUNT_LIMIT - 1:,}+), or the tab's rows; its"
        " searches alone: the ids of the page and, when it is full, the count (median), without reading"
        " the rows"
    )
    log(f"   target: each read's median <= {t.TARGET_LOG_READ_MS:.0f} ms")
