"""SMSAPI: ``POST /sms.do`` (form, Bearer token, ``idx`` + ``check_idx`` enforced: a second message
with the same ``idx`` is refused with error 53), ``GET /sms.do?status=<id>``; reports by GET (or
POST), unsigned, with numeric status codes.

Numbers ending in ``0000`` are refused with error 13 "No correct phone numbers" (with HTTP 200, as
SMSAPI does); SMSAPI has no "refused recipient" rule.
"""

from __future__ import annotations

import time

import requests

from .base import Message, Provider

#: SMSAPI reports a status by number in callbacks and by name when polled.
CODES = {
    "NOT_FOUND": "401",
    "EXPIRED": "402",
    "SENT": "403",
    "DELIVERED": "404",
    "UNDELIVERED": "405",
    "FAILED": "406",
    "REJECTED": "407",
    "UNKNOWN": "408",
    "QUEUE": "409",
    "ACCEPTED": "410",
}
_NAMES = {code: name for name, code in CODES.items()}


class SmsApi(Provider):
    name = "smsapi"
    initial_status = "QUEUE"
    status_words = {
        "queued": "QUEUE",
        "sent": "SENT",
        "buffered": "QUEUE",
        "accepted": "ACCEPTED",
        "delivered": "DELIVERED",
        "failed": "UNDELIVERED",
        "rejected": "REJECTED",
        "expired": "EXPIRED",
    }
    fault_bodies = {
        429: {"error": 203, "message": "Emulated failure"},
        500: {"error": 999, "message": "Emulated failure"},
        401: {"error": 101, "message": "Emulated failure"},
    }

    def route(self, command, path, query):
        if path != "/sms.do":
            return None
        if command == "GET" and "status" in query:
            return "status", query.get("status")
        return "send", query.get("status")

    def word(self, status):
        word = super().word(status)
        return _NAMES.get(word, word.upper())

    @staticmethod
    def _authorized(http) -> bool:
        value = http.headers.get("Authorization", "")
        return value.startswith("Bearer ") and len(value) > 7

    def send(self, http, _arg):
        if not self._authorized(http):
            return http.reply(401, {"error": 101, "message": "Authorization failed"})
        form = http.form()
        numbers = [n.strip().lstrip("+") for n in form.get("to", "").split(",") if n.strip()]
        if not form.get("message"):
            return http.reply(200, {"error": 11, "message": "Message too long or there is no message"})
        valid = [n for n in numbers if n.isdigit() and not n.endswith("0000")]
        if not valid:
            invalid = [
                {"number": n, "submitted_number": n, "message": "Invalid phone number"} for n in numbers
            ]
            return http.reply(
                200, {"error": 13, "message": "No correct phone numbers", "invalid_numbers": invalid}
            )
        idx = form.get("idx", "")
        if idx and form.get("check_idx") in ("1", "true") and not self.emulator._claim_idx(idx):
            return http.reply(
                200,
                {
                    "error": 53,
                    "message": "Not unique idx parameter, message with the same idx has been already sent"
                    " and &check_idx=1.",
                },
            )
        entries = []
        for number in valid:
            provider_id = f"{self.emulator._next_id():024X}"
            self.emulator._accept(
                Message(
                    provider=self.name,
                    provider_id=provider_id,
                    ref=idx,
                    number="+" + number,
                    body=form["message"],
                    sender=form.get("from", ""),
                    callback_url=form.get("notify_url", ""),
                    encoding=form.get("encoding", ""),
                )
            )
            entries.append(_entry(self.emulator.find(self.name, provider_id)))
        http.reply(200, {"count": len(entries), "list": entries})

    def status(self, http, provider_id):
        if not self._authorized(http):
            return http.reply(401, {"error": 101, "message": "Authorization failed"})
        message = self.emulator.find(self.name, provider_id or "")
        if not message:
            return http.reply(200, {"error": 301, "message": "ID of messages doesn't exist"})
        http.reply(200, _entry(message))  # one object, as SMSAPI's Go client reads it

    def wrong_count(self, http):
        http.reply(200, {"count": 0, "list": []})

    # --- webhooks (unsigned: the secret token in the URL is all) ---------------------------------

    def post_report(self, message, provider_id, word, url, *, method=None, timeout=10.0, **_):
        params = {
            "MsgId": str(provider_id),
            "status": CODES.get(word, word),
            "idx": message.ref if message else "",
            "donedate": str(int(time.time())),
            "username": "clinic",
            "points": "0.16",
            "to": (message.number if message else "+4500000000").lstrip("+"),
        }
        if (method or "GET").upper() == "GET":
            return requests.get(url, params=params, timeout=timeout)
        return requests.post(url, data=params, timeout=timeout)

    def post_inbound(self, url, number, text, *, to="", timeout=10.0, **_):
        params = {
            "sms_from": number.lstrip("+"),
            "sms_to": to.lstrip("+") or "48500000000",
            "sms_text": text,
            "sms_date": str(int(time.time())),
            "MsgId": f"{self.emulator._next_id():024X}",
            "username": "clinic",
        }
        return requests.post(url, data=params, timeout=timeout)


def _entry(message: Message) -> dict:
    digits = message.number.lstrip("+")
    return {
        "id": message.provider_id,
        "points": 0.16,
        "number": digits,
        "date_sent": int(message.accepted_at),
        "submitted_number": digits,
        "status": message.status,
        "idx": message.ref or None,
    }
