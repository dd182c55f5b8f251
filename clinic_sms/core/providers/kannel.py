"""Kannel: the open-source SMS gateway a clinic runs itself (bearerbox + smsbox, driving a GSM modem
or an operator's SMPP link).

Sending: one ``POST {api_url}/cgi-bin/sendsms`` per message, the text as a ``text/plain; UTF-8``
body and every other field in ``X-Kannel-*`` headers, so neither the text, the number nor the
password ends up in a URL (URLs are logged: by urllib3 at DEBUG, by proxies). smsbox answers
202 ``0: Accepted for delivery`` or ``3: Queued for later delivery``. Kannel has no message id of
its own to give back, so the provider reference is our ``ref``, which the dlr-url carries.

Delivery reports: the dlr-url of each message is ``<dlr_url>?ref=<ref>&status=%d&ts=%T``; smsbox
replaces ``%d`` with the report type (1 delivered, 2 failed, 4 buffered, 8 accepted by the SMSC,
16 rejected by the SMSC) and ``%T`` with a Unix time. Kannel signs nothing: the secret token in the
URL is the only authentication. ``%A`` (the SMSC's own words) is left out on purpose: for SMPP
receipts it holds the first 20 characters of the text, and callback URLs end up in access logs.

Replies: an ``sms-service`` posts to the URL of :meth:`KannelClient.webhook_url` ("inbound").

What the administrator sets in ``kannel.conf`` (smsbox side)::

    group = smsbox
    mo-recode = true          # UCS-2 replies (Polish, emoji) reach Odoo as UTF-8
    group = sendsms-user
    username = clinic
    password = ...
    max-messages = 10         # the default 1 cuts a long text to its first part
    concatenation = true
    group = sms-service
    keyword = default
    catch-all = true
    max-messages = 0          # never answer a reply with an SMS
    post-url = "<the Replies URL of the gateway>"
    send-sender = true

A ``get-url`` (:meth:`KannelClient.inbound_get_url`) works too, but puts the patient's number and
text in the URL, which web servers write to their access logs.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from urllib.parse import parse_qs, quote, urlsplit

from .. import gateway as gw
from ..segments import is_gsm7
from ..timing import from_unix
from .base import HttpClient

#: Kannel's delivery report types (the dlr-url's ``%d``) → (report state, reason).
DLR_STATES = {
    1: ("delivered", ""),
    2: ("failed", gw.R_UNDELIVERABLE),
    4: ("buffered", ""),
    8: ("sent", ""),
    16: ("failed", gw.R_REJECTED),
}
#: Ask for every report type (1 + 2 + 4 + 8 + 16).
DLR_MASK = 31
#: The sms-service escapes of a reply: sender, receiver, the text as is (``%a`` would squeeze its
#: spaces), its coding (2 = UCS-2 that smsbox did not recode), time, Kannel's message id.
INBOUND_QUERY = "from=%p&to=%P&text=%b&coding=%c&ts=%T&id=%I"

_CHARSET = re.compile(r"charset\s*=\s*\"?([\w.:-]+)", re.IGNORECASE)
_NUMBERS = re.compile(r"\+?\d[\d ]{4,}\d")


def _escape(url: str) -> str:
    """``url`` as literal text in a Kannel URL pattern: every ``%`` doubled, because Kannel reads
    ``%C``, ``%A``, ``%b``… in percent-encodings (``%C3%A9``) as its own escape codes."""
    return url.replace("%", "%%")


def _join(url: str, query: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{query}"


def _time(value: str | None) -> datetime | None:
    """A Kannel time (``%T``: Unix seconds; ``X-Kannel-Time``: ``YYYY-MM-DD HH:MM:SS`` UTC)."""
    value = (value or "").strip()
    try:
        if value.isdigit():
            return from_unix(value)
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
    except (ValueError, OverflowError, OSError):
        return None


def _decode(body: bytes, charset: str) -> str:
    """``body`` read in ``charset``, or as UTF-8 (what smsbox sends with ``mo-recode``) when Python
    knows no text encoding of that name, or the codec cannot replace what it cannot read."""
    try:
        return body.decode(charset, errors="replace")
    except (LookupError, ValueError):  # unknown name, "rot13", "idna", "undefined"
        return body.decode("utf-8", errors="replace")


def _not_routable(response) -> bool:
    """bearerbox has no SMSC for the number: a 403 that says nothing about the credentials."""
    return response.status_code == 403 and "not routable" in _detail(response).lower()


def _detail(response) -> str:
    """The HTTP status and smsbox's one-line answer, for staff: short, and without anything that
    looks like a phone number (smsbox appends receivers to some answers)."""
    lines = (response.text or "").strip().splitlines()
    answer = _NUMBERS.sub("…", lines[0].strip())[:160] if lines else ""
    return f"HTTP {response.status_code}: {answer}" if answer else f"HTTP {response.status_code}"


class KannelClient(HttpClient):
    provider = "kannel"
    default_url = "http://127.0.0.1:13013"
    can_poll = False
    receives_inbound = True

    # --- sending -------------------------------------------------------------------------------

    def dlr_url_for(self, ref: str) -> str:
        """The dlr-url of one message: our URL and ``ref`` escaped for Kannel, then its escapes."""
        if not self.dlr_url:
            return ""
        return _join(_escape(_join(self.dlr_url, "ref=" + quote(ref, safe=""))), "status=%d&ts=%T")

    def headers_for(self, message: gw.Outgoing) -> dict[str, bytes]:
        headers = {
            "Content-Type": "text/plain; charset=UTF-8",
            "X-Kannel-Username": self.username,
            "X-Kannel-Password": self.password,
            "X-Kannel-To": message.number,
        }
        sender = message.sender or self.sender
        if sender:
            headers["X-Kannel-From"] = sender
        if not is_gsm7(message.body):
            headers["X-Kannel-Coding"] = "2"  # UCS-2; smsbox converts the UTF-8 body
        dlr_url = self.dlr_url_for(message.ref)
        if dlr_url:
            headers["X-Kannel-DLR-Mask"] = str(DLR_MASK)
            headers["X-Kannel-DLR-URL"] = dlr_url
        # Bytes, so a non-Latin-1 sender or password is sent as UTF-8 instead of raising.
        return {name: value.encode("utf-8") for name, value in headers.items()}

    def _send_request(self, message: gw.Outgoing) -> tuple[str, str, dict]:
        url = f"{self.api_url}/cgi-bin/sendsms"
        return "POST", url, {"data": message.body.encode("utf-8"), "headers": self.headers_for(message)}

    def http_failure(self, ref: str, response) -> gw.Result | None:
        if _not_routable(response):
            return None  # a 403 that is no credentials problem: refused for good (see _result)
        return super().http_failure(ref, response)

    def _result(self, ref: str, response) -> gw.Result:
        status, detail = response.status_code, _detail(response)
        answer = detail.lower()
        if 200 <= status < 300:  # smsbox answers 202 only when bearerbox took the message
            return gw.Result(ref, gw.SENT, provider_ref=ref)
        if _not_routable(response):
            # bearerbox has no SMSC for this number and says "Do not try again".
            return gw.Result(
                ref, gw.PERMANENT, reason=gw.R_REJECTED, error=f"Kannel cannot route the message ({detail})."
            )
        failure = self.http_failure(ref, response)  # 403 "Authorization failed", 429, 5xx
        if failure:
            return failure
        if status == 404 or "sender missing" in answer:
            # A wrong URL or a missing sender fails every message: the administrator fixes the
            # gateway and the waiting messages go out, instead of all failing for good.
            return gw.Result(
                ref,
                gw.TEMPORARY,
                reason=gw.R_GATEWAY_ERROR,
                error=f"Kannel is misconfigured ({detail}).",
            )
        if 400 <= status < 500:
            return gw.Result(
                ref,
                gw.PERMANENT,
                reason=gw.R_REJECTED,
                error=f"Kannel refused the message ({detail}).",
            )
        return gw.Result(ref, gw.TEMPORARY, reason=gw.R_GATEWAY_ERROR, error=f"Kannel answered {detail}.")

    # --- callbacks -----------------------------------------------------------------------------

    def webhook_url(self, kind: str, url: str) -> str:
        """For "inbound", the sms-service post-url (used with ``send-sender = true``: the number and
        the text travel in headers and body, out of access logs); for "dlr", our URL as is: the
        dlr-url is given per message (:meth:`dlr_url_for`) and needs no setup."""
        if kind == "inbound":
            return _escape(url)
        return url

    @staticmethod
    def inbound_get_url(url: str) -> str:
        """The sms-service get-url alternative: our URL plus Kannel's escapes (the number and text
        then appear in the URL, hence in access logs)."""
        return _join(_escape(url), INBOUND_QUERY)

    def parse_report(self, request: gw.Request) -> list[gw.Report]:
        params = request.params()
        ref = (params.get("ref") or "").strip()
        status = (params.get("status") or "").strip()
        if not ref:
            raise gw.Malformed("A Kannel delivery report needs 'ref'.")
        if status not in {str(code) for code in DLR_STATES}:  # "²".isdigit(), yet int("²") fails
            raise gw.Malformed(f"Unknown Kannel delivery report type {status[:20]!r}.")
        state, reason = DLR_STATES[int(status)]
        error = ""
        if state == "failed":
            what = "could not be delivered" if reason == gw.R_UNDELIVERABLE else "was rejected by the SMSC"
            error = f"Kannel reports that the message {what} (type {status})."
        return [gw.Report(ref, state, ref=ref, at=_time(params.get("ts")), reason=reason, error=error)]

    def parse_inbound(self, request: gw.Request) -> list[gw.Inbound]:
        params = request.params()
        if "from" in params:  # get-url with INBOUND_QUERY
            number, text, to = params["from"], params.get("text"), params.get("to", "")
            at, ref = _time(params.get("ts")), params.get("id", "")
            if params.get("coding") == "2":
                text = self._ucs2_text(request.url, text)
        elif request.header("x-kannel-from"):  # post-url with send-sender = true
            number, to = request.header("x-kannel-from"), request.header("x-kannel-to")
            at, ref = _time(request.header("x-kannel-time")), ""
            charset = _CHARSET.search(request.header("content-type"))
            text = _decode(request.body, charset.group(1) if charset else "utf-8")
        else:
            raise gw.Malformed(
                "A Kannel reply needs 'from' (get-url) or X-Kannel-From (post-url, send-sender)."
            )
        number = (number or "").strip()
        if not number or text is None:
            raise gw.Malformed("A Kannel reply needs the sender's number and the text.")
        return [gw.Inbound(number=number, body=text, provider_ref=ref.strip(), to=to.strip(), at=at)]

    @staticmethod
    def _ucs2_text(url: str, text: str | None) -> str | None:
        """The text of a UCS-2 reply smsbox passed on as raw UTF-16BE bytes (``mo-recode`` off):
        the web framework decoded them as UTF-8 already, so they are read again from the URL."""
        raw = parse_qs(urlsplit(url).query, keep_blank_values=True, encoding="latin-1").get("text")
        if not raw:
            return text
        try:
            return raw[0].encode("latin-1").decode("utf-16-be")
        except UnicodeError:
            return text

    def reply(self, kind: str) -> gw.Reply:
        # An empty 200: with max-messages = 0 smsbox sends no SMS back, whatever the body says.
        return gw.Reply(status=200, body="")


CLIENT = KannelClient
