"""Gateway clients: the provider-neutral interface and the built-in ``test`` provider.

A client takes :class:`Outgoing` messages and answers one :class:`Result` per message, in the same
order. It never raises for a message it could not send: the result says whether the failure is
temporary (retried with back-off until the message expires) or permanent (the message fails).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# Outcome of handing one message to a provider.
SENT = "sent"  # the provider took it; a delivery report will follow
DELIVERED = "delivered"  # the provider reports delivery at once (the test provider)
TEMPORARY = "temporary"  # try again later
PERMANENT = "permanent"  # will never work for this number/text

#: Back-off after the n-th temporary failure, in minutes (the last value repeats).
BACKOFF_MINUTES = (1, 2, 5, 10, 20, 30, 60)


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
    reason: str = ""  # short code for the log: rejected, gateway_error, ...
    error: str = ""  # a sentence for staff


def backoff(attempts: int, now: datetime) -> datetime:
    """When to try again after ``attempts`` temporary failures (1 = first failure)."""
    index = min(max(attempts, 1), len(BACKOFF_MINUTES)) - 1
    return now + timedelta(minutes=BACKOFF_MINUTES[index])


class Client:
    """Base of every provider client."""

    provider = ""

    def send(self, messages: list[Outgoing]) -> list[Result]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the HTTP session, if any."""


class TestClient(Client):
    """The built-in provider: sends nothing and answers like a real gateway would.

    Numbers ending in ``0000`` are refused for good, numbers ending in ``9999`` fail temporarily,
    every other number is reported delivered at once.
    """

    provider = "test"
    __test__ = False  # not a pytest test class

    def __init__(self):
        self.counter = 0

    def send(self, messages: list[Outgoing]) -> list[Result]:
        results = []
        for message in messages:
            if message.number.endswith("0000"):
                results.append(
                    Result(
                        message.ref,
                        PERMANENT,
                        reason="rejected",
                        error="The test gateway refuses numbers ending in 0000.",
                    )
                )
            elif message.number.endswith("9999"):
                results.append(
                    Result(
                        message.ref,
                        TEMPORARY,
                        reason="gateway_error",
                        error="The test gateway fails temporarily for numbers ending in 9999.",
                    )
                )
            else:
                self.counter += 1
                results.append(Result(message.ref, DELIVERED, provider_ref=f"test-{message.ref}"))
        return results


def make_client(provider: str, **settings) -> Client:
    """The client for ``provider`` configured with the gateway's ``settings``."""
    if provider == "test":
        return TestClient()
    raise ValueError(f"Unknown SMS provider: {provider!r}")
