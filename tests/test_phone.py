"""Phone numbers: cleaning, E.164, refusal reasons (classifications verified against phonenumbers)."""

import phonenumbers
import pytest

from core import phone
from core.exceptions import CoreError, InvalidNumber
from core.phone import NumberCheck, check, mask, normalize

# --- accepted numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("+45 20 12 34 56", None, "+4520123456"),  # Danish: FIXED_LINE_OR_MOBILE
        ("20 12 34 56", "DK", "+4520123456"),
        ("20123456", "dk", "+4520123456"),  # region is case-insensitive
        ("0045 20 12 34 56", None, "+4520123456"),  # 00 means +
        ("0045-20.12/34(56)", None, "+4520123456"),  # separators stripped
        ("+49 151 23456789", None, "+4915123456789"),  # German mobile
        ("0151 23456789", "DE", "+4915123456789"),  # German national form with trunk 0
        ("+49 (0)151 23456789", None, "+4915123456789"),  # "(0)" in international form
        ("+48 512 345 678", None, "+48512345678"),  # Polish mobile
        ("512-345-678", "PL", "+48512345678"),
        ("+46 70 123 45 67", None, "+46701234567"),  # Swedish mobile
        ("\u00a0+45\u202f20 12 34 56 ", None, "+4520123456"),  # unicode spaces
        ("+45 20 12 34 56", "DE", "+4520123456"),  # region ignored when + is given
        ("+49 700 12345678", None, "+4970012345678"),  # PERSONAL_NUMBER: accepted
    ],
)
def test_accepted(raw, region, e164):
    assert normalize(raw, region) == e164
    assert check(raw, region) == NumberCheck("valid", e164, "", "")


def test_library_classification_assumptions():
    """The types the tests rely on, as phonenumbers reports them."""
    type_of = {
        "+4520123456": phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        "+49301234567": phonenumbers.PhoneNumberType.FIXED_LINE,
        "+4915123456789": phonenumbers.PhoneNumberType.MOBILE,
        "+48512345678": phonenumbers.PhoneNumberType.MOBILE,
        "+48221234567": phonenumbers.PhoneNumberType.FIXED_LINE,
        "+4580201234": phonenumbers.PhoneNumberType.TOLL_FREE,
        "+4590123456": phonenumbers.PhoneNumberType.PREMIUM_RATE,
        "+4970012345678": phonenumbers.PhoneNumberType.PERSONAL_NUMBER,
    }
    for number, expected in type_of.items():
        parsed = phonenumbers.parse(number)
        assert phonenumbers.is_valid_number(parsed), number
        assert phonenumbers.number_type(parsed) == expected, number


# --- refused numbers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "state", "reason"),
    [
        (None, "DK", "missing", "missing"),
        (False, "DK", "missing", "missing"),  # an empty Odoo Char field
        ("", "DK", "missing", "missing"),
        ("   ", "DK", "missing", "missing"),
        (" - / ", "DK", "missing", "missing"),
        ("2O 12 34 56", "DK", "invalid", "letters"),
        ("+45 20 12 34 56 ext 12", None, "invalid", "letters"),
        ("20 12 34 56", None, "invalid", "no_region"),
        ("20 12 34 56", "", "invalid", "no_region"),
        ("20 12 34 56", "XX", "invalid", "no_region"),
        ("12", "DK", "invalid", "too_short"),  # parses, but refused
        ("+45 20 12 3", None, "invalid", "too_short"),
        ("+45 20 12 34 56 78", None, "invalid", "too_long"),
        ("+49 151 2345678901234", None, "invalid", "too_long"),
        ("+45 18 00 12 34", None, "invalid", "invalid"),  # right length, unused range
        ("+999 1234567", None, "invalid", "invalid"),  # no such country code
        ("+45 20*12 34 56", None, "invalid", "invalid"),
        ("45+20123456", None, "invalid", "invalid"),
        ("+49 30 1234567", None, "invalid", "fixed_line"),  # Berlin landline
        ("030 1234567", "DE", "invalid", "fixed_line"),
        ("+48 22 123 45 67", None, "invalid", "fixed_line"),  # Warsaw landline
        ("+45 80 20 12 34", None, "invalid", "not_mobile"),  # Danish toll-free
        ("+45 90 12 34 56", None, "invalid", "not_mobile"),  # Danish premium rate
        ("+48 800 123 456", None, "invalid", "not_mobile"),  # Polish toll-free
    ],
)
def test_refused(raw, region, state, reason):
    result = check(raw, region)
    assert (result.state, result.reason, result.e164) == (state, reason, "")
    assert result.message and result.message.endswith(".")
    with pytest.raises(InvalidNumber) as info:
        normalize(raw, region)
    assert info.value.reason == reason
    assert info.value.message == result.message
    assert str(info.value) == result.message


def test_messages_are_plain_sentences():
    assert check("2O123456", "DK").message == "The number contains letters (an O typed for a 0?)."
    assert "landline" in check("+49 30 1234567").message
    assert "country code" in check("20123456").message
    assert check("12", "DK").message == "The number has too few digits."


def test_invalid_number_is_core_error():
    with pytest.raises(CoreError):
        normalize("abc", "DK")


def test_check_never_raises_on_odd_input():
    assert check(20123456, "DK") == NumberCheck("valid", "+4520123456", "", "")
    assert check("+", None).state == "invalid"
    assert check("00", None).state == "invalid"
    assert check("++4520123456", None).reason == "invalid"


def test_accepted_types_documented():
    assert phonenumbers.PhoneNumberType.FIXED_LINE not in phone.ACCEPTED_TYPES
    assert phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE in phone.ACCEPTED_TYPES
    assert phonenumbers.PhoneNumberType.TOLL_FREE not in phone.ACCEPTED_TYPES


# --- mask ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("e164", "masked"),
    [
        ("+4512345678", "+45****5678"),
        ("+4915123456789", "+49*******6789"),
        ("+48512345678", "+48*****5678"),
        ("+46123456", "+46***456"),
        ("+4612345", "+46***45"),
        ("+351234", "+35**34"),
        ("+123", "+12*"),
        ("", ""),
    ],
)
def test_mask(e164, masked):
    assert mask(e164) == masked


def test_mask_hides_at_least_half_of_the_digits_after_prefix():
    for length in range(1, 16):
        number = "+45" + "7" * length
        masked = mask(number)
        assert len(masked) == len(number)
        assert masked.startswith("+45")
        assert masked[3:].count("*") * 2 >= length


def test_redact_masks_every_number_a_provider_quotes_and_keeps_the_words():
    text = "The 'To' number +4520123456 is not valid; 48601234567 neither (error 21211)."
    assert (
        phone.redact(text) == "The 'To' number +45****3456 is not valid; 486****4567 neither (error 21211)."
    )


# --- numbers as providers give them ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("4520123456", "DK", "+4520123456"),  # international without its +
        ("+4520123456", "PL", "+4520123456"),
        (" 48601234567 ", "DK", "+48601234567"),
        ("20123456", "DK", "+4520123456"),  # national: read in the clinic's country
        ("020 12 34 56", "DE", "020 12 34 56"),  # unreadable: kept as given, never lost
        ("ClinicX", "DK", "ClinicX"),
        (None, "DK", ""),
    ],
)
def test_sender_e164(raw, region, expected):
    assert phone.sender_e164(raw, region) == expected
