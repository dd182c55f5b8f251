"""6. Synchronize all: *Synchronize all* for the company on S future appointments (``--sync-appointments``,
default 100,000) that have no messages yet — inserted in bulk, as appointments booked while Clinic SMS
was off would be — so that every reminder is planned; then once more with everything planned
(idempotent: nothing is created). The appointments are removed afterwards."""

from datetime import timedelta

from odoo import fields

from .. import measure


def run(clinic):
    s = clinic.args.sync_appointments
    if not s:
        return
    env, cr = clinic.env, clinic.cr
    now = fields.Datetime.now()
    # S appointments over the coming weeks, one patient each (and the practitioner), in three queries.
    cr.execute(
        """INSERT INTO calendar_event (name, start, stop, user_id, active, privacy, show_as, allday,
                                       duration, sms_enabled, create_uid, write_uid, create_date,
                                       write_date)
           SELECT 'Synchronize ' || i, %(start)s + (i || ' minutes')::interval,
                  %(start)s + (i || ' minutes')::interval + interval '30 minutes', %(doctor)s, true,
                  'public', 'busy', false, 0.5, true, 1, 1, %(now)s, %(now)s
             FROM generate_series(1, %(s)s) i
           RETURNING id""",
        {"start": now + timedelta(days=2), "doctor": clinic.doctor.id, "now": now, "s": s},
    )
    event_ids = [row[0] for row in cr.fetchall()]
    patients = [clinic.patient_ids[i % clinic.n] for i in range(len(event_ids))]
    doctor = clinic.doctor.partner_id.id
    for partner_ids in (patients, [doctor] * len(event_ids)):
        cr.execute(
            """INSERT INTO calendar_event_res_partner_rel (calendar_event_id, res_partner_id)
               SELECT * FROM unnest(%s::int[], %s::int[])""",
            [event_ids, partner_ids],
        )
        cr.execute(
            """INSERT INTO calendar_attendee (event_id, partner_id, state, common_name, access_token,
                                              availability, create_uid, write_uid, create_date,
                                              write_date)
               SELECT e, p, 'needsAction', 'Bench', md5(e::text || '-' || p::text), 'busy', 1, 1,
                      %s, %s
                 FROM unnest(%s::int[], %s::int[]) AS t(e, p)""",
            [now, now, event_ids, partner_ids],
        )
    cr.execute("ANALYZE calendar_event")
    cr.execute("ANALYZE calendar_attendee")
    cr.execute("ANALYZE calendar_event_res_partner_rel")
    clinic.commit()
    env.invalidate_all()
    planner = env["clinic.sms.planner"]
    runs = []
    for _label in ("first", "again"):
        before = env["clinic.sms.message"].search_count([("event_id", "in", event_ids)])
        meter = measure.Meter()
        with meter.measure():
            checked = planner._synchronize(clinic.company)
            env.flush_all()
            clinic.commit()
        env.invalidate_all()
        after = env["clinic.sms.message"].search_count([("event_id", "in", event_ids)])
        runs.append(
            {
                "seconds": meter.seconds,
                "queries": meter.queries,
                "checked": checked,
                "created": after - before,
            }
        )
        cr.execute("ANALYZE clinic_sms_message")
        clinic.commit()
    cr.execute("DELETE FROM clinic_sms_message WHERE event_id = ANY(%s)", [event_ids])
    cr.execute("DELETE FROM calendar_event WHERE id = ANY(%s)", [event_ids])
    clinic.commit()
    env.invalidate_all()
    clinic.results["sync"] = {"appointments": s, "runs": runs}
