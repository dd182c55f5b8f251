"""A local stand-in for GatewayAPI, SMSAPI and Twilio: tests and demos send real HTTP to it.

It speaks the parts of each provider's API that clinic_sms uses, on one port; each provider is one
module here (its API, its signing, its misbehaviour), the server and what it records is
:mod:`.server`:

* GatewayAPI (:mod:`.gatewayapi`): ``POST /rest/mtsms`` (one message object or a list),
  ``GET /rest/mtsms/<id>``;
* SMSAPI (:mod:`.smsapi`): ``POST /sms.do`` (form, Bearer token, ``idx`` + ``check_idx``
  enforced), ``GET /sms.do?status=<id>``;
* Twilio (:mod:`.twilio`): ``POST /2010-04-01/Accounts/<sid>/Messages.json``,
  ``GET …/Messages/<sid>.json``.

Point a gateway's ``api_url`` at :attr:`Emulator.url`. Every accepted message is recorded
(:attr:`Emulator.messages`) with a provider id, and the status endpoints answer with the status
last reported for it. Numbers ending in ``0000`` are refused as invalid, numbers ending in ``1111``
as refused recipients (GatewayAPI "blacklisted", Twilio 21610 "unsubscribed"; SMSAPI has no such
rule). A GatewayAPI request with one bad message is refused whole, as a real API that validates
first would.

Misbehaviour (:meth:`Emulator.fail`, :meth:`Emulator.faults`) applies to the provider API requests
(sends and status polls), never to webhooks. It happens *before* anything is accepted: a dropped,
throttled, failed or garbled request (``429``, ``500``, ``401``, ``drop``, ``invalid_json``,
``wrong_count``) records nothing, so a test can retry until everything is sent and assert that no
message was accepted twice. The one exception is ``slow``: the answer is only delayed and the
message *is* accepted afterwards, as with a real gateway that is merely slow - a client that timed
out and retries will then send it twice unless the provider deduplicates (SMSAPI does, by ``idx``).

Webhooks: :meth:`Emulator.post_report` and :meth:`Emulator.post_inbound` call a webhook the way the
provider would, signed as it signs (GatewayAPI: HS256 JWT in ``X-Gwapi-Signature``; Twilio:
``X-Twilio-Signature``; SMSAPI: unsigned, reports by GET). The signing here is written from the
providers' documentation and shares no code with the add-on's core: each checks the other.
``auto_report="delivered"`` reports every accepted message to its callback URL from a worker
thread. Any path under ``/_sink/`` records the request it receives (:attr:`Emulator.webhooks`, in
the shape of ``core.gateway.Request``), so tests can give the clients a sink URL as their webhook
and read back what the provider would have sent.

Library (with ``tools/`` on ``sys.path``)::

    from emulator import Emulator

    with Emulator(secrets={"gatewayapi": "s3cret"}) as emu:
        client = make_client("gatewayapi", api_url=emu.url, api_key="token")
        emu.fail("500", times=1)                   # the next request fails
        emu.faults(temporary_rate=0.3, drop_rate=0.1, seed=7)

CLI: ``python -m tools.emulator --port 8070 [--auto-report delivered]`` (``--help`` for the rest).

Only the standard library and ``requests`` (to call webhooks). Nothing it logs contains message
bodies or phone numbers.
"""

from .base import Message, Provider
from .gatewayapi import sign as sign_gatewayapi
from .server import FAULTS, PROVIDERS, Emulator
from .twilio import sign as sign_twilio

__all__ = ["FAULTS", "PROVIDERS", "Emulator", "Message", "Provider", "sign_gatewayapi", "sign_twilio"]
