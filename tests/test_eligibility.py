"""The rule book (core/eligibility.py): every combination that matters, as a table."""

from datetime import date, datetime, timedelta, timezone

import pytest

from core import eligibility as el

NOW = datetime(2027, 1, 11, 10, 0, tzinfo=timezone.utc)
START = NOW + timedelta(days=1)

OK_PATIENT = el.Patient(attendee_state="needsAction")
OPEN_CLINIC = el.Clinic()
ON_TIME = el.Appointment(start=START, begin=START)


def facts(kind="reminder", patient=OK_PATIENT, appointment=ON_TIME, clinic=OPEN_CLINIC, **message):
    message.setdefault("planned_start", START if kind in el.EVENT_KINDS else None)
    message.setdefault("rule_active", True if kind in el.EVENT_KINDS else None)
    return el.Facts(
        message=el.Message(kind=kind, **message),
        patient=patient,
        clinic=clinic,
        appointment=appointment if kind in el.EVENT_KINDS else None,
        now=NOW,
    )


def patient(**changes):
    values = {"attendee_state": "needsAction", **changes}
    return el.Patient(**values)


CASES = [
    # (name, facts, expected (state, reason) or None)
    ("a reminder for a booked patient goes", facts(), None),
    ("clinic SMS switched off skips", facts(clinic=el.Clinic(enabled=False)), ("skipped", "sms_off")),
    (
        "an archived appointment cancels its reminder",
        facts(appointment=el.Appointment(active=False, start=START, begin=START)),
        ("cancelled", "appointment_cancelled"),
    ),
    (
        "a deleted appointment cancels its reminder",
        facts(appointment=el.Appointment(exists=False)),
        ("cancelled", "appointment_cancelled"),
    ),
    (
        "a moved appointment cancels the reminder for the old start",
        facts(appointment=el.Appointment(start=START + timedelta(hours=2), begin=START + timedelta(hours=2))),
        ("cancelled", "appointment_moved"),
    ),
    (
        "a cancellation notice for an appointment restored at the same time is withdrawn",
        facts("cancellation"),
        ("cancelled", "appointment_restored"),
    ),
    (
        "a cancellation notice for a cancelled appointment goes",
        facts("cancellation", appointment=el.Appointment(active=False, start=START, begin=START)),
        None,
    ),
    (
        "a cancellation notice for an appointment restored at another time goes",
        facts("cancellation", appointment=el.Appointment(start=START + timedelta(days=1))),
        None,
    ),
    (
        "a patient removed from the appointment gets nothing",
        facts(patient=patient(attendee_state=None)),
        ("cancelled", "patient_removed"),
    ),
    (
        "a practitioner listed as attendee is never a patient",
        facts(patient=patient(internal=True)),
        ("cancelled", "patient_removed"),
    ),
    ("an archived rule never sends", facts(rule_active=False), ("cancelled", "rule_archived")),
    (
        "a declined patient gets no reminder",
        facts(patient=patient(attendee_state="declined")),
        ("cancelled", "declined"),
    ),
    (
        "a declined patient gets no booking confirmation",
        facts("confirmation", patient=patient(attendee_state="declined")),
        ("cancelled", "declined"),
    ),
    (
        "an only-confirmed rule waits for the patient's acceptance",
        facts(rule_confirmed_only=True),
        ("cancelled", "unconfirmed"),
    ),
    (
        "an only-confirmed rule sends to an accepted patient",
        facts(rule_confirmed_only=True, patient=patient(attendee_state="accepted")),
        None,
    ),
    (
        "the appointment's SMS toggle off skips",
        facts(appointment=el.Appointment(start=START, begin=START, sms_enabled=False)),
        ("skipped", "sms_disabled"),
    ),
    (
        "a reminder after the start expires",
        facts(planned_start=NOW, appointment=el.Appointment(start=NOW, begin=NOW)),
        ("expired", None),
    ),
    (
        "a cancellation notice after the start still goes",
        facts(
            "cancellation",
            planned_start=NOW - timedelta(hours=1),
            appointment=el.Appointment(active=False, start=NOW - timedelta(hours=1), begin=NOW),
        ),
        None,
    ),
    ("a deceased patient is skipped", facts(patient=patient(deceased=True)), ("skipped", "deceased")),
    ("an opted-out patient is skipped", facts(patient=patient(opted_out=True)), ("skipped", "opted_out")),
    ("a blacklisted number is skipped", facts(patient=patient(blacklisted=True)), ("skipped", "opted_out")),
    (
        "an opt-out confirmation goes to the number that said STOP",
        facts("opt_out", patient=patient(opted_out=True, blacklisted=True), answers_opt_out=True),
        None,
    ),
    (
        "an opt-out confirmation not created by a STOP is skipped",
        facts("opt_out", patient=patient(opted_out=True)),
        ("skipped", "opted_out"),
    ),
    (
        "a patient without consent is skipped when the clinic requires consent",
        facts(patient=patient(consented=False), clinic=el.Clinic(consent_required=True)),
        ("skipped", "no_consent"),
    ),
    (
        "a patient without consent gets SMS when the clinic does not require consent",
        facts(patient=patient(consented=False)),
        None,
    ),
    (
        "a patient who consented gets SMS when the clinic requires consent",
        facts(patient=patient(consented=True), clinic=el.Clinic(consent_required=True)),
        None,
    ),
    (
        "the answer to a patient's own reply goes without consent",
        facts(
            "opt_out",
            patient=patient(consented=False, opted_out=True),
            clinic=el.Clinic(consent_required=True),
            answers_opt_out=True,
            answers_reply=True,
        ),
        None,
    ),
    (
        "a staff message to a patient without consent is skipped",
        facts("manual", patient=patient(consented=False), clinic=el.Clinic(consent_required=True)),
        ("skipped", "no_consent"),
    ),
    (
        "a message to a number without a contact needs no consent",
        facts(
            "manual",
            patient=el.Patient(exists=False, consented=False, own_number=True),
            clinic=el.Clinic(consent_required=True),
        ),
        None,
    ),
    (
        "an opted-out patient without consent says opted out",
        facts(patient=patient(opted_out=True, consented=False), clinic=el.Clinic(consent_required=True)),
        ("skipped", "opted_out"),
    ),
    (
        "a patient without consent and without a number says no consent",
        facts(
            patient=patient(consented=False, number_state="missing"), clinic=el.Clinic(consent_required=True)
        ),
        ("skipped", "no_consent"),
    ),
    ("no number is skipped", facts(patient=patient(number_state="missing")), ("skipped", "no_number")),
    (
        "an invalid number is skipped",
        facts(patient=patient(number_state="invalid")),
        ("skipped", "invalid_number"),
    ),
    (
        "a message to a number of its own ignores the contact's number",
        facts("manual", patient=el.Patient(exists=False, number_state="missing", own_number=True)),
        None,
    ),
    (
        "a staff message to a practitioner is refused",
        facts("manual", patient=el.Patient(internal=True)),
        ("skipped", "not_a_patient"),
    ),
    (
        "Odoo's own SMS to a practitioner's number goes (it is not sent as to a patient)",
        facts("manual", patient=el.Patient(internal=True, own_number=True)),
        None,
    ),
    (
        "Odoo's own SMS to an opted-out practitioner is still refused",
        facts("manual", patient=el.Patient(internal=True, own_number=True, opted_out=True)),
        ("skipped", "opted_out"),
    ),
    (
        "a declined patient still gets a staff message",
        facts("manual", patient=patient(attendee_state="declined")),
        None,
    ),
    (
        "a recall goes to a patient who booked nothing",
        facts("recall", patient=patient(recall_date=date(2027, 2, 1)), recall_date=date(2027, 2, 1)),
        None,
    ),
    (
        "a recall is withdrawn once the patient booked an appointment",
        facts(
            "recall",
            patient=patient(recall_date=date(2027, 2, 1), recall_booked=True),
            recall_date=date(2027, 2, 1),
        ),
        ("cancelled", "appointment_booked"),
    ),
    (
        "a recall for a recall date that moved is withdrawn",
        facts("recall", patient=patient(recall_date=date(2027, 8, 1)), recall_date=date(2027, 2, 1)),
        ("cancelled", "recall_moved"),
    ),
    (
        "a recall for a removed recall date is withdrawn",
        facts("recall", patient=patient(recall_date=None), recall_date=date(2027, 2, 1)),
        ("cancelled", "recall_moved"),
    ),
    (
        "a booked appointment withdraws only recalls",
        facts("birthday", patient=patient(recall_booked=True)),
        None,
    ),
    (
        "a booked recall of a patient without consent says booked",
        facts(
            "recall",
            patient=patient(recall_date=date(2027, 2, 1), recall_booked=True, consented=False),
            clinic=el.Clinic(consent_required=True),
            recall_date=date(2027, 2, 1),
        ),
        ("cancelled", "appointment_booked"),
    ),
    # The order: the appointment before the patient; deceased before opted out before the number.
    (
        "a cancelled appointment of a deceased patient says cancelled",
        facts(appointment=el.Appointment(active=False), patient=patient(deceased=True)),
        ("cancelled", "appointment_cancelled"),
    ),
    (
        "a deceased and opted-out patient says deceased",
        facts(patient=patient(deceased=True, opted_out=True, number_state="missing")),
        ("skipped", "deceased"),
    ),
    (
        "an opted-out patient without a number says opted out",
        facts(patient=patient(opted_out=True, number_state="missing")),
        ("skipped", "opted_out"),
    ),
    # E-mail when no valid SMS number (a rule option).
    (
        "no number but an e-mail address goes when the rule allows e-mail",
        facts(email_fallback=True, patient=patient(number_state="missing", has_email=True)),
        None,
    ),
    (
        "an invalid number but an e-mail address goes when the rule allows e-mail",
        facts(email_fallback=True, patient=patient(number_state="invalid", has_email=True)),
        None,
    ),
    (
        "no number and an e-mail address is skipped when the rule does not allow e-mail",
        facts(patient=patient(number_state="missing", has_email=True)),
        ("skipped", "no_number"),
    ),
    (
        "no number and no usable e-mail address is skipped although the rule allows e-mail",
        facts(email_fallback=True, patient=patient(number_state="missing")),
        ("skipped", "no_number"),
    ),
    (
        "an opted-out patient gets no e-mail either",
        facts(email_fallback=True, patient=patient(number_state="missing", has_email=True, opted_out=True)),
        ("skipped", "opted_out"),
    ),
    (
        "a deceased patient gets no e-mail",
        facts(email_fallback=True, patient=patient(number_state="missing", has_email=True, deceased=True)),
        ("skipped", "deceased"),
    ),
    (
        "a declined patient gets no e-mail",
        facts(
            email_fallback=True,
            patient=patient(number_state="missing", has_email=True, attendee_state="declined"),
        ),
        ("cancelled", "declined"),
    ),
    (
        "a patient without the required consent gets no e-mail",
        facts(
            email_fallback=True,
            clinic=el.Clinic(consent_required=True),
            patient=patient(number_state="missing", has_email=True, consented=False),
        ),
        ("skipped", "no_consent"),
    ),
    (
        "the appointment's SMS toggle off stops the e-mail too",
        facts(
            email_fallback=True,
            patient=patient(number_state="missing", has_email=True),
            appointment=el.Appointment(start=START, begin=START, sms_enabled=False),
        ),
        ("skipped", "sms_disabled"),
    ),
    (
        "clinic switched off wins over everything",
        facts(clinic=el.Clinic(enabled=False), appointment=el.Appointment(exists=False)),
        ("skipped", "sms_off"),
    ),
]


@pytest.mark.parametrize(("name", "case", "expected"), CASES, ids=[c[0] for c in CASES])
def test_the_rule_book_decides(name, case, expected):
    decision = el.decide(case)
    assert (None if decision is None else (decision.state, decision.reason)) == expected


def test_planning_ignores_what_is_read_when_sending():
    """A patient's number, opt-out and death are read at dispatch: planning plans anyway."""
    for changes in (
        {"deceased": True},
        {"opted_out": True},
        {"number_state": "missing"},
        {"consented": False},
    ):
        case = facts(patient=patient(**changes), clinic=el.Clinic(consent_required=True))
        assert el.may_plan(case)
        assert el.decide(case, el.SEND) is not None


def test_planning_does_not_plan_a_recall_for_a_patient_who_booked():
    booked = facts("recall", patient=patient(recall_date=date(2027, 2, 1), recall_booked=True))
    assert el.decide(booked, el.PLAN) == el.Decision("cancelled", "appointment_booked")


def test_planning_withdraws_for_the_appointment_and_the_rule():
    assert el.decide(facts(rule_active=False), el.PLAN) == el.Decision("cancelled", "rule_archived")
    assert not el.may_plan(facts(patient=patient(attendee_state="declined")))
    assert not el.may_plan(facts(clinic=el.Clinic(enabled=False)))


def test_the_detail_names_the_blacklist_and_the_number_problem():
    assert el.decide(facts(patient=patient(blacklisted=True))).detail == "blacklisted"
    assert el.decide(facts(patient=patient(opted_out=True))).detail == ""
    decision = el.decide(facts(patient=patient(number_state="invalid", number_problem="landline")))
    assert decision.detail == "landline"


def test_patient_decision_is_the_table_without_an_appointment():
    assert el.patient_decision(el.Patient()) is None
    assert el.patient_decision(el.Patient(deceased=True)).reason == "deceased"
    assert el.patient_decision(el.Patient(opted_out=True), el.OPT_OUT, answers_opt_out=True) is None
    assert el.patient_decision(el.Patient(consented=False)) is None
    assert el.patient_decision(el.Patient(consented=False), consent_required=True).reason == "no_consent"
    no_tick = el.Patient(consented=False, opted_out=True)
    assert el.patient_decision(no_tick, el.OPT_OUT, answers_opt_out=True, consent_required=True) is None


CHANNELS = [
    # (name, facts, channel)
    ("a valid number goes by SMS", facts(email_fallback=True, patient=patient(has_email=True)), el.SMS),
    (
        "no number goes by e-mail when the rule allows it and there is an address",
        facts(email_fallback=True, patient=patient(number_state="missing", has_email=True)),
        el.EMAIL,
    ),
    (
        "an invalid number goes by e-mail when the rule allows it and there is an address",
        facts(email_fallback=True, patient=patient(number_state="invalid", has_email=True)),
        el.EMAIL,
    ),
    (
        "without the rule's option it stays SMS",
        facts(patient=patient(number_state="missing", has_email=True)),
        el.SMS,
    ),
    (
        "a message to a number of its own never goes by e-mail",
        facts(
            "manual",
            email_fallback=True,
            patient=el.Patient(number_state="missing", has_email=True, own_number=True),
        ),
        el.SMS,
    ),
]


@pytest.mark.parametrize(("name", "case", "expected"), CHANNELS, ids=[c[0] for c in CHANNELS])
def test_the_rule_book_names_the_channel(name, case, expected):
    assert el.channel(case) == expected


def test_planning_plans_an_e_mail_message_like_an_sms():
    case = facts(email_fallback=True, patient=patient(number_state="missing", has_email=True))
    assert el.may_plan(case)
    assert el.may_plan(facts(patient=patient(number_state="missing")))


def test_every_reason_appears_once_in_the_table():
    assert len(el.REASONS) == len(set(el.REASONS))
    assert set(el.PATIENT_REASONS) <= set(el.REASONS)
