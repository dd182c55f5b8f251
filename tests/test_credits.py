from datetime import date, datetime

import pytest

from core import credits


def test_cost_by_parts_and_default_rate():
    assert credits.cost(1, "+4520123456", 1.0) == 1.0
    assert credits.cost(3, "+4520123456", 0.5) == 1.5
    assert credits.cost(0, "+4520123456", 1.0) == 0.0


def test_cost_uses_the_longest_matching_prefix():
    prices = {"+48": 2.0, "+4850": 3.0, "+46": 1.5}
    assert credits.cost(2, "+48601234567", 1.0, prices) == 4.0
    assert credits.cost(2, "+48501234567", 1.0, prices) == 6.0
    assert credits.cost(2, "+4520123456", 1.0, prices) == 2.0


@pytest.mark.parametrize(
    ("amount", "left", "expected"),
    [(2, 10, (2, 0)), (2, 1, (1, 1)), (2, 0, (0, 2)), (2, -3, (0, 2)), (1.5, 1.25, (1.25, 0.25))],
)
def test_split_takes_the_allowance_first(amount, left, expected):
    assert credits.split(amount, left) == expected


def test_month_in_the_clinic_time_zone():
    # 31 January 23:30 UTC is already 1 February in Copenhagen (UTC+1).
    period, start = credits.month_of(datetime(2027, 1, 31, 23, 30), "Europe/Copenhagen")
    assert period == "2027-02"
    assert start == datetime(2027, 1, 31, 23, 0)
    # In summer time the month starts at 22:00 UTC the day before.
    assert credits.month_of(datetime(2027, 7, 15), "Europe/Copenhagen") == (
        "2027-07",
        datetime(2027, 6, 30, 22, 0),
    )
    assert credits.month_of(datetime(2027, 1, 31, 23, 30), "UTC")[0] == "2027-01"


def test_thresholds():
    assert credits.parse_thresholds("50, 30,0") == [50.0, 30.0, 0.0]
    assert credits.parse_thresholds("30,50,30") == [50.0, 30.0]
    assert credits.parse_thresholds("") == []
    assert credits.parse_thresholds("50,x") == [50.0]
    with pytest.raises(ValueError):
        credits.parse_thresholds("50,x", strict=True)
    assert credits.format_number(50.0) == "50" and credits.format_number(12.5) == "12.5"


def test_crossing_warns_once_per_crossing():
    first = credits.crossing(49, "50,30,0", "")
    assert (first.warned, first.new, first.changed) == ("50", (50.0,), True)
    again = credits.crossing(45, "50,30,0", first.warned)
    assert (again.new, again.changed) == ((), False)
    lower = credits.crossing(-1, "50,30,0", again.warned)
    assert (lower.warned, lower.new) == ("50,30,0", (0.0, 30.0))  # one e-mail, lowest first
    refilled = credits.crossing(128, "50,30,0", lower.warned)
    assert (refilled.warned, refilled.new, refilled.changed) == ("", (), True)  # re-armed
    assert credits.crossing(49, "", "").warned == ""


def test_the_price_of_a_day_is_the_latest_valid_on_or_before_it():
    prices = [(date(2027, 5, 1), 1.10), (date(2027, 1, 1), 0.99)]  # in any order
    assert credits.price_on(prices, date(2026, 12, 31)) is None
    assert credits.price_on(prices, date(2027, 1, 1)) == 0.99
    assert credits.price_on(prices, date(2027, 4, 30)) == 0.99
    assert credits.price_on(prices, date(2027, 5, 1)) == 1.10
    assert credits.price_on([], date(2027, 5, 1)) is None


def test_the_day_of_a_line_is_the_clinics():
    assert credits.local_day(datetime(2027, 4, 30, 22, 30), "Europe/Copenhagen") == date(2027, 5, 1)
    assert credits.local_day(datetime(2027, 4, 30, 21, 59), "Europe/Copenhagen") == date(2027, 4, 30)
    assert credits.local_day(datetime(2027, 4, 30, 22, 30), "") == date(2027, 4, 30)


def test_credits_used_are_valued_at_the_price_of_their_day():
    prices = [(date(2027, 4, 1), 0.5), (date(2027, 5, 1), 0.75)]
    used = {date(2027, 3, 31): 4.0, date(2027, 4, 30): 10.0, date(2027, 5, 1): -2.0 + 6.0}
    amount, unpriced = credits.value_of_use(used, prices)
    assert amount == pytest.approx(10 * 0.5 + 4 * 0.75)
    assert unpriced == 4.0, "credits used before the first price have no amount"
