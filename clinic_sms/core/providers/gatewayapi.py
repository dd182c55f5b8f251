"""GatewayAPI (gatewayapi.com, EU platform gatewayapi.eu through ``api_url``): the REST API.

Facts this client relies on (GatewayAPI's REST documentation, gatewayapi.com/docs/apis/rest and its
source github.com/onlinecity/gatewayapi-docs ``docs/rest.rst`` and ``docs/errors.rst``):

* ``POST /rest/mtsms``, the API token as the Basic-auth user name with an empty password. The body
  is one message object or a *list* of them; each has ``message``, ``recipients: [{msisdn}]``,
  ``sender``, ``userref`` (echoed in delivery reports), ``callback_url`` and ``encoding``
  (``UTF8`` = GSM 03.38, the default, or ``UCS2``). The answer is 200 ``{"ids": [...], "usage": …}``
  with one id per message object: the documented example sends two message objects (three
  recipients) and gets two ids, and its ``extra_details`` variant lists them in request order. That
  the ids come in request order is shown by that example, not stated in words.
* Errors: 400 (invalid arguments), 401 (API key), 403 (IP address), 422 (invalid JSON), 500, with
  a JSON body ``{"code": "0x0213", "message": "Unauthorized IP-address: %1", "variables": […]}``.
* Delivery reports: POST JSON ``{id, msisdn, time, status, error, code, userref, …}``. When the
  webhook has an authentication token, GatewayAPI sends an HS256 JWT in ``X-Gwapi-Signature``
  signed with it; the token's payload is the notification itself (the documented example decodes to
  ``{"id": …, "msisdn": …, "status": "DELIVERED", "userref": …, "callback_url": …, "api": 4}``).
  The docs do not say in words that payload and body are equal, so we read the *signed* payload and
  only require the fields both carry to agree. Replies (MO SMS) reach the same kind of webhook:
  ``{id, msisdn, receiver, message, senttime, webhook_label, …}``, signed the same way.
* ``GET /rest/mtsms/<id>`` answers the message with ``recipients[].dsnstatus`` (404 until it
  reached long-term storage), so the client can poll.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
from urllib.parse import quote

from .. import gateway as gw
from .. import segments
from ..timing import from_unix
from .base import HttpClient

_logger = logging.getLogger(__name__)

#: GatewayAPI status → report state. ACCEPTED ("the network accepted it on the user's behalf") is
#: final at GatewayAPI but says nothing about the handset, so it stays "sent".
STATES = {
    "UNKNOWN": "sent",
    "SCHEDULED": "sent",
    "ENROUTE": "sent",
    "ACCEPTED": "sent",
    "BUFFERED": "buffered",
    "DELIVERED": "delivered",
    "EXPIRED": "expired",
    "UNDELIVERABLE": "failed",
    "REJECTED": "failed",
    "DELETED": "failed",
    "SKIPPED": "failed",
}
_FAILURE_REASONS = {"UNDELIVERABLE": gw.R_UNDELIVERABLE, "EXPIRED": gw.R_UNDELIVERABLE}  # others: R_REJECTED

# API error codes (docs/errors.rst) that need another answer than "refused for good".
_AUTH_CODES = {"0x0210", "0x0211", "0x0212", "0x0213", "0x0223", "0x0224", "0x0225", "0x0226"}
_TEMPORARY_CODES = {
    "0x0214": (gw.R_THROTTLED, "GatewayAPI has blocked this number for a while"),  # temporary blacklist
    "0x0216": (gw.R_GATEWAY_ERROR, "The GatewayAPI account has no credit left"),
}
# The fields a report and the signed token must agree on when both carry them.
_SIGNED_FIELDS = ("id", "msisdn", "status", "userref", "time", "message", "receiver", "senttime")


class GatewayApiClient(HttpClient):
    provider = "gatewayapi"
    label = "GatewayAPI"
    default_url = "https://gatewayapi.com"
    can_poll = True
    receives_inbound = True
    batch_size = 500  # GatewayAPI takes a list of messages per request; 500 keeps requests small

    def send(self, messages: list[gw.Outgoing]) -> list[gw.Result]:
        results = []
        for start in range(0, len(messages), self.batch_size):
            results += self._send_batch(messages[start : start + self.batch_size])
        return results

    def _send_batch(self, batch: list[gw.Outgoing]) -> list[gw.Result]:
        invalid = {m.ref for m in batch if not m.number.lstrip("+").isdigit()}
        sendable = [m for m in batch if m.ref not in invalid]
        sent = iter(self._post(sendable) if sendable else [])
        return [
            gw.Result(
                m.ref, gw.PERMANENT, reason=gw.R_INVALID, error="The number is not in international format."
            )
            if m.ref in invalid
            else next(sent)
            for m in batch
        ]

    def _post(self, batch: list[gw.Outgoing]) -> list[gw.Result]:
        payload = [self._message(m) for m in batch]
        refs = [m.ref for m in batch]
        response = self.exchange(
            refs, "POST", f"{self.api_url}/rest/mtsms", json=payload, auth=(self.api_key, "")
        )
        if isinstance(response, list):
            return response
        if response.status_code == 404:
            return [self.not_found(ref) for ref in refs]
        if 400 <= response.status_code < 500:
            if len(batch) > 1:
                # GatewayAPI refuses the whole request when one message in it is bad, and a refused
                # request accepted nothing: send each half again, so only the bad one fails and one
                # bad number in 500 costs about 2·log2(500) ≈ 18 requests, not 500.
                _logger.info("gatewayapi: batch of %d refused; sending it in halves", len(batch))
                half = len(batch) // 2
                return self._post(batch[:half]) + self._post(batch[half:])
            return [self._refusal(batch[0], response)]
        ids = self._ids(response, len(batch))
        if ids is None:
            # A 2xx we cannot read: we cannot know which messages GatewayAPI took, so all are retried
            # (temporary). If it did take them, the retry sends them twice; GatewayAPI has no
            # idempotency key to prevent that, and losing a reminder would be worse.
            return self.unreadable(refs, response.status_code)
        return [gw.Result(m.ref, gw.SENT, provider_ref=str(i)) for m, i in zip(batch, ids, strict=True)]

    def _message(self, message: gw.Outgoing) -> dict:
        item = {
            "message": message.body,
            "recipients": [{"msisdn": int(message.number.lstrip("+"))}],
            "userref": message.ref,
        }
        sender = message.sender or self.sender
        if sender:
            item["sender"] = sender
        if self.dlr_url:
            item["callback_url"] = self.dlr_url
        if not segments.is_gsm7(message.body):
            item["encoding"] = "UCS2"  # else GatewayAPI's default UTF8 (= GSM 03.38) would mangle it
        return item

    @staticmethod
    def _ids(response, count: int) -> list[str] | None:
        """The message ids of a 2xx answer, or None when it is not the documented shape."""
        if not 200 <= response.status_code < 300:
            return None
        try:
            ids = response.json().get("ids")
        except (ValueError, AttributeError):
            return None
        if not isinstance(ids, list) or len(ids) != count:
            return None
        if not all(isinstance(i, (int, str)) and not isinstance(i, bool) and str(i) for i in ids):
            return None
        return [str(i) for i in ids]

    def _refusal(self, message: gw.Outgoing, response) -> gw.Result:
        code, text = _error(response)
        detail = f"GatewayAPI refused the message (HTTP {response.status_code}): {text}"
        detail += f" [{code}]." if code else "."
        if code in _AUTH_CODES:
            return gw.Result(message.ref, gw.TEMPORARY, reason=gw.R_AUTH, error=detail)
        if code in _TEMPORARY_CODES:
            reason, sentence = _TEMPORARY_CODES[code]
            return gw.Result(message.ref, gw.TEMPORARY, reason=reason, error=f"{sentence}: {text} [{code}].")
        lowered = text.lower()
        invalid = (
            code != "0x0215" and "invalid" in lowered and ("msisdn" in lowered or "recipient" in lowered)
        )
        return gw.Result(
            message.ref, gw.PERMANENT, reason=gw.R_INVALID if invalid else gw.R_REJECTED, error=detail
        )

    # --- webhooks -------------------------------------------------------------------------------

    def _signed_data(self, request: gw.Request) -> dict:
        """The notification, from the JWT in ``X-Gwapi-Signature`` once its signature checks out."""
        if not self.webhook_secret:
            raise gw.Forged(
                "No webhook secret is set for this GatewayAPI gateway, so unsigned requests are refused."
            )
        token = request.header("X-Gwapi-Signature").strip()
        if not token:
            raise gw.Forged("The request has no X-Gwapi-Signature token.")
        parts = token.split(".")
        if len(parts) != 3:
            raise gw.Forged("The X-Gwapi-Signature token is not a JWT.")
        try:
            header = json.loads(_b64url(parts[0]))
            signature = _b64url(parts[2])
            signed = f"{parts[0]}.{parts[1]}".encode("ascii")
        except (ValueError, binascii.Error, UnicodeError, RecursionError) as error:
            raise gw.Forged("The X-Gwapi-Signature token cannot be read.") from error
        # Only HS256 is accepted: a token naming another algorithm ("none") is refused outright.
        if not isinstance(header, dict) or header.get("alg") != "HS256":
            raise gw.Forged("The X-Gwapi-Signature token is not signed with HS256.")
        expected = hmac.new(self.webhook_secret.encode("utf-8"), signed, hashlib.sha256).digest()
        if not hmac.compare_digest(expected, signature):
            raise gw.Forged("The X-Gwapi-Signature token was not signed with this gateway's secret.")
        try:
            claims = json.loads(_b64url(parts[1]))
        except (ValueError, binascii.Error, RecursionError) as error:
            raise gw.Forged("The X-Gwapi-Signature token cannot be read.") from error
        if not isinstance(claims, dict):
            raise gw.Malformed("The signed notification is not a JSON object.")
        if request.body.strip():
            body = request.json()
            if not isinstance(body, dict):
                raise gw.Malformed("The notification is not a JSON object.")
            for key in _SIGNED_FIELDS:
                if key in body and key in claims and str(body[key]) != str(claims[key]):
                    raise gw.Forged("The request body does not match its signed token.")
        # Replays of a genuine token are possible (it carries no expiry) but harmless: a report
        # never moves a message back, and a replayed reply is recognised by its id.
        return claims

    def parse_report(self, request: gw.Request) -> list[gw.Report]:
        data = self._signed_data(request)
        status, provider_ref = data.get("status"), data.get("id")
        if not isinstance(status, str) or provider_ref in (None, ""):
            raise gw.Malformed("A GatewayAPI delivery report needs 'id' and 'status'.")
        return [self._report(str(provider_ref), status, data.get("userref"), data.get("time"), data)]

    @staticmethod
    def _report(provider_ref: str, status: str, userref, when, data: dict) -> gw.Report:
        state = STATES.get(status.upper())
        if state is None:
            raise gw.Malformed(f"Unknown GatewayAPI status {status[:20]!r}.")
        reason = error = ""
        if state in ("failed", "expired"):
            reason = _FAILURE_REASONS.get(status.upper(), gw.R_REJECTED)
            words = " ".join(str(data[k]) for k in ("error", "code") if data.get(k))
            error = f"GatewayAPI: {status.upper()}" + (f" ({words})" if words else "")
        return gw.Report(
            provider_ref, state, ref=str(userref or ""), at=from_unix(when), reason=reason, error=error
        )

    def parse_inbound(self, request: gw.Request) -> list[gw.Inbound]:
        data = self._signed_data(request)
        msisdn, text = data.get("msisdn"), data.get("message")
        if msisdn in (None, "") or not isinstance(text, str):
            raise gw.Malformed("A GatewayAPI reply needs 'msisdn' and 'message'.")
        number = str(msisdn).strip()
        return [
            gw.Inbound(
                number=f"+{number}" if number.isdigit() else number,
                body=text,  # with the keyword when the clinic leases one on a shared short code
                provider_ref=str(data.get("id") or ""),
                to=str(data.get("receiver") or ""),
                at=from_unix(data.get("senttime")),
            )
        ]

    def _status_request(self, provider_ref: str) -> tuple[str, str, dict]:
        # 404 until the message reached GatewayAPI's long-term storage: skipped, asked again later
        url = f"{self.api_url}/rest/mtsms/{quote(str(provider_ref), safe='')}"
        return "GET", url, {"auth": (self.api_key, "")}

    def _status_report(self, provider_ref: str, data) -> gw.Report | None:
        item = data[0] if isinstance(data, list) else data
        recipient = item["recipients"][0]
        status = recipient.get("dsnstatus")
        if not status:
            return None
        return self._report(
            str(item.get("id") or provider_ref),
            status,
            item.get("userref"),
            recipient.get("dsntime"),
            {"error": recipient.get("dsnerror"), "code": recipient.get("dsnerrorcode")},
        )


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _error(response) -> tuple[str, str]:
    """GatewayAPI's error code and message. Its ``%1`` placeholders stay unfilled: the variables can
    hold the patient's number, which never goes into an error text."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return "", "no details given"
    code = str(data.get("code") or "")
    text = str(data.get("message") or "no details given").replace("%1", "…").replace("%2", "…")
    return code, text[:200].rstrip(". ")


CLIENT = GatewayApiClient
