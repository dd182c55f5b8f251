"""Pure-Python core of clinic_sms: no Odoo imports here or in any module of this package.

Modules: :mod:`.segments` (SMS parts and encoding), :mod:`.phone` (number validation),
:mod:`.timing` (due and expiry moments, sending windows), :mod:`.placeholders` (template bodies),
:mod:`.gateway` (what the gateway clients exchange), :mod:`.providers` (the clients, one module per
provider), :mod:`.exceptions`.
"""

from . import exceptions, phone, placeholders, segments, timing

__all__ = ["exceptions", "phone", "placeholders", "segments", "timing"]
