"""Twilio Programmable Messaging: ``/2010-04-01/Accounts/{AccountSid}/Messages.json``.

Facts this client relies on (twilio.com/docs/messaging/api/message-resource,
twilio.com/docs/usage/security, twilio.com/docs/api/errors):

* ``POST …/Messages.json`` with Basic auth (Account SID, auth token) and form fields ``To``,
  ``Body``, ``From`` (or ``MessagingServiceSid``, a SID starting with ``MG``) and ``StatusCallback``.
  One message per request; the answer is 201 with the message resource (``sid``, ``status``).
* Errors are JSON ``{"code", "message", "more_info", "status"}``: 21211 invalid 'To' number,
  21614 not a mobile number, 21610 the recipient replied STOP, 20003 authentication, 20429 rate.
  Twilio's messages quote the number, so they are masked before they reach an error text.
* Status callbacks and incoming messages are form POSTs signed in ``X-Twilio-Signature``:
  base64(HMAC-SHA1(auth token, full URL + every POST parameter name and value, sorted by name)).
  Twilio's documented example (token ``12345``, ``https://mycompany.com/myapp.php?foo=1&bar=2``)
  gives ``0/KCTR6DLpKmkAf8muzZqo1nDgQ=``; the tests check it.
* Message statuses: queued, sending, sent, delivered, undelivered, failed, accepted, scheduled,
  read, canceled; ``ErrorCode`` says why a message failed (30003 unreachable handset, …).
* ``GET …/Messages/{sid}.json`` answers the message with its status, so the client can poll.
* Replies: ``From``, ``To``, ``Body``, ``MessageSid``; Twilio expects TwiML back (an empty
  ``<Response/>`` sends no answer to the patient).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from datetime import datetime
from email.utils import parsedate_to_datetime
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from . import phone
from .gateway import (
    PERMANENT,
    R_GATEWAY_ERROR,
    R_INVALID,
    R_REJECTED,
    R_THROTTLED,
    R_UNDELIVERABLE,
    SENT,
    TEMPORARY,
    Forged,
    HttpClient,
    Inbound,
    Malformed,
    Outgoing,
    Reply,
    Report,
    Request,
    Result,
)

_logger = logging.getLogger(__name__)

#: Twilio message status → report state.
STATES = {
    "accepted": "sent",
    "scheduled": "sent",
    "queued": "sent",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}
# "undelivered": the network gave up; "failed"/"canceled": Twilio never sent it.
_FAILURE_REASONS = {"undelivered": R_UNDELIVERABLE}

#: Send errors that mean the number cannot take SMS.
_INVALID_NUMBER = {21211, 21217, 21401, 21407, 21612, 21614}
_UNSUBSCRIBED = 21610
#: Delivery error codes worth a sentence for staff (twilio.com/docs/api/errors).
_DELIVERY_ERRORS = {
    "30003": (R_UNDELIVERABLE, "the handset is switched off or out of reach"),
    "30004": (R_REJECTED, "the message was blocked"),
    "30005": (R_INVALID, "the number is unknown or no longer exists"),
    "30006": (R_INVALID, "the number is a landline or the carrier cannot be reached"),
    "30007": (R_REJECTED, "the carrier filtered the message"),
    "30008": (R_UNDELIVERABLE, "unknown error"),
}

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def compute_signature(url: str, params: dict[str, str], token: str) -> str:
    """The ``X-Twilio-Signature`` Twilio sends for a request to ``url`` with POST ``params``."""
    data = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(
        hmac.new(token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1).digest()
    ).decode()


class TwilioClient(HttpClient):
    """``username`` is the Account SID, ``password`` the auth token (which also signs webhooks)."""

    provider = "twilio"
    default_url = "https://api.twilio.com"
    can_poll = True
    receives_inbound = True
    batch_size = 1

    def _messages_url(self) -> str:
        return f"{self.api_url}/2010-04-01/Accounts/{quote(self.username, safe='')}/Messages"

    def send(self, messages: list[Outgoing]) -> list[Result]:
        return [self._send_one(m) for m in messages]

    def _send_one(self, message: Outgoing) -> Result:
        data = {"To": message.number, "Body": message.body}
        sender = message.sender or self.sender
        if sender.startswith("MG") and len(sender) == 34:
            data["MessagingServiceSid"] = sender
        elif sender:
            data["From"] = sender
        if self.dlr_url:
            # Our reference rides along in the callback URL (Twilio signs it with the rest): a report
            # then finds its message even when the answer carrying Twilio's sid was lost.
            data["StatusCallback"] = (
                self.dlr_url + ("&" if "?" in self.dlr_url else "?") + urlencode({"ref": message.ref})
            )
        try:
            response = self.request(
                "POST", f"{self._messages_url()}.json", data=data, auth=(self.username, self.password)
            )
        except self._requests.RequestException as error:
            _logger.info("twilio: message %s not handed over: %s", message.ref, type(error).__name__)
            return self.transport_failure(message.ref, error)
        failure = self.http_failure(message.ref, response)
        if failure:
            _logger.info("twilio: message %s refused for now (HTTP %s)", message.ref, response.status_code)
            return failure
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code == 404:  # a wrong API URL or Account SID: fixable, so the message waits
            return Result(
                message.ref,
                TEMPORARY,
                reason=R_GATEWAY_ERROR,
                error="Twilio answered 'not found' (HTTP 404): check the gateway's API URL and Account SID.",
            )
        if 400 <= response.status_code < 500:
            return self._refusal(message.ref, response.status_code, answer)
        if not 200 <= response.status_code < 300 or not isinstance(answer, dict) or not answer.get("sid"):
            # We cannot tell whether Twilio took it; a retry may send it twice (Twilio has no
            # idempotency key), which is better than a reminder that never goes out.
            _logger.warning(
                "twilio: unreadable answer for message %s (HTTP %s)", message.ref, response.status_code
            )
            return Result(
                message.ref,
                TEMPORARY,
                reason=R_GATEWAY_ERROR,
                error="Twilio gave an answer that could not be read; the message will be sent again.",
            )
        return Result(message.ref, SENT, provider_ref=str(answer["sid"]))

    @staticmethod
    def _refusal(ref: str, status: int, answer) -> Result:
        answer = answer if isinstance(answer, dict) else {}
        code = answer.get("code")
        text = _redact(str(answer.get("message") or "no details given"))[:200].rstrip(". ")
        if code == _UNSUBSCRIBED:
            return Result(
                ref,
                PERMANENT,
                reason=R_REJECTED,
                error="The patient replied STOP to this sender number, so Twilio will not deliver SMS to"
                " them until they reply START (Twilio error 21610).",
            )
        if code == 21611:  # the sender's queue is full
            return Result(
                ref, TEMPORARY, reason=R_THROTTLED, error=f"Twilio asks to slow down: {text} (error {code})."
            )
        reason = R_INVALID if code in _INVALID_NUMBER else R_REJECTED
        suffix = f" (error {code})" if code else f" (HTTP {status})"
        return Result(ref, PERMANENT, reason=reason, error=f"Twilio refused the message: {text}{suffix}.")

    # --- webhooks -------------------------------------------------------------------------------

    def _check_signature(self, request: Request) -> dict[str, str]:
        """The request's parameters once its ``X-Twilio-Signature`` checks out."""
        if not self.password:
            raise Forged("No Twilio auth token is set for this gateway, so its requests cannot be checked.")
        signature = request.header("X-Twilio-Signature").strip()
        if not signature:
            raise Forged("The request has no X-Twilio-Signature.")
        form = dict(request.form) if request.method.upper() == "POST" else {}
        if not any(
            hmac.compare_digest(compute_signature(url, form, self.password).encode(), signature.encode())
            for url in _url_variants(request.url)
        ):
            raise Forged("The X-Twilio-Signature does not match this gateway's auth token.")
        return request.params()

    def parse_report(self, request: Request) -> list[Report]:
        params = self._check_signature(request)
        sid = params.get("MessageSid") or params.get("SmsSid")
        status = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
        if not sid or not status:
            raise Malformed("A Twilio status callback needs 'MessageSid' and 'MessageStatus'.")
        # Twilio echoes nothing of ours: the reference comes back in the (signed) callback URL.
        return [_report(sid, status, params.get("ErrorCode") or "", ref=params.get("ref") or "")]

    def parse_inbound(self, request: Request) -> list[Inbound]:
        params = self._check_signature(request)
        number = (params.get("From") or "").strip()
        if not number or "Body" not in params:
            raise Malformed("A Twilio message needs 'From' and 'Body'.")
        return [
            Inbound(
                number=number,
                body=params["Body"],
                provider_ref=params.get("MessageSid") or params.get("SmsSid") or "",
                to=params.get("To") or "",
            )
        ]

    def reply(self, kind: str) -> Reply:
        if kind == "inbound":
            return Reply(body=EMPTY_TWIML, content_type="text/xml")
        return Reply()

    def fetch_status(self, provider_refs: list[str]) -> list[Report]:
        reports = []
        for sid in provider_refs:
            try:
                response = self.request(
                    "GET",
                    f"{self._messages_url()}/{quote(str(sid), safe='')}.json",
                    auth=(self.username, self.password),
                )
            except self._requests.RequestException as error:
                _logger.info("twilio: status poll stopped: %s", type(error).__name__)
                break
            if response.status_code == 404:
                continue
            if response.status_code != 200:
                _logger.info("twilio: status poll stopped (HTTP %s)", response.status_code)
                break
            try:
                data = response.json()
                when = data.get("date_updated")
                reports.append(
                    _report(
                        str(data.get("sid") or sid),
                        str(data["status"]).lower(),
                        str(data.get("error_code") or ""),
                        str(data.get("error_message") or ""),
                        at=parsedate_to_datetime(when) if when else None,
                    )
                )
            except (ValueError, KeyError, TypeError, AttributeError, Malformed):
                _logger.info("twilio: unreadable status of one message")
        return reports


def _report(
    sid: str,
    status: str,
    error_code: str,
    error_message: str = "",
    *,
    ref: str = "",
    at: datetime | None = None,
) -> Report:
    state = STATES.get(status)
    if state is None:
        raise Malformed(f"Unknown Twilio status {status[:20]!r}.")
    reason = error = ""
    if state == "failed":
        reason = _FAILURE_REASONS.get(status, R_REJECTED)
        words = error_message and _redact(error_message)[:150]
        if error_code in _DELIVERY_ERRORS:
            reason, words = _DELIVERY_ERRORS[error_code]
        error = (
            f"Twilio: {status}"
            + (f", {words}" if words else "")
            + (f" (error {error_code})" if error_code else "")
            + "."
        )
    return Report(sid, state, ref=ref, at=at, reason=reason, error=error)


def _url_variants(url: str) -> list[str]:
    """``url`` as received and with its default port added or removed: Twilio signs the URL as it
    called it, which a proxy in front of Odoo may have rewritten that way (Twilio's SDKs try both)."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    if not default or not parts.hostname:
        return [url]
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = host if parts.port else f"{host}:{default}"
    if parts.port not in (None, default):
        return [url]
    return [url, urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))]


_NUMBER = re.compile(r"\+?\d{6,}")


def _redact(text: str) -> str:
    """``text`` with every phone number in it masked: error texts are shown to staff and logged."""
    return _NUMBER.sub(lambda match: phone.mask(match.group()), text)
