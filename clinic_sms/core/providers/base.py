"""The client contract every provider implements, and what the HTTP providers share.

A client takes :class:`~core.gateway.Outgoing` messages and answers one :class:`~core.gateway.Result`
per message, in the same order. It never raises for a message it could not send: the result says
whether the failure is temporary (retried with back-off until the message expires, or handed to the
next gateway) or permanent (the message fails, with a reason a person understands).

A client also reads what its provider calls back with: delivery reports (:meth:`Client.parse_report`)
and patients' replies (:meth:`Client.parse_inbound`). A request whose signature is missing or wrong
raises :class:`~core.gateway.Forged`; one that cannot be read raises :class:`~core.gateway.Malformed`.
Providers that can be asked for a message's status implement :meth:`Client.fetch_status`.

:class:`HttpClient` holds what every HTTP provider does alike: one ``requests`` session, a timeout
on every call, the reading of answers that mean "not now" (no connection, 429, 5xx, refused
credentials), and the skeleton of a send with one request per message (:meth:`HttpClient.send`):
a provider then only says which request carries a message (:meth:`HttpClient._send_request`) and
how to read the provider's answer (:meth:`HttpClient._result`).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from .. import gateway as gw

_logger = logging.getLogger(__name__)


class Client:
    """Base of every provider client.

    Constructed with the gateway's settings (all keyword arguments, all optional): ``api_url``,
    ``username``, ``password``, ``api_key``, ``webhook_secret``, ``sender``, ``dlr_url`` (where the
    provider should post delivery reports), ``inbound_url`` and ``timeout``.
    """

    #: The provider's code (``clinic.sms.gateway.provider``); the registry is keyed by it.
    provider = ""
    #: Whether :meth:`fetch_status` can ask the provider for a message's state.
    can_poll = False
    #: Whether the provider calls back with patients' replies.
    receives_inbound = False
    #: Messages :meth:`send` hands over in one HTTP request (1: one request per message).
    batch_size = 1
    #: Whether sending a message again with the same ``ref`` can never deliver it twice.
    idempotent_resend = False
    #: Whether the provider only pretends: nothing it "sends" reaches a phone (the test provider).
    simulated = False

    def __init__(
        self,
        *,
        api_url: str = "",
        username: str = "",
        password: str = "",
        api_key: str = "",
        webhook_secret: str = "",
        sender: str = "",
        dlr_url: str = "",
        inbound_url: str = "",
        timeout: float = gw.DEFAULT_TIMEOUT,
    ):
        self.api_url = (api_url or "").rstrip("/")
        self.username = username or ""
        self.password = password or ""
        self.api_key = api_key or ""
        self.webhook_secret = webhook_secret or ""
        self.sender = sender or ""
        self.dlr_url = dlr_url or ""
        self.inbound_url = inbound_url or ""
        self.timeout = timeout

    def send(self, messages: list[gw.Outgoing]) -> list[gw.Result]:
        raise NotImplementedError

    def parse_report(self, request: gw.Request) -> list[gw.Report]:
        """The delivery reports in a webhook request; raises Forged or Malformed."""
        raise gw.Malformed(f"The {self.provider} provider sends no delivery reports.")

    def parse_inbound(self, request: gw.Request) -> list[gw.Inbound]:
        """The patients' replies in a webhook request; raises Forged or Malformed."""
        raise gw.Malformed(f"The {self.provider} provider sends no replies.")

    def reply(self, kind: str) -> gw.Reply:
        """What to answer a valid webhook request of ``kind`` ("dlr" or "inbound")."""
        return gw.Reply()

    def fetch_status(self, provider_refs: list[str]) -> list[gw.Report]:
        """Ask the provider what became of these messages (only when ``can_poll``)."""
        return []

    def webhook_url(self, kind: str, url: str) -> str:
        """The URL to give the provider for webhook ``kind`` ("dlr" or "inbound"), from Odoo's
        ``url``; a provider that needs its own placeholders in the URL (Kannel) adds them."""
        return url

    def close(self) -> None:
        """Release the HTTP session, if any."""


class HttpClient(Client):
    """Base of the clients that speak HTTP: one ``requests`` session, a timeout on every call, and
    the classification of transport errors and "not now" answers that every provider shares."""

    default_url = ""
    #: The provider's name in sentences for staff.
    label = ""
    #: What an administrator should check when the provider answers 404 to a send.
    not_found_hint = "API URL"

    def __init__(self, **settings):
        super().__init__(**settings)
        import requests  # the core's only third-party import; deferred so pure tests stay fast

        self._requests = requests
        self.api_url = self.api_url or self.default_url
        self.session = requests.Session()

    def close(self) -> None:
        self.session.close()

    def request(self, method: str, url: str, **kwargs):
        """``session.request`` with the client's timeout (or a shorter one given); raises ``requests``
        exceptions."""
        timeout = kwargs.pop("timeout", None) or self.timeout
        return self.session.request(method, url, timeout=timeout, **kwargs)

    # --- sending: one request per message ----------------------------------------------------------

    def send(self, messages: list[gw.Outgoing]) -> list[gw.Result]:
        return [self._send_one(message) for message in messages]

    def _send_one(self, message: gw.Outgoing) -> gw.Result:
        method, url, kwargs = self._send_request(message)
        answer = self.exchange([message.ref], method, url, **kwargs)
        return answer[0] if isinstance(answer, list) else self._result(message.ref, answer)

    def _send_request(self, message: gw.Outgoing) -> tuple[str, str, dict]:
        """``(method, url, keyword arguments of requests)`` of the request that sends ``message``."""
        raise NotImplementedError

    def _result(self, ref: str, response) -> gw.Result:
        """The result of a send the provider answered (anything but a "not now", which
        :meth:`exchange` has read already)."""
        raise NotImplementedError

    def exchange(self, refs: list[str], method: str, url: str, **kwargs):
        """One request on behalf of the messages ``refs``: the response, or the temporary result of
        each message (a list) when there is no usable answer: no connection, or an answer that says
        "not now" (:meth:`http_failure`)."""
        what = f"message {refs[0]}" if len(refs) == 1 else f"{len(refs)} messages"
        try:
            response = self.request(method, url, **kwargs)
        except self._requests.RequestException as error:
            _logger.info("%s: %s not handed over: %s", self.provider, what, type(error).__name__)
            return [self.transport_failure(ref, error) for ref in refs]
        failure = self.http_failure(refs[0], response)
        if failure:
            _logger.info("%s: %s refused for now (HTTP %s)", self.provider, what, response.status_code)
            return [replace(failure, ref=ref) for ref in refs]
        return response

    # --- polling: one request per message ---------------------------------------------------------

    #: Whether a 404 to a status question means "not known (yet)" (skip it) rather than "stop".
    status_404_unknown = True

    def fetch_status(self, provider_refs: list[str]) -> list[gw.Report]:
        """Ask the provider about each message in turn. The first request that gets no usable
        answer (no connection, throttled, refused, down) stops the poll: the next one tries again."""
        if not self.can_poll:
            return []
        reports = []
        for provider_ref in provider_refs:
            method, url, kwargs = self._status_request(provider_ref)
            try:
                response = self.request(method, url, **kwargs)
            except self._requests.RequestException as error:
                _logger.info("%s: status poll stopped: %s", self.provider, type(error).__name__)
                break
            if response.status_code == 404 and self.status_404_unknown:
                continue
            if response.status_code != 200:
                _logger.info("%s: status poll stopped (HTTP %s)", self.provider, response.status_code)
                break
            try:
                report = self._status_report(provider_ref, response.json())
            except (ValueError, KeyError, IndexError, TypeError, AttributeError, gw.Malformed):
                _logger.info("%s: unreadable status of one message", self.provider)
                continue
            if report:
                reports.append(report)
        return reports

    def _status_request(self, provider_ref: str) -> tuple[str, str, dict]:
        """``(method, url, keyword arguments of requests)`` of the status question about a message."""
        raise NotImplementedError

    def _status_report(self, provider_ref: str, data) -> gw.Report | None:
        """The report in the provider's (JSON) answer about a message; None when it says nothing.
        May raise Malformed, KeyError, TypeError… for an answer it cannot read."""
        raise NotImplementedError

    # --- reading answers ---------------------------------------------------------------------------

    def transport_failure(self, ref: str, error: Exception) -> gw.Result:
        """The temporary result for a request that got no HTTP answer."""
        requests = self._requests
        if isinstance(error, requests.Timeout):
            text = f"The {self.provider} gateway did not answer within {self.timeout:g} s."
        elif isinstance(error, requests.ConnectionError):
            text = f"The {self.provider} gateway could not be reached ({type(error).__name__})."
        else:
            text = f"The {self.provider} gateway call failed ({type(error).__name__})."
        return gw.Result(ref, gw.TEMPORARY, reason=gw.R_UNREACHABLE, error=text)

    def http_failure(self, ref: str, response) -> gw.Result | None:
        """The temporary result for an HTTP answer that says "not now", or None.

        429 honours Retry-After; 5xx is a gateway error; 401/403 mean the credentials are wrong,
        which an administrator can fix, so the message waits (and other gateways are tried).
        """
        status = response.status_code
        if status == 429:
            return gw.Result(
                ref,
                gw.TEMPORARY,
                reason=gw.R_THROTTLED,
                error=f"The {self.provider} gateway asks to slow down (HTTP 429).",
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        if status >= 500:
            return gw.Result(
                ref,
                gw.TEMPORARY,
                reason=gw.R_GATEWAY_ERROR,
                error=f"The {self.provider} gateway failed (HTTP {status}).",
            )
        if status in (401, 403):
            return gw.Result(
                ref,
                gw.TEMPORARY,
                reason=gw.R_AUTH,
                error=f"The {self.provider} gateway refused the credentials (HTTP {status}).",
            )
        return None

    def not_found(self, ref: str) -> gw.Result:
        """A 404 to a send: a wrong API URL (or account), not a refused message. An administrator
        can fix it, so the message waits."""
        return gw.Result(
            ref,
            gw.TEMPORARY,
            reason=gw.R_GATEWAY_ERROR,
            error=f"{self.label} answered 'not found' (HTTP 404): check the gateway's {self.not_found_hint}.",
        )

    def unreadable(self, refs: list[str], status: int, again: str = "sent again") -> list[gw.Result]:
        """A 2xx answer to the messages ``refs`` that is not in the documented shape: whether the
        provider took them cannot be told, so they are tried again (``again`` says how, for staff)."""
        what = f"message {refs[0]}" if len(refs) == 1 else f"{len(refs)} messages"
        _logger.warning("%s: unreadable answer for %s (HTTP %s)", self.provider, what, status)
        error = f"{self.label} gave an answer that could not be read; the message will be {again}."
        return [gw.Result(ref, gw.TEMPORARY, reason=gw.R_GATEWAY_ERROR, error=error) for ref in refs]


def json_of(response):
    """The JSON of an answer, or None when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
