"""2. Dispatch: N appointments starting within the next 2 to 21 hours, so that with the 24-hour
reminder rule all N reminders are due at once (the confirmation rule is switched off for them); one
``_cron_dispatch()`` run through the built-in ``test`` gateway, each batch its own transaction (as
the cron), then the same rows queued again and dispatched in a single transaction."""

from datetime import datetime, timedelta

from .. import measure
from ..measure import Meter


def create_due_set(clinic):
    """N appointments starting within 2 h .. 21 h: their 24-hour reminders are due at once."""
    n, size = clinic.n, clinic.args.create_batch
    clinic.env.ref("clinic_sms.rule_confirmation").active = False
    clinic.commit()
    base = datetime.now().replace(second=0, microsecond=0) + timedelta(hours=2)
    span = 19 * 60
    meter = Meter()
    clinic.due_ids = []
    for first in range(0, n, size):
        vals = [
            clinic.event_vals(i, base + timedelta(minutes=(i * 7) % span), "Due")
            for i in range(first, min(first + size, n))
        ]
        clinic.due_ids += clinic.create_events(vals, plan=True, meter=meter)
    clinic.results["due_planning"] = meter
    Message = clinic.env["clinic.sms.message"]
    due = Message.search_count(
        [
            ("event_id", "in", clinic.due_ids),
            ("kind", "=", "reminder"),
            ("state", "in", ["scheduled", "queued"]),
            ("due_at", "<=", datetime.now()),
        ]
    )
    other = Message.search_count(
        [
            ("state", "in", ["scheduled", "queued"]),
            ("due_at", "<=", datetime.now() + timedelta(minutes=30)),
        ]
    )
    if due != n or other != n:
        raise RuntimeError(f"expected {n} due reminders, found {due} (and {other} due messages in all)")


def run(clinic):
    run = measure.dispatch(clinic, autocommit=True)
    run["states"] = clinic.states_of_due()
    clinic.results["dispatch"] = run
    clinic.requeue_due()
    single = measure.dispatch(clinic, autocommit=False)
    single["states"] = clinic.states_of_due()
    clinic.results["dispatch_single"] = single
