"""What every emulated provider shares: the record of an accepted message, and the provider's side of
the contract with the server (:class:`Provider`)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class Message:
    """One message the emulator accepted."""

    provider: str
    provider_id: str
    ref: str  # our reference as the provider saw it: userref (GatewayAPI), idx (SMSAPI), the
    # ``ref`` query parameter of the StatusCallback URL (Twilio has no reference field)
    number: str  # E.164
    body: str
    sender: str
    callback_url: str
    encoding: str = ""
    status: str = ""  # the provider's own word for the last state reported
    account: str = ""  # Twilio Account SID
    token: str = field(default="", repr=False)  # Twilio: the auth token it was sent with (signs reports)
    accepted_at: float = field(default_factory=time.time)


class Provider:
    """One emulated provider: its API (:meth:`route`, :meth:`send`, :meth:`status`), the way it
    misbehaves (:attr:`fault_bodies`, :meth:`wrong_count`) and the webhooks it calls
    (:meth:`post_report`, :meth:`post_inbound`), signed as it signs them.

    The server hands each API request to the provider whose :meth:`route` claims it, as ``http``:
    an object with ``command``, ``headers``, ``body`` (bytes), ``query`` (dict), and the methods
    ``reply(status, data, content_type=…, headers=…)``, ``posted()`` (form fields of a POST),
    ``form()`` (query and form together) and ``basic_auth()`` ((user, password) or None).
    """

    name = ""
    #: The provider's word for a message it has just taken.
    initial_status = ""
    #: Neutral states (and a few extra words) → the provider's own word; other words pass unchanged,
    #: so a test can post any status the provider knows (or one it does not).
    status_words: dict[str, str] = {}
    #: The body of an emulated 429, 500 and 401 answer.
    fault_bodies: dict[int, dict] = {}

    def __init__(self, emulator):
        self.emulator = emulator

    def route(self, command: str, path: str, query: dict) -> tuple[str, object] | None:
        """``("send" | "status", argument)`` when the request is this provider's API, else None."""
        raise NotImplementedError

    def send(self, http, arg) -> None:
        raise NotImplementedError

    def status(self, http, arg) -> None:
        raise NotImplementedError

    def wrong_count(self, http) -> None:
        """Answer a send with a 200 in the provider's shape whose ids do not match the request."""
        raise NotImplementedError

    def word(self, status: str) -> str:
        """The provider's word for ``status`` (a neutral state or already the provider's word)."""
        return self.status_words.get(str(status).lower(), str(status))

    def post_report(self, message: Message | None, provider_id: str, word: str, url: str, **options):
        """Report ``word`` for a message to ``url``; ``options``: ``secret`` (None: the emulator's),
        ``error_code``, ``method``, ``timeout``. Answers the webhook's response."""
        raise NotImplementedError

    def post_inbound(self, url: str, number: str, text: str, **options):
        """Deliver a patient's SMS to ``url``; ``options``: ``secret``, ``to``, ``timeout``."""
        raise NotImplementedError

    def secret(self, given: str | None) -> str:
        """The signing secret to use: ``given``, or else the emulator's for this provider."""
        return given if given is not None else self.emulator.secrets.get(self.name, "")
