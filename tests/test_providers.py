"""GatewayAPI, SMSAPI and Twilio clients over real HTTP on 127.0.0.1, against tools/emulator/.

Webhooks go through the emulator too: it signs and posts them as the provider would, to its own
``/_sink/`` URL, and the recorded request is handed to the client as a ``core.gateway.Request``.
"""

import base64
import json
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest

from core import gateway as gw
from core import providers
from core.gateway import Forged, Malformed, Outgoing, Request
from core.providers import gatewayapi, smsapi, twilio

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from emulator import Emulator, sign_gatewayapi, sign_twilio

SECRET = "gwapi-webhook-secret"
TOKEN = "twilio-auth-token"
SID = "AC" + "1" * 32
NUMBER = "+4520123456"
BODY = "Reminder: dentist tomorrow at 10:00."
SETTINGS = {
    "gatewayapi": {"api_key": "gwapi-token", "webhook_secret": SECRET},
    "smsapi": {"api_key": "smsapi-token"},
    "twilio": {"username": SID, "password": TOKEN, "sender": "+15005550006"},
}
PROVIDERS = list(SETTINGS)

# GatewayAPI's documented webhook token (docs/rest.rst, "Authentication token"), signed with "secret".
GATEWAYAPI_DOC_TOKEN = (
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJpZCI6MjM4MTcwMywibXNpc2RuIjo0NTQyNjA5MDQ1LCJ0aW1lIjoxNTIy"
    "NzY0MDYyLCJzdGF0dXMiOiJERUxJVkVSRUQiLCJlcnJvciI6bnVsbCwiY29kZSI6bnVsbCwidXNlcnJlZiI6bnVsbCwiY2Fs"
    "bGJhY2tfdXJsIjoiaHR0cDovL2JiYWY3MTQyLm5ncm9rLmlvIiwiYXBpIjo0fQ.KdfDH65bnQtgxEkFnpAQodOciAJedZFB13r9wEo8t3Y"
)
# Twilio's documented example (twilio.com/docs/usage/security, "Validating requests").
TWILIO_DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_DOC_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
TWILIO_DOC_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


@pytest.fixture
def emu():
    with Emulator(secrets={"gatewayapi": SECRET}) as emulator:
        yield emulator


def client_for(provider, emu, **settings):
    settings = {
        "api_url": emu.url,
        "dlr_url": emu.sink_url("dlr"),
        "timeout": 5,
        **SETTINGS[provider],
        **settings,
    }
    return providers.make_client(provider, **settings)


def out(ref, number=NUMBER, body=BODY, sender=""):
    return Outgoing(ref=str(ref), number=number, body=body, sender=sender)


def last_webhook(emu):
    return Request(**emu.webhooks[-1])


def sent_one(provider, emu, ref="1", number=NUMBER):
    [result] = client_for(provider, emu).send([out(ref, number)])
    assert result.status == gw.SENT, result
    return result


# --- construction ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "cls", "url", "batch"),
    [
        ("gatewayapi", gatewayapi.GatewayApiClient, "https://gatewayapi.com", 500),
        ("smsapi", smsapi.SmsApiClient, "https://api.smsapi.pl", 1),
        ("twilio", twilio.TwilioClient, "https://api.twilio.com", 1),
    ],
)
def test_make_client_builds_each_provider(provider, cls, url, batch):
    client = providers.make_client(provider, api_key="k", sender="Clinic")
    assert type(client) is cls and client.provider == provider
    assert client.api_url == url and client.batch_size == batch
    assert client.can_poll and client.receives_inbound and client.sender == "Clinic"
    eu = providers.make_client(provider, api_url="https://gatewayapi.eu/")
    assert eu.api_url == "https://gatewayapi.eu"
    client.close()
    eu.close()


def test_only_the_test_provider_is_simulated():
    """The test provider pretends to send: its messages are marked simulated, every real one's not."""
    assert providers.client_class("test").simulated
    assert not [
        p for p in ("gatewayapi", "smsapi", "twilio", "kannel") if providers.client_class(p).simulated
    ]


# --- sending --------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_one_message_is_sent_and_recorded(provider, emu):
    result = sent_one(provider, emu, ref="41")
    [message] = emu.messages
    assert result.provider_ref == message.provider_id and result.ref == "41"
    assert (message.ref, message.number, message.body) == ("41", NUMBER, BODY)
    assert message.callback_url.startswith(emu.sink_url("dlr"))
    assert emu.calls == [(provider, "send")]


def test_sender_of_the_message_wins_over_the_gateway_default(emu):
    client = client_for("gatewayapi", emu, sender="Default")
    client.send([out(1), out(2, sender="Dentist")])
    assert [m.sender for m in emu.messages] == ["Default", "Dentist"]


def test_twilio_messaging_service_sid_is_used_as_sender(emu):
    service = "MG" + "a" * 32
    client_for("twilio", emu, sender=service).send([out(1)])
    assert emu.messages[0].sender == service


def test_gatewayapi_batch_is_one_request_and_ids_follow_the_order(emu):
    numbers = [f"+45201234{i:02d}" for i in range(5)]
    results = client_for("gatewayapi", emu).send([out(10 + i, n) for i, n in enumerate(numbers)])
    assert [r.ref for r in results] == ["10", "11", "12", "13", "14"]
    assert all(r.status == gw.SENT for r in results)
    assert emu.calls == [("gatewayapi", "send")]
    for result, number in zip(results, numbers, strict=True):
        message = emu.find("gatewayapi", result.provider_ref)
        assert (message.ref, message.number) == (result.ref, number)


def test_gatewayapi_splits_by_batch_size(emu):
    client = client_for("gatewayapi", emu)
    client.batch_size = 2
    results = client.send([out(i) for i in range(5)])
    assert len(emu.calls) == 3 and [r.status for r in results] == [gw.SENT] * 5


def test_gatewayapi_asks_for_ucs2_only_when_the_text_is_not_gsm7(emu):
    client_for("gatewayapi", emu).send(
        [out(1, body="Hej Søren, vi ses i morgen"), out(2, body="Dzień dobry, wizyta jutro")]
    )
    assert [m.encoding for m in emu.messages] == ["UTF8", "UCS2"]


def test_gatewayapi_refused_batch_is_resent_in_halves(emu):
    batch = [out(1), out(2, "+4520120000"), out(3, "+4520123457"), out(4, "+4520121111")]
    results = client_for("gatewayapi", emu).send(batch)
    assert [(r.status, r.reason) for r in results] == [
        (gw.SENT, ""),
        (gw.PERMANENT, gw.R_INVALID),
        (gw.SENT, ""),
        (gw.PERMANENT, gw.R_REJECTED),
    ]
    assert "0x0308" in results[1].error and "0x0215" in results[3].error
    assert all("4520120000" not in r.error and "4520121111" not in r.error for r in results)
    assert sorted(m.ref for m in emu.messages) == ["1", "3"]
    assert len(emu.calls) == 7  # the refused batch, its two refused halves, then their four quarters


def test_gatewayapi_one_bad_number_in_a_big_batch_costs_few_requests(emu):
    batch = [out(i, f"+452{i:07d}") for i in range(1, 501)]
    batch[137] = out(138, "+4520120000")  # refused as invalid by the emulator
    results = client_for("gatewayapi", emu).send(batch)
    assert [r.ref for r in results if r.status != gw.SENT] == ["138"]
    assert len(emu.messages) == 499
    assert len(emu.calls) <= 2 * 9 + 1  # halving: about 2·log2(500), not 500


def test_gatewayapi_refuses_a_number_that_is_not_e164_without_calling(emu):
    [result] = client_for("gatewayapi", emu).send([out(1, "020 12 34 56")])
    assert (result.status, result.reason) == (gw.PERMANENT, gw.R_INVALID)
    assert emu.calls == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_429_is_temporary_and_keeps_retry_after(provider, emu):
    emu.fail("429", times=1, retry_after=7)
    client = client_for(provider, emu)
    [result] = client.send([out(1)])
    assert (result.status, result.reason, result.retry_after) == (gw.TEMPORARY, gw.R_THROTTLED, 7.0)
    assert emu.messages == []
    [again] = client.send([out(1)])
    assert again.status == gw.SENT and len(emu.messages) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(("fault", "reason"), [("500", gw.R_GATEWAY_ERROR), ("401", gw.R_AUTH)])
def test_server_error_and_refused_credentials_are_temporary(provider, fault, reason, emu):
    emu.fail(fault)
    results = client_for(provider, emu).send([out(1), out(2)])
    assert [(r.ref, r.status, r.reason) for r in results] == [
        ("1", gw.TEMPORARY, reason),
        ("2", gw.TEMPORARY, reason),
    ]
    assert f"HTTP {fault}" in results[0].error
    assert emu.messages == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_missing_credentials_are_refused_by_the_emulator_as_the_provider_would(provider, emu):
    empty = {"api_key": "", "username": SID if provider == "twilio" else "", "password": ""}
    [result] = client_for(provider, emu, **empty).send([out(1)])
    assert (result.status, result.reason) == (gw.TEMPORARY, gw.R_AUTH)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_timeout_is_temporary(provider, emu):
    emu.fail("slow", times=1, delay=0.6)
    [result] = client_for(provider, emu, timeout=0.15).send([out(1)])
    assert (result.status, result.reason) == (gw.TEMPORARY, gw.R_UNREACHABLE)
    assert "did not answer within 0.15 s" in result.error


@pytest.mark.parametrize(("provider", "copies"), [("smsapi", 1), ("gatewayapi", 2), ("twilio", 2)])
def test_a_slow_gateway_accepts_late_and_only_smsapi_stops_the_retry(provider, copies, emu):
    """A timeout does not mean "not sent". SMSAPI's idx + check_idx refuses the retry (error 53),
    which the client reads as sent; GatewayAPI and Twilio have no such key, so the retry is a copy."""
    emu.fail("slow", times=1, delay=0.5)
    assert client_for(provider, emu, timeout=0.15).send([out(7)])[0].status == gw.TEMPORARY
    deadline = time.monotonic() + 3
    while not emu.messages and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(emu.messages) == 1  # accepted after the client gave up
    [retry] = client_for(provider, emu).send([out(7)])
    assert retry.status == gw.SENT
    assert len(emu.messages) == copies
    if provider == "smsapi":
        assert retry.provider_ref == "" and "already accepted" in retry.error


@pytest.mark.parametrize("provider", PROVIDERS)
def test_dropped_connection_is_temporary_and_sends_nothing(provider, emu):
    emu.fail("drop", times=1)
    [result] = client_for(provider, emu).send([out(1)])
    assert (result.status, result.reason) == (gw.TEMPORARY, gw.R_UNREACHABLE)
    assert emu.messages == [] and len(emu.calls) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("fault", ["invalid_json", "wrong_count"])
def test_unreadable_answer_is_temporary(provider, fault, emu):
    emu.fail(fault)
    results = client_for(provider, emu).send([out(1), out(2)])
    assert {(r.status, r.reason) for r in results} == {(gw.TEMPORARY, gw.R_GATEWAY_ERROR)}
    assert emu.messages == []
    assert [r.ref for r in results] == ["1", "2"] and "could not be read" in results[0].error


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_wrong_api_url_makes_messages_wait(provider, emu):
    [result] = client_for(provider, emu, api_url=emu.url + "/typo").send([out(1)])
    assert (result.status, result.reason) == (gw.TEMPORARY, gw.R_GATEWAY_ERROR) and "HTTP 404" in result.error


@pytest.mark.parametrize(
    ("status", "code", "message", "expected"),
    [
        (403, "0x0213", "Unauthorized IP-address: %1", (gw.TEMPORARY, gw.R_AUTH)),  # HTTP 403 alone says so
        (400, "0x0213", "Unauthorized IP-address: %1", (gw.TEMPORARY, gw.R_AUTH)),
        (400, "0x0216", "Insufficient credit", (gw.TEMPORARY, gw.R_GATEWAY_ERROR)),
        (400, "0x0214", "Temporary blacklist for MSISDN %1 with hash %2", (gw.TEMPORARY, gw.R_THROTTLED)),
        (400, "0x0215", "MSISDN %1 blacklisted", (gw.PERMANENT, gw.R_REJECTED)),
        (400, "0x0217", "Unauthorized destination: country %1", (gw.PERMANENT, gw.R_REJECTED)),
        (422, "", "Invalid json request body", (gw.PERMANENT, gw.R_REJECTED)),
    ],
)
def test_gatewayapi_error_codes(status, code, message, expected, emu):
    emu.respond(status, {"code": code, "message": message, "variables": ["4520123456", "abc"]})
    [result] = client_for("gatewayapi", emu).send([out(1)])
    assert (result.status, result.reason) == expected
    assert "4520123456" not in result.error and emu.messages == []


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (101, (gw.TEMPORARY, gw.R_AUTH)),
        (102, (gw.TEMPORARY, gw.R_AUTH)),
        (105, (gw.TEMPORARY, gw.R_AUTH)),
        (103, (gw.TEMPORARY, gw.R_GATEWAY_ERROR)),
        (201, (gw.TEMPORARY, gw.R_GATEWAY_ERROR)),
        (203, (gw.TEMPORARY, gw.R_THROTTLED)),
        (13, (gw.PERMANENT, gw.R_INVALID)),
        (14, (gw.PERMANENT, gw.R_REJECTED)),
        ("invalid_request_data", (gw.PERMANENT, gw.R_REJECTED)),  # the newer REST API's error shape
    ],
)
def test_smsapi_error_codes(error, expected, emu):
    emu.respond(200, {"error": error, "message": "Refused for +4520123456."})  # SMSAPI refuses with HTTP 200
    [result] = client_for("smsapi", emu).send([out(1)])
    assert (result.status, result.reason) == expected
    assert "4520123456" not in result.error and "+45****3456" in result.error


def test_smsapi_refusals(emu):
    client = client_for("smsapi", emu)
    invalid, good = client.send([out(1, "+4520120000"), out(2, body="")])
    assert (invalid.status, invalid.reason) == (gw.PERMANENT, gw.R_INVALID)
    assert "No correct phone numbers (error 13)" in invalid.error
    assert (good.status, good.reason) == (gw.PERMANENT, gw.R_REJECTED) and "error 11" in good.error


def test_twilio_refusals_name_the_reason_without_the_number(emu):
    invalid, stopped = client_for("twilio", emu).send([out(1, "+4520120000"), out(2, "+4520121111")])
    assert (invalid.status, invalid.reason) == (gw.PERMANENT, gw.R_INVALID)
    assert (
        "error 21211" in invalid.error
        and "4520120000" not in invalid.error
        and "+45****0000" in invalid.error
    )
    assert (stopped.status, stopped.reason) == (gw.PERMANENT, gw.R_REJECTED)
    assert "replied STOP" in stopped.error and "21610" in stopped.error
    [missing] = client_for("twilio", emu, sender="").send([out(3)])
    assert (missing.status, missing.reason) == (gw.PERMANENT, gw.R_REJECTED) and "21603" in missing.error


@pytest.mark.parametrize("provider", PROVIDERS)
def test_under_random_failures_every_message_is_sent_exactly_once(provider, emu):
    emu.faults(temporary_rate=0.3, drop_rate=0.1, seed=7)
    client = client_for(provider, emu)
    pending = [out(i, f"+452012{i:04d}") for i in range(1, 21)]
    provider_refs = {}
    for _round in range(40):
        if not pending:
            break
        results = client.send(pending)
        assert all(r.status in (gw.SENT, gw.TEMPORARY) for r in results)
        provider_refs.update({r.ref: r.provider_ref for r in results if r.status == gw.SENT})
        pending = [m for m, r in zip(pending, results, strict=True) if r.status != gw.SENT]
    assert pending == [] and len(provider_refs) == 20
    assert Counter(m.ref for m in emu.messages) == Counter({str(i): 1 for i in range(1, 21)})
    assert len(emu.calls) > (1 if provider == "gatewayapi" else 20)  # faults really happened


def test_logs_never_hold_numbers_or_bodies(emu, caplog):
    caplog.set_level("DEBUG")
    for fault in ("500", "drop", "invalid_json", "wrong_count", None):
        for provider in PROVIDERS:
            if fault:
                emu.fail(fault, times=1)
            results = client_for(provider, emu).send([out(1), out(2, "+4520120000")])
            assert all("4520123456" not in r.error and BODY not in r.error for r in results)
    assert len(caplog.records) >= 12, "the failures above are logged"
    assert (
        "4520123456" not in caplog.text and "4520120000" not in caplog.text and "dentist" not in caplog.text
    )


# --- delivery reports -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "state", "reason"),
    [
        ("UNKNOWN", "sent", ""),
        ("SCHEDULED", "sent", ""),
        ("ENROUTE", "sent", ""),
        ("ACCEPTED", "sent", ""),
        ("BUFFERED", "buffered", ""),
        ("DELIVERED", "delivered", ""),
        ("EXPIRED", "expired", gw.R_UNDELIVERABLE),
        ("UNDELIVERABLE", "failed", gw.R_UNDELIVERABLE),
        ("REJECTED", "failed", gw.R_REJECTED),
        ("DELETED", "failed", gw.R_REJECTED),
        ("SKIPPED", "failed", gw.R_REJECTED),
    ],
)
def test_gatewayapi_report_states(status, state, reason, emu):
    result = sent_one("gatewayapi", emu, ref="77")
    assert emu.post_report("gatewayapi", result.provider_ref, status).status_code == 200
    [report] = client_for("gatewayapi", emu).parse_report(last_webhook(emu))
    assert (report.provider_ref, report.ref, report.state, report.reason) == (
        result.provider_ref,
        "77",
        state,
        reason,
    )
    assert report.at is not None and report.at.tzinfo is not None
    assert (status in report.error) == (state in ("failed", "expired"))


@pytest.mark.parametrize(
    ("status", "state", "reason"),
    [
        ("402", "expired", gw.R_UNDELIVERABLE),
        ("403", "sent", ""),
        ("404", "delivered", ""),
        ("405", "failed", gw.R_UNDELIVERABLE),
        ("406", "failed", gw.R_UNDELIVERABLE),
        ("407", "failed", gw.R_REJECTED),
        ("408", "sent", ""),
        ("409", "sent", ""),
        ("410", "sent", ""),
    ],
)
def test_smsapi_report_states(status, state, reason, emu):
    result = sent_one("smsapi", emu, ref="77")
    response = emu.post_report("smsapi", result.provider_ref, status)
    assert response.status_code == 200 and emu.webhooks[-1]["method"] == "GET"
    [report] = client_for("smsapi", emu).parse_report(last_webhook(emu))
    assert (report.provider_ref, report.ref, report.state, report.reason) == (
        result.provider_ref,
        "77",
        state,
        reason,
    )
    assert report.at is not None


@pytest.mark.parametrize(
    ("status", "state", "reason"),
    [
        ("accepted", "sent", ""),
        ("scheduled", "sent", ""),
        ("queued", "sent", ""),
        ("sending", "sent", ""),
        ("sent", "sent", ""),
        ("delivered", "delivered", ""),
        ("read", "delivered", ""),
        ("undelivered", "failed", gw.R_UNDELIVERABLE),
        ("failed", "failed", gw.R_UNDELIVERABLE),  # ErrorCode 30003 (unreachable handset) decides
        ("canceled", "failed", gw.R_REJECTED),
    ],
)
def test_twilio_report_states(status, state, reason, emu):
    result = sent_one("twilio", emu, ref="77")
    emu.post_report("twilio", result.provider_ref, status)
    [report] = client_for("twilio", emu).parse_report(last_webhook(emu))
    # Twilio echoes nothing of ours: the reference comes back in the StatusCallback URL.
    assert (report.provider_ref, report.ref, report.state, report.reason) == (
        result.provider_ref,
        "77",
        state,
        reason,
    )


def test_twilio_failure_reason_follows_the_error_code(emu):
    result = sent_one("twilio", emu)
    client = client_for("twilio", emu)
    emu.post_report("twilio", result.provider_ref, "undelivered", error_code="30006")
    [landline] = client.parse_report(last_webhook(emu))
    assert (landline.state, landline.reason) == ("failed", gw.R_INVALID) and "landline" in landline.error
    emu.post_report("twilio", result.provider_ref, "failed", error_code="30007")
    [filtered] = client.parse_report(last_webhook(emu))
    assert filtered.reason == gw.R_REJECTED and "(error 30007)" in filtered.error


def test_smsapi_batches_several_reports_in_one_call():
    request = Request(
        "GET",
        "https://odoo.example/clinic_sms/dlr/1/token?MsgId=A1,B2,C3&status=404,405,401&idx=11,12,13&donedate=1700000000,1700000060,1700000120",
        query={
            "MsgId": "A1,B2,C3",
            "status": "404,405,401",
            "idx": "11,12,13",
            "donedate": "1700000000,1700000060,1700000120",
        },
    )
    reports = providers.make_client("smsapi").parse_report(request)
    assert [(r.provider_ref, r.ref, r.state) for r in reports] == [
        ("A1", "11", "delivered"),
        ("B2", "12", "failed"),
    ]
    assert reports[1].at == datetime(2023, 11, 14, 22, 14, 20, tzinfo=timezone.utc)
    assert providers.make_client("smsapi").reply("dlr") == gw.Reply(body="OK")


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"MsgId": "A1"},
        {"MsgId": "A1,B2", "status": "404"},
        {"MsgId": "A1", "status": "499"},
        {"MsgId": "A1", "status": "LOST"},
    ],
)
def test_smsapi_malformed_reports(query):
    with pytest.raises(Malformed):
        providers.make_client("smsapi").parse_report(Request("GET", "https://odoo.example/dlr", query=query))


def test_gatewayapi_documented_token_verifies():
    client = providers.make_client("gatewayapi", webhook_secret="secret")
    request = Request("POST", "https://odoo.example/dlr", headers={"x-gwapi-signature": GATEWAYAPI_DOC_TOKEN})
    [report] = client.parse_report(request)
    assert (report.provider_ref, report.state, report.ref) == ("2381703", "delivered", "")
    assert report.at == datetime(2018, 4, 3, 14, 1, 2, tzinfo=timezone.utc)
    with pytest.raises(Forged):
        providers.make_client("gatewayapi", webhook_secret="not-the-secret").parse_report(request)


def test_gatewayapi_signature_is_required_and_checked(emu):
    result = sent_one("gatewayapi", emu)
    client = client_for("gatewayapi", emu)
    for secret in ("a-wrong-secret", ""):  # forged, then unsigned
        emu.post_report("gatewayapi", result.provider_ref, "DELIVERED", secret=secret)
        with pytest.raises(Forged):
            client.parse_report(last_webhook(emu))
    emu.post_report("gatewayapi", result.provider_ref, "DELIVERED")
    with pytest.raises(Forged, match="No webhook secret"):
        client_for("gatewayapi", emu, webhook_secret="").parse_report(last_webhook(emu))
    assert client.parse_report(last_webhook(emu))[0].state == "delivered"


def test_gatewayapi_body_must_match_the_signed_token():
    claims = {"id": 5, "msisdn": 4520123456, "time": 1700000000, "status": "DELIVERED", "userref": "7"}
    token = sign_gatewayapi(claims, SECRET)
    client = providers.make_client("gatewayapi", webhook_secret=SECRET)

    def request(body):
        return Request("POST", "https://odoo.example/dlr", headers={"x-gwapi-signature": token}, body=body)

    assert client.parse_report(request(json.dumps(claims).encode()))[0].state == "delivered"
    with pytest.raises(Forged, match="does not match"):
        client.parse_report(request(json.dumps({**claims, "status": "UNDELIVERABLE"}).encode()))
    with pytest.raises(Malformed):
        client.parse_report(request(b"not json"))


@pytest.mark.parametrize(
    "token",
    [
        "not-a-jwt",
        "a.b.c",
        # {"alg": "none"}: an unsigned token must never pass
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJpZCI6NSwic3RhdHVzIjoiREVMSVZFUkVEIn0.",
        # a header nested deeper than json can read (RecursionError), checked before the signature
        base64.urlsafe_b64encode(b"[" * 5000).decode().rstrip("=") + ".e30.c2ln",
    ],
)
def test_gatewayapi_unreadable_or_unsigned_tokens_are_forged(token):
    client = providers.make_client("gatewayapi", webhook_secret=SECRET)
    with pytest.raises(Forged):
        client.parse_report(Request("POST", "https://odoo.example/dlr", headers={"x-gwapi-signature": token}))


@pytest.mark.parametrize(
    "claims",
    [{"id": 5, "status": "LOST"}, {"id": 5}, {"status": "DELIVERED"}, {"id": 5, "status": 3}],
)
def test_gatewayapi_malformed_reports(claims):
    client = providers.make_client("gatewayapi", webhook_secret=SECRET)
    request = Request("POST", "https://x/dlr", headers={"x-gwapi-signature": sign_gatewayapi(claims, SECRET)})
    with pytest.raises(Malformed):
        client.parse_report(request)


def test_twilio_documented_signature():
    assert twilio.compute_signature(TWILIO_DOC_URL, TWILIO_DOC_PARAMS, "12345") == TWILIO_DOC_SIGNATURE
    assert sign_twilio(TWILIO_DOC_URL, TWILIO_DOC_PARAMS, "12345") == TWILIO_DOC_SIGNATURE
    client = providers.make_client("twilio", username=SID, password="12345")

    def request(params):
        headers = {"x-twilio-signature": TWILIO_DOC_SIGNATURE}
        return Request("POST", TWILIO_DOC_URL, headers=headers, form=params, query={"foo": "1", "bar": "2"})

    with pytest.raises(Malformed):  # the signature passes; a voice call is no message status
        client.parse_report(request(TWILIO_DOC_PARAMS))
    with pytest.raises(Forged):
        client.parse_report(request({**TWILIO_DOC_PARAMS, "Digits": "1235"}))


def test_twilio_signature_is_required_and_checked(emu):
    result = sent_one("twilio", emu)
    client = client_for("twilio", emu)
    for secret in ("a-wrong-token", ""):
        emu.post_report("twilio", result.provider_ref, "delivered", secret=secret)
        with pytest.raises(Forged):
            client.parse_report(last_webhook(emu))
    emu.post_report("twilio", result.provider_ref, "delivered")
    with pytest.raises(Forged, match="No Twilio auth token"):
        client_for("twilio", emu, password="").parse_report(last_webhook(emu))
    genuine = last_webhook(emu)
    tampered = Request(
        genuine.method,
        genuine.url,
        genuine.headers,
        genuine.body,
        {**genuine.form, "MessageStatus": "failed"},
        genuine.query,
    )
    with pytest.raises(Forged):
        client.parse_report(tampered)
    assert client.parse_report(genuine)[0].state == "delivered"


def test_twilio_signature_survives_a_proxy_adding_the_default_port():
    params = {"MessageSid": "SM1", "MessageStatus": "delivered"}
    signature = sign_twilio("https://odoo.example/clinic_sms/dlr/1/t?ref=9", params, TOKEN)
    request = Request(
        "POST",
        "https://odoo.example:443/clinic_sms/dlr/1/t?ref=9",
        {"x-twilio-signature": signature},
        form=params,
        query={"ref": "9"},
    )
    [report] = providers.make_client("twilio", password=TOKEN).parse_report(request)
    assert (report.provider_ref, report.ref, report.state) == ("SM1", "9", "delivered")


@pytest.mark.parametrize(
    "form", [{"MessageSid": "SM1", "MessageStatus": "lost"}, {"MessageStatus": "sent"}, {"MessageSid": "SM1"}]
)
def test_twilio_malformed_reports(form):
    url = "https://odoo.example/dlr"
    request = Request("POST", url, {"x-twilio-signature": sign_twilio(url, form, TOKEN)}, form=form)
    with pytest.raises(Malformed):
        providers.make_client("twilio", password=TOKEN).parse_report(request)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_auto_report_reaches_the_callback_url(provider):
    with Emulator(auto_report="delivered", secrets={"gatewayapi": SECRET}) as emu:
        result = sent_one(provider, emu, ref="90")
        assert emu.wait_reports() and emu.report_errors == []
        [report] = client_for(provider, emu).parse_report(last_webhook(emu))
        assert (report.provider_ref, report.ref, report.state) == (result.provider_ref, "90", "delivered")
        assert emu.find(provider, result.provider_ref).status in ("DELIVERED", "delivered")


# --- polling ------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_fetch_status_follows_the_reports(provider, emu):
    first, second = sent_one(provider, emu, ref="1"), sent_one(provider, emu, ref="2")
    client = client_for(provider, emu)
    assert [(r.provider_ref, r.state) for r in client.fetch_status([first.provider_ref])] == [
        (first.provider_ref, "sent")
    ]
    emu.post_report(provider, first.provider_ref, "delivered")
    emu.post_report(provider, second.provider_ref, "failed")
    unknown = {"gatewayapi": "424242", "smsapi": "FFFF", "twilio": "SM" + "f" * 32}[provider]
    reports = client.fetch_status([first.provider_ref, unknown, second.provider_ref])
    assert [(r.provider_ref, r.state) for r in reports] == [
        (first.provider_ref, "delivered"),
        (second.provider_ref, "failed"),
    ]
    assert reports[1].reason == gw.R_UNDELIVERABLE and reports[1].error
    emu.fail("500", times=1)
    assert (
        client.fetch_status([first.provider_ref, second.provider_ref]) == []
    )  # stops; the next poll retries


# --- replies ----------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_inbound_replies(provider, emu):
    secret = {"gatewayapi": SECRET, "twilio": TOKEN}.get(provider)
    to = {"gatewayapi": "+451204", "smsapi": "+48500600700", "twilio": "+15005550006"}[provider]
    response = emu.post_inbound(
        provider, emu.sink_url("inbound"), NUMBER, "Tak, potwierdzam ąę", secret=secret, to=to
    )
    assert response.status_code == 200
    [inbound] = client_for(provider, emu).parse_inbound(last_webhook(emu))
    assert (inbound.number, inbound.body, inbound.to.lstrip("+")) == (
        NUMBER,
        "Tak, potwierdzam ąę",
        to.lstrip("+"),
    )
    assert inbound.provider_ref
    assert (inbound.at is None) == (provider == "twilio")  # Twilio does not say when it was sent


@pytest.mark.parametrize("provider", ["gatewayapi", "twilio"])
def test_inbound_replies_must_be_signed(provider, emu):
    emu.post_inbound(provider, emu.sink_url("inbound"), NUMBER, "STOP", secret="")
    with pytest.raises(Forged):
        client_for(provider, emu).parse_inbound(last_webhook(emu))
    emu.post_inbound(provider, emu.sink_url("inbound"), NUMBER, "STOP", secret="a-wrong-secret")
    with pytest.raises(Forged):
        client_for(provider, emu).parse_inbound(last_webhook(emu))


def test_smsapi_inbound_needs_sender_and_text():
    client = providers.make_client("smsapi")
    with pytest.raises(Malformed):
        client.parse_inbound(Request("POST", "https://x/in", form={"sms_text": "STOP"}))
    assert client.reply("inbound") == gw.Reply(body="OK")


def test_twilio_answers_replies_with_empty_twiml():
    client = providers.make_client("twilio")
    assert client.reply("inbound") == gw.Reply(body=twilio.EMPTY_TWIML, content_type="text/xml")
    assert client.reply("dlr") == gw.Reply()


# --- the emulator itself ------------------------------------------------------------------------


def test_emulator_faults_are_validated_and_can_be_healed(emu):
    with pytest.raises(ValueError):
        emu.fail("teapot")
    emu.fail("500")
    emu.heal()
    assert sent_one("smsapi", emu).status == gw.SENT


def test_route_tries_gateways_for_the_prefix_first():
    assert gw.parse_prefixes(" +48, ,+46") == ["+48", "+46"]
    lists = [[], ["+48"], ["+45", "+46"], []]
    assert gw.route("+48601234567", lists) == [1, 0, 3]
    assert gw.route("+4520123456", lists) == [2, 0, 3]
    assert gw.route("+4420123456", lists) == [0, 3]
    assert gw.route("+4420123456", [["+48"]]) == []
