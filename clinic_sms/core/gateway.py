"""Gateway clients: the provider-neutral interface, the HTTP base and the built-in ``test`` provider.

A client takes :class:`Outgoing` messages and answers one :class:`Result` per message, in the same
order. It never raises for a message it could not send: the result says whether the failure is
temporary (retried with back-off until the message expires, or handed to the next gateway) or
permanent (the message fails, with a reason a person understands).

A client also reads what its provider calls back with: delivery reports (:meth:`Client.parse_report`
→ :class:`Report`) and patients' replies (:meth:`Client.parse_inbound` → :class:`Inbound`). The web
framework is not known here: a webhook request arrives as a plain :class:`Request`. A request whose
signature is missing or wrong raises :class:`Forged`; one that cannot be read raises
:class:`Malformed`. Providers that can be asked for a message's status implement
:meth:`Client.fetch_status`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from .exceptions import CoreError
from .text import ERROR_LIMIT, clean_field, clean_text

_logger = logging.getLogger(__name__)

# Outcome of handing one message to a provider.
SENT = "sent"  # the provider took it; a delivery report will follow
DELIVERED = "delivered"  # the provider reports delivery at once (the test provider)
TEMPORARY = "temporary"  # try again later (or through another gateway)
PERMANENT = "permanent"  # will never work for this number/text

#: States a delivery report can put a message in (the names of ``clinic.sms.message.state``).
REPORT_STATES = ("sent", "buffered", "delivered", "failed", "expired")
#: Final report states: once a message is in one of them, no later report changes it.
FINAL_REPORT_STATES = ("delivered", "failed", "expired")
#: How far along a state is; a report never moves a message back.
STATE_RANK = {"sending": 0, "sent": 1, "buffered": 2, "delivered": 3, "failed": 3, "expired": 3}

#: Back-off after the n-th temporary failure, in minutes (the last value repeats).
BACKOFF_MINUTES = (1, 2, 5, 10, 20, 30, 60)
#: Seconds every HTTP call may take before it counts as a temporary failure.
DEFAULT_TIMEOUT = 10.0

#: Reason codes of failed or retried messages (``clinic.sms.message.reason``).
R_GATEWAY_ERROR = "gateway_error"  # temporary: 5xx, malformed answer, unknown error
R_UNREACHABLE = "gateway_unreachable"  # temporary: timeout, refused or dropped connection
R_THROTTLED = "throttled"  # temporary: 429 Too Many Requests
R_AUTH = "gateway_auth"  # temporary: credentials refused (fixable by the administrator)
R_REJECTED = "rejected"  # permanent: the provider refuses this message
R_INVALID = "invalid_number"  # permanent: the provider says the number cannot receive SMS
R_UNDELIVERABLE = "undeliverable"  # final report: the network could not deliver it


class WebhookError(CoreError):
    """A webhook request that must change nothing.

    :ivar status: the HTTP status to answer with.
    """

    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Forged(WebhookError):
    """The request's signature is missing or does not match the gateway's secret."""

    status = 403


class Malformed(WebhookError):
    """The request cannot be read (bad JSON, missing fields, unknown status)."""

    status = 400


@dataclass(frozen=True)
class Outgoing:
    ref: str  # our reference for the message (its id), echoed back in delivery reports
    number: str  # E.164
    body: str
    sender: str = ""


@dataclass(frozen=True)
class Result:
    ref: str
    status: str  # SENT, DELIVERED, TEMPORARY or PERMANENT
    provider_ref: str = ""
    reason: str = ""  # a code from the R_* list above
    error: str = ""  # a sentence for staff (plain English, no full number, no body)
    retry_after: float | None = None  # seconds the provider asked us to wait (HTTP 429)


@dataclass(frozen=True)
class Report:
    """One delivery report: what became of a message the provider took."""

    provider_ref: str  # the provider's id of the message (Result.provider_ref)
    state: str  # one of REPORT_STATES
    ref: str = ""  # our reference, when the provider echoes it (userref, idx, ...)
    at: datetime | None = None  # when the provider says it happened (aware, UTC)
    reason: str = ""  # for failed/expired: a code from the R_* list
    error: str = ""  # the provider's own words, for staff

    def cleaned(self) -> Report:
        """This report with its texts safe to store (see :mod:`.text`)."""
        return replace(
            self,
            provider_ref=clean_field(self.provider_ref),
            ref=clean_field(self.ref),
            error=clean_text(self.error, ERROR_LIMIT),
        )


@dataclass(frozen=True)
class Inbound:
    """One SMS a patient sent to the clinic."""

    number: str  # the patient's number, E.164 when the provider gives it so
    body: str
    provider_ref: str = ""
    to: str = ""  # the clinic's number or sender the patient answered
    at: datetime | None = None

    def cleaned(self) -> Inbound:
        """This reply with its texts safe to store: NUL and lone surrogates replaced, the body
        capped at ten SMS parts (see :mod:`.text`)."""
        return replace(
            self,
            number=clean_field(self.number),
            body=clean_text(self.body),
            provider_ref=clean_field(self.provider_ref),
            to=clean_field(self.to),
        )


@dataclass(frozen=True)
class Request:
    """A webhook request, independent of the web framework."""

    method: str
    url: str  # the full URL the provider called (with query string); Twilio signs it
    headers: Mapping[str, str] = field(default_factory=dict)  # keys lower-case
    body: bytes = b""
    form: Mapping[str, str] = field(default_factory=dict)  # POST form fields
    query: Mapping[str, str] = field(default_factory=dict)  # query-string parameters

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def params(self) -> dict[str, str]:
        """Query-string and form parameters together (form wins)."""
        return {**self.query, **self.form}

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
            raise Malformed("The request body is not JSON.") from error


@dataclass(frozen=True)
class Reply:
    """What a webhook answers the provider (after the request was read without error)."""

    status: int = 200
    body: str = ""
    content_type: str = "text/plain"


def backoff(attempts: int, now: datetime, retry_after: float | None = None) -> datetime:
    """When to try again after ``attempts`` temporary failures (1 = first failure).

    A provider's ``Retry-After`` is honoured when it asks for longer than the back-off.
    """
    index = min(max(attempts, 1), len(BACKOFF_MINUTES)) - 1
    due = now + timedelta(minutes=BACKOFF_MINUTES[index])
    if retry_after:
        due = max(due, now + timedelta(seconds=retry_after))
    return due


def parse_prefixes(text: str | None) -> list[str]:
    """``"+45, +46"`` → ``["+45", "+46"]``: the number prefixes a gateway is limited to."""
    return [p.strip() for p in (text or "").split(",") if p.strip()]


def route(number: str, prefix_lists: list[list[str]]) -> list[int]:
    """The order in which to try gateways for ``number``: the indexes (into ``prefix_lists``, the
    company's gateways in their order) of the gateways limited to a prefix of the number first,
    then of the gateways for all numbers. A gateway limited to other prefixes is never tried."""
    limited = [
        i for i, prefixes in enumerate(prefix_lists) if prefixes and number.startswith(tuple(prefixes))
    ]
    return limited + [i for i, prefixes in enumerate(prefix_lists) if not prefixes]


def advances(current: str, new: str) -> bool:
    """Whether a report of ``new`` may replace the message's ``current`` state.

    Final states are never overwritten; a report never moves a message back (a late "sent" after
    "buffered" is ignored); the same state again is a harmless duplicate (False).
    """
    if current in FINAL_REPORT_STATES or current not in STATE_RANK or new not in STATE_RANK:
        return False
    return STATE_RANK[new] > STATE_RANK[current]


class Client:
    """Base of every provider client.

    Constructed with the gateway's settings (all keyword arguments, all optional): ``api_url``,
    ``username``, ``password``, ``api_key``, ``webhook_secret``, ``sender``, ``dlr_url`` (where the
    provider should post delivery reports), ``inbound_url`` and ``timeout``.
    """

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
        timeout: float = DEFAULT_TIMEOUT,
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

    def send(self, messages: list[Outgoing]) -> list[Result]:
        raise NotImplementedError

    def parse_report(self, request: Request) -> list[Report]:
        """The delivery reports in a webhook request; raises Forged or Malformed."""
        raise Malformed(f"The {self.provider} provider sends no delivery reports.")

    def parse_inbound(self, request: Request) -> list[Inbound]:
        """The patients' replies in a webhook request; raises Forged or Malformed."""
        raise Malformed(f"The {self.provider} provider sends no replies.")

    def reply(self, kind: str) -> Reply:
        """What to answer a valid webhook request of ``kind`` ("dlr" or "inbound")."""
        return Reply()

    def fetch_status(self, provider_refs: list[str]) -> list[Report]:
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
    the classification of transport errors that every provider shares."""

    default_url = ""

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

    def transport_failure(self, ref: str, error: Exception) -> Result:
        """The temporary result for a request that got no HTTP answer."""
        requests = self._requests
        if isinstance(error, requests.Timeout):
            text = f"The {self.provider} gateway did not answer within {self.timeout:g} s."
        elif isinstance(error, requests.ConnectionError):
            text = f"The {self.provider} gateway could not be reached ({type(error).__name__})."
        else:
            text = f"The {self.provider} gateway call failed ({type(error).__name__})."
        return Result(ref, TEMPORARY, reason=R_UNREACHABLE, error=text)

    def http_failure(self, ref: str, response) -> Result | None:
        """The temporary result for an HTTP answer that says "not now", or None.

        429 honours Retry-After; 5xx is a gateway error; 401/403 mean the credentials are wrong,
        which an administrator can fix, so the message waits (and other gateways are tried).
        """
        status = response.status_code
        if status == 429:
            return Result(
                ref,
                TEMPORARY,
                reason=R_THROTTLED,
                error=f"The {self.provider} gateway asks to slow down (HTTP 429).",
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        if status >= 500:
            return Result(
                ref,
                TEMPORARY,
                reason=R_GATEWAY_ERROR,
                error=f"The {self.provider} gateway failed (HTTP {status}).",
            )
        if status in (401, 403):
            return Result(
                ref,
                TEMPORARY,
                reason=R_AUTH,
                error=f"The {self.provider} gateway refused the credentials (HTTP {status}).",
            )
        return None


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    from datetime import timezone

    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class TestClient(Client):
    """The built-in provider: sends nothing and answers like a real gateway would.

    Numbers ending in ``0000`` are refused for good, numbers ending in ``9999`` fail temporarily,
    every other number is reported delivered at once. Replies are posted to its inbound webhook as
    JSON ``{"from": "+45...", "text": "..."}`` (or form fields ``from`` and ``text``); the secret
    token in the URL is its only authentication.
    """

    provider = "test"
    receives_inbound = True
    batch_size = 1000
    simulated = True
    __test__ = False  # not a pytest test class

    def __init__(self, **settings):
        super().__init__(**settings)
        self.counter = 0

    def send(self, messages: list[Outgoing]) -> list[Result]:
        results = []
        for message in messages:
            if message.number.endswith("0000"):
                results.append(
                    Result(
                        message.ref,
                        PERMANENT,
                        reason=R_REJECTED,
                        error="The test gateway refuses numbers ending in 0000.",
                    )
                )
            elif message.number.endswith("9999"):
                results.append(
                    Result(
                        message.ref,
                        TEMPORARY,
                        reason=R_GATEWAY_ERROR,
                        error="The test gateway fails temporarily for numbers ending in 9999.",
                    )
                )
            else:
                self.counter += 1
                results.append(Result(message.ref, DELIVERED, provider_ref=f"test-{message.ref}"))
        return results

    def parse_inbound(self, request: Request) -> list[Inbound]:
        data = request.json() if request.body.lstrip().startswith(b"{") else request.params()
        if not isinstance(data, dict):
            raise Malformed("The reply must be a JSON object.")
        number, text = data.get("from"), data.get("text")
        if not isinstance(number, str) or not number.strip() or not isinstance(text, str):
            raise Malformed("A reply needs 'from' and 'text'.")
        return [Inbound(number=number.strip(), body=text, provider_ref=str(data.get("id") or ""))]


#: provider code → client class; the provider modules register themselves in :func:`make_client`.
def _registry() -> dict[str, type[Client]]:
    from . import gatewayapi, kannel, smsapi, twilio

    return {
        "test": TestClient,
        gatewayapi.GatewayApiClient.provider: gatewayapi.GatewayApiClient,
        smsapi.SmsApiClient.provider: smsapi.SmsApiClient,
        twilio.TwilioClient.provider: twilio.TwilioClient,
        kannel.KannelClient.provider: kannel.KannelClient,
    }


def client_class(provider: str) -> type[Client]:
    try:
        return _registry()[provider]
    except KeyError:
        raise ValueError(f"Unknown SMS provider: {provider!r}") from None


def make_client(provider: str, **settings) -> Client:
    """The client for ``provider`` configured with the gateway's ``settings``."""
    return client_class(provider)(**settings)
