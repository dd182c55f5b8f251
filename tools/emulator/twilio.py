"""Twilio: ``POST /2010-04-01/Accounts/<sid>/Messages.json`` (Basic auth: Account SID and auth
token), ``GET …/Messages/<sid>.json``; webhooks are form POSTs signed in ``X-Twilio-Signature``
(with the auth token the message was sent with, unless the emulator was given one).

Numbers ending in ``0000`` are refused as invalid (21211), ``1111`` as unsubscribed (21610).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from email.utils import formatdate
from urllib.parse import parse_qsl, urlsplit

import requests

from .base import Message, Provider


def sign(url: str, params: dict[str, str], token: str) -> str:
    """The ``X-Twilio-Signature`` of a request to ``url`` with POST ``params``: base64 of HMAC-SHA1
    (auth token, URL + each parameter name and value, sorted by name). Written from Twilio's
    documentation, apart from the add-on's own check, so that each checks the other."""
    data = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(
        hmac.new(token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1).digest()
    ).decode()


class Twilio(Provider):
    name = "twilio"
    initial_status = "queued"
    status_words = {
        "queued": "queued",
        "sent": "sent",
        "buffered": "sending",
        "delivered": "delivered",
        "failed": "undelivered",
        "rejected": "failed",
    }
    fault_bodies = {
        429: {"code": 20429, "message": "Emulated failure"},
        500: {"code": 20500, "message": "Emulated failure"},
        401: {"code": 20003, "message": "Emulated failure"},
    }

    def route(self, command, path, query):
        parts = path.split("/")
        if len(parts) == 5 and parts[1:3] == ["2010-04-01", "Accounts"] and parts[4] == "Messages.json":
            return "send", parts[3]
        if len(parts) == 6 and parts[1:3] == ["2010-04-01", "Accounts"] and parts[4] == "Messages":
            return "status", (parts[3], parts[5].removesuffix(".json"))
        return None

    @staticmethod
    def _token(http, account: str) -> str | None:
        """The auth token, when the request is authenticated as ``account``."""
        auth = http.basic_auth()
        if not auth or auth[0] != account or not auth[1]:
            return None
        return auth[1]

    @staticmethod
    def _error(http, status: int, code: int, message: str):
        more = f"https://www.twilio.com/docs/errors/{code}"
        return http.reply(status, {"code": code, "message": message, "more_info": more, "status": status})

    def send(self, http, account):
        token = self._token(http, account)
        if not token:
            return self._error(http, 401, 20003, "Authenticate")
        form = http.form()
        to, body = form.get("To", ""), form.get("Body")
        sender = form.get("From") or form.get("MessagingServiceSid") or ""
        if not to:
            return self._error(http, 400, 21604, "A 'To' phone number is required.")
        if not sender:
            return self._error(http, 400, 21603, "A 'From' phone number is required.")
        if body is None:
            return self._error(http, 400, 21602, "Message body is required.")
        if not to.lstrip("+").isdigit() or to.endswith("0000"):
            return self._error(http, 400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if to.endswith("1111"):
            return self._error(http, 400, 21610, "Attempt to send to unsubscribed recipient")
        callback = form.get("StatusCallback", "")
        sid = f"SM{self.emulator._next_id():032x}"
        self.emulator._accept(
            Message(
                provider=self.name,
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
        http.reply(201, _resource(self.emulator.find(self.name, sid)))

    def status(self, http, arg):
        account, sid = arg
        if not self._token(http, account):
            return self._error(http, 401, 20003, "Authenticate")
        message = self.emulator.find(self.name, sid)
        if not message or message.account != account:
            return self._error(http, 404, 20404, f"The requested resource /Messages/{sid}.json was not found")
        http.reply(200, _resource(message))

    def wrong_count(self, http):
        http.reply(201, {"status": "queued"})

    # --- webhooks -------------------------------------------------------------------------------

    def post_report(
        self, message, provider_id, word, url, *, secret=None, error_code=None, timeout=10.0, **_
    ):
        params = {
            "MessageSid": str(provider_id),
            "SmsSid": str(provider_id),
            "MessageStatus": word,
            "SmsStatus": word,
            "AccountSid": message.account if message else "AC" + "0" * 32,
            "From": message.sender if message else "+15005550006",
            "To": message.number if message else "+4500000000",
            "ApiVersion": "2010-04-01",
        }
        if word in ("undelivered", "failed"):
            params["ErrorCode"] = error_code or "30003"
        token = secret if secret is not None else (message.token if message and message.token else None)
        return self._post(url, params, self.secret(token), timeout)

    def post_inbound(self, url, number, text, *, secret=None, to="", timeout=10.0):
        sid = f"SM{self.emulator._next_id():032x}"
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
        return self._post(url, params, self.secret(secret), timeout)

    @staticmethod
    def _post(url, params, token, timeout) -> requests.Response:
        headers = {"X-Twilio-Signature": sign(url, params, token)} if token else {}
        return requests.post(url, data=params, headers=headers, timeout=timeout)


def _resource(message: Message) -> dict:
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
