#!/usr/bin/env python3
"""A local stand-in for GatewayAPI, SMSAPI and Twilio: tests and demos send real HTTP to it.

It speaks the parts of each provider's API that clinic_sms uses, on one port:

* GatewayAPI: ``POST /rest/mtsms`` (one message object or a list), ``GET /rest/mtsms/<id>``;
* SMSAPI: ``POST /sms.do`` (form, Bearer token, ``idx`` + ``check_idx`` enforced),
  ``GET /sms.do?status=<id>``;
* Twilio: ``POST /2010-04-01/Accounts/<sid>/Messages.json``, ``GET …/Messages/<sid>.json``.

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
message was accepted twice. The exceptions are ``slow``: the answer is only delayed and the
message *is* accepted afterwards, as with a real gateway that is merely slow - a client that timed
out and retries will then send it twice unless the provider deduplicates (SMSAPI does, by ``idx``);
and ``stall``: the request is accepted at once and only its answer is held back, so that a test can
kill the client after the provider took its messages and before it learnt so.

Webhooks: :meth:`Emulator.post_report` and :meth:`Emulator.post_inbound` call a webhook the way the
provider would, signed as it signs (GatewayAPI: HS256 JWT in ``X-Gwapi-Signature``; Twilio:
``X-Twilio-Signature``; SMSAPI: unsigned, reports by GET). ``auto_report="delivered"`` reports every
accepted message to its callback URL from a worker thread. Any path under ``/_sink/`` records the
request it receives (:attr:`Emulator.webhooks`, in the shape of ``core.gateway.Request``), so tests
can give the clients a sink URL as their webhook and read back what the provider would have sent.

Library::

    with Emulator(secrets={"gatewayapi": "s3cret"}) as emu:
        client = make_client("gatewayapi", api_url=emu.url, api_key="token")
        emu.fail("500", times=1)                   # the next request fails
        emu.faults(temporary_rate=0.3, drop_rate=0.1, seed=7)

CLI: ``python tools/gateway_emulator.py --port 8070 [--auto-report delivered]``.

Only the standard library and ``requests`` (to call webhooks). Nothing it logs contains message
bodies or phone numbers.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import queue
import random
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import requests

PROVIDERS = ("gatewayapi", "smsapi", "twilio")
FAULTS = ("slow", "stall", "429", "500", "401", "drop", "invalid_json", "wrong_count")

#: Neutral states (and a few extra words) → each provider's own word. Other words pass unchanged,
#: so a test can post any status the provider knows (or one it does not).
STATUS_WORDS = {
    "gatewayapi": {
        "sent": "ENROUTE",
        "buffered": "BUFFERED",
        "delivered": "DELIVERED",
        "failed": "UNDELIVERABLE",
        "rejected": "REJECTED",
        "expired": "EXPIRED",
    },
    "smsapi": {
        "queued": "QUEUE",
        "sent": "SENT",
        "buffered": "QUEUE",
        "accepted": "ACCEPTED",
        "delivered": "DELIVERED",
        "failed": "UNDELIVERED",
        "rejected": "REJECTED",
        "expired": "EXPIRED",
    },
    "twilio": {
        "queued": "queued",
        "sent": "sent",
        "buffered": "sending",
        "delivered": "delivered",
        "failed": "undelivered",
        "rejected": "failed",
    },
}
#: SMSAPI reports a status by number in callbacks and by name when polled.
SMSAPI_CODES = {
    "NOT_FOUND": "401",
    "EXPIRED": "402",
    "SENT": "403",
    "DELIVERED": "404",
    "UNDELIVERED": "405",
    "FAILED": "406",
    "REJECTED": "407",
    "UNKNOWN": "408",
    "QUEUE": "409",
    "ACCEPTED": "410",
}
_INITIAL_STATUS = {"gatewayapi": "ENROUTE", "smsapi": "QUEUE", "twilio": "queued"}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign_gatewayapi(claims, secret: str) -> str:
    """The HS256 JWT GatewayAPI puts in ``X-Gwapi-Signature``: the notification (a dict, or its JSON
    text) signed with the webhook's secret."""
    if isinstance(claims, (bytes, str)):
        claims = json.loads(claims)
    header = _b64url(json.dumps({"typ": "JWT", "alg": "HS256"}, separators=(",", ":")).encode())
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(
        secret.encode("utf-8"), f"{header}.{payload}".encode("ascii"), hashlib.sha256
    ).digest()
    return f"{header}.{payload}.{_b64url(signature)}"


def sign_twilio(url: str, params: dict[str, str], token: str) -> str:
    """The ``X-Twilio-Signature`` of a request to ``url`` with POST ``params``: base64 of HMAC-SHA1
    (auth token, URL + each parameter name and value, sorted by name)."""
    data = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(
        hmac.new(token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1).digest()
    ).decode()


@dataclass
class Message:
    """One message the emulator accepted."""

    provider: str
    provider_id: str
    ref: str  # our reference as the provider saw it: userref (GatewayAPI), idx (SMSAPI), the
    # ``ref`` query parameter of the StatusCallback URL (Twilio has no reference field)
    number: str  # E.164
    body: str
    sender: str
    callback_url: str
    encoding: str = ""
    status: str = ""  # the provider's own word for the last state reported
    account: str = ""  # Twilio Account SID
    token: str = field(default="", repr=False)  # Twilio: the auth token it was sent with (signs reports)
    accepted_at: float = field(default_factory=time.time)


class Emulator:
    """The emulated providers on ``host:port`` (port 0: a free port), run in a daemon thread.

    :param auto_report: a state ("delivered", "failed", …) to report for every accepted message to
        its callback URL, from a worker thread; None reports nothing by itself.
    :param secrets: webhook signing secrets by provider: ``{"gatewayapi": …, "twilio": …}``. Twilio
        reports are signed with the auth token the message was sent with unless given here.
    :param report_delay: seconds the worker waits before each automatic report.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        auto_report: str | None = None,
        secrets: dict[str, str] | None = None,
        report_delay: float = 0.0,
        verbose: bool = False,
    ):
        self.host, self.port = host, port
        self.auto_report = auto_report
        self.secrets = dict(secrets or {})
        self.report_delay = report_delay
        self.verbose = verbose
        self.report_errors: list[str] = []
        self._lock = threading.Lock()
        self._messages: list[Message] = []
        self._webhooks: list[dict] = []
        self._calls: list[tuple[str, str]] = []
        self._idx_seen: set[str] = set()
        self._counter = 0
        self._scripted: list[list] = []  # [kind, remaining or None, options]
        self._rng: random.Random | None = None
        self._temporary_rate = self._drop_rate = 0.0
        self._server: _Server | None = None
        self._reports: queue.Queue = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()  # ends stalled answers when the emulator stops

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> Emulator:
        self._stopping.clear()
        handler = type("Handler", (_Handler,), {"emulator": self})
        self._server = _Server((self.host, self.port), handler)
        self.port = self._server.server_address[1]
        self._threads = [
            threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.02},
                name="gateway-emulator",
                daemon=True,
            ),
            threading.Thread(target=self._report_worker, name="gateway-emulator-reports", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._reports.put(None)
            for thread in self._threads:
                thread.join(timeout=5)
            self._server = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def sink_url(self, name: str = "hook") -> str:
        """A URL under ``/_sink/`` whose requests are recorded in :attr:`webhooks`."""
        return f"{self.url}/_sink/{name}"

    # --- what happened --------------------------------------------------------------------------

    @property
    def messages(self) -> list[Message]:
        """The accepted messages, oldest first (a copy)."""
        with self._lock:
            return list(self._messages)

    @property
    def webhooks(self) -> list[dict]:
        """The requests received under ``/_sink/``: dicts with ``method``, ``url``, ``headers``
        (lower-case keys), ``body``, ``form`` and ``query`` - the fields of ``core.gateway.Request``."""
        with self._lock:
            return list(self._webhooks)

    @property
    def calls(self) -> list[tuple[str, str]]:
        """Every provider API request received, faulty or not: ``(provider, "send" | "status")``."""
        with self._lock:
            return list(self._calls)

    def find(self, provider: str, provider_id: str) -> Message | None:
        with self._lock:
            return next(
                (m for m in self._messages if m.provider == provider and m.provider_id == str(provider_id)),
                None,
            )

    def clear(self) -> None:
        """Forget messages, webhooks, calls and seen SMSAPI idx values (faults stay)."""
        with self._lock:
            self._messages.clear()
            self._webhooks.clear()
            self._calls.clear()
            self._idx_seen.clear()

    # --- misbehaviour ---------------------------------------------------------------------------

    def fail(self, kind, times: int | None = None, *, delay: float = 1.0, retry_after: int = 1) -> None:
        """Make the next ``times`` API requests (None: every one, until :meth:`heal`) misbehave.

        ``kind``: ``slow`` (answer after ``delay`` seconds, then accept), ``stall`` (accept at
        once, answer after ``delay`` seconds or when the emulator stops), ``429`` (with
        ``Retry-After: retry_after``), ``500``, ``401``, ``drop`` (close the connection without
        answering), ``invalid_json`` (a 200 that is not JSON), ``wrong_count`` (a 200 in the
        provider's shape whose ids do not match the request). Several calls queue up in order.
        """
        kind = str(kind)
        if kind not in FAULTS:
            raise ValueError(f"Unknown fault {kind!r}; use one of {', '.join(FAULTS)}.")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for every request).")
        with self._lock:
            self._scripted.append([kind, times, {"delay": delay, "retry_after": retry_after}])

    def respond(self, status: int, body, times: int = 1, headers: dict | None = None) -> None:
        """Answer the next ``times`` API requests with ``status`` and ``body`` (a dict as JSON, or
        bytes) instead of handling them - e.g. a provider error this emulator does not produce by
        itself. Like every fault it accepts nothing."""
        with self._lock:
            self._scripted.append(["answer", times, {"status": status, "body": body, "headers": headers}])

    def faults(self, temporary_rate: float = 0.0, drop_rate: float = 0.0, seed: int | None = None) -> None:
        """Misbehave at random (after any :meth:`fail` faults are used up): each API request is
        dropped with probability ``drop_rate``, else answered 429 or 500 with probability
        ``temporary_rate``. ``seed`` makes the sequence repeatable."""
        with self._lock:
            self._rng = random.Random(seed)
            self._temporary_rate, self._drop_rate = temporary_rate, drop_rate

    def heal(self) -> None:
        """Stop misbehaving."""
        with self._lock:
            self._scripted.clear()
            self._rng, self._temporary_rate, self._drop_rate = None, 0.0, 0.0

    def _next_fault(self) -> tuple[str, dict] | None:
        with self._lock:
            if self._scripted:
                entry = self._scripted[0]
                if entry[1] is not None:
                    entry[1] -= 1
                    if entry[1] <= 0:
                        self._scripted.pop(0)
                return entry[0], entry[2]
            if self._rng and (self._temporary_rate or self._drop_rate):
                draw = self._rng.random()
                if draw < self._drop_rate:
                    return "drop", {}
                if draw < self._drop_rate + self._temporary_rate:
                    return self._rng.choice(("429", "500")), {"retry_after": 1}
        return None

    # --- accepting ------------------------------------------------------------------------------

    def _next_id(self) -> int:
        with self._lock:
            self._counter += 1
            return self._counter

    def _accept(self, message: Message) -> None:
        message.status = message.status or _INITIAL_STATUS[message.provider]
        with self._lock:
            self._messages.append(message)
        if self.auto_report and message.callback_url:
            self._reports.put((message.provider, message.provider_id, self.auto_report))

    def _claim_idx(self, idx: str) -> bool:
        """SMSAPI's check_idx: False when a message with ``idx`` was already accepted."""
        with self._lock:
            if idx in self._idx_seen:
                return False
            self._idx_seen.add(idx)
            return True

    def _report_worker(self) -> None:
        while True:
            item = self._reports.get()
            try:
                if item is None:
                    return
                if self.report_delay:
                    time.sleep(self.report_delay)
                self.post_report(*item)
            except Exception as error:  # a webhook that fails must not stop later reports
                self.report_errors.append(f"{type(error).__name__}: {error}")
            finally:
                self._reports.task_done()

    def wait_reports(self, timeout: float = 5.0) -> bool:
        """Wait until every automatic report was posted; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._reports.all_tasks_done:
            while self._reports.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._reports.all_tasks_done.wait(remaining)
        return True

    # --- webhooks -------------------------------------------------------------------------------

    def post_report(
        self,
        provider: str,
        provider_id: str,
        status: str = "delivered",
        url: str | None = None,
        *,
        secret: str | None = None,
        error_code: str | None = None,
        method: str | None = None,
        timeout: float = 10.0,
    ) -> requests.Response:
        """Report ``status`` for a message as ``provider`` would, to ``url`` or else the callback URL
        recorded with the message; answers the webhook's response.

        ``status``: a neutral state (sent, buffered, delivered, failed, rejected, expired) or the
        provider's own word (``ENROUTE``, ``404``, ``undelivered``, …). ``secret``: the signing
        secret (None: the emulator's; ``""``: send it unsigned). The status endpoints answer the
        new status from now on.
        """
        message = self.find(provider, provider_id)
        url = url or (message.callback_url if message else "")
        if not url:
            raise ValueError(f"No callback URL for {provider} message {provider_id}.")
        word = STATUS_WORDS[provider].get(str(status).lower(), str(status))
        if provider == "smsapi":
            names = {code: name for name, code in SMSAPI_CODES.items()}
            word = names.get(word, word.upper())
        if message:
            with self._lock:
                message.status = word
        number = message.number if message else "+4500000000"
        digits = number.lstrip("+")
        now = int(time.time())
        if provider == "gatewayapi":
            body = {
                "id": int(provider_id) if str(provider_id).isdigit() else provider_id,
                "msisdn": int(digits) if digits.isdigit() else digits,
                "time": now,
                "status": word,
                "error": "Unknown subscriber" if word in ("UNDELIVERABLE", "REJECTED") else None,
                "code": (error_code or "0x1010") if word in ("UNDELIVERABLE", "REJECTED") else None,
                "userref": (message.ref if message else None) or None,
                "country_code": "DK",
                "country_prefix": 45,
            }
            # The token carries the notification plus what GatewayAPI's documented example adds.
            claims = {**body, "callback_url": url, "api": 4}
            return self._post_json(url, body, claims, self._secret("gatewayapi", secret), timeout)
        if provider == "twilio":
            params = {
                "MessageSid": str(provider_id),
                "SmsSid": str(provider_id),
                "MessageStatus": word,
                "SmsStatus": word,
                "AccountSid": message.account if message else "AC" + "0" * 32,
                "From": message.sender if message else "+15005550006",
                "To": number,
                "ApiVersion": "2010-04-01",
            }
            if word in ("undelivered", "failed"):
                params["ErrorCode"] = error_code or "30003"
            token = secret if secret is not None else (message.token if message and message.token else None)
            return self._post_form(url, params, self._secret("twilio", token), timeout)
        if provider == "smsapi":
            params = {
                "MsgId": str(provider_id),
                "status": SMSAPI_CODES.get(word, word),
                "idx": message.ref if message else "",
                "donedate": str(now),
                "username": "clinic",
                "points": "0.16",
                "to": digits,
            }
            if (method or "GET").upper() == "GET":
                return requests.get(url, params=params, timeout=timeout)
            return requests.post(url, data=params, timeout=timeout)
        raise ValueError(f"Unknown provider {provider!r}.")

    def post_inbound(
        self,
        provider: str,
        url: str,
        number: str,
        text: str,
        *,
        secret: str | None = None,
        to: str = "",
        timeout: float = 10.0,
    ) -> requests.Response:
        """Deliver a patient's SMS (``number`` in E.164 sent ``text`` to ``to``) to the webhook
        ``url`` as ``provider`` would; answers the webhook's response."""
        digits, to_digits = number.lstrip("+"), to.lstrip("+")
        serial = self._next_id()
        now = int(time.time())
        if provider == "gatewayapi":
            body = {
                "id": 3_000_000 + serial,
                "msisdn": int(digits),
                "receiver": int(to_digits) if to_digits.isdigit() else 451204,
                "message": text,
                "senttime": now,
                "webhook_label": "clinic",
                "country_code": "DK",
                "country_prefix": 45,
            }
            return self._post_json(url, body, body, self._secret("gatewayapi", secret), timeout)
        if provider == "twilio":
            sid = f"SM{serial:032x}"
            params = {
                "MessageSid": sid,
                "SmsSid": sid,
                "SmsMessageSid": sid,
                "AccountSid": "AC" + "0" * 32,
                "From": number,
                "To": to or "+15005550006",
                "Body": text,
                "NumMedia": "0",
                "NumSegments": "1",
                "ApiVersion": "2010-04-01",
            }
            return self._post_form(url, params, self._secret("twilio", secret), timeout)
        if provider == "smsapi":
            params = {
                "sms_from": digits,
                "sms_to": to_digits or "48500000000",
                "sms_text": text,
                "sms_date": str(now),
                "MsgId": f"{serial:024X}",
                "username": "clinic",
            }
            return requests.post(url, data=params, timeout=timeout)
        raise ValueError(f"Unknown provider {provider!r}.")

    def _secret(self, provider: str, given: str | None) -> str:
        return given if given is not None else self.secrets.get(provider, "")

    @staticmethod
    def _post_json(url, body, claims, secret, timeout) -> requests.Response:
        headers = {"X-Gwapi-Signature": sign_gatewayapi(claims, secret)} if secret else {}
        return requests.post(url, json=body, headers=headers, timeout=timeout)

    @staticmethod
    def _post_form(url, params, token, timeout) -> requests.Response:
        headers = {"X-Twilio-Signature": sign_twilio(url, params, token)} if token else {}
        return requests.post(url, data=params, headers=headers, timeout=timeout)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that timed out has closed its socket before a slow answer: not worth a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    emulator: Emulator
    server_version = "gateway-emulator/1.0"

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def log_message(self, format, *args):  # the default logs query strings, which may hold numbers
        if self.emulator.verbose:
            sys.stderr.write(f"emulator: {self.command} {urlsplit(self.path).path}\n")

    # --- plumbing -------------------------------------------------------------------------------

    def _dispatch(self):
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""
        self.query = dict(parse_qsl(split.query, keep_blank_values=True))
        path = split.path.rstrip("/")
        if path.startswith("/_sink"):
            return self._sink()
        parts = path.split("/")
        if path == "/rest/mtsms" and self.command == "POST":
            route = ("gatewayapi", "send", None)
        elif path.startswith("/rest/mtsms/") and self.command == "GET":
            route = ("gatewayapi", "status", parts[-1])
        elif path == "/sms.do":
            is_status = self.command == "GET" and "status" in self.query
            route = ("smsapi", "status" if is_status else "send", self.query.get("status"))
        elif len(parts) == 5 and parts[1:3] == ["2010-04-01", "Accounts"] and parts[4] == "Messages.json":
            route = ("twilio", "send", parts[3])
        elif len(parts) == 6 and parts[1:3] == ["2010-04-01", "Accounts"] and parts[4] == "Messages":
            route = ("twilio", "status", (parts[3], parts[5].removesuffix(".json")))
        else:
            return self._reply(404, {"message": "Not found"})
        provider, kind, arg = route
        with self.emulator._lock:
            self.emulator._calls.append((provider, kind))
        self.stall = 0.0
        fault = self.emulator._next_fault()
        if fault:
            name, options = fault
            if name == "drop":
                self.close_connection = True  # return without a byte: the client sees the connection close
                return None
            if name == "slow":
                time.sleep(options["delay"])
            elif name == "stall":
                self.stall = options["delay"]  # _reply waits, after the request was handled
            else:
                return self._fault(provider, kind, name, options)
        return getattr(self, f"_{provider}_{kind}")(arg)

    def _reply(self, status: int, data, content_type: str = "application/json", headers: dict | None = None):
        payload = data if isinstance(data, bytes) else json.dumps(data).encode("utf-8")
        if getattr(self, "stall", 0.0):
            self.emulator._stopping.wait(self.stall)
            self.stall = 0.0
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _posted(self) -> dict[str, str]:
        """The form fields of a POST body."""
        if self.command != "POST" or not self.headers.get("Content-Type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            return {}
        return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))

    def _form(self) -> dict[str, str]:
        """Query-string and form parameters together, as the providers read them."""
        return {**self.query, **self._posted()}

    def _basic_auth(self) -> tuple[str, str] | None:
        value = self.headers.get("Authorization", "")
        if not value.startswith("Basic "):
            return None
        try:
            user, _sep, password = base64.b64decode(value[6:]).decode("utf-8").partition(":")
        except ValueError:
            return None
        return user, password

    def _sink(self):
        captured = {
            "method": self.command,
            "url": self.emulator.url + self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": self.body,
            "form": self._posted(),
            "query": dict(self.query),
        }
        with self.emulator._lock:
            self.emulator._webhooks.append(captured)
        self._reply(200, b"OK", "text/plain")

    def _fault(self, provider: str, kind: str, name: str, options: dict):
        if name == "answer":
            return self._reply(options["status"], options["body"], headers=options["headers"])
        if name == "invalid_json":
            return self._reply(200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
        if name == "wrong_count":
            if provider == "gatewayapi":
                try:
                    data = json.loads(self.body or b"{}")
                except ValueError:
                    data = {}
                count = len(data) if isinstance(data, list) else 1
                return self._reply(200, {"ids": [9_000_000 + i for i in range(count + 1)], "usage": {}})
            if provider == "smsapi":
                return self._reply(200, {"count": 0, "list": []})
            return self._reply(201, {"status": "queued"})
        status = int(name)
        bodies = {
            "gatewayapi": {
                "message": {429: "Too many requests", 500: "Internal error", 401: "Unauthorized"}[status]
            },
            "smsapi": {"error": {429: 203, 500: 999, 401: 101}[status], "message": "Emulated failure"},
            "twilio": {"code": {429: 20429, 500: 20500, 401: 20003}[status], "message": "Emulated failure"},
        }
        headers = {"Retry-After": str(options.get("retry_after", 1))} if status == 429 else None
        return self._reply(status, bodies[provider], headers=headers)

    # --- GatewayAPI -----------------------------------------------------------------------------

    def _gatewayapi_send(self, _arg):
        auth = self._basic_auth()
        if not (auth and auth[0]) and not self.query.get("token"):
            return self._reply(401, {"code": "0x0223", "message": "Invalid Consumer Key"})
        try:
            data = json.loads(self.body)
        except ValueError:
            return self._reply(422, {"message": "Invalid json request body"})
        items = data if isinstance(data, list) else [data]
        for item in items:
            recipients = item.get("recipients") if isinstance(item, dict) else None
            if not isinstance(item, dict) or not isinstance(item.get("message"), str) or not recipients:
                return self._reply(
                    400,
                    {"code": "0x0222", "message": "Missing required parameter %1", "variables": ["message"]},
                )
            for recipient in recipients:
                msisdn = str(recipient.get("msisdn", ""))
                if not msisdn.isdigit() or msisdn.endswith("0000"):
                    return self._reply(
                        400, {"code": "0x0308", "message": "Invalid MSISDN %1", "variables": [msisdn]}
                    )
                if msisdn.endswith("1111"):
                    return self._reply(
                        400, {"code": "0x0215", "message": "MSISDN %1 blacklisted", "variables": [msisdn]}
                    )
        ids = []
        for item in items:
            provider_id = 1_000_000 + self.emulator._next_id()
            ids.append(provider_id)
            for recipient in item["recipients"]:
                self.emulator._accept(
                    Message(
                        provider="gatewayapi",
                        provider_id=str(provider_id),
                        ref=str(item.get("userref") or ""),
                        number="+" + str(recipient["msisdn"]),
                        body=item["message"],
                        sender=str(item.get("sender") or ""),
                        callback_url=str(item.get("callback_url") or ""),
                        encoding=str(item.get("encoding") or "UTF8"),
                    )
                )
        count = sum(len(item["recipients"]) for item in items)
        self._reply(
            200, {"ids": ids, "usage": {"countries": {"DK": count}, "currency": "EUR", "total_cost": 0.0}}
        )

    def _gatewayapi_status(self, provider_id):
        if not self._basic_auth() and not self.query.get("token"):
            return self._reply(401, {"code": "0x0223", "message": "Invalid Consumer Key"})
        message = self.emulator.find("gatewayapi", provider_id)
        if not message:
            return self._reply(404, {"message": "Not found"})
        failed = message.status in ("UNDELIVERABLE", "REJECTED")
        recipient = {
            "msisdn": int(message.number.lstrip("+")),
            "dsnstatus": message.status,
            "dsnerror": "Unknown subscriber" if failed else None,
            "dsnerrorcode": "0x1010" if failed else None,
            "dsntime": time.time(),
            "senttime": message.accepted_at,
        }
        self._reply(
            200,
            [
                {
                    "id": int(message.provider_id),
                    "message": message.body,
                    "sender": message.sender,
                    "userref": message.ref or None,
                    "callback_url": message.callback_url or None,
                    "encoding": message.encoding,
                    "recipients": [recipient],
                }
            ],
        )

    # --- SMSAPI ---------------------------------------------------------------------------------

    def _smsapi_authorized(self) -> bool:
        return (
            self.headers.get("Authorization", "").startswith("Bearer ")
            and len(self.headers["Authorization"]) > 7
        )

    def _smsapi_send(self, _arg):
        if not self._smsapi_authorized():
            return self._reply(401, {"error": 101, "message": "Authorization failed"})
        form = self._form()
        numbers = [n.strip().lstrip("+") for n in form.get("to", "").split(",") if n.strip()]
        if not form.get("message"):
            return self._reply(200, {"error": 11, "message": "Message too long or there is no message"})
        valid = [n for n in numbers if n.isdigit() and not n.endswith("0000")]
        if not valid:
            invalid = [
                {"number": n, "submitted_number": n, "message": "Invalid phone number"} for n in numbers
            ]
            return self._reply(
                200, {"error": 13, "message": "No correct phone numbers", "invalid_numbers": invalid}
            )
        idx = form.get("idx", "")
        if idx and form.get("check_idx") in ("1", "true") and not self.emulator._claim_idx(idx):
            return self._reply(
                200,
                {
                    "error": 53,
                    "message": "Not unique idx parameter, message with the same idx has been already sent"
                    " and &check_idx=1.",
                },
            )
        entries = []
        for number in valid:
            provider_id = f"{self.emulator._next_id():024X}"
            self.emulator._accept(
                Message(
                    provider="smsapi",
                    provider_id=provider_id,
                    ref=idx,
                    number="+" + number,
                    body=form["message"],
                    sender=form.get("from", ""),
                    callback_url=form.get("notify_url", ""),
                    encoding=form.get("encoding", ""),
                )
            )
            entries.append(_smsapi_entry(self.emulator.find("smsapi", provider_id)))
        self._reply(200, {"count": len(entries), "list": entries})

    def _smsapi_status(self, provider_id):
        if not self._smsapi_authorized():
            return self._reply(401, {"error": 101, "message": "Authorization failed"})
        message = self.emulator.find("smsapi", provider_id or "")
        if not message:
            return self._reply(200, {"error": 301, "message": "ID of messages doesn't exist"})
        self._reply(200, _smsapi_entry(message))  # one object, as SMSAPI's Go client reads it

    # --- Twilio ---------------------------------------------------------------------------------

    def _twilio_authorized(self, account: str) -> str | None:
        """The auth token, when the request is authenticated as ``account``."""
        auth = self._basic_auth()
        if not auth or auth[0] != account or not auth[1]:
            return None
        return auth[1]

    def _twilio_error(self, status: int, code: int, message: str):
        more = f"https://www.twilio.com/docs/errors/{code}"
        return self._reply(status, {"code": code, "message": message, "more_info": more, "status": status})

    def _twilio_send(self, account):
        token = self._twilio_authorized(account)
        if not token:
            return self._twilio_error(401, 20003, "Authenticate")
        form = self._form()
        to, body = form.get("To", ""), form.get("Body")
        sender = form.get("From") or form.get("MessagingServiceSid") or ""
        if not to:
            return self._twilio_error(400, 21604, "A 'To' phone number is required.")
        if not sender:
            return self._twilio_error(400, 21603, "A 'From' phone number is required.")
        if body is None:
            return self._twilio_error(400, 21602, "Message body is required.")
        if not to.lstrip("+").isdigit() or to.endswith("0000"):
            return self._twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if to.endswith("1111"):
            return self._twilio_error(400, 21610, "Attempt to send to unsubscribed recipient")
        callback = form.get("StatusCallback", "")
        sid = f"SM{self.emulator._next_id():032x}"
        self.emulator._accept(
            Message(
                provider="twilio",
                provider_id=sid,
                ref=dict(parse_qsl(urlsplit(callback).query)).get("ref", ""),
                number=to,
                body=body,
                sender=sender,
                callback_url=callback,
                account=account,
                token=token,
            )
        )
        self._reply(201, _twilio_resource(self.emulator.find("twilio", sid)))

    def _twilio_status(self, arg):
        account, sid = arg
        if not self._twilio_authorized(account):
            return self._twilio_error(401, 20003, "Authenticate")
        message = self.emulator.find("twilio", sid)
        if not message or message.account != account:
            return self._twilio_error(
                404, 20404, f"The requested resource /Messages/{sid}.json was not found"
            )
        self._reply(200, _twilio_resource(message))


def _smsapi_entry(message: Message) -> dict:
    digits = message.number.lstrip("+")
    return {
        "id": message.provider_id,
        "points": 0.16,
        "number": digits,
        "date_sent": int(message.accepted_at),
        "submitted_number": digits,
        "status": message.status,
        "idx": message.ref or None,
    }


def _twilio_resource(message: Message) -> dict:
    failed = message.status in ("undelivered", "failed")
    created = formatdate(message.accepted_at, usegmt=True)
    return {
        "sid": message.provider_id,
        "account_sid": message.account,
        "to": message.number,
        "from": message.sender,
        "body": message.body,
        "status": message.status,
        "direction": "outbound-api",
        "api_version": "2010-04-01",
        "num_segments": "1",
        "error_code": 30003 if failed else None,
        "error_message": "Unreachable destination handset" if failed else None,
        "date_created": created,
        "date_updated": formatdate(time.time(), usegmt=True),
        "uri": f"/2010-04-01/Accounts/{message.account}/Messages/{message.provider_id}.json",
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Emulate GatewayAPI, SMSAPI and Twilio on one local port.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8070)
    parser.add_argument("--auto-report", metavar="STATE", help="report every message, e.g. 'delivered'")
    parser.add_argument(
        "--report-delay", type=float, default=1.0, help="seconds before each automatic report"
    )
    parser.add_argument("--gatewayapi-secret", default="", help="signs GatewayAPI webhooks (JWT)")
    parser.add_argument("--twilio-token", default="", help="signs Twilio webhooks (default: the token used)")
    parser.add_argument(
        "--temporary-rate", type=float, default=0.0, help="share of requests answered 429/500"
    )
    parser.add_argument("--drop-rate", type=float, default=0.0, help="share of requests dropped unanswered")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--verbose", action="store_true", help="log each request's method and path")
    args = parser.parse_args(argv)
    secrets = {"gatewayapi": args.gatewayapi_secret, "twilio": args.twilio_token}
    emulator = Emulator(
        args.host,
        args.port,
        auto_report=args.auto_report,
        secrets={k: v for k, v in secrets.items() if v},
        report_delay=args.report_delay,
        verbose=args.verbose,
    ).start()
    if args.temporary_rate or args.drop_rate:
        emulator.faults(args.temporary_rate, args.drop_rate, args.seed)
    print(
        f"Gateway emulator on {emulator.url}: use it as the gateway's API URL (GatewayAPI, SMSAPI, Twilio)."
    )
    print("Numbers ending in 0000 are refused as invalid, 1111 as refused recipients. Ctrl-C stops.")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
