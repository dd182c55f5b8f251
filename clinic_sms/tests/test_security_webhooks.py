"""Webhooks never answer 500: whatever the body, headers, charset, query string or size, the two URLs
of every provider answer 200 (accepted or ignored), 400 (unreadable), 403 (signature), 404 (token) or
413 (too large), and a refusal changes nothing. Over real HTTP to the test server."""

import json
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odoo.addons.clinic_sms.core.providers import twilio
from odoo.addons.clinic_sms.core.providers.test import TestClient
from odoo.tests import HttpCase, tagged

from .common import ClinicSmsCase

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
from gateway_emulator import sign_gatewayapi  # tools/ is not a package

ALLOWED = {200, 400, 403, 404, 413}
LIMIT = 64 * 1024
JWT_SECRET = "jwt-secret-of-the-webhook"
TWILIO_TOKEN = "twilio-auth-token"


def encode_pairs(pairs):
    """``pairs`` (text, possibly with lone surrogates) percent-encoded as a network would send them:
    UTF-8, surrogates as the bytes they would have been (invalid UTF-8)."""
    return "&".join(
        quote(str(key).encode("utf-8", "surrogatepass"), safe="")
        + "="
        + quote(str(value).encode("utf-8", "surrogatepass"), safe="")
        for key, value in pairs
    )


def as_header(value):
    """``value`` as a header can carry it: Latin-1, no line breaks, no surrounding spaces."""
    text = str(value).encode("latin-1", "replace").decode("latin-1")
    return "".join(c for c in text if c >= " " and c != "\x7f").strip()


class WebhookCase(ClinicSmsCase, HttpCase):
    """One gateway of each provider, each with a sent message a report could be about."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.patient.lang = "en_US"
        Gateway = cls.env["clinic.sms.gateway"]
        cls.gateways = {
            "test": cls.gateway,
            "gatewayapi": Gateway.create(
                {"name": "gw", "provider": "gatewayapi", "api_key": "k", "webhook_secret": JWT_SECRET}
            ),
            "smsapi": Gateway.create({"name": "smsapi", "provider": "smsapi", "api_key": "k"}),
            "twilio": Gateway.create(
                {"name": "tw", "provider": "twilio", "username": "AC" + "1" * 32, "password": TWILIO_TOKEN}
            ),
            "kannel": Gateway.create({"name": "kannel", "provider": "kannel"}),
        }
        cls.sent_messages = {}
        for provider, gateway in cls.gateways.items():
            gateway.sudo().webhook_token = f"tok-{provider}"
            cls.sent_messages[provider] = cls.env["clinic.sms.message"].create(
                {
                    "kind": "manual",
                    "partner_id": cls.patient.id,
                    "body": "Hello",
                    "state": "sent",
                    "number": cls.patient.sms_number_e164,
                    "gateway_id": gateway.id,
                    "provider_ref": f"{provider}-ref-1",
                }
            )
        kannel = cls.sent_messages["kannel"]
        kannel.provider_ref = str(kannel.id)  # Kannel has no id of its own: ours is the reference

    def path(self, provider, kind, token=None):
        gateway = self.gateways[provider]
        return f"/clinic_sms/{kind}/{gateway.id}/{token or gateway.sudo().webhook_token}"

    def send(self, provider, kind, *, method="POST", query="", body=b"", headers=None, token=None):
        url = self.base_url() + self.path(provider, kind, token) + (f"?{query}" if query else "")
        return self.opener.request(method, url, data=body, headers=headers or {}, timeout=30)

    def fingerprint(self):
        """Every message row and its version, the opted-out contacts and the blacklist."""
        self.env.flush_all()
        cr = self.env.cr
        cr.execute("SELECT id, xmin::text FROM clinic_sms_message ORDER BY id")
        messages = cr.fetchall()
        cr.execute("SELECT id FROM res_partner WHERE sms_opt_out ORDER BY id")
        opted_out = cr.fetchall()
        cr.execute("SELECT count(*) FROM phone_blacklist")
        return messages, opted_out, cr.fetchone()

    def assertAnswered(self, response, *statuses):
        self.assertIn(response.status_code, statuses or ALLOWED, response.text[:300])
        self.env.invalidate_all()

    def received(self):
        return self.messages(kind="inbound")


@tagged("post_install", "-at_install")
class TestWebhooksNever500(WebhookCase):
    """The inputs a real network sends that answered 500 before, one test each."""

    def test_unknown_charset_in_kannel_content_type_reads_the_text_as_utf8(self):
        for charset in ("x-no-such-charset", "rot13", "idna", "undefined", '"utf-8'):
            with self.subTest(charset=charset):
                response = self.send(
                    "kannel",
                    "inbound",
                    body="Kan jeg komme kl. 10? æø".encode(),
                    headers={
                        "Content-Type": f"text/plain; charset={charset}",
                        "X-Kannel-From": self.patient.sms_number_e164,
                    },
                )
                self.assertAnswered(response, 200)
                self.assertEqual(self.received()[-1:].body, "Kan jeg komme kl. 10? æø")

    def test_nul_and_lone_surrogates_in_a_reply_are_stored_replaced(self):
        number = self.patient.sms_number_e164
        for sender, text in (
            (number, "mail me at anna\x00example.dk"),
            (number, "broken \ud83d emoji \udc00"),
            (number + "\x00", "hello"),
            (number + "\udfff", "hello"),
        ):
            with self.subTest(sender=ascii(sender), text=ascii(text)):
                before = len(self.received())
                body = json.dumps({"from": sender, "text": text})  # \u0000 and \ud83d escapes
                response = self.send(
                    "test", "inbound", body=body.encode(), headers={"Content-Type": "application/json"}
                )
                self.assertAnswered(response, 200)
                received = self.received()
                self.assertEqual(len(received), before + 1)
                stored = received[-1]
                for value in (stored.body, stored.number):
                    self.assertNotIn("\x00", value)
                    value.encode("utf-8")  # no lone surrogate left
        bodies = self.received().mapped("body")
        self.assertIn("mail me at anna\ufffdexample.dk", bodies)
        self.assertIn("broken \ufffd emoji \ufffd", bodies)

    def test_nul_bytes_in_a_kannel_reply_body(self):
        response = self.send(
            "kannel",
            "inbound",
            body=b"anna\x00example.dk",
            headers={"Content-Type": "text/plain", "X-Kannel-From": self.patient.sms_number_e164 + "\x00"},
        )
        self.assertAnswered(response, 200)
        self.assertEqual(self.received().body, "anna\ufffdexample.dk")

    def test_nul_and_surrogates_in_kannel_get_url_reply(self):
        query = encode_pairs(
            [("from", self.patient.sms_number_e164), ("text", "ja\x00 \ud800"), ("id", "k\x00-1")]
        )
        self.assertAnswered(self.send("kannel", "inbound", method="GET", query=query), 200)
        self.assertEqual(self.received().body, "ja\ufffd \ufffd\ufffd\ufffd")

    def test_superscript_digits_in_smsapi_idx_are_not_a_reference(self):
        sent = self.sent_messages["smsapi"]
        for idx in ("²", "¹²³", "١٢", "9" * 5000):
            with self.subTest(idx=idx[:10]):
                query = encode_pairs([("MsgId", "unknown-id"), ("status", "404"), ("idx", idx)])
                self.assertAnswered(self.send("smsapi", "dlr", method="GET", query=query), 200)
        self.assertEqual(sent.state, "sent", "no report was about it")
        query = encode_pairs([("MsgId", sent.provider_ref), ("status", "404"), ("idx", "²")])
        self.assertAnswered(self.send("smsapi", "dlr", method="GET", query=query), 200)
        self.assertEqual(sent.state, "delivered", "found by its provider id")

    def test_superscript_digits_in_kannel_ref_and_status(self):
        sent = self.sent_messages["kannel"]
        before = self.fingerprint()
        for ref, status in (("²", "1"), (f"{sent.id}", "²"), (f"{sent.id}", "1" * 5000), ("¹", "¹")):
            with self.subTest(ref=ref, status=status[:5]):
                query = encode_pairs([("ref", ref), ("status", status)])
                self.assertAnswered(self.send("kannel", "dlr", method="GET", query=query), 200, 400)
        self.assertEqual(self.fingerprint(), before)
        query = encode_pairs([("ref", str(sent.id)), ("status", "1")])
        self.assertAnswered(self.send("kannel", "dlr", method="GET", query=query), 200)
        self.assertEqual(sent.state, "delivered")

    def test_nul_in_a_message_id(self):
        before = self.fingerprint()
        checks = [
            ("kannel", "dlr", encode_pairs([("ref", "12\x003"), ("status", "1")]), b"", {}),
            ("smsapi", "dlr", encode_pairs([("MsgId", "a\x00b"), ("status", "404")]), b"", {}),
            (
                "smsapi",
                "inbound",
                "",
                encode_pairs([("sms_from", "4520123456"), ("sms_text", "hej"), ("MsgId", "m\x00")]).encode(),
                {"Content-Type": "application/x-www-form-urlencoded"},
            ),
            (
                "test",
                "inbound",
                "",
                json.dumps({"from": "+4520123456", "text": "hej", "id": "a\x00b"}).encode(),
                {"Content-Type": "application/json"},
            ),
        ]
        for provider, kind, query, body, headers in checks:
            with self.subTest(provider=provider, kind=kind):
                method = "POST" if body else "GET"
                response = self.send(provider, kind, method=method, query=query, body=body, headers=headers)
                self.assertAnswered(response, 200)
        self.assertEqual(len(self.received()), 2, "the two replies are kept")
        self.assertTrue(all("\x00" not in (m.provider_ref or "") for m in self.received()))
        self.assertEqual(before[0], [row for row in self.fingerprint()[0] if row[0] in dict(before[0])])

    def test_a_signed_gatewayapi_report_with_nul_and_surrogates(self):
        claims = {"id": "gw\x00", "status": "DELIVERED", "userref": "\ud800", "error": "\x00"}
        body = json.dumps(claims)
        headers = {
            "Content-Type": "application/json",
            "X-Gwapi-Signature": sign_gatewayapi(claims, JWT_SECRET),
        }
        self.assertAnswered(self.send("gatewayapi", "dlr", body=body.encode(), headers=headers), 200)
        self.assertEqual(self.sent_messages["gatewayapi"].state, "sent")

    def test_a_signed_twilio_reply_with_nul(self):
        form = {"From": self.patient.sms_number_e164, "Body": "ok\x00", "MessageSid": "SM\x00"}
        url = self.base_url() + self.path("twilio", "inbound")
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": twilio.compute_signature(url, form, TWILIO_TOKEN),
        }
        response = self.send("twilio", "inbound", body=encode_pairs(form.items()).encode(), headers=headers)
        self.assertAnswered(response, 200)
        self.assertEqual((self.received().body, self.received().provider_ref), ("ok\ufffd", "SM\ufffd"))

    def test_deeply_nested_json_is_unreadable_not_a_crash(self):
        before = self.fingerprint()
        deep = b'{"from": ' + b"[" * 20000 + b"]" * 20000 + b"}"
        response = self.send("test", "inbound", body=deep, headers={"Content-Type": "application/json"})
        self.assertAnswered(response, 400)
        header = sign_gatewayapi({"id": 1}, JWT_SECRET).split(".")
        import base64

        header[0] = base64.urlsafe_b64encode(b"[" * 30000).decode().rstrip("=")
        response = self.send(
            "gatewayapi",
            "dlr",
            body=b"{}",
            headers={"Content-Type": "application/json", "X-Gwapi-Signature": ".".join(header)},
        )
        self.assertAnswered(response, 403)
        self.assertEqual(self.fingerprint(), before)

    def test_a_body_over_64_kb_is_refused_with_413(self):
        before = self.fingerprint()
        text = "x" * (LIMIT + 1)
        big = json.dumps({"from": self.patient.sms_number_e164, "text": text}).encode()
        for provider in self.gateways:
            for kind in ("dlr", "inbound"):
                with self.subTest(provider=provider, kind=kind):
                    for headers in ({"Content-Type": "application/json"}, {}):
                        response = self.send(provider, kind, body=big, headers=headers)
                        self.assertAnswered(response, 413)
                    form = encode_pairs([("from", self.patient.sms_number_e164), ("text", text)]).encode()
                    response = self.send(
                        provider,
                        kind,
                        body=form,
                        headers={"Content-Type": "application/x-www-form-urlencoded"},
                    )
                    self.assertAnswered(response, 413)
        self.assertEqual(self.fingerprint(), before)

    def test_a_chunked_body_over_64_kb_is_refused_with_413(self):
        """No Content-Length: what is actually read counts, form fields and uploads included."""
        before = self.fingerprint()
        number, text = self.patient.sms_number_e164, "x" * (LIMIT + 1)
        boundary = "b0undary"
        upload = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="from"\r\n\r\n{number}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="f"; filename="a.bin"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n{text}\r\n--{boundary}--\r\n"
        )
        cases = [
            ("test", "application/json", json.dumps({"from": number, "text": text})),
            ("kannel", "text/plain", text),
            ("test", "application/x-www-form-urlencoded", encode_pairs([("from", number), ("text", text)])),
            ("smsapi", f"multipart/form-data; boundary={boundary}", upload),
        ]
        for provider, content_type, body in cases:
            with self.subTest(content_type=content_type):
                body = body.encode()
                chunks = (body[i : i + 8192] for i in range(0, len(body), 8192))
                headers = {"Content-Type": content_type, "X-Kannel-From": number}
                self.assertAnswered(self.send(provider, "inbound", body=chunks, headers=headers), 413)
        self.assertEqual(self.fingerprint(), before)

    def test_a_long_reply_is_capped_and_says_how_long_it_was(self):
        text = "Hello " * 10000  # 60,000 characters, under 64 KB
        body = json.dumps({"from": self.patient.sms_number_e164, "text": text}).encode()
        response = self.send("test", "inbound", body=body, headers={"Content-Type": "application/json"})
        self.assertAnswered(response, 200)
        stored = self.received().body
        self.assertLessEqual(len(stored), 1600)
        self.assertTrue(stored.startswith("Hello Hello"))
        self.assertTrue(stored.endswith("[truncated, 60,000 characters]"), stored[-60:])

    def test_odd_urls_and_parameter_names(self):
        before = self.fingerprint()
        for path in (
            "/clinic_sms/dlr/99999999999999999999/tok",
            "/clinic_sms/inbound/2147483648/tok",
            "/clinic_sms/inbound/0/tok",
            f"/clinic_sms/inbound/{self.gateway.id}/%00",
            f"/clinic_sms/inbound/{self.gateway.id}/%ED%A0%80",
            f"/clinic_sms/inbound/{self.gateway.id}/tok-test%00",
        ):
            with self.subTest(path=path):
                self.assertAnswered(self.opener.post(self.base_url() + path, data=b"{}", timeout=30), 404)
        for name in ("self", "gateway_id", "token", "kind", "handle", "csrf_token"):
            with self.subTest(name=name):
                query = encode_pairs([(name, "1")])
                self.assertAnswered(self.send("test", "inbound", query=query, body=b"x"), 400)
                self.assertAnswered(self.send("smsapi", "dlr", method="GET", query=query), 400)
        self.assertEqual(self.fingerprint(), before)

    def test_a_host_header_with_a_bad_port(self):
        """Twilio signs the URL it called, which Werkzeug builds from the Host header. (A Host header
        no URL can hold, such as ``[::1``, fails in Odoo itself before any add-on is called.)"""
        before = self.fingerprint()
        body = encode_pairs([("From", self.patient.sms_number_e164), ("Body", "ja")]).encode()
        for host in ("127.0.0.1:notaport", "127.0.0.1:99999", "[::1]:x"):
            with self.subTest(host=host):
                headers = {
                    "Host": host,
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Twilio-Signature": "x",
                }
                self.assertAnswered(self.send("twilio", "inbound", body=body, headers=headers), 403)
        self.assertEqual(self.fingerprint(), before)

    def test_an_unexpected_error_while_reading_is_a_400_logged_without_body_or_number(self):
        def broken(client, request):
            raise KeyError(f"{request.body.decode()} from +4520123456")

        self.patch(TestClient, "parse_inbound", broken)
        before = self.fingerprint()
        body = json.dumps({"from": "+4520123456", "text": "private words"}).encode()
        with self.assertLogs("odoo.addons.clinic_sms.controllers.main", "WARNING") as logs:
            response = self.send("test", "inbound", body=body, headers={"Content-Type": "application/json"})
        self.assertAnswered(response, 400)
        self.assertEqual(self.fingerprint(), before)
        logged = "\n".join(logs.output)
        self.assertIn("KeyError", logged)
        self.assertNotIn("private words", logged)
        self.assertNotIn("20123456", logged)
        self.assertNotIn("private words", response.text)


# ---------------------------------------------------------------------- the fuzz test

#: Values that broke webhooks once, or that a parser gives a meaning to.
SPECIALS = [
    *("", "\x00", "²", "¹²³", "١٢", "\ud800", "\udfff", "\ud83d\ude00", "😀", "@", "æøå", " ", "%", "%00"),
    *("0", "1", "2", "16", "404", "-1", "1e309", "nan", "9" * 40, ",", "\r\n", "1700000000"),
    *("DELIVERED", "delivered", "failed", "REJECTED", "+4520123456", "4520123456", "STOP", "ja"),
]
#: Every field name some provider sends, and names Odoo's dispatch gives a meaning to.
FIELDS = [
    *("from", "text", "id", "to", "ts", "coding", "ref", "status"),  # test, Kannel
    *("MsgId", "idx", "donedate", "sms_from", "sms_text", "sms_to", "sms_date"),  # SMSAPI
    *("MessageSid", "SmsSid", "MessageStatus", "SmsStatus", "ErrorCode", "From", "To", "Body"),  # Twilio
    *("msisdn", "message", "userref", "time", "senttime", "receiver", "error", "code"),  # GatewayAPI
    *("self", "token", "gateway_id", "csrf_token", "kind"),
]
CONTENT_TYPES = [
    *("application/json", "application/json; charset=utf-16", "text/plain", "text/xml", "*/*", ";;;="),
    *("text/plain; charset=x-unknown-charset", "text/plain; charset=rot13", "text/plain; charset=idna"),
    *("text/plain; charset=utf-7", "text/plain; charset=utf-16be", "text/plain; charset=undefined"),
    *(
        "text/plain; charset=",
        'text/plain; charset="',
        "multipart/form-data",
        "multipart/form-data; boundary=x",
    ),
    *("application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=latin-1"),
]
HEADERS = [
    *("X-Kannel-From", "X-Kannel-To", "X-Kannel-Time", "X-Gwapi-Signature", "X-Twilio-Signature"),
    *("Accept-Charset", "X-Forwarded-For", "Content-Encoding"),
]
MUTATIONS = [
    *("value", "value", "value", "drop", "add", "query", "token", "content_type", "header"),
    *("shape", "big", "unsigned", "resigned"),
]

characters = st.characters(exclude_categories=[])  # lone surrogates included
texts = st.one_of(
    st.sampled_from(SPECIALS),
    st.text(characters, max_size=20),
    st.lists(st.sampled_from(SPECIALS), min_size=2, max_size=4).map("".join),
)
json_values = st.one_of(
    texts,
    st.integers(),
    st.floats(),
    st.none(),
    st.booleans(),
    st.lists(texts, max_size=2),
    st.dictionaries(texts, texts, max_size=2),
)
#: What a header can carry (Latin-1, no line breaks, no surrounding spaces: what HTTP allows).
header_values = st.text(st.characters(min_codepoint=0x21, max_codepoint=0xFF, exclude_characters="\x7f"))
keys = st.one_of(st.sampled_from(FIELDS), texts)


@tagged("post_install", "-at_install")
class TestWebhookFuzz(WebhookCase):
    """Generated requests to both URLs of every provider: a third are what the provider really
    sends (signed with the gateway's secret where it signs) and must be accepted; the rest are such
    requests with one to three things changed (a value, a field, the token, the charset, a header,
    the body's shape or size, the signature) or made up entirely, and must get a 4xx that changes
    nothing, or a 200."""

    EXAMPLES = 80

    def genuine(self, provider, kind):
        """The fields, shape and headers of a request this provider really sends."""
        sent = self.sent_messages[provider]
        number, ref, sid = self.patient.sms_number_e164, str(sent.id), sent.provider_ref
        text = st.sampled_from(["ja", "Nej tak", "STOP", "Kan jeg komme kl. 10?", "Tak 😀"])
        at = st.sampled_from(["1799996400", "1799996400.5"])
        fields, shape, query = {}, "form", {}
        if (provider, kind) == ("test", "inbound"):
            fields = {"from": st.just(number), "text": text}
            shape = st.sampled_from(["json", "form"])
        elif provider == "test":
            fields = {"id": st.just(sid), "status": st.just("DELIVERED")}
        elif (provider, kind) == ("kannel", "dlr"):
            fields = {"ref": st.just(ref), "status": st.sampled_from(["1", "2", "4", "8", "16"]), "ts": at}
            shape = "query"
        elif provider == "kannel":
            fields = {
                "from": st.sampled_from([number, number[1:]]),
                "text": text,
                "to": st.just("4570203040"),
            }
            shape = st.sampled_from(["query", "post-url"])
        elif (provider, kind) == ("smsapi", "dlr"):
            fields = {
                "MsgId": st.just(sid),
                "status": st.sampled_from(["403", "404", "405", "409", "401"]),
                "idx": st.just(ref),
                "donedate": at,
            }
            shape = st.sampled_from(["query", "form"])
        elif provider == "smsapi":
            fields = {"sms_from": st.just(number[1:]), "sms_text": text, "sms_to": st.just("Klinik")}
        elif (provider, kind) == ("twilio", "dlr"):
            fields = {
                "MessageSid": st.just(sid),
                "MessageStatus": st.sampled_from(["sent", "delivered", "undelivered", "read"]),
                "ErrorCode": st.sampled_from(["", "30003", "30005"]),
            }
            query = {"ref": st.just(ref)}
        elif provider == "twilio":
            fields = {"From": st.just(number), "Body": text, "To": st.just("+4570203040")}
        elif kind == "dlr":  # gatewayapi
            fields = {
                "id": st.just(sid),
                "status": st.sampled_from(["ENROUTE", "BUFFERED", "DELIVERED", "REJECTED"]),
                "userref": st.just(ref),
                "time": at,
            }
            shape = "json"
        else:
            fields = {"id": st.just("mo-1"), "msisdn": st.just(number[1:]), "message": text}
            shape = "json"
        return st.tuples(
            st.fixed_dictionaries(fields),
            shape if isinstance(shape, st.SearchStrategy) else st.just(shape),
            st.fixed_dictionaries(query),
        )

    def fuzz(self, provider):
        seen = Counter()

        @settings(
            max_examples=self.EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(st.data())
        def run(data):
            draw = data.draw
            kind = draw(st.sampled_from(["dlr", "inbound"]), label="kind")
            fields, shape, query = draw(self.genuine(provider, kind), label="genuine")
            method = "GET" if shape == "query" else "POST"
            genuine = (dict(fields), dict(query), shape, method)  # what the provider signs
            token, headers, content_type, sign = None, {}, None, True
            mode = draw(st.sampled_from(["genuine", "changed", "changed", "made up"]), label="mode")
            if mode == "made up":
                fields = draw(st.dictionaries(keys, texts, max_size=6), label="fields")
                query = dict(draw(st.lists(st.tuples(keys, texts), max_size=2), label="query"))
                shape = draw(st.sampled_from(["form", "json", "query", "raw", "post-url", "none"]))
                method = draw(st.sampled_from(["GET", "POST"]))
                sign = draw(st.booleans())
            changes = (
                draw(st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=3))
                if mode == "changed"
                else []
            )
            for change in changes:
                if change == "value" and fields:
                    key = draw(st.sampled_from(sorted(fields)))
                    fields[key] = draw(json_values if shape == "json" else texts, label=f"value of {key}")
                elif change == "drop" and fields:
                    fields.pop(draw(st.sampled_from(sorted(fields))))
                elif change == "add":
                    fields[draw(keys, label="added")] = draw(texts)
                elif change == "query":
                    query[draw(keys, label="query key")] = draw(texts)
                elif change == "token":
                    token = draw(st.sampled_from(["guessed", "tok-%00", "\u00e6", "%ED%A0%80"]))
                elif change == "content_type":
                    content_type = draw(st.one_of(st.sampled_from(CONTENT_TYPES), header_values))
                elif change == "header":
                    headers[draw(st.sampled_from(HEADERS))] = draw(header_values)
                elif change == "shape":
                    shape = draw(st.sampled_from(["form", "json", "query", "raw", "post-url", "none"]))
                    method = draw(st.sampled_from(["GET", "POST"]))
                elif change == "big":
                    shape = "big"
                elif change == "unsigned":
                    sign = False
            if mode == "made up" or "resigned" in changes:  # sign what was sent: past the signature
                genuine = (fields, query, shape, method)

            body = b""
            if shape == "form":
                body = encode_pairs(fields.items()).encode()
                headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
            elif shape == "json":
                body = json.dumps(fields).encode()
                headers.setdefault("Content-Type", "application/json")
            elif shape == "raw":
                body = draw(st.binary(max_size=200), label="raw body")
            elif shape == "post-url":  # Kannel's sms-service: number in a header, text as the body
                headers.setdefault("X-Kannel-From", as_header(fields.get("from", "")))
                body = str(fields.get("text", "")).encode("utf-8", "surrogatepass")
                headers.setdefault("Content-Type", "text/plain; charset=utf-8")
            elif shape == "big":
                body = b"x" * (LIMIT + 1)
            elif shape == "query":
                query = {**query, **fields}
            if content_type is not None:
                headers["Content-Type"] = content_type
            query_string = encode_pairs(query.items())
            signed_fields, signed_query, signed_shape, signed_method = genuine
            if provider == "gatewayapi" and sign:
                headers["X-Gwapi-Signature"] = sign_gatewayapi(signed_fields, JWT_SECRET)
            if provider == "twilio" and sign:
                if signed_shape == "query":
                    signed_query = {**signed_query, **signed_fields}
                url = self.base_url() + self.path(provider, kind)
                url += f"?{encode_pairs(signed_query.items())}" if signed_query else ""
                form = signed_fields if signed_shape == "form" and signed_method == "POST" else {}
                form = {
                    str(k).encode("utf-8", "surrogatepass").decode("utf-8", "replace"): str(v)
                    .encode("utf-8", "surrogatepass")
                    .decode("utf-8", "replace")
                    for k, v in form.items()
                }
                headers["X-Twilio-Signature"] = twilio.compute_signature(url, form, TWILIO_TOKEN)

            before = self.fingerprint()
            response = self.send(
                provider, kind, method=method, query=query_string, body=body, headers=headers, token=token
            )
            status = response.status_code
            seen[mode, kind, status] += 1
            self.assertIn(status, ALLOWED, response.text[:300])
            self.env.invalidate_all()
            if status != 200:
                self.assertEqual(self.fingerprint(), before, f"a {status} changed something")
            if mode == "genuine" and (provider, kind) != ("test", "dlr"):
                self.assertEqual(status, 200, response.text[:300])

        run()
        refused = {status for (_mode, _kind, status) in seen if status != 200}
        self.assertTrue({400, 404, 413} <= refused, f"every kind of refusal was tried: {dict(seen)}")
        for kind in ("dlr", "inbound"):
            if (provider, kind) != ("test", "dlr"):
                self.assertTrue(
                    seen["genuine", kind, 200], f"genuine {kind} requests were tried: {dict(seen)}"
                )

    def test_fuzz_test_gateway(self):
        self.fuzz("test")

    def test_fuzz_gatewayapi(self):
        self.fuzz("gatewayapi")

    def test_fuzz_smsapi(self):
        self.fuzz("smsapi")

    def test_fuzz_twilio(self):
        self.fuzz("twilio")

    def test_fuzz_kannel(self):
        self.fuzz("kannel")
