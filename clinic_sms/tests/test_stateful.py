"""The rule book, proven: a clinic does random things, and the rules that must always hold hold.

A ``hypothesis`` state machine drives the real ORM (PostgreSQL, the built-in test gateway, a frozen
clock the machine moves) through what a clinic does in a week: booking single appointments and weekly
series, moving, cancelling, restoring and deleting them, switching their SMS off, adding, removing,
declining and accepting patients, creating, re-timing, archiving and restoring reminder rules and
switching their *One reminder per patient per day*, switching Clinic SMS off and on, opt-outs,
STOP / NO / NEJ replies, the manual reminder run, the composer, the practitioner's day, and the
dispatcher with the clock running, through numbers the test gateway fails for now (ending 9999) or
for good (ending 0000).

Everything the gateway is handed is recorded with the facts of that moment (read inside the send, as
the dispatcher saw them), and after every step the machine checks the rules of DESIGN.md:

(i)   at most one message goes out per appointment, patient, rule and start (a manual reminder,
      which has no rule, counts as a rule of its own), and no message goes out twice;
(ii)  no reminder, booking confirmation or moved notice goes out once its appointment has started,
      for a start that is no longer the appointment's, or for a cancelled or deleted appointment;
      no cancellation notice goes out for an appointment that is back at that very start;
(iii) nothing goes to an opted-out, blacklisted, deceased or number-less patient, to a practitioner,
      to a patient without the consent the clinic requires, or to a number that is not the
      patient's current one (the confirmation of a STOP aside), and
      no reminder or notice about an appointment goes to a patient who declined it or is no longer
      on it (a cancellation notice still reaches a removed patient);
(iv)  nothing goes out outside the sending window (08:00-20:00 Copenhagen), except within the
      dispatcher's documented 15 minutes of grace for a message that fell due inside it
      (``core.planner.may_send_now``);
(v)   every message that did not go out and is final (failed, skipped, cancelled) says why;
(vi)  no archived rule has a scheduled or queued message.

``make test`` runs 300 derandomized examples (``CLINIC_SMS_FUZZ_EXAMPLES``); ``make fuzz`` runs
5,000 random ones and prints a falsifying sequence as a script of the machine's steps.
"""

import contextlib
import logging
import os
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import freezegun
from freezegun.api import real_perf_counter
from hypothesis import HealthCheck, Verbosity, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from odoo.addons.clinic_sms.core import gateway as gw
from odoo.addons.clinic_sms.models.clinic_sms_gateway import ClinicSmsGateway
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import NOW, ClinicSmsCase

TZ = ZoneInfo("Europe/Copenhagen")
UTC = ZoneInfo("UTC")
WINDOW = (time(8, 0), time(20, 0))
#: The dispatcher may still send a message that fell due inside the window this long after it closed
#: (it runs every few minutes; ``core.planner.may_send_now``).
GRACE = timedelta(minutes=15)
#: How many further due times the dispatcher runs at after an example's last step.
DRAIN = 4
GONE_OUT = (gw.SENT, gw.DELIVERED)
BEFORE_START_KINDS = ("reminder", "confirmation", "reschedule")
EVENT_KINDS = (*BEFORE_START_KINDS, "cancellation")

PATIENTS = ("anna", "bo", "carl", "dorte")
#: Each patient's numbers: the usual one, one the test gateway fails for now, one it refuses.
NUMBERS = {
    "anna": ("+45 20 12 34 56", "+45 20 12 99 99", "+45 20 12 00 00"),
    "bo": ("+45 31 22 33 44", "+45 31 22 99 99", "+45 31 22 00 00"),
    "carl": ("+45 40 11 22 33", "+45 40 11 99 99", "+45 40 11 00 00"),
    "dorte": ("+45 50 60 70 80", "+45 50 60 99 99", "+45 50 60 00 00"),
}
NUMBER_CHOICES = ("usual", "fails_for_now", "refused", "none", "invalid")
#: Where the week starts, 11:00 in Copenhagen: a winter Monday, and the Fridays before the clocks go
#: forward (28 March 2027) and back (31 October 2027).
WEEKS = {
    "january": NOW,
    "before_summer_time": datetime(2027, 3, 26, 10, 0),
    "before_winter_time": datetime(2027, 10, 29, 9, 0),
}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_logger = logging.getLogger(__name__)


def examples():
    return int(os.environ.get("CLINIC_SMS_FUZZ_EXAMPLES", "300"))


def fuzzing():
    """``make fuzz``: random (not derandomized) examples."""
    return os.environ.get("CLINIC_SMS_FUZZ_RANDOM") == "1"


def local(moment):
    """A naive UTC datetime as Copenhagen reads it."""
    return moment.replace(tzinfo=UTC).astimezone(TZ)


def utc(day, hour, minute):
    """Copenhagen's ``day`` at ``hour:minute`` as a naive UTC datetime."""
    return datetime.combine(day, time(hour, minute), TZ).astimezone(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Handed:
    """One message handed to the gateway, with the facts of that moment."""

    at: datetime
    message_id: int
    kind: str
    rule_id: int | None
    event_id: int | None
    event_start: datetime | None  # the start the message was planned for
    partner_id: int | None
    number: str
    due_at: datetime
    answers_stop: bool
    # the patient, then
    opted_out: bool
    blacklisted: bool
    deceased: bool
    patient_number: str | None
    internal: bool
    # the appointment, then
    event_active: bool | None  # None: it no longer exists (or the message is about none)
    event_start_then: datetime | None
    attendee_state: str | None  # None: not (or no longer) on the appointment
    status: str = ""
    # the clinic requires consent to SMS, and the patient had not given it
    consent_missing: bool = False


class ClinicMachine(RuleBasedStateMachine):
    """A week at the clinic. ``case`` is the running test: its environment, clock and patients."""

    appointments = Bundle("appointments")
    reminder_rules = Bundle("reminder_rules")
    notice_rules = Bundle("notice_rules")

    def __init__(self, case):
        super().__init__()
        self.case = case
        self.env = case.env
        # Every example starts from the same clinic: what it does is rolled back in teardown.
        self.savepoint = self.env.cr.savepoint()
        self.now = NOW
        case.clock.move_to(NOW)
        case.sent.clear()
        self.handed = []  # every hand-off to the gateway, in order
        self.checked = 0  # how many of them the invariants have seen
        self.once = {}  # (appointment, patient, rule, start) -> the hand-off that went out
        # Rows of earlier examples were rolled back but stay in the tables until the test's
        # transaction ends: the checks read only this example's rows (ids are never reused).
        self.first_id = self.last_message_id() + 1
        self.started = real_perf_counter()
        case.machine = self

    def last_message_id(self):
        self.env.cr.execute(
            "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM clinic_sms_message_id_seq"
        )
        return self.env.cr.fetchone()[0]

    def teardown(self):
        """The week goes on: the dispatcher runs at the next due times of what is still planned
        (a few of them), and the rules are checked once more; then the example is rolled back."""
        try:
            for _ in range(DRAIN):
                self.env.flush_all()
                self.env.cr.execute(
                    "SELECT min(due_at) FROM clinic_sms_message"
                    " WHERE id >= %s AND state IN ('scheduled', 'queued')",
                    [self.first_id],
                )
                due = self.env.cr.fetchone()[0]
                if due is None:
                    break
                self.run_dispatcher(max(due - self.now, timedelta(0)))
                self.rules_hold()
        finally:
            self.case.machine = None
            self.savepoint.close(rollback=True)
            stats = self.case.stats
            stats["examples"] += 1
            self.case.durations.append(real_perf_counter() - self.started)
            stats["handed"] += len(self.handed)
            stats["gone out"] += sum(h.status in GONE_OUT for h in self.handed)
            for h in self.handed:
                stats[f"{h.kind} {h.status}"] += 1

    # ------------------------------------------------------------------ helpers

    def patient(self, name):
        return self.case.patients[name]

    def alive(self, event):
        return event.with_context(active_test=False).exists()

    def day(self, days):
        return local(self.now).date() + timedelta(days=days)

    def quietly(self, action):
        """Run a wizard's action as the web client would: a refusal (UserError) rolls back what it
        did and changes nothing."""
        with contextlib.suppress(UserError), self.env.cr.savepoint():
            action()

    def at_send_time(self, outgoing):
        """What the rules need to know about ``outgoing`` as it is handed to the gateway."""
        env = self.env
        message = env["clinic.sms.message"].browse(int(outgoing.ref))
        partner = message.partner_id
        event = message.event_id.with_context(active_test=False).exists()
        attendee_state = None
        if event and partner:
            attendee = event.attendee_ids.filtered(lambda a: a.partner_id == partner)[:1]
            attendee_state = (attendee.state or "needsAction") if attendee else None
        blacklisted = bool(
            env["phone.blacklist"]
            .sudo()
            .search_count([("number", "=", outgoing.number), ("active", "=", True)])
        )
        return Handed(
            at=self.now,
            message_id=message.id,
            kind=message.kind,
            rule_id=message.rule_id.id or None,
            event_id=event.id or None,
            event_start=message.event_start or None,
            partner_id=partner.id or None,
            number=outgoing.number,
            due_at=message.due_at,
            answers_stop=message.kind == "opt_out" and bool(message.reply_to_id),
            opted_out=bool(partner.sms_opt_out),
            blacklisted=blacklisted,
            deceased=bool(partner.deceased),
            patient_number=partner.sms_number_e164 or None,
            internal=partner.id in self.case.internal_partner_ids,
            event_active=event.active if event else None,
            event_start_then=event.start if event else None,
            attendee_state=attendee_state,
            consent_missing=bool(message.company_id.clinic_sms_consent_required and not partner.sms_consent),
        )

    # ------------------------------------------------------------------ the clinic's rules

    @initialize(
        target=appointments,
        week=st.sampled_from(list(WEEKS)),
        bookings=st.lists(
            st.tuples(st.sampled_from(PATIENTS), st.integers(0, 6), st.integers(7, 20)),
            min_size=1,
            max_size=3,
        ),
    )
    def open_the_week(self, week, bookings):
        """Where the clock starts, and the first appointments: (patient, days ahead, hour)."""
        self.now = WEEKS[week]
        self.case.clock.move_to(self.now)
        Event = self.env["calendar.event"]
        return multiple(*(Event.create(self.event_values([p], days, hour, 0)) for p, days, hour in bookings))

    @initialize(target=reminder_rules)
    def the_default_reminder_rule(self):
        return self.case.rule_reminder

    @initialize(target=notice_rules)
    def the_default_notice_rules(self):
        case = self.case
        return multiple(case.rule_confirmation, case.rule_reschedule, case.rule_cancellation)

    @rule(
        target=reminder_rules,
        hours_before=st.sampled_from([24.0, 2.0, 48.0, 0.5]),
    )
    def create_reminder_rule(self, hours_before):
        return self.env["clinic.sms.rule"].create(
            {
                "name": f"{hours_before:g} h before",
                "kind": "reminder",
                "template_id": self.case.rule_reminder.template_id.id,
                "timing": "hours_before",
                "hours_before": hours_before,
            }
        )

    @rule(
        target=reminder_rules,
        days_before=st.integers(1, 2),
        send_hour=st.sampled_from([9.0, 7.0, 19.5, 21.0]),
    )
    def create_day_before_rule(self, days_before, send_hour):
        return self.env["clinic.sms.rule"].create(
            {
                "name": f"{days_before} day(s) before at {send_hour:g}",
                "kind": "reminder",
                "template_id": self.case.rule_reminder.template_id.id,
                "timing": "days_before_at",
                "days_before": days_before,
                "send_hour": send_hour,
            }
        )

    @rule(rule=reminder_rules, hours_before=st.sampled_from([1.0, 24.0, 3.0, 72.0]))
    def retime_rule(self, rule, hours_before):
        rule.write({"timing": "hours_before", "hours_before": hours_before})

    @rule(rule=reminder_rules, confirmed_only=st.booleans())
    def only_confirmed(self, rule, confirmed_only):
        rule.confirmed_only = confirmed_only

    @rule(rule=reminder_rules, one_per_day=st.booleans())
    def one_reminder_per_day(self, rule, one_per_day):
        rule.one_per_day = one_per_day

    @rule(rule=st.one_of(reminder_rules, notice_rules))
    def archive_rule(self, rule):
        rule.action_archive()

    @rule(rule=st.one_of(reminder_rules, notice_rules))
    def restore_rule(self, rule):
        rule.action_unarchive()

    @rule(on=st.booleans())
    def switch_clinic_sms(self, on):
        self.env.company.clinic_sms_enabled = on

    # ------------------------------------------------------------------ appointments

    def event_values(self, patients, days, hour, minute):
        start = utc(self.day(days), hour, minute)
        partner_ids = [self.case.practitioner.partner_id.id, *(self.patient(name).id for name in patients)]
        return {
            "name": "Appointment",
            "start": start,
            "stop": start + timedelta(minutes=30),
            "user_id": self.case.practitioner.id,
            "partner_ids": [(6, 0, partner_ids)],
        }

    @rule(
        target=appointments,
        patients=st.lists(st.sampled_from(PATIENTS), min_size=1, max_size=3, unique=True),
        days=st.integers(0, 6),
        hour=st.integers(7, 20),
        minute=st.sampled_from([0, 30]),
    )
    def book(self, patients, days, hour, minute):
        return self.env["calendar.event"].create(self.event_values(patients, days, hour, minute))

    @rule(
        target=appointments,
        patient=st.sampled_from(PATIENTS),
        days=st.integers(0, 6),
        hour=st.integers(7, 20),
        count=st.integers(2, 4),
    )
    def book_weekly(self, patient, days, hour, count):
        values = self.event_values([patient], days, hour, 0)
        weekday = WEEKDAYS[local(values["start"]).weekday()]
        event = self.env["calendar.event"].create(
            {
                **values,
                "recurrency": True,
                "rrule_type": "weekly",
                "interval": 1,
                "end_type": "count",
                "count": count,
                weekday: True,
            }
        )
        return multiple(*event.recurrence_id.calendar_event_ids.sorted("start"))

    @rule(
        appointment=appointments,
        days=st.integers(0, 6),
        hour=st.integers(7, 20),
        minute=st.sampled_from([0, 30]),
    )
    def move(self, appointment, days, hour, minute):
        if self.alive(appointment):
            start = utc(self.day(days), hour, minute)
            appointment.write({"start": start, "stop": start + timedelta(minutes=30)})

    @rule(target=appointments, appointment=appointments, hours=st.sampled_from([2, 24, -1]))
    def move_series(self, appointment, hours):
        """Move every occurrence of a series ("all events"): Odoo archives them and creates new ones."""
        event = self.alive(appointment)
        if not (event and event.active and event.recurrence_id):
            return multiple()
        recurrence = event.recurrence_id
        base = recurrence.base_event_id or recurrence._get_first_event(include_outliers=False)
        before = recurrence.calendar_event_ids
        start = event.start + timedelta(hours=hours)
        event.write(
            {"start": start, "stop": start + timedelta(minutes=30), "recurrence_update": "all_events"}
        )
        return multiple(*(base.recurrence_id.calendar_event_ids - before).sorted("start"))

    @rule(appointment=appointments)
    def cancel(self, appointment):
        event = self.alive(appointment)
        if event and event.active:
            event.action_archive()

    @rule(appointment=appointments)
    def restore(self, appointment):
        event = self.alive(appointment)
        if event and not event.active:
            event.action_unarchive()

    @rule(appointment=consumes(appointments))
    def delete(self, appointment):
        event = self.alive(appointment)
        if event:
            event.unlink()

    @rule(appointment=appointments)
    def toggle_sms(self, appointment):
        event = self.alive(appointment)
        if event:
            event.sms_enabled = not event.sms_enabled

    @rule(appointment=appointments, patient=st.sampled_from(PATIENTS))
    def add_patient(self, appointment, patient):
        event = self.alive(appointment)
        if event:
            event.write({"partner_ids": [(4, self.patient(patient).id)]})

    @rule(appointment=appointments, patient=st.sampled_from(PATIENTS))
    def remove_patient(self, appointment, patient):
        event = self.alive(appointment)
        if event:
            event.write({"partner_ids": [(3, self.patient(patient).id)]})

    def attendee(self, appointment, patient):
        event = self.alive(appointment)
        partner = self.patient(patient)
        return event.attendee_ids.filtered(lambda a: a.partner_id == partner) if event else None

    @rule(
        appointment=appointments,
        patient=st.sampled_from(PATIENTS),
        answer=st.sampled_from(["declined", "accepted", "tentative"]),
    )
    def answer(self, appointment, patient, answer):
        """The patient's answer, set by staff (an SMS reply sets it too, see ``reply``)."""
        attendee = self.attendee(appointment, patient)
        if attendee:
            attendee.write({"state": answer})

    # ------------------------------------------------------------------ patients

    @rule(patient=st.sampled_from(PATIENTS), no_sms=st.booleans())
    def opt_out(self, patient, no_sms):
        self.patient(patient).sms_opt_out = no_sms

    @rule(patient=st.sampled_from(PATIENTS), consents=st.booleans())
    def consent(self, patient, consents):
        self.patient(patient).sms_consent = consents

    @rule(required=st.booleans())
    def require_consent(self, required):
        self.env.company.clinic_sms_consent_required = required

    @rule(patient=st.sampled_from(PATIENTS), deceased=st.booleans())
    def deceased(self, patient, deceased):
        self.patient(patient).deceased = deceased

    @rule(patient=st.sampled_from(PATIENTS), number=st.sampled_from(NUMBER_CHOICES))
    def set_number(self, patient, number):
        usual, fails, refused = NUMBERS[patient]
        value = {
            "usual": usual,
            "fails_for_now": fails,
            "refused": refused,
            "none": False,
            "invalid": "+45 12 34",
        }[number]
        self.patient(patient).write({"sms_number": value, "phone": False})

    @rule(patient=st.sampled_from(PATIENTS), text=st.sampled_from(["NO", "STOP", "NEJ", "YES"]))
    def reply(self, patient, text):
        partner = self.patient(patient)
        if partner.sms_number_e164:
            self.env["clinic.sms.message"]._clinic_sms_receive_text(self.case.gateway.id, partner.id, text)

    # ------------------------------------------------------------------ staff

    @rule(days_ahead=st.integers(0, 2), one_per_day=st.booleans())
    def send_reminders_now(self, days_ahead, one_per_day):
        """The manual run, which must bring a planned reminder forward rather than add a second."""
        Message = self.env["clinic.sms.message"]
        planned = {
            (m.event_id.id, m.partner_id.id, m.event_start)
            for m in Message.search(
                [
                    ("kind", "=", "reminder"),
                    ("rule_id", "!=", False),
                    ("state", "in", ("scheduled", "queued")),
                ]
            )
        }
        last = self.last_message_id()
        Run = self.env["clinic.sms.reminder.run"]
        day = Run._local_today(self.env.company) + timedelta(days=days_ahead)
        run = Run.create({"date_from": day, "date_to": day, "one_per_day": one_per_day})

        def send():
            run.action_preview()
            run.action_send()

        self.quietly(send)
        added = Message.search([("id", ">", last), ("kind", "=", "reminder"), ("rule_id", "=", False)])
        second = added.filtered(lambda m: (m.event_id.id, m.partner_id.id, m.event_start) in planned)
        # (i) a manual reminder only where none is planned
        assert not second, f"(i) the manual run added a reminder next to a planned one: {second.read()}"

    @rule(appointment=appointments)
    def compose(self, appointment):
        event = self.alive(appointment)
        if not event:
            return
        composer = (
            self.env["clinic.sms.composer"]
            .with_context(default_event_id=event.id)
            .create({"body": "Hi {patient_first_name}, please bring your glasses."})
        )
        self.quietly(composer.action_send)

    @rule(days=st.integers(0, 3), cancel_all=st.booleans())
    def practitioners_day(self, days, cancel_all):
        day = self.env["clinic.sms.day"].create(
            {
                "user_id": self.case.practitioner.id,
                "date_from": self.day(days),
                "mode": "cancel" if cancel_all else "notice",
                "body": "Dr. Hansen is ill today; we will call you.",
            }
        )
        self.quietly(day.action_send)

    # ------------------------------------------------------------------ time

    def run_dispatcher(self, delta):
        self.now += delta
        self.case.clock.move_to(self.now)
        self.env["clinic.sms.message"]._cron_dispatch()

    @rule(minutes=st.sampled_from([0, 1, 3, 5, 10, 30]))
    def dispatch(self, minutes):
        self.run_dispatcher(timedelta(minutes=minutes))

    @rule(hours=st.sampled_from([1, 3, 8, 12, 24]))
    def dispatch_hours_later(self, hours):
        self.run_dispatcher(timedelta(hours=hours))

    @rule(minutes=st.sampled_from([0, 5, 15]))
    def dispatch_next_morning(self, minutes):
        """The first runs of the day, when what waited for the window goes."""
        morning = utc(self.day(1), 8, 0) + timedelta(minutes=minutes)
        self.run_dispatcher(morning - self.now)

    # ------------------------------------------------------------------ the rules that must hold

    @invariant()
    def rules_hold(self):
        self.case.stats["checks"] += 1
        new = self.handed[self.checked :]
        self.checked = len(self.handed)
        for handed in new:
            if handed.status in GONE_OUT:
                self.check_gone_out(handed)
        self.check_log()

    def check_gone_out(self, h):
        # (i) once per appointment, patient, rule and start; no message twice
        twice = [o for o in self.handed if o.message_id == h.message_id and o.status in GONE_OUT]
        assert len(twice) == 1, f"(i) message {h.message_id} went out {len(twice)} times: {twice}"
        if h.event_id and h.event_start and (h.rule_id or h.kind == "reminder"):
            key = (h.event_id, h.partner_id, h.rule_id or "manual reminder", h.event_start)
            first = self.once.setdefault(key, h)
            assert first is h, f"(i) a second message for {key}: {first} and then {h}"
        # (ii) nothing for a cancelled, moved or started appointment
        if h.kind in BEFORE_START_KINDS and h.event_start:
            assert h.event_active, f"(ii) {h.kind} for a cancelled or deleted appointment: {h}"
            assert h.event_start_then == h.event_start, f"(ii) {h.kind} for an old start: {h}"
            assert h.event_start > h.at, f"(ii) {h.kind} after the appointment started: {h}"
        if h.kind == "cancellation" and h.event_active:
            assert h.event_start_then != h.event_start, f"(ii) cancelled, yet the appointment is back: {h}"
        # (iii) nobody who said no, cannot or must not receive it
        if not (h.kind == "opt_out" and h.answers_stop):
            assert not h.opted_out, f"(iii) sent to an opted-out patient: {h}"
            assert not h.blacklisted, f"(iii) sent to a blacklisted number: {h}"
            assert not h.deceased, f"(iii) sent to a deceased patient: {h}"
            assert h.patient_number, f"(iii) sent to a patient without a valid number: {h}"
            assert h.number == h.patient_number, f"(iii) sent to a number not the patient's: {h}"
            assert not h.internal, f"(iii) sent to a practitioner: {h}"
            assert not h.consent_missing, f"(iii) sent without the consent the clinic requires: {h}"
        if h.kind in EVENT_KINDS and h.event_id:
            assert h.attendee_state != "declined", f"(iii) {h.kind} to a patient who declined: {h}"
            if h.kind != "cancellation":
                assert h.attendee_state is not None, f"(iii) {h.kind} to a patient not on it: {h}"
        # (iv) inside the sending window (or its grace)
        if not in_window(h.at):
            late = h.at - h.due_at
            assert in_window(h.due_at) and timedelta(0) <= late <= GRACE, (
                f"(iv) sent at {local(h.at):%a %H:%M} Copenhagen, outside the window: {h}"
            )

    def check_log(self):
        self.env.flush_all()
        self.env.cr.execute(
            """SELECT 'v', id, kind, state FROM clinic_sms_message
                WHERE id >= %(first)s AND state IN ('failed', 'skipped', 'cancelled') AND reason IS NULL
               UNION ALL
               SELECT 'vi', m.id, m.kind, m.state FROM clinic_sms_message m
                 JOIN clinic_sms_rule r ON r.id = m.rule_id
                WHERE m.id >= %(first)s AND NOT r.active AND m.state IN ('scheduled', 'queued')""",
            {"first": self.first_id},
        )
        wrong = self.env.cr.fetchall()
        # (v) a final message that did not go out says why
        assert not [row for row in wrong if row[0] == "v"], f"(v) final without a reason: {wrong}"
        # (vi) archived rules have nothing pending
        assert not wrong, f"(vi) pending messages of an archived rule: {wrong}"


def in_window(moment):
    clock = local(moment).time()
    return WINDOW[0] <= clock <= WINDOW[1]


@tagged("post_install", "-at_install")
class TestStatefulRuleBook(ClinicSmsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ir.config_parameter"].sudo().set_param("clinic_sms.notice_settle_minutes", "2")
        cls.env = cls.env(context=dict(cls.env.context, no_mail_to_attendees=True))
        dk = cls.env.ref("base.dk").id
        Partner = cls.env["res.partner"]
        cls.patients = {
            "anna": cls.patient,
            "bo": cls.patient2,
            "carl": Partner.create({"name": "Carl Holm", "sms_number": NUMBERS["carl"][1], "country_id": dk}),
            "dorte": Partner.create(
                {"name": "Dorte Lund", "sms_number": NUMBERS["dorte"][0], "country_id": dk}
            ),
        }
        cls.internal_partner_ids = cls.env["clinic.sms.planner"]._internal_partner_ids()
        # Nothing planned before the machine starts (the default rules are the clinic's).
        assert not cls.env["calendar.event"].search_count([("start", ">", NOW)])

    def setUp(self):
        # Hypothesis keeps the real time for its own limits; the product reads the machine's clock.
        saved = freezegun.config.settings.default_ignore_list
        freezegun.configure(extend_ignore_list=["hypothesis"])
        try:
            super().setUp()
        finally:
            freezegun.config.settings.default_ignore_list = saved
        self.machine = None
        recording = ClinicSmsGateway._clinic_sms_send  # common.py's recorder, then the real one
        case = self

        def send_at_send_time(gateway, outgoing):
            machine = case.machine
            facts = [machine.at_send_time(o) for o in outgoing] if machine else []
            results = recording(gateway, outgoing)
            if machine:
                for fact, result in zip(facts, results, strict=True):
                    machine.handed.append(replace(fact, status=result.status))
            return results

        self.patch(ClinicSmsGateway, "_clinic_sms_send", send_at_send_time)

    def test_random_weeks_at_the_clinic_keep_every_rule(self):
        self.stats = Counter()
        self.durations = []
        run_state_machine_as_test(
            lambda: ClinicMachine(self),
            settings=settings(
                max_examples=examples(),
                stateful_step_count=int(os.environ.get("CLINIC_SMS_FUZZ_STEPS", "25")),
                derandomize=not fuzzing(),
                database=None,
                deadline=None,
                print_blob=True,
                verbosity=Verbosity.debug if os.environ.get("V") else Verbosity.normal,
                suppress_health_check=list(HealthCheck),
            ),
        )
        tenth = max(len(self.durations) // 10, 1)
        _logger.info(
            "clinic_sms stateful: seconds per example, first and last tenth: %.2f %.2f %s",
            sum(self.durations[:tenth]) / tenth,
            sum(self.durations[-tenth:]) / tenth,
            dict(sorted(self.stats.items())),
        )
