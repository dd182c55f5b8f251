"""The built-in ``test`` provider: sends nothing and answers like a real gateway would."""

from __future__ import annotations

from .. import gateway as gw
from .base import Client

#: The number endings the test gateway does not deliver to: (status, reason, words for staff).
_FAILURES = {
    "0000": (gw.PERMANENT, gw.R_REJECTED, "The test gateway refuses numbers ending in 0000."),
    "9999": (
        gw.TEMPORARY,
        gw.R_GATEWAY_ERROR,
        "The test gateway fails temporarily for numbers ending in 9999.",
    ),
}


class TestClient(Client):
    """Numbers ending in ``0000`` are refused for good, numbers ending in ``9999`` fail temporarily,
    every other number is reported delivered at once. Replies are posted to its inbound webhook as
    JSON ``{"from": "+45...", "text": "..."}`` (or form fields ``from`` and ``text``); the secret
    token in the URL is its only authentication.
    """

    provider = "test"
    receives_inbound = True
    simulated = True
    batch_size = 1000
    __test__ = False  # not a pytest test class

    def __init__(self, **settings):
        super().__init__(**settings)
        self.counter = 0

    def send(self, messages: list[gw.Outgoing]) -> list[gw.Result]:
        results = []
        for message in messages:
            failure = _FAILURES.get(message.number[-4:])
            if failure:
                status, reason, error = failure
                results.append(gw.Result(message.ref, status, reason=reason, error=error))
            else:
                self.counter += 1
                results.append(gw.Result(message.ref, gw.DELIVERED, provider_ref=f"test-{message.ref}"))
        return results

    def parse_inbound(self, request: gw.Request) -> list[gw.Inbound]:
        data = request.json() if request.body.lstrip().startswith(b"{") else request.params()
        if not isinstance(data, dict):
            raise gw.Malformed("The reply must be a JSON object.")
        number, text = data.get("from"), data.get("text")
        if not isinstance(number, str) or not number.strip() or not isinstance(text, str):
            raise gw.Malformed("A reply needs 'from' and 'text'.")
        return [gw.Inbound(number=number.strip(), body=text, provider_ref=str(data.get("id") or ""))]


CLIENT = TestClient
