"""GatewayAPI: ``POST /rest/mtsms`` (one message object or a list), ``GET /rest/mtsms/<id>``;
webhooks signed with an HS256 JWT in ``X-Gwapi-Signature``.

A request with one bad message is refused whole, as a real API that validates first would: numbers
ending in ``0000`` as invalid (0x0308), ``1111`` as blacklisted (0x0215).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import requests

from .base import Message, Provider


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign(claims, secret: str) -> str:
    """The HS256 JWT GatewayAPI puts in ``X-Gwapi-Signature``: the notification (a dict, or its JSON
    text) signed with the webhook's secret. Written from GatewayAPI's documentation, apart from the
    add-on's own check, so that each checks the other."""
    if isinstance(claims, (bytes, str)):
        claims = json.loads(claims)
    header = _b64url(json.dumps({"typ": "JWT", "alg": "HS256"}, separators=(",", ":")).encode())
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(
        secret.encode("utf-8"), f"{header}.{payload}".encode("ascii"), hashlib.sha256
    ).digest()
    return f"{header}.{payload}.{_b64url(signature)}"


class GatewayApi(Provider):
    name = "gatewayapi"
    initial_status = "ENROUTE"
    status_words = {
        "sent": "ENROUTE",
        "buffered": "BUFFERED",
        "delivered": "DELIVERED",
        "failed": "UNDELIVERABLE",
        "rejected": "REJECTED",
        "expired": "EXPIRED",
    }
    fault_bodies = {
        429: {"message": "Too many requests"},
        500: {"message": "Internal error"},
        401: {"message": "Unauthorized"},
    }

    def route(self, command, path, query):
        if path == "/rest/mtsms" and command == "POST":
            return "send", None
        if path.startswith("/rest/mtsms/") and command == "GET":
            return "status", path.split("/")[-1]
        return None

    def send(self, http, arg):
        auth = http.basic_auth()
        if not (auth and auth[0]) and not http.query.get("token"):
            return http.reply(401, {"code": "0x0223", "message": "Invalid Consumer Key"})
        try:
            data = json.loads(http.body)
        except ValueError:
            return http.reply(422, {"message": "Invalid json request body"})
        items = data if isinstance(data, list) else [data]
        refusal = self._refusal(items)
        if refusal:
            return http.reply(400, refusal)
        ids = []
        for item in items:
            provider_id = 1_000_000 + self.emulator._next_id()
            ids.append(provider_id)
            for recipient in item["recipients"]:
                self.emulator._accept(
                    Message(
                        provider=self.name,
                        provider_id=str(provider_id),
                        ref=str(item.get("userref") or ""),
                        number="+" + str(recipient["msisdn"]),
                        body=item["message"],
                        sender=str(item.get("sender") or ""),
                        callback_url=str(item.get("callback_url") or ""),
                        encoding=str(item.get("encoding") or "UTF8"),
                    )
                )
        count = sum(len(item["recipients"]) for item in items)
        http.reply(
            200, {"ids": ids, "usage": {"countries": {"DK": count}, "currency": "EUR", "total_cost": 0.0}}
        )

    @staticmethod
    def _refusal(items) -> dict | None:
        """The error answer when any message of the request is bad (nothing is then accepted)."""
        for item in items:
            recipients = item.get("recipients") if isinstance(item, dict) else None
            if not isinstance(item, dict) or not isinstance(item.get("message"), str) or not recipients:
                return {
                    "code": "0x0222",
                    "message": "Missing required parameter %1",
                    "variables": ["message"],
                }
            for recipient in recipients:
                msisdn = str(recipient.get("msisdn", ""))
                if not msisdn.isdigit() or msisdn.endswith("0000"):
                    return {"code": "0x0308", "message": "Invalid MSISDN %1", "variables": [msisdn]}
                if msisdn.endswith("1111"):
                    return {"code": "0x0215", "message": "MSISDN %1 blacklisted", "variables": [msisdn]}
        return None

    def status(self, http, provider_id):
        if not http.basic_auth() and not http.query.get("token"):
            return http.reply(401, {"code": "0x0223", "message": "Invalid Consumer Key"})
        message = self.emulator.find(self.name, provider_id)
        if not message:
            return http.reply(404, {"message": "Not found"})
        failed = message.status in ("UNDELIVERABLE", "REJECTED")
        recipient = {
            "msisdn": int(message.number.lstrip("+")),
            "dsnstatus": message.status,
            "dsnerror": "Unknown subscriber" if failed else None,
            "dsnerrorcode": "0x1010" if failed else None,
            "dsntime": time.time(),
            "senttime": message.accepted_at,
        }
        http.reply(
            200,
            [
                {
                    "id": int(message.provider_id),
                    "message": message.body,
                    "sender": message.sender,
                    "userref": message.ref or None,
                    "callback_url": message.callback_url or None,
                    "encoding": message.encoding,
                    "recipients": [recipient],
                }
            ],
        )

    def wrong_count(self, http):
        try:
            data = json.loads(http.body or b"{}")
        except ValueError:
            data = {}
        count = len(data) if isinstance(data, list) else 1
        http.reply(200, {"ids": [9_000_000 + i for i in range(count + 1)], "usage": {}})

    # --- webhooks -------------------------------------------------------------------------------

    def post_report(
        self, message, provider_id, word, url, *, secret=None, error_code=None, timeout=10.0, **_
    ):
        digits = (message.number if message else "+4500000000").lstrip("+")
        failed = word in ("UNDELIVERABLE", "REJECTED")
        body = {
            "id": int(provider_id) if str(provider_id).isdigit() else provider_id,
            "msisdn": int(digits) if digits.isdigit() else digits,
            "time": int(time.time()),
            "status": word,
            "error": "Unknown subscriber" if failed else None,
            "code": (error_code or "0x1010") if failed else None,
            "userref": (message.ref if message else None) or None,
            "country_code": "DK",
            "country_prefix": 45,
        }
        # The token carries the notification plus what GatewayAPI's documented example adds.
        claims = {**body, "callback_url": url, "api": 4}
        return self._post(url, body, claims, self.secret(secret), timeout)

    def post_inbound(self, url, number, text, *, secret=None, to="", timeout=10.0):
        to_digits = to.lstrip("+")
        body = {
            "id": 3_000_000 + self.emulator._next_id(),
            "msisdn": int(number.lstrip("+")),
            "receiver": int(to_digits) if to_digits.isdigit() else 451204,
            "message": text,
            "senttime": int(time.time()),
            "webhook_label": "clinic",
            "country_code": "DK",
            "country_prefix": 45,
        }
        return self._post(url, body, body, self.secret(secret), timeout)

    @staticmethod
    def _post(url, body, claims, secret, timeout) -> requests.Response:
        headers = {"X-Gwapi-Signature": sign(claims, secret)} if secret else {}
        return requests.post(url, json=body, headers=headers, timeout=timeout)
