"""SMSAPI (smsapi.pl, international smsapi.com through ``api_url``): the ``sms.do`` API.

Facts this client relies on:

* ``POST /sms.do`` with ``Authorization: Bearer <token>`` and form fields ``to``, ``message``,
  ``from``, ``encoding``, ``idx``, ``check_idx``, ``notify_url``, ``format=json`` (SMSAPI's own
  clients: github.com/smsapi/smsapi-python-client ``smsapi/sms/api.py``, smsapi-go ``smsapi/sms.go``).
* The answer is ``{"count": 1, "list": [{"id", "points", "number", "date_sent", "status": "QUEUE",
  "idx"}]}``; a refusal is ``{"error": <code>, "message": …}`` *with HTTP 200*, e.g. ``13`` "No
  correct phone numbers" with ``invalid_numbers`` (smsapi-python-client
  ``tests/sms/fixtures/send_to_invalid_number.json``; smsapi-go ``CheckError`` treats any ``error``
  as a failure whatever the HTTP status).
* ``idx`` + ``check_idx=1``: SMSAPI refuses a second message with the same ``idx`` (error 53), so a
  retry after a lost answer cannot send a reminder twice. Our ``idx`` is the message's reference.
* Delivery reports call ``notify_url`` with GET parameters ``MsgId``, ``status`` (numeric),
  ``idx``, ``donedate`` (UNIX time), ``username``, ``points``, ``to``; SMSAPI batches 1 to 5
  reports per call as comma-separated values, and expects ``OK`` as the answer. The numeric codes
  401 NOT_FOUND … 410 ACCEPTED come from a production integration that quotes SMSAPI's callback
  documentation (erigones esdc-ce ``api/sms/smsapi.py``); SMSAPI's own page was not reachable here.
* Callbacks are not signed: the secret token in our webhook URL is their only authentication (the
  Odoo controller checks it), so :meth:`SmsApiClient.parse_report` only checks their shape.
* ``GET /sms.do?status=<id>&format=json`` answers the message with its ``status`` name
  (smsapi-go ``Sms.Get``), so the client can poll.

Not confirmed from a source read here (taken from the brief and SMSAPI's error list as remembered):
the reply (MO) callback fields ``sms_from``, ``sms_to``, ``sms_text``, ``sms_date``, ``MsgId``,
``username``, and error codes other than 13.
"""

from __future__ import annotations

from datetime import datetime

from .. import gateway as gw
from ..phone import redact
from ..timing import from_unix
from .base import HttpClient, json_of

#: Status names (polling) and their numeric callback codes → (report state, reason, words for staff).
#: UNKNOWN ("no report, it may or may not have arrived") and ACCEPTED (by the operator) stay "sent".
STATUSES = {
    "EXPIRED": ("402", "expired", gw.R_UNDELIVERABLE, "The message expired before it could be delivered."),
    "SENT": ("403", "sent", "", ""),
    "DELIVERED": ("404", "delivered", "", ""),
    "UNDELIVERED": ("405", "failed", gw.R_UNDELIVERABLE, "The network could not deliver the message."),
    "FAILED": ("406", "failed", gw.R_UNDELIVERABLE, "SMSAPI could not send the message."),
    "REJECTED": ("407", "failed", gw.R_REJECTED, "The network rejected the message."),
    "UNKNOWN": ("408", "sent", "", ""),
    "QUEUE": ("409", "sent", "", ""),
    "ACCEPTED": ("410", "sent", "", ""),
}
_BY_CODE = {code: name for name, (code, *_rest) in STATUSES.items()}
_NOT_FOUND = ("401", "NOT_FOUND")  # "wrong id or the report expired": says nothing about the message

# Error codes that are not "refused for good": credentials and IP filter (an administrator fixes
# them), account credit, SMSAPI's own failures and its rate limits.
_ERRORS = {
    101: (gw.R_AUTH, "SMSAPI refused the access token"),
    102: (gw.R_AUTH, "SMSAPI refused the user name or password"),
    105: (gw.R_AUTH, "SMSAPI refused this server's IP address"),
    103: (gw.R_GATEWAY_ERROR, "The SMSAPI account has no points left"),
    52: (gw.R_THROTTLED, "SMSAPI refuses more messages to this number for now"),
    200: (gw.R_GATEWAY_ERROR, "SMSAPI could not take the message"),
    201: (gw.R_GATEWAY_ERROR, "SMSAPI failed"),
    202: (gw.R_THROTTLED, "SMSAPI asks to slow down"),
    203: (gw.R_THROTTLED, "SMSAPI asks to slow down"),
    999: (gw.R_GATEWAY_ERROR, "SMSAPI failed"),
}
_NO_VALID_NUMBER = 13
_DUPLICATE_IDX = 53  # check_idx: a message with this idx was already accepted


class SmsApiClient(HttpClient):
    provider = "smsapi"
    label = "SMSAPI"
    default_url = "https://api.smsapi.pl"
    can_poll = True
    receives_inbound = True
    batch_size = 1  # one request per message: each message has its own text and idx
    idempotent_resend = True  # check_idx: SMSAPI refuses a second message with the same idx

    def __init__(self, **settings):
        super().__init__(**settings)
        self.session.headers["Authorization"] = f"Bearer {self.api_key}"

    def _send_request(self, message: gw.Outgoing) -> tuple[str, str, dict]:
        data = {
            "to": message.number.lstrip("+"),
            "message": message.body,
            "encoding": "utf-8",
            "format": "json",
            "idx": message.ref,
            "check_idx": "1",
        }
        sender = message.sender or self.sender
        if sender:
            data["from"] = sender
        if self.dlr_url:
            data["notify_url"] = self.dlr_url
        return "POST", f"{self.api_url}/sms.do", {"data": data}

    def _result(self, ref: str, response) -> gw.Result:
        answer = json_of(response)
        if isinstance(answer, dict) and answer.get("error") not in (None, "", 0, "0"):
            return self._refusal(ref, answer)
        if response.status_code == 404:
            return self.not_found(ref)
        if 400 <= response.status_code < 500:
            return gw.Result(
                ref,
                gw.PERMANENT,
                reason=gw.R_REJECTED,
                error=f"SMSAPI refused the message (HTTP {response.status_code}).",
            )
        entries = (
            answer.get("list") if isinstance(answer, dict) and 200 <= response.status_code < 300 else None
        )
        if (
            not isinstance(entries, list)
            or len(entries) != 1
            or not isinstance(entries[0], dict)
            or not entries[0].get("id")
        ):
            # Unlike other providers a retry is safe here: if SMSAPI did take the message, the retry
            # carries the same idx and is refused with error 53, which we read as "sent".
            return self.unreadable([ref], response.status_code, again="tried again")[0]
        return gw.Result(ref, gw.SENT, provider_ref=str(entries[0]["id"]))

    @staticmethod
    def _refusal(ref: str, answer: dict) -> gw.Result:
        try:
            code = int(answer.get("error"))
        except (TypeError, ValueError):
            code = None
        text = redact(str(answer.get("message") or "no details given"))[:200].rstrip(". ")
        if code == _DUPLICATE_IDX:
            # Our earlier attempt reached SMSAPI although its answer got lost: the message is on its
            # way, and its delivery report will find it by idx (= our reference).
            return gw.Result(
                ref, gw.SENT, error="SMSAPI had already accepted this message; it was not sent a second time."
            )
        if code in _ERRORS:
            reason, sentence = _ERRORS[code]
            return gw.Result(ref, gw.TEMPORARY, reason=reason, error=f"{sentence}: {text} (error {code}).")
        reason = gw.R_INVALID if code == _NO_VALID_NUMBER else gw.R_REJECTED
        return gw.Result(
            ref,
            gw.PERMANENT,
            reason=reason,
            error=f"SMSAPI refused the message: {text} (error {answer.get('error')}).",
        )

    # --- webhooks -------------------------------------------------------------------------------

    def parse_report(self, request: gw.Request) -> list[gw.Report]:
        params = request.params()
        ids = _split(params.get("MsgId"))
        statuses = _split(params.get("status"))
        if not ids or len(statuses) != len(ids):
            raise gw.Malformed("An SMSAPI report needs as many 'MsgId' as 'status' values.")
        idxs = _split(params.get("idx"))
        dates = _split(params.get("donedate"))
        reports = []
        for i, (provider_ref, status) in enumerate(zip(ids, statuses, strict=True)):
            if status.upper() in _NOT_FOUND:
                continue
            ref = idxs[i] if len(idxs) == len(ids) else ""
            at = from_unix(dates[i]) if len(dates) == len(ids) else None
            reports.append(_report(provider_ref, status, ref, at))
        return reports

    def parse_inbound(self, request: gw.Request) -> list[gw.Inbound]:
        params = request.params()
        number, text = (params.get("sms_from") or "").strip(), params.get("sms_text")
        if not number or text is None:
            raise gw.Malformed("An SMSAPI reply needs 'sms_from' and 'sms_text'.")
        return [
            gw.Inbound(
                number=f"+{number}" if number.isdigit() else number,
                body=text,
                provider_ref=params.get("MsgId") or "",
                to=params.get("sms_to") or "",
                at=from_unix(params.get("sms_date")),
            )
        ]

    def reply(self, kind: str) -> gw.Reply:
        return gw.Reply(body="OK")  # SMSAPI calls back again until it reads "OK"

    status_404_unknown = False  # an unknown id is answered 200 with an error; 404 is a wrong URL

    def _status_request(self, provider_ref: str) -> tuple[str, str, dict]:
        return "GET", f"{self.api_url}/sms.do", {"params": {"status": provider_ref, "format": "json"}}

    def _status_report(self, provider_ref: str, data) -> gw.Report | None:
        item = data["list"][0] if "list" in data else data
        if item.get("error") or str(item.get("status", "")).upper() in _NOT_FOUND:
            return None
        return _report(
            str(item.get("id") or provider_ref), str(item["status"]), str(item.get("idx") or ""), None
        )


def _report(provider_ref: str, status: str, ref: str, at: datetime | None) -> gw.Report:
    name = _BY_CODE.get(status, status.upper())
    if name not in STATUSES:
        raise gw.Malformed(f"Unknown SMSAPI status {status[:20]!r}.")
    _code, state, reason, words = STATUSES[name]
    error = f"SMSAPI: {name}. {words}" if words else ""
    return gw.Report(provider_ref, state, ref=ref, at=at, reason=reason, error=error)


def _split(value) -> list[str]:
    return [part.strip() for part in str(value).split(",")] if value not in (None, "") else []


CLIENT = SmsApiClient
