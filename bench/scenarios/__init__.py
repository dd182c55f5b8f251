"""The scenarios of ``make bench``, one module each; :data:`STEPS` runs them in order.

A scenario is a function ``run(clinic)`` that works on the bench's database through ``clinic``
(:class:`bench.clinic.Clinic`) and leaves its figures in ``clinic.results`` for the report.

Adding a scenario: its module here, its line in :data:`STEPS`, its section in ``report.SECTIONS`` and its
targets and checks in ``targets.py``.
"""

from . import dispatch, http_dispatch, idle, odoo_reference, planning, synchronize_all

#: ``(label, function)`` in the order they run; each logs "<label>: done in … s".
STEPS = (
    ("planning", planning.run),
    ("appointments due now", dispatch.create_due_set),
    ("Odoo's calendar_sms cron", odoo_reference.run),
    ("dispatch", dispatch.run),
    ("nothing due", idle.run),
    ("dispatch through HTTP", http_dispatch.run),
    ("synchronize all", synchronize_all.run),
)
