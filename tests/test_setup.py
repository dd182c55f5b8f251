"""The setup checklist (core/setup.py): each step done only by what it asks for."""

import pytest

from core import setup

COPENHAGEN = ("Europe/Copenhagen",)
REAL_TESTED = setup.Gateway(simulated=False, tested=True)
REAL_UNTESTED = setup.Gateway(simulated=False, tested=False)
TEST_GATEWAY = setup.Gateway(simulated=True, tested=False)


def ready(**changes):
    """A clinic whose setup is complete; ``changes`` undo one thing."""
    values = {
        "tz": "Europe/Copenhagen",
        "country_tzs": COPENHAGEN,
        "window_start": 8.0,
        "window_end": 20.0,
        "gateways": (REAL_TESTED,),
        "langs": ("da_DK", "pl_PL"),
        "reviewed": frozenset({"da_DK", "pl_PL"}),
        "credit_check": True,
        "balance": 120.0,
        **changes,
    }
    return setup.checklist(setup.Facts(**values))


def test_a_complete_setup_is_done_in_every_step():
    result = ready()
    assert (result.tz, result.window, result.gateway, result.templates, result.credits) == (True,) * 5
    assert (result.done_count, result.total, result.done) == (5, 5, True)


@pytest.mark.parametrize(
    ("changes", "step"),
    [
        ({"tz": ""}, "tz"),
        ({"tz": "Europe/Warsaw"}, "tz"),  # the installing user's zone, not the clinic's country's
        ({"window_start": 0.0, "window_end": 24.0}, "window"),
        ({"gateways": ()}, "gateway"),
        ({"gateways": (TEST_GATEWAY,)}, "gateway"),
        ({"gateways": (REAL_UNTESTED,)}, "gateway"),
        ({"gateways": (REAL_TESTED, TEST_GATEWAY)}, "gateway"),  # a failover would pretend
        ({"reviewed": frozenset({"da_DK"})}, "templates"),
        ({"balance": 0.0}, "credits"),
    ],
)
def test_each_step_is_open_until_its_own_thing_is_done(changes, step):
    result = ready(**changes)
    assert not getattr(result, step)
    others = [name for name in setup.STEPS if name != step]
    assert all(getattr(result, name) for name in others), changes
    assert (result.done_count, result.done) == (4, False)


def test_a_time_zone_counts_when_the_country_is_unknown():
    assert ready(tz="America/Chicago", country_tzs=()).tz


def test_a_window_limited_at_one_end_keeps_sms_away_from_the_night():
    assert ready(window_start=0.0, window_end=21.0).window
    assert ready(window_start=7.0, window_end=24.0).window


def test_the_credits_step_applies_only_when_credits_are_checked():
    result = ready(credit_check=False, balance=0.0)
    assert result.credits and not result.credits_apply
    assert (result.done_count, result.total, result.done) == (4, 4, True)


def test_languages_to_review_are_listed_once_in_the_patients_order():
    result = ready(langs=("pl_PL", "da_DK", "pl_PL", "de_DE"), reviewed=frozenset({"da_DK"}))
    assert result.langs_todo == ("pl_PL", "de_DE")
    assert not result.templates
