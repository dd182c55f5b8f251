"""The back-off after temporary gateway failures: the whole schedule, and a provider's Retry-After."""

from datetime import datetime, timedelta

import pytest

from core.gateway import backoff

NOW = datetime(2027, 1, 11, 10, 0)

#: Minutes to wait after the 1st, 2nd, … temporary failure; from the 7th on, an hour each time.
SCHEDULE = [1, 2, 5, 10, 20, 30, 60, 60, 60, 60]


def test_the_whole_schedule_then_an_hour_each_time():
    waits = [backoff(attempts, NOW) - NOW for attempts in range(1, len(SCHEDULE) + 1)]
    assert waits == [timedelta(minutes=m) for m in SCHEDULE]
    assert backoff(1000, NOW) - NOW == timedelta(minutes=60)


@pytest.mark.parametrize("attempts", [0, -3])
def test_no_failure_counted_yet_waits_like_the_first(attempts):
    assert backoff(attempts, NOW) == NOW + timedelta(minutes=1)


@pytest.mark.parametrize(
    ("attempts", "retry_after", "wait"),
    [
        (1, 300, timedelta(minutes=5)),  # longer than the 1 minute of the schedule: honoured
        (3, 301, timedelta(minutes=5, seconds=1)),
        (7, 7200, timedelta(hours=2)),  # longer than the last step of the schedule
        (12, 86400, timedelta(days=1)),
        (4, 30, timedelta(minutes=10)),  # shorter than the schedule: the schedule wins
        (7, 3600, timedelta(minutes=60)),
        (2, 0, timedelta(minutes=2)),
        (2, None, timedelta(minutes=2)),
    ],
)
def test_retry_after_is_honoured_only_when_longer(attempts, retry_after, wait):
    assert backoff(attempts, NOW, retry_after) == NOW + wait
