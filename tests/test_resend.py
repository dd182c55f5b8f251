"""``Client.idempotent_resend`` tells the truth: over real HTTP to the gateway emulator, a client that
claims it never delivers a message twice when it is handed over again under the same reference, and
the others do. The dispatcher re-sends a message its crashed predecessor left ``sending`` only
through a client that claims it.
"""

import sys
import threading
import time
from pathlib import Path

import pytest

from core import gateway as gw
from core import providers

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from gateway_emulator import Emulator

SETTINGS = {
    "gatewayapi": {"api_key": "gwapi-token"},
    "smsapi": {"api_key": "smsapi-token"},
    "twilio": {"username": "AC" + "1" * 32, "password": "token", "sender": "+15005550006"},
}


@pytest.fixture
def emu():
    with Emulator() as emulator:
        yield emulator


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.mark.parametrize("provider", list(SETTINGS))
def test_a_resend_after_a_lost_answer_duplicates_exactly_where_the_client_says_it_may(provider, emu):
    client_class = providers.client_class(provider)
    message = gw.Outgoing(ref="41", number="+4520123456", body="Husk din tid i morgen")
    emu.fail("stall", times=1, delay=30)  # the provider takes it; its answer never arrives
    first = threading.Thread(
        target=lambda: providers.make_client(provider, api_url=emu.url, **SETTINGS[provider]).send([message]),
        daemon=True,
    )
    first.start()
    wait_for(lambda: len(emu.messages) == 1)
    [again] = providers.make_client(provider, api_url=emu.url, **SETTINGS[provider]).send([message])
    assert again.status == gw.SENT
    copies = len([m for m in emu.messages if m.number == message.number])
    assert copies == (1 if client_class.idempotent_resend else 2)


def test_only_smsapi_claims_idempotent_resends():
    names = ("test", "gatewayapi", "smsapi", "twilio", "kannel")
    assert [p for p in names if providers.client_class(p).idempotent_resend] == ["smsapi"]


def test_a_stalled_answer_ends_when_the_emulator_stops():
    emu = Emulator().start()
    emu.fail("stall", times=1, delay=60)
    client = providers.make_client("gatewayapi", api_url=emu.url, api_key="token", timeout=30)
    results = []
    sender = threading.Thread(
        target=lambda: results.extend(client.send([gw.Outgoing("1", "+4520123456", "Hej")])), daemon=True
    )
    sender.start()
    wait_for(lambda: len(emu.messages) == 1)
    started = time.monotonic()
    emu.stop()
    sender.join(10)
    assert time.monotonic() - started < 10
    assert not sender.is_alive() and len(results) == 1
