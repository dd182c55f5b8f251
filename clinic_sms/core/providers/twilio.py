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
from datetime import datetime
from email.utils import parsedate_to_datetime
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from .. import gateway as gw
from ..phone import redact
from .base import HttpClient, json_of

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
_FAILURE_REASONS = {"undelivered": gw.R_UNDELIVERABLE}

#: Send errors that mean the number cannot take SMS.
_INVALID_NUMBER = {21211, 21217, 21401, 21407, 21612, 21614}
_UNSUBSCRIBED = 21610
#: Delivery error codes worth a sentence for staff (twilio.com/docs/api/errors).
_DELIVERY_ERRORS = {
    "30003": (gw.R_UNDELIVERABLE, "the handset is switched off or out of reach"),
    "30004": (gw.R_REJECTED, "the message was blocked"),
    "30005": (gw.R_INVALID, "the number is unknown or no longer exists"),
    "30006": (gw.R_INVALID, "the number is a landline or the carrier cannot be reached"),
    "30007": (gw.R_REJECTED, "the carrier filtered the message"),
    "30008": (gw.R_UNDELIVERABLE, "unknown error"),
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
    label = "Twilio"
    not_found_hint = "API URL and Account SID"
    default_url = "https://api.twilio.com"
    can_poll = True
    receives_inbound = True
    batch_size = 1

    def _messages_url(self) -> str:
        return f"{self.api_url}/2010-04-01/Accounts/{quote(self.username, safe='')}/Messages"

    def _send_request(self, message: gw.Outgoing) -> tuple[str, str, dict]:
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
        return "POST", f"{self._messages_url()}.json", {"data": data, "auth": (self.username, self.password)}

    def _result(self, ref: str, response) -> gw.Result:
        answer = json_of(response)
        if response.status_code == 404:  # a wrong API URL or Account SID: fixable, so the message waits
            return self.not_found(ref)
        if 400 <= response.status_code < 500:
            return self._refusal(ref, response.status_code, answer)
        if not 200 <= response.status_code < 300 or not isinstance(answer, dict) or not answer.get("sid"):
            # We cannot tell whether Twilio took it; a retry may send it twice (Twilio has no
            # idempotency key), which is better than a reminder that never goes out.
            return self.unreadable([ref], response.status_code)[0]
        return gw.Result(ref, gw.SENT, provider_ref=str(answer["sid"]))

    @staticmethod
    def _refusal(ref: str, status: int, answer) -> gw.Result:
        answer = answer if isinstance(answer, dict) else {}
        code = answer.get("code")
        text = redact(str(answer.get("message") or "no details given"))[:200].rstrip(". ")
        if code == _UNSUBSCRIBED:
            return gw.Result(
                ref,
                gw.PERMANENT,
                reason=gw.R_REJECTED,
                error="The patient replied STOP to this sender number, so Twilio will not deliver SMS to"
                " them until they reply START (Twilio error 21610).",
            )
        if code == 21611:  # the sender's queue is full
            return gw.Result(
                ref,
                gw.TEMPORARY,
                reason=gw.R_THROTTLED,
                error=f"Twilio asks to slow down: {text} (error {code}).",
            )
        reason = gw.R_INVALID if code in _INVALID_NUMBER else gw.R_REJECTED
        suffix = f" (error {code})" if code else f" (HTTP {status})"
        return gw.Result(
            ref, gw.PERMANENT, reason=reason, error=f"Twilio refused the message: {text}{suffix}."
        )

    # --- webhooks -------------------------------------------------------------------------------

    def _check_signature(self, request: gw.Request) -> dict[str, str]:
        """The request's parameters once its ``X-Twilio-Signature`` checks out."""
        if not self.password:
            raise gw.Forged(
                "No Twilio auth token is set for this gateway, so its requests cannot be checked."
            )
        signature = request.header("X-Twilio-Signature").strip()
        if not signature:
            raise gw.Forged("The request has no X-Twilio-Signature.")
        form = dict(request.form) if request.method.upper() == "POST" else {}
        if not any(
            hmac.compare_digest(compute_signature(url, form, self.password).encode(), signature.encode())
            for url in _url_variants(request.url)
        ):
            raise gw.Forged("The X-Twilio-Signature does not match this gateway's auth token.")
        return request.params()

    def parse_report(self, request: gw.Request) -> list[gw.Report]:
        params = self._check_signature(request)
        sid = params.get("MessageSid") or params.get("SmsSid")
        status = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
        if not sid or not status:
            raise gw.Malformed("A Twilio status callback needs 'MessageSid' and 'MessageStatus'.")
        # Twilio echoes nothing of ours: the reference comes back in the (signed) callback URL.
        return [_report(sid, status, params.get("ErrorCode") or "", ref=params.get("ref") or "")]

    def parse_inbound(self, request: gw.Request) -> list[gw.Inbound]:
        params = self._check_signature(request)
        number = (params.get("From") or "").strip()
        if not number or "Body" not in params:
            raise gw.Malformed("A Twilio message needs 'From' and 'Body'.")
        return [
            gw.Inbound(
                number=number,
                body=params["Body"],
                provider_ref=params.get("MessageSid") or params.get("SmsSid") or "",
                to=params.get("To") or "",
            )
        ]

    def reply(self, kind: str) -> gw.Reply:
        if kind == "inbound":
            return gw.Reply(body=EMPTY_TWIML, content_type="text/xml")
        return gw.Reply()

    def _status_request(self, provider_ref: str) -> tuple[str, str, dict]:
        url = f"{self._messages_url()}/{quote(str(provider_ref), safe='')}.json"
        return "GET", url, {"auth": (self.username, self.password)}

    def _status_report(self, provider_ref: str, data) -> gw.Report | None:
        when = data.get("date_updated")
        return _report(
            str(data.get("sid") or provider_ref),
            str(data["status"]).lower(),
            str(data.get("error_code") or ""),
            str(data.get("error_message") or ""),
            at=parsedate_to_datetime(when) if when else None,
        )


def _report(
    sid: str,
    status: str,
    error_code: str,
    error_message: str = "",
    *,
    ref: str = "",
    at: datetime | None = None,
) -> gw.Report:
    state = STATES.get(status)
    if state is None:
        raise gw.Malformed(f"Unknown Twilio status {status[:20]!r}.")
    reason = error = ""
    if state == "failed":
        reason = _FAILURE_REASONS.get(status, gw.R_REJECTED)
        words = error_message and redact(error_message)[:150]
        if error_code in _DELIVERY_ERRORS:
            reason, words = _DELIVERY_ERRORS[error_code]
        error = (
            f"Twilio: {status}"
            + (f", {words}" if words else "")
            + (f" (error {error_code})" if error_code else "")
            + "."
        )
    return gw.Report(sid, state, ref=ref, at=at, reason=reason, error=error)


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


CLIENT = TwilioClient
