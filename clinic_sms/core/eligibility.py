"""The rule book: who may receive which message, and whether a message still fits its appointment.

Every path that plans or sends asks this module — planning, the dispatcher, the composer, the manual
reminder run, the practitioner's day, birthdays and Odoo's own SMS through the clinic gateway — and
none re-states a rule. The decisions are functions over plain facts (frozen dataclasses, read from the
database by the caller at the moment of the decision) and answer a :class:`Decision`: the state the
message takes instead of going out, the reason code the log shows, and a detail for staff.

The reasons form one ordered table, :data:`RULES`: the first rule that holds decides. The order is
the one a receptionist reads: first what is wrong with the clinic and the appointment (nothing to
phone about), then what is wrong with the patient (phone instead).

Two moments ask the table:

* **planning** (:data:`PLAN`): only the rules that planning can know for good — the clinic's switch,
  the appointment, the patient's place on it, the rule. A patient's number, opt-out, consent or death
  are read when the message is sent, not when it is planned (they may change in between).
* **sending** (:data:`SEND`): every rule, with the facts of that moment.

A message that may go goes by SMS, unless the rule book says it goes by e-mail (:func:`channel`):
its rule has the option *E-mail when no valid SMS number*, the patient has no valid mobile number
but an e-mail address that is not on Odoo's e-mail blacklist. Then ``no_number`` / ``invalid_number``
do not stop it; everything before them in the table still does (an opted-out patient said no to
messages from the clinic, not only to SMS: no e-mail either; so does a missing consent).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

# --------------------------------------------------------------------------- message kinds

REMINDER = "reminder"
CONFIRMATION = "confirmation"
RESCHEDULE = "reschedule"
CANCELLATION = "cancellation"
BIRTHDAY = "birthday"
RECALL = "recall"
MANUAL = "manual"
NOTICE = "notice"
OPT_OUT = "opt_out"

#: Kinds about one appointment at one start, planned automatically.
EVENT_KINDS = frozenset({REMINDER, CONFIRMATION, RESCHEDULE, CANCELLATION})
#: Kinds that are pointless once the appointment has started.
BEFORE_START_KINDS = frozenset({REMINDER, CONFIRMATION, RESCHEDULE})

PLAN = "plan"
SEND = "send"

#: The channels a message may go by (:func:`channel`).
SMS = "sms"
EMAIL = "email"


# --------------------------------------------------------------------------- facts


@dataclass(frozen=True)
class Clinic:
    enabled: bool = True
    #: *Patients must consent to SMS*: a patient without the tick gets nothing but answers to their
    #: own replies.
    consent_required: bool = False


@dataclass(frozen=True)
class Patient:
    """The recipient as it is now. ``attendee_state`` is Odoo's attendee state on the message's
    appointment (``accepted``, ``declined``, ``tentative``, ``needsAction``), None when the patient
    is not (or no longer) an attendee of it."""

    exists: bool = True
    internal: bool = False
    opted_out: bool = False
    blacklisted: bool = False
    deceased: bool = False
    number_state: str = "valid"  # valid, invalid, missing
    number_problem: str = ""
    attendee_state: str | None = None
    #: The message goes to a number of its own, not the patient's (Odoo's own SMS, an answer to a
    #: number that wrote to us): the patient's number state does not matter.
    own_number: bool = False
    #: The patient has a well-formed e-mail address, and it is not on Odoo's e-mail blacklist.
    has_email: bool = False
    #: The patient's tick *Consents to SMS* (only asked when the clinic requires consent).
    consented: bool = True
    #: For a recall: the patient's recall date now, and whether they have a future, active
    #: appointment of one of the recall rule's appointment types (any type when it has none).
    recall_date: date | None = None
    recall_booked: bool = False


@dataclass(frozen=True)
class Appointment:
    """The message's appointment as it is now (``exists`` False when it was deleted)."""

    exists: bool = True
    active: bool = True
    start: datetime | None = None
    begin: datetime | None = None  # the moment it starts (all-day: local midnight), aware
    sms_enabled: bool = True


@dataclass(frozen=True)
class Message:
    """What is (or would be) sent. ``planned_start`` is the start it was planned for; ``rule_active``
    is None when the message has no rule (manual, Odoo's own SMS, a staff message)."""

    kind: str
    planned_start: datetime | None = None
    rule_active: bool | None = None
    rule_confirmed_only: bool = False
    answers_opt_out: bool = False  # an opt-out confirmation created by a received STOP
    #: The message's rule says: e-mail the patient when there is no valid SMS number.
    email_fallback: bool = False
    answers_reply: bool = False  # an answer to the patient's own reply (an opt-out confirmation, …)
    recall_date: date | None = None  # a recall: the recall date it was planned for


@dataclass(frozen=True)
class Facts:
    message: Message
    patient: Patient
    clinic: Clinic = Clinic()
    appointment: Appointment | None = None  # None: the message is about no appointment
    now: datetime | None = None


@dataclass(frozen=True)
class Decision:
    """What becomes of a message instead of going out: its ``state``, ``reason`` and ``detail``."""

    state: str
    reason: str | None = None
    detail: str = ""


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Rule:
    reason: str
    state: str  # the state the message takes
    moments: frozenset  # PLAN and/or SEND
    holds: Callable[[Facts], bool]
    detail: Callable[[Facts], str] = lambda facts: ""


def _about_appointment(f: Facts) -> bool:
    return f.appointment is not None and f.message.kind in EVENT_KINDS


def _gone(f: Facts) -> bool:
    a = f.appointment
    return _about_appointment(f) and f.message.kind != CANCELLATION and not (a.exists and a.active)


def _restored(f: Facts) -> bool:
    a = f.appointment
    return (
        _about_appointment(f)
        and f.message.kind == CANCELLATION
        and a.exists
        and a.active
        and a.start == f.message.planned_start
    )


def _moved(f: Facts) -> bool:
    a = f.appointment
    return (
        _about_appointment(f)
        and f.message.kind != CANCELLATION
        and f.message.planned_start is not None
        and a.start != f.message.planned_start
    )


def _removed(f: Facts) -> bool:
    return (
        _about_appointment(f)
        and f.message.kind != CANCELLATION
        and (f.patient.internal or f.patient.attendee_state is None)
    )


def _rule_archived(f: Facts) -> bool:
    return f.message.rule_active is False


def _recall_booked(f: Facts) -> bool:
    return f.message.kind == RECALL and f.patient.recall_booked


def _recall_moved(f: Facts) -> bool:
    return f.message.kind == RECALL and f.patient.exists and f.patient.recall_date != f.message.recall_date


def _declined(f: Facts) -> bool:
    return _about_appointment(f) and f.patient.attendee_state == "declined"


def _unconfirmed(f: Facts) -> bool:
    return (
        f.message.kind == REMINDER
        and f.message.rule_confirmed_only
        and _about_appointment(f)
        and f.patient.attendee_state != "accepted"
    )


def _sms_disabled(f: Facts) -> bool:
    # Any message given an appointment (a staff notice about a practitioner's day included).
    return f.appointment is not None and not f.appointment.sms_enabled


def _started(f: Facts) -> bool:
    a = f.appointment
    return (
        _about_appointment(f)
        and f.message.kind in BEFORE_START_KINDS
        and f.now is not None
        and a.begin is not None
        and a.begin <= f.now
    )


def _not_a_patient(f: Facts) -> bool:
    # A practitioner is never messaged as a patient, whatever the kind. A message to a number of its
    # own (Odoo's own SMS, e.g. a calendar alarm to the practitioner) is not sent as to a patient.
    return f.patient.internal and not f.patient.own_number and not _about_appointment(f)


def _opted_out(f: Facts) -> bool:
    # The confirmation of a received opt-out is the one message that goes to a number that said no.
    return not f.message.answers_opt_out and (f.patient.opted_out or f.patient.blacklisted)


def _by_email(f: Facts) -> bool:
    # No valid number to send to, but the rule allows e-mail and the patient has an address.
    return (
        not f.patient.own_number
        and f.patient.number_state != "valid"
        and f.message.email_fallback
        and f.patient.has_email
    )


def _no_consent(f: Facts) -> bool:
    # Only a patient (a contact) consents; the answer to their own reply goes without the tick.
    return (
        f.clinic.consent_required
        and f.patient.exists
        and not f.patient.consented
        and not f.message.answers_reply
    )


def _no_number(f: Facts) -> bool:
    return not f.patient.own_number and f.patient.number_state == "missing" and not _by_email(f)


def _invalid_number(f: Facts) -> bool:
    return (
        not f.patient.own_number and f.patient.number_state not in ("valid", "missing") and not _by_email(f)
    )


_BOTH = frozenset({PLAN, SEND})
_SEND_ONLY = frozenset({SEND})

#: The one ordered table of reasons. The first rule that holds decides.
RULES: tuple[Rule, ...] = (
    Rule("sms_off", "skipped", _BOTH, lambda f: not f.clinic.enabled),
    Rule("appointment_cancelled", "cancelled", _BOTH, _gone),
    Rule("appointment_restored", "cancelled", _BOTH, _restored),
    Rule("appointment_moved", "cancelled", _BOTH, _moved),
    Rule("patient_removed", "cancelled", _BOTH, _removed),
    Rule("rule_archived", "cancelled", _BOTH, _rule_archived),
    Rule("appointment_booked", "cancelled", _BOTH, _recall_booked),
    Rule("recall_moved", "cancelled", _BOTH, _recall_moved),
    Rule("declined", "cancelled", _BOTH, _declined),
    Rule("unconfirmed", "cancelled", _BOTH, _unconfirmed),
    Rule("sms_disabled", "skipped", _BOTH, _sms_disabled),
    Rule("started", "expired", _BOTH, _started),
    Rule("not_a_patient", "skipped", _BOTH, _not_a_patient),
    Rule("deceased", "skipped", _SEND_ONLY, lambda f: f.patient.deceased),
    Rule(
        "opted_out",
        "skipped",
        _SEND_ONLY,
        _opted_out,
        lambda f: "" if f.patient.opted_out else "blacklisted",
    ),
    Rule("no_consent", "skipped", _SEND_ONLY, _no_consent),
    Rule("no_number", "skipped", _SEND_ONLY, _no_number),
    Rule("invalid_number", "skipped", _SEND_ONLY, _invalid_number, lambda f: f.patient.number_problem),
)

#: Every reason the table can give, in its order.
REASONS: tuple[str, ...] = tuple(rule.reason for rule in RULES)
#: The reasons that concern the patient alone (what staff can act on by phoning instead).
PATIENT_REASONS = ("not_a_patient", "deceased", "opted_out", "no_consent", "no_number", "invalid_number")


def decide(facts: Facts, moment: str = SEND) -> Decision | None:
    """The decision that stops this message at ``moment`` (PLAN or SEND), or None when it may go.

    ``started`` answers state ``expired`` without a reason (the log shows it as expired)."""
    for rule in RULES:
        if moment in rule.moments and rule.holds(facts):
            reason = None if rule.reason == "started" else rule.reason
            return Decision(rule.state, reason, rule.detail(facts))
    return None


def channel(facts: Facts) -> str:
    """The channel a message that may go (:func:`decide` answers None) goes by: :data:`EMAIL` when
    its rule allows e-mail and the patient has no valid SMS number but an e-mail address, else
    :data:`SMS`."""
    return EMAIL if _by_email(facts) else SMS


def may_plan(facts: Facts) -> bool:
    """Whether planning should create (or keep) this message."""
    return decide(facts, PLAN) is None


def patient_decision(
    patient: Patient, kind: str = MANUAL, answers_opt_out: bool = False, consent_required: bool = False
) -> Decision | None:
    """Whether ``patient`` may receive a message of ``kind`` about no particular appointment (the
    composer, a greeting, a staff notice): the patient's own rules only, in the table's order, with
    the clinic's ``consent_required`` setting."""
    return decide(
        Facts(
            message=Message(kind=kind, answers_opt_out=answers_opt_out, answers_reply=answers_opt_out),
            patient=patient,
            clinic=Clinic(consent_required=consent_required),
        )
    )
