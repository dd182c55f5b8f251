"""Pure-Python core of clinic_sms: no Odoo imports here or in any module of this package.

Modules:

* :mod:`.eligibility`: the rule book, who may receive which message and whether it still fits.
* :mod:`.planner`: when a message about an appointment or a birthday is due and until when.
* :mod:`.timing`: due and expiry moments, the sending window, time-zone arithmetic.
* :mod:`.segments`: SMS parts and encoding (GSM-7, UCS-2), transliteration.
* :mod:`.credits`: what a message costs, the month's allowance, warning thresholds.
* :mod:`.placeholders`: template placeholders, validation and rendering.
* :mod:`.phone`: number validation and E.164.
* :mod:`.replies`: what a patient's reply means (opt out, confirm, cancel, other).
* :mod:`.setup`: the setup checklist (time zone, window, a real tested gateway, templates, credits).
* :mod:`.text`: text from outside (webhooks, providers' answers) made safe to store.
* :mod:`.gateway`: what the gateway clients exchange (requests, results, reports, replies), their
  errors, back-off and routing.
* :mod:`.providers`: the clients, one module per provider (``test``, ``gatewayapi``, ``smsapi``,
  ``twilio``, ``kannel``) over the shared contract of :mod:`.providers.base`; the registry is the
  package's ``__init__``.
* :mod:`.exceptions`: the errors the core raises on purpose.

Only the modules in ``__all__`` are imported with the package; import the others by name.
"""

from . import exceptions, phone, placeholders, segments, timing

__all__ = ["exceptions", "phone", "placeholders", "segments", "timing"]
