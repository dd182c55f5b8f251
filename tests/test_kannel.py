"""The Kannel client, end to end through a real bearerbox, smsbox and fake SMSC on 127.0.0.1
(tools/kannel_harness.py; needs `apt-get install kannel kannel-extras`, and fails without it), plus
fast tests of the URLs, headers and answers it builds and reads."""

import socket
import sys
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qsl

import pytest

from core import gateway as gw
from core import providers
from core.providers.kannel import DLR_MASK, KannelClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import kannel_harness
from kannel_harness import Kannel, KannelError

PATIENT_DK = "+4512345678"
PATIENT_PL = "+48601234567"


# --- a web server standing in for Odoo's webhooks --------------------------------------------------


class Recorder:
    """Records every request as the core Request the Odoo controller would build; answers 200."""

    def __init__(self):
        self.requests: list[tuple[str, gw.Request]] = []
        self.changed = threading.Condition()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def record(self):
                length = int(self.headers.get("Content-Length") or 0)
                path, _, query = self.path.partition("?")
                request = gw.Request(
                    method=self.command,
                    url=f"{recorder.url}{self.path}",
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                    query=dict(parse_qsl(query, keep_blank_values=True)),  # UTF-8, like werkzeug
                )
                with recorder.changed:
                    recorder.requests.append((path, request))
                    recorder.changed.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = record

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, path, count, match=lambda request: True, timeout=5.0):
        def found():
            return [request for p, request in self.requests if p == path and match(request)]

        with self.changed:
            if not self.changed.wait_for(lambda: len(found()) >= count, timeout):
                raise AssertionError(f"{len(found())} requests to {path}, expected {count}")
            return found()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def recorder():
    recorder = Recorder()
    yield recorder
    recorder.close()


@pytest.fixture(scope="module")
def kannel(recorder):
    inbound = KannelClient.inbound_get_url(f"{recorder.url}/inbound/1/tok")
    with Kannel(inbound_url=inbound) as running:
        yield running


@pytest.fixture
def client(kannel, recorder):
    client = KannelClient(
        api_url=kannel.api_url,
        username=kannel.username,
        password=kannel.password,
        sender="Clinic",
        dlr_url=f"{recorder.url}/dlr/1/tok",
    )
    yield client
    client.close()


def reports_for(recorder, ref, count=2):
    requests = recorder.wait("/dlr/1/tok", count, lambda request: request.query.get("ref") == ref)
    return [report for request in requests for report in KannelClient().parse_report(request)]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- end to end ------------------------------------------------------------------------------------


def test_gsm7_text_arrives_and_is_reported_sent_then_delivered(kannel, recorder, client):
    body = "Hej Åse, husk din tid i morgen kl. 10:30 hos tandlægen. Pris: 5 € {ca.}"
    before = datetime.now(timezone.utc) - timedelta(seconds=2)

    [result] = client.send([gw.Outgoing("1001", PATIENT_DK, body)])

    assert result == gw.Result("1001", gw.SENT, provider_ref="1001")
    received = kannel.wait_received(1, to=PATIENT_DK)
    assert [(m.sender, m.kind, m.text) for m in received] == [("Clinic", "text", body)]
    # The fake SMSC reports every message accepted by the SMSC (8) and delivered (1), in any order.
    reports = reports_for(recorder, "1001")
    assert sorted(report.state for report in reports) == ["delivered", "sent"]
    for report in reports:
        assert (report.provider_ref, report.ref, report.reason) == ("1001", "1001", "")
        assert before <= report.at <= datetime.now(timezone.utc) + timedelta(seconds=2)


def test_polish_text_goes_as_ucs2(kannel, recorder, client):
    body = "Przypominamy o wizycie jutro o 10:30. Zażółć gęślą jaźń!"

    [result] = client.send([gw.Outgoing("1002", PATIENT_PL, body)])

    assert result.status == gw.SENT
    [message] = kannel.wait_received(1, to=PATIENT_PL)
    assert (message.kind, message.text) == ("ucs-2", body)
    assert sorted(r.state for r in reports_for(recorder, "1002")) == ["delivered", "sent"]


def test_long_text_goes_in_parts_with_one_report_pair(kannel, recorder, client):
    body = "Kære patient, " + "husk din tid i morgen. " * 8  # 198 characters: two GSM-7 parts

    [result] = client.send([gw.Outgoing("1003", "+4511112222", body)])

    assert result.status == gw.SENT
    parts = kannel.wait_received(2, to="+4511112222")
    assert [m.kind for m in parts] == ["udh", "udh"]
    assert "".join(m.text for m in parts) == body
    assert sorted(r.state for r in reports_for(recorder, "1003")) == ["delivered", "sent"]


def test_reply_reaches_the_inbound_url(kannel, recorder):
    kannel.send_mo(PATIENT_PL, "Tak, będę  jutro")  # UCS-2 from the phone; two spaces kept
    kannel.send_mo(PATIENT_DK, "STOP")

    requests = recorder.wait("/inbound/1/tok", 2)
    replies = [reply for request in requests for reply in KannelClient().parse_inbound(request)]

    assert [(r.number, r.body, r.to) for r in replies] == [
        (PATIENT_PL, "Tak, będę  jutro", "1234"),
        (PATIENT_DK, "STOP", "1234"),
    ]
    assert all(r.provider_ref and r.at.tzinfo is timezone.utc for r in replies)


@pytest.mark.parametrize("method", ["get", "post"])
def test_ucs2_reply_without_mo_recode(recorder, method):
    """smsbox's default (mo-recode off) passes UCS-2 on as UTF-16BE bytes; the text still reads right,
    and so does the post-url variant (send-sender = true)."""
    path = f"/inbound/{method}/tok"
    url = f"{recorder.url}{path}"
    inbound = (
        KannelClient.inbound_get_url(url) if method == "get" else KannelClient().webhook_url("inbound", url)
    )
    with Kannel(inbound_url=inbound, inbound_method=method, mo_recode=False) as k:
        pids = [proc.pid for proc in k._procs.values()]
        k.send_mo(PATIENT_PL, "Odwołuję, przepraszam")
        [request] = recorder.wait(path, 1)
    [reply] = KannelClient().parse_inbound(request)
    assert (reply.number, reply.body, reply.to) == (PATIENT_PL, "Odwołuję, przepraszam", "1234")
    assert reply.at is not None
    for pid in pids:  # stopped and reaped: nothing left behind
        assert not Path(f"/proc/{pid}").exists()


def test_wrong_password_is_a_temporary_auth_failure(kannel):
    client = KannelClient(api_url=kannel.api_url, username=kannel.username, password="wrong", sender="Clinic")
    [result] = client.send([gw.Outgoing("1004", "+4522220000", "Hej")])
    assert (result.status, result.reason) == (gw.TEMPORARY, gw.R_AUTH)


def test_refused_message_is_permanent(client):
    [result] = client.send([gw.Outgoing("1005", "", "Hej")])
    assert (result.status, result.reason) == (gw.PERMANENT, gw.R_REJECTED)
    assert "Empty receiver number" in result.error


def test_smsbox_down_is_temporary_unreachable():
    client = KannelClient(api_url=f"http://127.0.0.1:{free_port()}", username="u", password="p")
    [result] = client.send([gw.Outgoing("1006", "+4522220001", "Hej")])
    assert (result.status, result.reason) == (gw.TEMPORARY, gw.R_UNREACHABLE)


def test_silent_smsbox_is_temporary_unreachable():
    with socket.socket() as silent:  # listens, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        client = KannelClient(api_url=f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=0.2)
        [result] = client.send([gw.Outgoing("1007", PATIENT_DK, "Hej")])
    assert (result.status, result.reason) == (gw.TEMPORARY, gw.R_UNREACHABLE)
    assert "0.2 s" in result.error


def test_missing_kannel_fails_with_the_install_hint(monkeypatch):
    monkeypatch.setattr(kannel_harness, "FAKESMSC", "/nonexistent/fakesmsc")
    with pytest.raises(KannelError, match="apt-get install kannel kannel-extras"):
        Kannel().start()


# --- URLs and headers ------------------------------------------------------------------------------


def test_dlr_url_carries_ref_and_kannel_escapes():
    client = KannelClient(dlr_url="https://clinic.example/clinic_sms/dlr/3/a%2Fb")
    assert client.dlr_url_for("42") == "https://clinic.example/clinic_sms/dlr/3/a%%2Fb?ref=42&status=%d&ts=%T"
    # A ref that needs percent-encoding: its %XX are doubled so Kannel does not read %C3 as %C.
    assert client.dlr_url_for("a b/é").endswith("?ref=a%%20b%%2F%%C3%%A9&status=%d&ts=%T")
    assert (
        KannelClient(dlr_url="https://x/dlr?k=1").dlr_url_for("7")
        == "https://x/dlr?k=1&ref=7&status=%d&ts=%T"
    )


def test_webhook_urls():
    client = KannelClient()
    assert client.api_url == "http://127.0.0.1:13013"
    assert (
        client.webhook_url("dlr", "https://c.example/clinic_sms/dlr/1/t")
        == "https://c.example/clinic_sms/dlr/1/t"
    )
    assert client.webhook_url("inbound", "https://c.example/clinic_sms/inbound/1/t%2B") == (
        "https://c.example/clinic_sms/inbound/1/t%%2B"
    )
    assert KannelClient.inbound_get_url("https://c.example/clinic_sms/inbound/1/t%2B") == (
        "https://c.example/clinic_sms/inbound/1/t%%2B?from=%p&to=%P&text=%b&coding=%c&ts=%T&id=%I"
    )
    assert KannelClient.inbound_get_url("https://c/i?x=1").startswith("https://c/i?x=1&from=%p&")


def test_headers():
    client = KannelClient(username="u", password="pässword", sender="Clinic", dlr_url="https://c/dlr/1/t")
    headers = client.headers_for(gw.Outgoing("9", PATIENT_DK, "Hej æøå €"))
    assert headers == {
        "Content-Type": b"text/plain; charset=UTF-8",
        "X-Kannel-Username": b"u",
        "X-Kannel-Password": "pässword".encode(),
        "X-Kannel-To": PATIENT_DK.encode(),
        "X-Kannel-From": b"Clinic",
        "X-Kannel-DLR-Mask": str(DLR_MASK).encode(),
        "X-Kannel-DLR-URL": b"https://c/dlr/1/t?ref=9&status=%d&ts=%T",
    }
    ucs2 = KannelClient().headers_for(gw.Outgoing("9", PATIENT_PL, "Będę", sender="Gabinet"))
    assert ucs2["X-Kannel-Coding"] == b"2"
    assert ucs2["X-Kannel-From"] == b"Gabinet"
    assert "X-Kannel-DLR-URL" not in ucs2  # no webhook configured: no reports asked for


@pytest.mark.parametrize(
    ("status", "text", "expected", "reason"),
    [
        (202, "0: Accepted for delivery", gw.SENT, ""),
        (202, "3: Queued for later delivery", gw.SENT, ""),
        (403, "Authorization failed for sendsms", gw.TEMPORARY, gw.R_AUTH),
        (403, "Not routable. Do not try again.", gw.PERMANENT, gw.R_REJECTED),
        (400, "Number(s) has/have been denied by white- and/or black-lists.", gw.PERMANENT, gw.R_REJECTED),
        (400, "Sender missing and no global set, rejected", gw.TEMPORARY, gw.R_GATEWAY_ERROR),
        (404, "Unknown request.", gw.TEMPORARY, gw.R_GATEWAY_ERROR),
        (429, "", gw.TEMPORARY, gw.R_THROTTLED),
        (500, "Sending failed. +4512345678", gw.TEMPORARY, gw.R_GATEWAY_ERROR),
        (503, "Temporal failure, try again later.", gw.TEMPORARY, gw.R_GATEWAY_ERROR),
    ],
)
def test_answers(status, text, expected, reason):
    response = SimpleNamespace(status_code=status, text=text, headers={})
    result = KannelClient()._result("5", response)
    assert (result.status, result.reason) == (expected, reason)
    assert result.provider_ref == ("5" if expected == gw.SENT else "")
    assert "4512345678" not in result.error


def test_error_text_hides_numbers():
    response = SimpleNamespace(status_code=400, text="Invalid receiver +45 12345678\nmore", headers={})
    assert (
        KannelClient()._result("5", response).error
        == "Kannel refused the message (HTTP 400: Invalid receiver …)."
    )


# --- delivery reports and replies ------------------------------------------------------------------


def dlr(**query):
    return gw.Request("GET", "https://c/clinic_sms/dlr/1/t", query=query)


@pytest.mark.parametrize(
    ("status", "state", "reason"),
    [
        ("1", "delivered", ""),
        ("2", "failed", gw.R_UNDELIVERABLE),
        ("4", "buffered", ""),
        ("8", "sent", ""),
        ("16", "failed", gw.R_REJECTED),
    ],
)
def test_report_states(status, state, reason):
    [report] = KannelClient().parse_report(dlr(ref="77", status=status, ts="1795327879"))
    assert (report.provider_ref, report.ref, report.state, report.reason) == ("77", "77", state, reason)
    assert report.at == datetime(2026, 11, 22, 6, 11, 19, tzinfo=timezone.utc)
    assert bool(report.error) == (state == "failed")


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"status": "1"},
        {"ref": "77"},
        {"ref": " ", "status": "1"},
        {"ref": "77", "status": "3"},
        {"ref": "7", "status": "x"},
        {"ref": "7", "status": "²"},  # "²".isdigit() is true, yet int("²") fails
        {"ref": "7", "status": "1" * 5000},  # more digits than int() reads
    ],
)
def test_malformed_reports(query):
    with pytest.raises(gw.Malformed):
        KannelClient().parse_report(dlr(**query))


def test_report_with_bad_time_has_no_time():
    [report] = KannelClient().parse_report(dlr(ref="7", status="1", ts="%T"))
    assert report.at is None


@pytest.mark.parametrize(
    "request_",
    [
        gw.Request("GET", "https://c/i", query={"text": "Ja"}),
        gw.Request("GET", "https://c/i", query={"from": " ", "text": "Ja"}),
        gw.Request("GET", "https://c/i", query={"from": PATIENT_DK}),
        gw.Request("POST", "https://c/i", body=b"Ja", headers={"content-type": "text/plain"}),
    ],
)
def test_malformed_replies(request_):
    with pytest.raises(gw.Malformed):
        KannelClient().parse_inbound(request_)


def test_reply_by_post_url():
    request = gw.Request(
        "POST",
        "https://c/i",
        headers={
            "content-type": 'text/plain; charset="UTF-16BE"',
            "x-kannel-from": PATIENT_PL,
            "x-kannel-to": "1234",
            "x-kannel-time": "2026-11-22 06:17:23",
        },
        body="Nie, odwołuję".encode("utf-16-be"),
    )
    [reply] = KannelClient().parse_inbound(request)
    assert (reply.number, reply.body, reply.to) == (PATIENT_PL, "Nie, odwołuję", "1234")
    assert reply.at == datetime(2026, 11, 22, 6, 17, 23, tzinfo=timezone.utc)


@pytest.mark.parametrize("charset", ["x-no-such-charset", "rot13", "idna", "undefined", "base64"])
def test_reply_in_a_charset_python_cannot_read_is_read_as_utf8(charset):
    request = gw.Request(
        "POST",
        "https://c/i",
        headers={"content-type": f"text/plain; charset={charset}", "x-kannel-from": PATIENT_DK},
        body="Kan jeg komme kl. 10? æø".encode(),
    )
    [reply] = KannelClient().parse_inbound(request)
    assert reply.body == "Kan jeg komme kl. 10? æø"


def test_empty_reply_is_kept():
    [reply] = KannelClient().parse_inbound(
        gw.Request("GET", "https://c/i", query={"from": PATIENT_DK, "text": ""})
    )
    assert reply.body == ""


def test_reply_answer_is_empty():
    assert KannelClient().reply("inbound") == gw.Reply(200, "")
    assert KannelClient().reply("dlr") == gw.Reply(200, "")
    assert KannelClient.receives_inbound and not KannelClient.can_poll
    assert providers.client_class("kannel") is KannelClient
