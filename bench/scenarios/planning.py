"""1. Planning overhead: N appointments over the next week created by Odoo in batches, as a clinic
import would, once without the add-on's planning (``clinic_sms_no_plan``) and once with it; batches
of both kinds alternate, so both see the same database size and caches."""

from datetime import datetime, timedelta

from ..measure import Meter


def run(clinic):
    n, size = clinic.n, clinic.args.create_batch
    now = datetime.now().replace(second=0, microsecond=0)
    # Starts over the next week, from 26 h ahead: their 24-hour reminders are planned (not due
    # now), so they stay out of the dispatch runs below.
    base = now + timedelta(hours=26)
    week = 7 * 24 * 60

    def starts(i):
        return base + timedelta(minutes=(i * 37) % week // 15 * 15)

    rules = clinic.env["clinic.sms.rule"].search([("kind", "in", ["reminder", "confirmation"])])
    clinic.planning_rules = ", ".join(sorted(rules.mapped("name")))
    # warm-up (not counted): one batch of each
    warm = [clinic.event_vals(i, starts(i), "Warm-up") for i in range(min(size, n))]
    clinic.planning_ids = clinic.create_events(warm, plan=False)
    clinic.planning_ids += clinic.create_events(warm, plan=True)

    without, with_ = Meter(), Meter()
    for k, first in enumerate(range(0, n, size)):
        vals = [clinic.event_vals(i, starts(i), "Appointment") for i in range(first, min(first + size, n))]
        order = [(False, without), (True, with_)]
        if k % 2:
            order.reverse()
        for plan, meter in order:
            clinic.planning_ids += clinic.create_events(vals, plan=plan, meter=meter)
    Message = clinic.env["clinic.sms.message"]
    planned = Message.search_count([("event_id", "in", clinic.planning_ids)])
    clinic.results["planning"] = {"without": without, "with": with_, "messages": planned}
    # Their booking confirmations are due now: withdraw them so the dispatch below only sends
    # the N reminders it is about.
    clinic.env.flush_all()
    clinic.cr.execute(
        """UPDATE clinic_sms_message SET state = 'cancelled', reason = 'staff'
            WHERE event_id = ANY(%s) AND state IN ('scheduled', 'queued') AND due_at <= %s""",
        [clinic.planning_ids, datetime.now() + timedelta(hours=1)],
    )
    clinic.results["planning"]["withdrawn"] = clinic.cr.rowcount
    clinic.commit()
