"""The emulator: one local HTTP server for every emulated provider, what it accepted, and the way it
misbehaves on request. The providers' own APIs, signatures and webhooks are in their modules."""

from __future__ import annotations

import base64
import json
import queue
import random
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import requests

from .base import Message, Provider
from .gatewayapi import GatewayApi
from .smsapi import SmsApi
from .twilio import Twilio

#: The emulated providers; adding one: its module (a :class:`~.base.Provider`) and its line here.
PROVIDER_CLASSES: tuple[type[Provider], ...] = (GatewayApi, SmsApi, Twilio)
PROVIDERS = tuple(cls.name for cls in PROVIDER_CLASSES)
FAULTS = ("slow", "stall", "429", "500", "401", "drop", "invalid_json", "wrong_count")


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
        self.providers = {cls.name: cls(self) for cls in PROVIDER_CLASSES}
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
        once, answer after ``delay`` seconds or when the emulator stops: a test can kill the client
        after the provider took its messages and before it learnt so), ``429`` (with
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
        message.status = message.status or self.providers[message.provider].initial_status
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

    def _provider(self, name: str) -> Provider:
        try:
            return self.providers[name]
        except KeyError:
            raise ValueError(f"Unknown provider {name!r}.") from None

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
        emulated = self._provider(provider)
        word = emulated.word(status)
        if message:
            with self._lock:
                message.status = word
        return emulated.post_report(
            message,
            provider_id,
            word,
            url,
            secret=secret,
            error_code=error_code,
            method=method,
            timeout=timeout,
        )

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
        return self._provider(provider).post_inbound(url, number, text, secret=secret, to=to, timeout=timeout)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that timed out has closed its socket before a slow answer: not worth a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Reads a request, records it under ``/_sink/`` or hands it to the provider whose API it is,
    after the misbehaviour the emulator was asked for."""

    emulator: Emulator
    server_version = "gateway-emulator/1.0"

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def log_message(self, format, *args):  # the default logs query strings, which may hold numbers
        if self.emulator.verbose:
            sys.stderr.write(f"emulator: {self.command} {urlsplit(self.path).path}\n")

    def _dispatch(self):
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""
        self.query = dict(parse_qsl(split.query, keep_blank_values=True))
        path = split.path.rstrip("/")
        if path.startswith("/_sink"):
            return self._sink()
        for provider in self.emulator.providers.values():
            route = provider.route(self.command, path, self.query)
            if route:
                break
        else:
            return self.reply(404, {"message": "Not found"})
        kind, arg = route
        with self.emulator._lock:
            self.emulator._calls.append((provider.name, kind))
        fault = self.emulator._next_fault()
        if fault:
            name, options = fault
            if name == "drop":
                self.close_connection = True  # return without a byte: the client sees the connection close
                return None
            if name == "slow":
                time.sleep(options["delay"])
            elif name == "stall":
                self.stall = options["delay"]  # reply() waits, after the request was handled
            else:
                return self._fault(provider, name, options)
        return getattr(provider, kind)(self, arg)

    def _fault(self, provider: Provider, name: str, options: dict):
        if name == "answer":
            return self.reply(options["status"], options["body"], headers=options["headers"])
        if name == "invalid_json":
            return self.reply(200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
        if name == "wrong_count":
            return provider.wrong_count(self)
        status = int(name)
        headers = {"Retry-After": str(options.get("retry_after", 1))} if status == 429 else None
        return self.reply(status, provider.fault_bodies[status], headers=headers)

    def _sink(self):
        captured = {
            "method": self.command,
            "url": self.emulator.url + self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": self.body,
            "form": self.posted(),
            "query": dict(self.query),
        }
        with self.emulator._lock:
            self.emulator._webhooks.append(captured)
        self.reply(200, b"OK", "text/plain")

    # --- what the providers use -----------------------------------------------------------------

    def reply(self, status: int, data, content_type: str = "application/json", headers: dict | None = None):
        if getattr(self, "stall", 0.0):
            self.emulator._stopping.wait(self.stall)
            self.stall = 0.0
        payload = data if isinstance(data, bytes) else json.dumps(data).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def posted(self) -> dict[str, str]:
        """The form fields of a POST body."""
        if self.command != "POST" or not self.headers.get("Content-Type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            return {}
        return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))

    def form(self) -> dict[str, str]:
        """Query-string and form parameters together, as the providers read them."""
        return {**self.query, **self.posted()}

    def basic_auth(self) -> tuple[str, str] | None:
        value = self.headers.get("Authorization", "")
        if not value.startswith("Basic "):
            return None
        try:
            user, _sep, password = base64.b64decode(value[6:]).decode("utf-8").partition(":")
        except ValueError:
            return None
        return user, password
