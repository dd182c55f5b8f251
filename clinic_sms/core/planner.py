"""When a message about an appointment is due and until when it may go.

Glue over :mod:`timing` that states the rules of the design once:

* a reminder follows its rule's timing (elapsed hours, or N calendar days before at a clinic hour),
  is moved into the sending window, and is never sent once the appointment has started;
* a notice about an appointment (booking confirmation, moved appointment) is due at once, waits
  for the sending window, and is pointless once the appointment has started;
* a cancellation notice is due at once and waits for the window, for 24 hours at most.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from . import timing

HOURS_BEFORE = "hours_before"
DAYS_BEFORE_AT = "days_before_at"


@dataclass(frozen=True)
class Settings:
    tz: str
    window_start: float
    window_end: float


@dataclass(frozen=True)
class RuleTiming:
    timing: str  # HOURS_BEFORE or DAYS_BEFORE_AT
    hours_before: float = 0.0
    days_before: int = 0
    send_hour: float = 0.0


def event_start(start: datetime, allday: bool, start_date: date | None, tz: str) -> datetime:
    """The moment an appointment starts (aware UTC); all-day ones start at local midnight."""
    if allday and start_date:
        return timing.allday_start(start_date, tz)
    return start.replace(tzinfo=timezone.utc) if start.tzinfo is None else start


def local_day(start: datetime, allday: bool, start_date: date | None, tz: str) -> date:
    """The clinic's calendar day of an appointment (``start`` naive UTC or aware; all-day ones: their
    date). The day by which a patient's appointments are grouped (manual run, one reminder per day)."""
    if allday and start_date:
        return start_date
    aware = start.replace(tzinfo=timezone.utc) if start.tzinfo is None else start
    return aware.astimezone(ZoneInfo(tz or "UTC")).date()


def reminder_due(
    rule: RuleTiming, start: datetime, allday: bool, start_date: date | None, tz: str
) -> datetime:
    """The moment a reminder rule asks for, before any window or 'now' adjustment."""
    if rule.timing == DAYS_BEFORE_AT:
        if allday and start_date:
            anchor = datetime(start_date.year, start_date.month, start_date.day, tzinfo=timezone.utc)
            return timing.due_days_before_at(anchor, rule.days_before, rule.send_hour, tz, allday=True)
        return timing.due_days_before_at(
            event_start(start, False, None, tz), rule.days_before, rule.send_hour, tz
        )
    return timing.due_hours_before(event_start(start, allday, start_date, tz), rule.hours_before)


def plan_reminder(
    rule: RuleTiming,
    now: datetime,
    start: datetime,
    allday: bool,
    start_date: date | None,
    settings: Settings,
) -> timing.Plan | None:
    """Plan one reminder, or None when it could only arrive after the appointment has started."""
    begin = event_start(start, allday, start_date, settings.tz)
    due = reminder_due(rule, start, allday, start_date, settings.tz)
    return timing.plan("reminder", now, begin, due, settings.tz, settings.window_start, settings.window_end)


def plan_manual_reminder(
    now: datetime, earliest: datetime | None, begin: datetime, settings: Settings
) -> timing.Plan | None:
    """Plan a reminder staff send by hand (the manual run): due at ``earliest`` (now when empty or
    past), moved *forward* to the next window opening, never back as a rule's reminder is (staff
    asked for "not before"); expires when the appointment starts. None when it could only go at or
    after the start."""
    due_at = timing.next_window_open(
        max(now, earliest or now), settings.tz, settings.window_start, settings.window_end
    )
    if due_at >= begin:
        return None
    return timing.Plan(due_at, timing.expiry(timing.REMINDER, due_at, begin))


def plan_notice(kind: str, now: datetime, begin: datetime | None, settings: Settings) -> timing.Plan | None:
    """Plan a notice due now. ``begin`` is the appointment's start (aware), when there is one.

    Confirmations and moved-appointment notices are pointless once the appointment has started:
    they expire then, and are not planned when the window would only open after it.
    """
    plan = timing.plan(kind, now, begin or now, now, settings.tz, settings.window_start, settings.window_end)
    if plan is None or begin is None or kind not in ("confirmation", "reschedule"):
        return plan
    if begin <= now or plan.due_at >= begin:
        return None
    return timing.Plan(due_at=plan.due_at, expire_at=min(plan.expire_at, begin))


def may_send_now(now: datetime, due_at: datetime, settings: Settings, grace_minutes: int = 15) -> bool:
    """Whether a due message may go now: inside the window, or only a little late for a due time
    that was inside it (the dispatcher runs every few minutes, a due time may sit at the window's end).
    """
    if timing.in_window(now, settings.tz, settings.window_start, settings.window_end):
        return True
    late = (now - due_at).total_seconds()
    return 0 <= late <= grace_minutes * 60 and timing.in_window(
        due_at, settings.tz, settings.window_start, settings.window_end
    )


def birthday_dates(today: date) -> list[tuple[int, int]]:
    """The (month, day) birthdays greeted on ``today``: 29 February counts on 28 February in
    years that have no 29 February."""
    days = [(today.month, today.day)]
    if (today.month, today.day) == (2, 28) and not _is_leap(today.year):
        days.append((2, 29))
    return days


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


# --------------------------------------------------------------------------- recalls

#: How many days late a recall sent *after* the recall date may still be planned (the cron was
#: down, the recall date was entered late).
RECALL_CATCH_UP_DAYS = 3


def recall_send_day(recall_date: date, days_before: int, days_after: int = 0) -> date:
    """The day a recall rule sends for ``recall_date``: ``days_after`` days after it when the rule
    reminds again after the recall date, else ``days_before`` days before it."""
    if days_after:
        return recall_date + timedelta(days=days_after)
    return recall_date - timedelta(days=days_before)


def recall_dates_for(today: date, days_before: int, days_after: int = 0) -> tuple[date, date]:
    """The first and last recall dates a rule plans for on ``today`` (clinic date), by the daily cron.

    Tomorrow's send day is planned today already (the cron runs once a day, at any hour: the
    message waits for its hour). Before the recall date: every recall date whose send day has come
    and that has not passed yet (a recall date entered late is still announced, at once). After it:
    the recall dates whose send day is tomorrow, today, or was at most :data:`RECALL_CATCH_UP_DAYS`
    days ago."""
    if days_after:
        last = today + timedelta(days=1 - days_after)
        return last - timedelta(days=RECALL_CATCH_UP_DAYS + 1), last
    return today, today + timedelta(days=days_before + 1)


def recall_due(recall_date: date, days_before: int, days_after: int, send_hour: float, tz: str) -> datetime:
    """The moment a recall rule asks for: its send day at ``send_hour`` in the clinic's zone (UTC)."""
    day = recall_send_day(recall_date, days_before, days_after)
    anchor = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    return timing.due_days_before_at(anchor, 0, send_hour, tz, allday=True)


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months; the 31st becomes the month's last day."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


# --------------------------------------------------------------------------- notices as one conversation

#: How long a notice waits before it goes, so that a burst of changes (a series re-created by Odoo,
#: a cancellation followed by a new booking, several moves) becomes one message.
NOTICE_SETTLE_MINUTES = 2

CONFIRMATION = "confirmation"
RESCHEDULE = "reschedule"
CANCELLATION = "cancellation"
NOTICE_KINDS = (CONFIRMATION, RESCHEDULE, CANCELLATION)


@dataclass(frozen=True)
class PendingNotice:
    """An unsent notice of one patient: its id, kind and the appointment start it is about."""

    id: int
    kind: str
    start: datetime | None


@dataclass(frozen=True)
class Coalesced:
    """What becomes of one patient's pending notices: the ``withdrawn`` ids, and the one ``kept``
    (or None) with its new ``kind`` and the other ``also`` starts its text names."""

    withdrawn: tuple[int, ...] = ()
    kept: int | None = None
    kind: str | None = None
    also: tuple[datetime, ...] = ()


def coalesce(notices: list[PendingNotice], can_reschedule: bool = True) -> Coalesced:
    """One patient's pending notices as one conversation.

    * A cancellation and a booking (confirmation or moved notice) at the same start cancel out: the
      appointment did not change for the patient (Odoo re-created it, or staff undid a mistake).
    * Cancellations left over with bookings left over mean the appointment moved: one *moved*
      notice (``can_reschedule``: the clinic has a moved-appointment rule), for the earliest booking.
    * Several bookings become one, for the earliest, naming the others; several cancellations too.
    """
    cancels = sorted((n for n in notices if n.kind == CANCELLATION), key=_order)
    books = sorted((n for n in notices if n.kind != CANCELLATION), key=_order)
    withdrawn = []
    for cancel in list(cancels):
        twin = next((b for b in books if b.start == cancel.start), None)
        if twin is not None:
            books.remove(twin)
            cancels.remove(cancel)
            withdrawn += [cancel.id, twin.id]
    if books:
        kept, others = books[0], books[1:]
        kind = kept.kind
        if cancels:
            withdrawn += [c.id for c in cancels]
            if can_reschedule:
                kind = RESCHEDULE
    elif cancels:
        kept, others = cancels[0], cancels[1:]
        kind = CANCELLATION
    else:
        return Coalesced(withdrawn=tuple(withdrawn))
    withdrawn += [o.id for o in others]
    also = tuple(sorted({o.start for o in others if o.start and o.start != kept.start}))
    return Coalesced(withdrawn=tuple(withdrawn), kept=kept.id, kind=kind, also=also)


def _order(notice: PendingNotice):
    return (notice.start or datetime.max.replace(tzinfo=timezone.utc), notice.id)


# --------------------------------------------------------------------------- one reminder per day


@dataclass(frozen=True)
class DayAppointment:
    """One of a patient's appointments of a day whose reminder the rule book allows: its id, the
    moment it begins (aware, for the order) and its start as stored (what a message names)."""

    id: int
    begin: datetime
    start: datetime


@dataclass(frozen=True)
class DayReminder:
    """A patient's day under a *one reminder per patient per day* rule: the appointment whose
    reminder is planned (``first``, None when none is), the ``also`` starts its text names, and the
    appointments whose reminders give way to it (``merged``)."""

    first: int | None = None
    also: tuple[datetime, ...] = ()
    merged: tuple[int, ...] = ()


def day_order(begin: datetime, event_id: int):
    """The order of a patient's appointments of a day: by start, then by id."""
    return (begin, event_id)


def one_per_day(appointments: list[DayAppointment], reminded: bool = False) -> DayReminder:
    """One reminder for a patient's appointments of a day (those the rule book allows): for the
    first, naming the starts of the others, whose reminders give way.

    ``reminded``: a reminder of this rule already went to the patient for that day (sent, delivered,
    or on its way). The day is then reminded: nothing more is planned for it, even for an appointment
    moved or booked afterwards (its booking or moved notice tells the patient).
    """
    ordered = sorted(appointments, key=lambda a: day_order(a.begin, a.id))
    if reminded or not ordered:
        return DayReminder(merged=tuple(a.id for a in ordered))
    first, others = ordered[0], ordered[1:]
    also = tuple(sorted({o.start for o in others if o.start != first.start}))
    return DayReminder(first=first.id, also=also, merged=tuple(o.id for o in others))
