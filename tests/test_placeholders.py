"""Placeholders: catalogue, find/validate/render, and dates and times in four languages."""

from datetime import date, datetime, time, timezone

import pytest

from core import placeholders
from core.exceptions import CoreError, TemplateError
from core.placeholders import (
    CATALOGUE,
    allday_label,
    event_values,
    find,
    format_date,
    format_time,
    format_weekday,
    render,
    validate,
)

EXPECTED_KEYS = [
    "patient_first_name",
    "patient_name",
    "appointment_date",
    "appointment_time",
    "appointment_weekday",
    "appointment_type",
    "practitioner",
    "clinic",
    "clinic_phone",
    "location",
]

WEDNESDAY = date(2027, 3, 3)


def test_catalogue_keys_in_order():
    assert list(CATALOGUE) == EXPECTED_KEYS
    assert all(isinstance(text, str) and text for text in CATALOGUE.values())


# --- find ------------------------------------------------------------------------------------------


def test_find_order_and_dedup():
    body = "{clinic}: {patient_first_name}, {appointment_date} {clinic} {patient_first_name} {location}"
    assert find(body) == ["clinic", "patient_first_name", "appointment_date", "location"]


def test_find_ignores_escaped_braces_and_reports_unknown_names():
    assert find("{{patient_name}} {foo} {{x}}") == ["foo"]
    assert find("{{{clinic}}}") == ["clinic"]
    assert find("") == []
    assert find("no placeholders") == []


def test_find_skips_malformed_pieces():
    assert find("{patient_name {clinic}") == ["clinic"]
    assert find("{ } {a b} } {location}") == ["location"]


def test_find_allows_spaces_inside_braces():
    assert find("{ clinic } {practitioner }") == ["clinic", "practitioner"]


# --- validate --------------------------------------------------------------------------------------


def test_validate_accepts_every_catalogue_name():
    validate(" ".join("{%s}" % name for name in CATALOGUE))
    validate("Plain text, {{braces}} and }} {{ alone.")
    validate("")


def test_validate_unknown_lists_allowed():
    with pytest.raises(TemplateError) as info:
        validate("Hi {patient_firstname}, see you {date} and {date}.")
    error = info.value
    assert error.unknown == ("patient_firstname", "date")
    assert "Unknown placeholders: {patient_firstname}, {date}." in error.message
    allowed = ", ".join("{%s}" % name for name in EXPECTED_KEYS)
    assert f"Allowed placeholders: {allowed}." in error.message
    assert str(error) == error.message
    assert isinstance(error, CoreError)


def test_validate_single_unknown_uses_singular():
    with pytest.raises(TemplateError, match=r"Unknown placeholder: \{Clinic\}\.") as info:
        validate("{Clinic}")  # names are case-sensitive
    assert info.value.unknown == ("Clinic",)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("Hello {patient_name", "not closed"),
        ("Hello {patient_name and {clinic}", "not closed"),
        ("Hello { }", "empty placeholder"),
        ("Hello {}", "empty placeholder"),
        ("Hello patient_name}", "no matching"),
        ("Hello {patient name}", "not a valid placeholder"),
        ("Hello {patient-name}", "not a valid placeholder"),
        ("Hello {{patient_name}", "no matching"),  # "{{" is a literal, the "}" is alone
    ],
)
def test_validate_malformed(body, fragment):
    with pytest.raises(TemplateError) as info:
        validate(body)
    assert fragment in info.value.message
    assert 'write "{{" and "}}" for literal braces' in info.value.message
    assert info.value.unknown == ()


def test_validate_malformed_and_unknown_together():
    with pytest.raises(TemplateError) as info:
        validate("{foo} {clinic")
    assert info.value.unknown == ("foo",)
    assert "not closed" in info.value.message
    assert "Unknown placeholder: {foo}" in info.value.message


# --- render ----------------------------------------------------------------------------------------


def test_render_fills_values():
    values = {"patient_first_name": "Anna", "clinic": "Tandlægerne", "appointment_time": "14:30"}
    body = "Hej {patient_first_name}, husk din tid kl. {appointment_time}. Mvh {clinic}"
    assert render(body, values) == "Hej Anna, husk din tid kl. 14:30. Mvh Tandlægerne"


def test_render_literal_braces():
    assert render("{{patient_name}} is {patient_name}", {"patient_name": "Ole"}) == "{patient_name} is Ole"
    assert render("{{{clinic}}}", {"clinic": "X"}) == "{X}"
    assert render("a }} b {{", {}) == "a } b {"


def test_render_missing_and_unknown_are_empty():
    assert render("[{location}] [{foo}]", {}) == "[] []"
    assert render("[{location}]", {"location": None}) == "[]"
    assert render("[{location}]", {"location": False}) == "[]"
    assert render("[{location}]", None) == "[]"


def test_render_converts_non_strings():
    assert render("{clinic}", {"clinic": 42}) == "42"


def test_render_values_are_not_parsed_again():
    assert render("{patient_name}", {"patient_name": "{clinic} }}", "clinic": "X"}) == "{clinic} }}"


def test_render_copies_malformed_pieces():
    assert render("Hi {patient_name", {"patient_name": "A"}) == "Hi {patient_name"
    assert render("a } b { } c", {}) == "a } b { } c"
    assert render("{ clinic }", {"clinic": "X"}) == "X"


# --- dates and times -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("da_DK", "3. marts 2027"),
        ("de_DE", "3. März 2027"),
        ("de_AT", "3. März 2027"),
        ("pl_PL", "3 marca 2027"),
        ("en_US", "3 March 2027"),
        ("en_GB", "3 March 2027"),
        ("fr_FR", "3 March 2027"),  # unknown -> English
        ("", "3 March 2027"),
        (None, "3 March 2027"),
        ("da", "3. marts 2027"),
        ("pl-PL", "3 marca 2027"),
    ],
)
def test_format_date(lang, expected):
    assert format_date(WEDNESDAY, lang) == expected


def test_format_date_two_digit_day_has_no_padding():
    assert format_date(date(2027, 12, 24), "da_DK") == "24. december 2027"
    assert format_date(date(2027, 1, 5), "de_DE") == "5. Januar 2027"


@pytest.mark.parametrize(
    ("month", "genitive"),
    list(
        enumerate(
            [
                "stycznia",
                "lutego",
                "marca",
                "kwietnia",
                "maja",
                "czerwca",
                "lipca",
                "sierpnia",
                "września",
                "października",
                "listopada",
                "grudnia",
            ],
            start=1,
        )
    ),
)
def test_polish_genitive_months(month, genitive):
    assert format_date(date(2027, month, 15), "pl_PL") == f"15 {genitive} 2027"


def test_all_months_danish_german_english():
    da = [format_date(date(2027, m, 1), "da_DK").split()[1] for m in range(1, 13)]
    assert da == ["januar", "februar", "marts", "april", "maj", "juni",
                  "juli", "august", "september", "oktober", "november", "december"]  # fmt: skip
    de = [format_date(date(2027, m, 1), "de_DE").split()[1] for m in range(1, 13)]
    assert de == ["Januar", "Februar", "März", "April", "Mai", "Juni",
                  "Juli", "August", "September", "Oktober", "November", "Dezember"]  # fmt: skip
    en = [format_date(date(2027, m, 1), "en_US").split()[1] for m in range(1, 13)]
    assert en == ["January", "February", "March", "April", "May", "June",
                  "July", "August", "September", "October", "November", "December"]  # fmt: skip


@pytest.mark.parametrize("lang", ["da_DK", "de_DE", "pl_PL", "en_US"])
def test_format_time_24_hour(lang):
    assert format_time(time(14, 30), lang) == "14:30"
    assert format_time(time(8, 5), lang) == "08:05"
    assert format_time(time(0, 0, 59), lang) == "00:00"


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("da_DK", "onsdag"),
        ("de_DE", "Mittwoch"),
        ("pl_PL", "środa"),
        ("en_US", "Wednesday"),
        ("xx", "Wednesday"),
    ],
)
def test_format_weekday(lang, expected):
    assert format_weekday(WEDNESDAY, lang) == expected


def test_weekdays_full_week():
    week = [date(2027, 3, 1 + i) for i in range(7)]  # Monday 1 March .. Sunday 7 March
    assert [format_weekday(d, "da_DK") for d in week] == [
        "mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"]  # fmt: skip
    assert [format_weekday(d, "de_DE") for d in week] == [
        "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"]  # fmt: skip
    assert [format_weekday(d, "pl_PL") for d in week] == [
        "poniedziałek", "wtorek", "środa", "czwartek", "piątek", "sobota", "niedziela"]  # fmt: skip
    assert [format_weekday(d, "en_GB") for d in week] == [
        "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]  # fmt: skip


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("da_DK", "hele dagen"),
        ("de_DE", "ganztägig"),
        ("pl_PL", "cały dzień"),
        ("en_US", "all day"),
        ("it_IT", "all day"),
    ],
)
def test_allday_label(lang, expected):
    assert allday_label(lang) == expected


# --- event_values ----------------------------------------------------------------------------------


def test_event_values_full():
    values = event_values(
        patient_name="  Anna Marie Hansen ",
        start_local=datetime(2027, 3, 3, 14, 30),
        allday=False,
        lang="da_DK",
        appointment_type="Tandrensning",
        practitioner="Dr. Jensen",
        clinic="Tandlægerne Ærø",
        clinic_phone="+45 70 10 20 30",
        location="Torvet 1",
    )
    assert values == {
        "patient_first_name": "Anna",
        "patient_name": "Anna Marie Hansen",
        "appointment_date": "3. marts 2027",
        "appointment_time": "14:30",
        "appointment_weekday": "onsdag",
        "appointment_type": "Tandrensning",
        "practitioner": "Dr. Jensen",
        "clinic": "Tandlægerne Ærø",
        "clinic_phone": "+45 70 10 20 30",
        "location": "Torvet 1",
    }
    assert list(values) == EXPECTED_KEYS


def test_event_values_uses_wall_clock_of_aware_start_without_converting():
    # 23:30 UTC on 2 March is given as the start in clinic time: the fields are used as they are.
    start = datetime(2027, 3, 2, 23, 30, tzinfo=timezone.utc)
    values = event_values(patient_name="Jan", start_local=start, allday=False, lang="pl_PL")
    assert values["appointment_date"] == "2 marca 2027"
    assert values["appointment_time"] == "23:30"
    assert values["appointment_weekday"] == "wtorek"


@pytest.mark.parametrize(
    ("lang", "label"),
    [("da_DK", "hele dagen"), ("de_DE", "ganztägig"), ("pl_PL", "cały dzień"), ("en_US", "all day")],
)
def test_event_values_allday(lang, label):
    values = event_values(
        patient_name="Jan Kowalski", start_local=datetime(2027, 3, 3), allday=True, lang=lang
    )
    assert values["appointment_time"] == label
    assert values["appointment_date"] == format_date(WEDNESDAY, lang)
    assert values["appointment_weekday"] == format_weekday(WEDNESDAY, lang)


def test_event_values_allday_accepts_date():
    values = event_values(patient_name="Jan", start_local=WEDNESDAY, allday=True, lang="de_DE")
    assert values["appointment_date"] == "3. März 2027"


def test_event_values_empty_name_and_defaults():
    values = event_values(patient_name=False, start_local=datetime(2027, 3, 3, 9), allday=False, lang="en_US")
    assert values["patient_first_name"] == ""
    assert values["patient_name"] == ""
    assert values["location"] == ""
    assert values["appointment_time"] == "09:00"


def test_event_values_render_end_to_end():
    body = (
        "Dzień dobry {patient_first_name}! "
        "Wizyta: {appointment_weekday}, {appointment_date} o {appointment_time}."
    )
    values = event_values(
        patient_name="Łukasz Wójcik", start_local=datetime(2027, 10, 6, 9, 15), allday=False, lang="pl_PL"
    )
    validate(body)
    assert render(body, values) == "Dzień dobry Łukasz! Wizyta: środa, 6 października 2027 o 09:15."


def test_languages_constant():
    assert set(placeholders.LANGUAGES) == {"da", "de", "pl", "en"}


def test_the_also_sentence_names_the_other_dates_in_the_patients_language():
    starts = [datetime(2027, 1, 25, 10, 0), datetime(2027, 1, 18, 10, 0)]
    assert (
        placeholders.also_sentence(starts, "da_DK")
        == "Også: 18. januar 2027 kl. 10:00, 25. januar 2027 kl. 10:00."
    )
    assert placeholders.also_sentence(starts[:1], "de_DE") == "Außerdem: 25. Januar 2027 um 10:00."
    assert placeholders.also_sentence(starts[:1], "pl_PL") == "Także: 25 stycznia 2027 o 10:00."
    assert placeholders.also_sentence(starts[:1], "en_US", allday=True) == "Also: 25 January 2027."
    assert placeholders.also_sentence([], "da_DK") == ""


def test_the_also_sentence_of_a_patients_day_names_only_the_times():
    day = date(2027, 1, 18)
    starts = [datetime(2027, 1, 18, 16, 30), datetime(2027, 1, 18, 14, 0)]
    assert placeholders.also_sentence(starts, "en_US", day=day) == "Also: 14:00, 16:30."
    assert placeholders.also_sentence(starts[:1], "da_DK", day=day) == "Også: 16:30."
    # Another day among them: every date is named.
    other = [*starts, datetime(2027, 1, 19, 9, 0)]
    assert placeholders.also_sentence(other, "en_US", day=day).count("January 2027") == 3
