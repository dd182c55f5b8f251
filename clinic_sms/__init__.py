from . import controllers, models, wizards


def post_init_hook(env):
    """At installation, plan the reminders of every future appointment booked before it, as
    *Synchronize all* does (in batches; booking confirmations only go for new bookings)."""
    companies = env["res.company"].search([("clinic_sms_enabled", "=", True)])
    env["clinic.sms.planner"]._synchronize(companies)
