"""5. Dispatch through real HTTP to the local gateway emulator (``tools/emulator/``, run in this
process on 127.0.0.1): the N due reminders queued again and sent by one ``_cron_dispatch()`` run
(batch per transaction) through a GatewayAPI gateway (batch API: up to 500 messages per request),
then M of them (``--http-messages``) through a Twilio gateway (one request per message)."""

import sys

from .. import measure
from ..database import REPO
from ..measure import timed_method

HTTP_BASE_URL = "http://127.0.0.1:8069"  # web.base.url for the callback URLs (nothing calls them here)
TWILIO_SID = "AC" + "0" * 32


def _gateways(Gateway, url):
    """An inactive GatewayAPI and Twilio gateway pointed at the emulator on ``url``."""
    return {
        "gatewayapi": Gateway.create(
            {
                "name": "Bench GatewayAPI",
                "provider": "gatewayapi",
                "api_url": url,
                "api_key": "token",
                "sender": "Clinic",
                "active": False,
            }
        ),
        "twilio": Gateway.create(
            {
                "name": "Bench Twilio",
                "provider": "twilio",
                "api_url": url,
                "username": TWILIO_SID,
                "password": "secret-token",
                "sender": "+4570203040",
                "active": False,
            }
        ),
    }


def run(clinic):
    sys.path.insert(0, str(REPO / "tools"))
    from emulator import Emulator

    env = clinic.env
    params = env["ir.config_parameter"].sudo()
    company = clinic.company
    test_gateway = clinic.test_gateway
    Gateway = env["clinic.sms.gateway"]
    twilio_n = min(clinic.args.http_messages or clinic.n, clinic.n)
    old_base_url = params.get_param("web.base.url")
    params.set_param("web.base.url", HTTP_BASE_URL)
    runs = {}
    with Emulator() as emu:
        gateways = _gateways(Gateway, emu.url)
        all_gateways = test_gateway | Gateway.browse([g.id for g in gateways.values()])
        try:
            for provider, count in (("gatewayapi", clinic.n), ("twilio", twilio_n)):
                # only this gateway active, and the company's default: every message goes to it
                all_gateways.active = False
                gateways[provider].active = True
                company.clinic_sms_gateway_id = gateways[provider]
                runs[provider] = _run_one(clinic, emu, provider, count)
        finally:
            env.invalidate_all()
            Gateway.browse([g.id for g in gateways.values()]).active = False
            test_gateway.active = True
            company.clinic_sms_gateway_id = test_gateway
            params.set_param("web.base.url", old_base_url or "")
            clinic.commit()
    clinic.results["http"] = runs


def _run_one(clinic, emu, provider, count):
    """The first ``count`` due reminders queued again and dispatched through ``provider``; what the
    emulator accepted, checked against what was queued."""
    event_ids = clinic.due_ids[:count]
    clinic.requeue_due(event_ids)  # commits
    expected = {str(i) for i in clinic.env["clinic.sms.message"].search([("event_id", "in", event_ids)]).ids}
    emu.clear()
    with timed_method(type(clinic.env["clinic.sms.gateway"]), "_clinic_sms_send") as send_seconds:
        run = measure.dispatch(clinic, autocommit=True)
    accepted = emu.messages
    refs = [m.ref for m in accepted]
    run.update(
        messages=count,
        states=clinic.states_of_due(event_ids),
        requests=sum(1 for call in emu.calls if call == (provider, "send")),
        accepted=len(accepted),
        distinct=len(set(refs)),
        unexpected=len(set(refs) - expected) + sum(m.provider != provider for m in accepted),
        missing=len(expected - set(refs)),
        expected=len(expected),
        send_seconds=sum(send_seconds),
        send_calls=len(send_seconds),
    )
    run["ok"] = (
        run["states"] == {"sent": count}
        and run["expected"] == count
        and run["accepted"] == count
        and run["distinct"] == count
        and not run["unexpected"]
        and not run["missing"]
    )
    return run
