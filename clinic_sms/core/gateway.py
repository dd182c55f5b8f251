"""What the gateway clients and the add-on exchange: messages, results, delivery reports, replies,
webhook requests and answers, their errors, and the rules on them that need no provider (back-off,
routing by prefix, which report may move a message on).

The clients themselves are in :mod:`core.providers` (the contract in ``providers/base.py``, one module
per provider). A client takes :class:`Outgoing` messages and answers one :class:`Result` per message,
in the same order; it reads delivery reports as :class:`Report` and patients' replies as
:class:`Inbound` from a :class:`Request` (the web framework is not known here). A request whose
signature is missing or wrong raises :class:`Forged`; one that cannot be read raises
:class:`Malformed`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from .exceptions import CoreError
from .text import ERROR_LIMIT, clean_field, clean_text

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
