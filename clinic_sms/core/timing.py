"""When a message is due, when it expires, and the clinic's sending window.

Conventions:

* Every datetime taken or returned is timezone-aware; results are in UTC. A naive datetime raises
  ``ValueError`` (the Odoo layer must attach UTC to the naive values Odoo stores).
* ``tz`` is an IANA zone key (``"Europe/Copenhagen"``); an empty value means UTC.
* Hours of the day are floats in clinic (``tz``) wall-clock time: ``8.5`` is 08:30, ``24.0`` is the
  midnight ending the day. They are rounded to whole seconds.
* The sending window ``[window_start, window_end]`` is inclusive at both ends and compares the
  *wall-clock* time in ``tz``. ``window_start <= 0 and window_end >= 24`` means no limit, and so
  does ``window_start >= window_end`` (an empty or inverted window is treated as "not set"; the
  settings should not allow it).
* Daylight-saving time: a wall-clock time that does not exist (the spring-forward gap) means the
  first valid instant after it (02:30 on the night clocks jump from 02:00 to 03:00 is 03:00). A
  wall-clock time that occurs twice (the fall-back night) means the first occurrence when it is a
  moment to send at (``send_hour``, window start), and the latest occurrence that fits when it is
  a last allowed moment (window end).
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

UTC = timezone.utc
DAY = timedelta(days=1)
EXPIRY_DELAY = timedelta(hours=24)

REMINDER = "reminder"
#: Kinds planned with :func:`plan` other than reminders (any kind but "reminder" follows their rules).
OTHER_KINDS = ("confirmation", "reschedule", "cancellation", "birthday", "recall", "manual", "notice")


@dataclass(frozen=True)
class Plan:
    """When a message goes out and when it is too late to send it (both aware UTC)."""

    due_at: datetime
    expire_at: datetime


# --- helpers -------------------------------------------------------------------------------------


def _zone(tz: str | None) -> ZoneInfo:
    return ZoneInfo(tz or "UTC")


def _aware(moment: datetime, name: str = "datetime") -> datetime:
    if not isinstance(moment, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(moment).__name__}")
    if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
        raise ValueError(f"{name} must be timezone-aware (got naive {moment.isoformat()})")
    return moment


def _seconds(hours: float) -> int:
    """Hours of the day (float) as whole seconds since midnight."""
    return round(float(hours) * 3600)


def _no_limit(window_start: float, window_end: float) -> bool:
    return (window_start <= 0 and window_end >= 24) or window_start >= window_end


def _wall(day: date, hours: float) -> datetime:
    """The naive wall-clock datetime ``hours`` after the midnight starting ``day``."""
    return datetime.combine(day, time()) + timedelta(seconds=_seconds(hours))


def _instants(wall: datetime, zone: ZoneInfo) -> list[datetime]:
    """The UTC instants whose wall-clock time in ``zone`` is ``wall``: 0 (gap), 1 or 2 (fold)."""
    found = []
    for fold in (0, 1):
        instant = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == wall and instant not in found:
            found.append(instant)
    return sorted(found)


def _gap_end(wall: datetime, zone: ZoneInfo) -> datetime:
    """For a ``wall`` time inside a DST gap: the transition instant (first valid instant after it)."""
    a = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    b = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    lo, hi = min(a, b), max(a, b)
    new_offset = hi.astimezone(zone).utcoffset()
    # Binary search to the second: lo is before the transition, hi after it.
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        mid = mid.replace(microsecond=0)
        if mid.astimezone(zone).utcoffset() == new_offset:
            hi = mid
        else:
            lo = mid
    return hi


def _first_at(day: date, hours: float, zone: ZoneInfo) -> list[datetime]:
    """Instants at which ``day`` reaches ``hours`` wall-clock; the gap end if that time is skipped."""
    wall = _wall(day, hours)
    return _instants(wall, zone) or [_gap_end(wall, zone)]


def _last_at(day: date, hours: float, zone: ZoneInfo) -> list[datetime]:
    """Instants at which ``day`` is at ``hours`` wall-clock, as a last allowed moment.

    If that time is skipped, the last second before the jump (its wall time is before ``hours``).
    """
    wall = _wall(day, hours)
    return _instants(wall, zone) or [_gap_end(wall, zone) - timedelta(seconds=1)]


def _local_seconds(moment: datetime, zone: ZoneInfo) -> float:
    local = moment.astimezone(zone)
    return local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6


# --- due moments ----------------------------------------------------------------------------------


def due_hours_before(start: datetime, hours: float) -> datetime:
    """``start`` minus ``hours`` of elapsed time, in UTC.

    Elapsed time: 24 h before Sunday 29 March 2026 09:00 CEST is Saturday 08:00 CET. (The
    subtraction is done in UTC: Python subtracts wall-clock time between datetimes of one zone.)
    """
    return _aware(start, "start").astimezone(UTC) - timedelta(hours=hours)


def due_days_before_at(
    start: datetime, days: int, send_hour: float, tz: str, allday: bool = False
) -> datetime:
    """``days`` calendar days before the appointment's date, at ``send_hour`` clinic time, in UTC.

    The appointment's date is the local date of ``start`` in ``tz``; for an all-day appointment it
    is ``start``'s UTC date (Odoo stores all-day appointments on their date, at midnight or 08:00
    UTC, whatever the clinic's zone), its time of day is ignored. A ``send_hour`` skipped by the
    spring-forward jump means the first instant after the jump; one that occurs twice on the
    fall-back night means its first occurrence.
    """
    zone = _zone(tz)
    _aware(start, "start")
    day = start.astimezone(UTC).date() if allday else start.astimezone(zone).date()
    return _first_at(day - timedelta(days=days), send_hour, zone)[0]


def allday_start(day: date, tz: str) -> datetime:
    """The moment an all-day appointment on ``day`` starts: local midnight in ``tz``, as aware UTC."""
    return _first_at(day, 0.0, _zone(tz))[0]


# --- sending window --------------------------------------------------------------------------------


def in_window(moment: datetime, tz: str, window_start: float, window_end: float) -> bool:
    """Whether ``moment``'s wall-clock time in ``tz`` is within ``[window_start, window_end]``."""
    _aware(moment, "moment")
    if _no_limit(window_start, window_end):
        return True
    seconds = _local_seconds(moment, _zone(tz))
    return _seconds(window_start) <= seconds <= _seconds(window_end)


def fit_window(due: datetime, tz: str, window_start: float, window_end: float) -> datetime:
    """Move ``due`` to the last allowed moment at or before it (never later).

    Inside the window: ``due`` unchanged (in UTC). Before ``window_start`` on its local day: the
    previous local day at ``window_end`` (the evening before). After ``window_end``: the same day
    at ``window_end``. DST-correct: days are local calendar days, the result is converted with the
    offset valid on that evening.
    """
    _aware(due, "due")
    due = due.astimezone(UTC)
    if in_window(due, tz, window_start, window_end):
        return due
    zone = _zone(tz)
    day = due.astimezone(zone).date()
    if _local_seconds(due, zone) < _seconds(window_start):
        day -= DAY
    return max(t for t in _last_at(day, window_end, zone) if t <= due)


def next_window_open(moment: datetime, tz: str, window_start: float, window_end: float) -> datetime:
    """The earliest moment ``>= moment`` inside the window: ``moment`` itself if it is inside,
    else today's ``window_start`` (before the window) or tomorrow's (after it), in UTC."""
    _aware(moment, "moment")
    moment = moment.astimezone(UTC)
    if in_window(moment, tz, window_start, window_end):
        return moment
    zone = _zone(tz)
    day = moment.astimezone(zone).date()
    for offset in range(3):
        later = [t for t in _first_at(day + offset * DAY, window_start, zone) if t >= moment]
        if later:
            return later[0]
    raise AssertionError("unreachable: a window opens every day")  # pragma: no cover


# --- plan -------------------------------------------------------------------------------------------


def expiry(kind: str, due_at: datetime, event_start: datetime | None = None) -> datetime:
    """When an unsent message expires: a reminder when its appointment starts, others 24 h after due."""
    if kind == REMINDER:
        if event_start is None:
            raise ValueError("a reminder needs the appointment's start")
        return _aware(event_start, "event_start").astimezone(UTC)
    return _aware(due_at, "due_at").astimezone(UTC) + EXPIRY_DELAY


def plan(
    kind: str,
    now: datetime,
    event_start: datetime | None,
    due: datetime,
    tz: str,
    window_start: float,
    window_end: float,
) -> Plan | None:
    """Decide when a message of ``kind`` goes out; ``None`` when it must not be sent at all.

    ``due`` is the rule's moment (:func:`due_hours_before`, :func:`due_days_before_at`, or for
    birthdays the ``send_hour`` moment of the day).

    Reminders: ``due`` is moved back into the window (:func:`fit_window`, the evening before). If
    that moment is not in the future (the appointment was booked less than the lead time ahead, or
    the fitting moved it into the past) the reminder goes at the next window opening from ``now``
    (``now`` itself inside the window). ``None`` if the appointment has started, or if the
    reminder would not go out before it starts. Expires at ``event_start``.

    Other kinds (confirmation, reschedule, cancellation, birthday, manual, notice): due at
    ``max(due, now)``, moved *forward* to the next window opening if outside the window (a booking
    confirmed at 22:00 is sent at 08:00 the next morning). Expires 24 h after ``max(due, now)``;
    ``None`` if the window opening comes at or after that. ``event_start`` is not used (may be None).
    """
    _aware(now, "now")
    _aware(due, "due")
    now = now.astimezone(UTC)
    due = due.astimezone(UTC)
    if kind == REMINDER:
        if event_start is None:
            raise ValueError("a reminder needs the appointment's start")
        event_start = _aware(event_start, "event_start").astimezone(UTC)
        if event_start <= now:
            return None
        due_at = fit_window(due, tz, window_start, window_end)
        if due_at <= now:
            due_at = next_window_open(now, tz, window_start, window_end)
        if due_at >= event_start:
            return None
        return Plan(due_at, expiry(kind, due_at, event_start))
    base = max(due, now)
    expire_at = expiry(kind, base, event_start)
    due_at = next_window_open(base, tz, window_start, window_end)
    if due_at >= expire_at:
        return None
    return Plan(due_at, expire_at)


def from_unix(value) -> datetime | None:
    """A UNIX timestamp (number or numeric text) as an aware UTC datetime; None if absent or bad.
    Providers give their report and reply times so."""
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
