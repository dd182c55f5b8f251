"""The log's vocabulary (kinds, states, reasons) and Odoo's datetime conversions.

Plain Python, imported by models and wizards alike, so that nobody has to import a model file for a
constant. The labels are English source strings; Odoo translates them through the fields that use them.
"""

from datetime import timedelta, timezone

RULE_KINDS = [
    ("reminder", "Reminder"),
    ("confirmation", "Booking confirmation"),
    ("reschedule", "Moved appointment"),
    ("cancellation", "Cancelled appointment"),
    ("birthday", "Birthday greeting"),
    ("recall", "Recall"),
]
TEMPLATE_KINDS = [
    ("reminder", "Reminder"),
    ("confirmation", "Booking confirmation"),
    ("reschedule", "Moved appointment"),
    ("cancellation", "Cancelled appointment"),
    ("birthday", "Birthday greeting"),
    ("recall", "Recall"),
    ("manual", "Message to patients"),
    ("notice", "Notice"),
    ("opt_out", "Opt-out confirmation"),
]
#: Kinds of the log's messages: what templates send, and patients' replies.
MESSAGE_KINDS = [*TEMPLATE_KINDS, ("inbound", "Reply from patient")]

STATES = [
    ("scheduled", "Scheduled"),
    ("queued", "Queued"),
    ("sending", "Sending"),
    ("sent", "Sent"),
    ("delivered", "Delivered"),
    ("buffered", "Buffered"),
    ("failed", "Failed"),
    ("expired", "Expired"),
    ("cancelled", "Cancelled"),
    ("skipped", "Skipped"),
]
REASONS = [
    ("opted_out", "Patient does not want SMS"),
    ("no_consent", "Patient has not consented to SMS"),
    ("no_number", "No SMS number"),
    ("invalid_number", "Invalid SMS number"),
    ("deceased", "Patient deceased"),
    ("appointment_cancelled", "Appointment cancelled"),
    ("appointment_moved", "Appointment moved"),
    ("appointment_restored", "Appointment restored"),
    ("patient_removed", "Patient removed from the appointment"),
    ("rule_changed", "Rule changed"),
    ("sms_disabled", "SMS switched off for the appointment"),
    ("sms_off", "Clinic SMS switched off"),
    ("no_credit", "Not enough credits"),
    ("no_gateway", "No SMS gateway"),
    ("outside_window", "Waiting for the sending window"),
    ("gateway_error", "Gateway failed, will retry"),
    ("gateway_unreachable", "Gateway unreachable, will retry"),
    ("throttled", "Gateway busy, will retry"),
    ("gateway_auth", "Gateway refused the credentials"),
    ("undeliverable", "Could not be delivered"),
    ("rejected", "Rejected by the gateway"),
    ("template_error", "Template cannot be filled in"),
    ("interrupted", "Sending interrupted"),
    ("staff", "Cancelled by staff"),
    ("declined", "Patient declined the appointment"),
    ("unconfirmed", "Appointment not confirmed by the patient"),
    ("rule_archived", "Rule archived"),
    ("not_a_patient", "Not a patient (a practitioner)"),
    ("brought_forward", "Sent earlier by a manual reminder run"),
    ("coalesced", "Merged into another notice"),
    ("same_day", "Merged into the patient's one reminder of the day"),
    ("duplicate", "Duplicate of another message"),
    ("email_failed", "E-mail could not be sent"),
    ("email_bounced", "E-mail bounced"),
    ("appointment_booked", "Patient booked an appointment"),
    ("recall_moved", "Recall date changed"),
]
#: How a message goes: by SMS, or by e-mail when its rule allows it and the patient has no valid
#: SMS number (the rule book's ``channel``).
CHANNELS = [("sms", "SMS"), ("email", "E-mail")]
REASON_CODES = {code for code, _label in REASONS}
#: States in which a message blocks planning the same message again.
BLOCKING_STATES = ("scheduled", "queued", "sending", "sent", "delivered", "buffered")
#: States of a message that has not been handed to a gateway yet and can still be withdrawn.
UNSENT_STATES = ("scheduled", "queued")
#: Kinds about one appointment at one start.
EVENT_KINDS = ("reminder", "confirmation", "reschedule", "cancellation")
FINAL_STATES = ("delivered", "failed", "expired", "cancelled", "skipped")
BATCH_SIZE = 500
PURGE_BATCH_SIZE = 5000
NO_CREDIT_RETRY = timedelta(minutes=10)
NO_GATEWAY_RETRY = timedelta(minutes=10)
#: A ``sending`` row no dispatcher holds a lock on is resolved once it is this old: a live batch
#: keeps its rows locked from the commit of ``sending`` until its results are written.
SENDING_GRACE = timedelta(minutes=2)


def to_aware(value):
    """Odoo's naive UTC datetime -> aware UTC datetime."""
    return value.replace(tzinfo=timezone.utc) if value else value


def to_naive(value):
    """Aware datetime -> Odoo's naive UTC datetime."""
    return value.astimezone(timezone.utc).replace(tzinfo=None) if value else value
