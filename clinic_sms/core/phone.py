"""Phone numbers: is this a number an SMS can go to, and what is its E.164 form?

Input cleaning: surrounding and inner spaces (unicode spaces included), dots, dashes, slashes and
parentheses are removed; a leading ``00`` means ``+``. ``"+49 (0)151 2345 6789"`` is understood.

Refusal reasons (``NumberCheck.reason`` and ``InvalidNumber.reason``):

``missing``     no number at all (``None``, ``False``, empty or only separators)
``letters``     the number contains a letter (often an O typed for a 0, or "ext.")
``no_region``   no ``+``/``00`` prefix and no (known) country to assume
``too_short``   too few digits (also: a number only diallable locally, without area code)
``too_long``    too many digits
``invalid``     anything else ``phonenumbers`` refuses: unknown country code, stray characters
                (``*``, ``#``, a ``+`` in the middle), a length or range not used in that country
``fixed_line``  a valid landline number: it cannot receive SMS
``not_mobile``  a valid number of a kind that cannot receive SMS: toll-free, premium-rate,
                shared-cost, UAN (company switchboard), voicemail access or pager numbers

Accepted: ``MOBILE`` and ``FIXED_LINE_OR_MOBILE`` (many European numbering plans, the Danish one
among them, do not tell mobiles from landlines: those numbers are given the benefit of the doubt),
and ``VOIP`` and ``PERSONAL_NUMBER`` (these usually forward to a mobile and often receive SMS).
``phonenumbers`` never reports ``UNKNOWN`` for a valid number, so ``UNKNOWN`` is refused as
``invalid`` by the validity check.
"""

import re
from dataclasses import dataclass
from typing import NoReturn

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType, ValidationResult

from .exceptions import InvalidNumber

VALID = "valid"
INVALID = "invalid"
MISSING = "missing"

#: Number types an SMS is sent to.
ACCEPTED_TYPES = frozenset(
    {
        PhoneNumberType.MOBILE,
        PhoneNumberType.FIXED_LINE_OR_MOBILE,
        PhoneNumberType.VOIP,
        PhoneNumberType.PERSONAL_NUMBER,
    }
)

_MESSAGES = {
    "missing": "There is no phone number.",
    "letters": "The number contains letters (an O typed for a 0?).",
    "no_region": (
        "The number has no country code (such as +45, +49 or +48) and no country is set to assume one."
    ),
    "too_short": "The number has too few digits.",
    "too_long": "The number has too many digits.",
    "invalid": "This is not a valid phone number.",
    "invalid_chars": "The number contains characters that do not belong in a phone number.",
    "invalid_country": "The country code of the number does not exist.",
    "fixed_line": "This is a landline number; it cannot receive SMS.",
    "not_mobile": "This is a service number (toll-free, premium-rate or similar); it cannot receive SMS.",
}

# Separators people type between digits: whitespace (unicode too), dots, dashes, slashes, parentheses.
_SEPARATORS = re.compile(r"[\s.\-/()\u2010-\u2015\u2212]+")
_SHAPE = re.compile(r"\+?[0-9]+")


@dataclass(frozen=True)
class NumberCheck:
    """The verdict on one phone number; see the module docstring for the reasons.

    :ivar state: ``"valid"``, ``"invalid"`` or ``"missing"``.
    :ivar e164: the number in E.164 (``"+4520123456"``) when valid, else ``""``.
    :ivar reason: ``""`` when valid, else the refusal reason code.
    :ivar message: ``""`` when valid, else a plain English sentence for the receptionist.
    """

    state: str
    e164: str
    reason: str
    message: str


def _fail(reason: str, message_key: str | None = None) -> NoReturn:
    raise InvalidNumber(reason, _MESSAGES[message_key or reason])


def normalize(raw: str | None, region: str | None = None) -> str:
    """Return ``raw`` in E.164 if an SMS can be sent to it, else raise :class:`InvalidNumber`.

    :param raw: the number as typed (``None``/``False``/empty mean missing).
    :param region: ISO 3166 country code (``"DK"``, ``"de"``...) assumed when the number has no
        ``+``/``00`` prefix; ignored when it has one.
    """
    if raw is None or raw is False:
        _fail("missing")
    cleaned = _SEPARATORS.sub("", str(raw))
    if not cleaned:
        _fail("missing")
    if any(ch.isalpha() for ch in cleaned):
        _fail("letters")
    if cleaned.startswith("00"):
        cleaned = "+" + cleaned[2:]
    if not _SHAPE.fullmatch(cleaned):
        _fail("invalid", "invalid_chars")
    if cleaned.startswith("+"):
        default_region = None
    else:
        default_region = (region or "").strip().upper()
        if default_region not in phonenumbers.SUPPORTED_REGIONS:
            _fail("no_region")
    try:
        number = phonenumbers.parse(cleaned, default_region)
    except NumberParseException as exc:
        if exc.error_type in (NumberParseException.TOO_SHORT_NSN, NumberParseException.TOO_SHORT_AFTER_IDD):
            _fail("too_short")
        if exc.error_type == NumberParseException.TOO_LONG:
            _fail("too_long")
        if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE:
            _fail("invalid", "invalid_country")
        _fail("invalid")
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible in (ValidationResult.TOO_SHORT, ValidationResult.IS_POSSIBLE_LOCAL_ONLY):
        _fail("too_short")
    if possible == ValidationResult.TOO_LONG:
        _fail("too_long")
    if possible == ValidationResult.INVALID_COUNTRY_CODE:
        _fail("invalid", "invalid_country")
    if not phonenumbers.is_valid_number(number):
        _fail("invalid")
    number_type = phonenumbers.number_type(number)
    if number_type == PhoneNumberType.FIXED_LINE:
        _fail("fixed_line")
    if number_type not in ACCEPTED_TYPES:
        _fail("not_mobile")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def check(raw: str | None, region: str | None = None) -> NumberCheck:
    """Like :func:`normalize` but returns a :class:`NumberCheck` and never raises."""
    try:
        e164 = normalize(raw, region)
    except InvalidNumber as exc:
        state = MISSING if exc.reason == "missing" else INVALID
        return NumberCheck(state, "", exc.reason, exc.message)
    except Exception:  # defensive: a library surprise must not break a form or a cron
        return NumberCheck(INVALID, "", "invalid", _MESSAGES["invalid"])
    return NumberCheck(VALID, e164, "", "")


def sender_e164(raw: str | None, region: str | None = None) -> str:
    """The number a provider says an SMS came from (or should go to), in E.164 when it can be read.

    Providers write international numbers without their ``+`` (``4520123456``): a string of
    digits that does not start with 0 is read as international first, and in the clinic's country
    when that is not a valid number. A number that cannot be read is returned as given (stripped),
    so that nothing a patient sent is lost.
    """
    text = (raw or "").strip()
    if text.isdigit() and not text.startswith("0"):
        international = check("+" + text, region).e164
        if international:
            return international
    return check(text, region).e164 or text


def mask(e164: str) -> str:
    """Hide the middle of a number for logs: ``"+4512345678"`` → ``"+45****5678"``.

    Keeps the first 3 characters (``+`` and the country code, or part of it) and the last 4
    digits (3 for 6-7 digits after the prefix, 2 for fewer); everything between becomes ``*``.
    At least half of what follows the prefix is always hidden.
    """
    if not e164:
        return ""
    text = str(e164)
    head, rest = text[:3], text[3:]
    if len(rest) >= 8:
        keep = 4
    elif len(rest) >= 6:
        keep = 3
    elif len(rest) >= 4:
        keep = 2
    else:
        keep = 0
    return head + "*" * (len(rest) - keep) + rest[len(rest) - keep :]


#: Anything in a text that may be a phone number: six digits or more, with or without ``+``.
_NUMBER_IN_TEXT = re.compile(r"\+?\d{6,}")


def redact(text: str) -> str:
    """``text`` with every phone number in it masked (:func:`mask`): providers' error texts quote
    the number, and they are shown to staff and logged."""
    return _NUMBER_IN_TEXT.sub(lambda match: mask(match.group()), text)
