"""The sample patient and appointment that *Send me a test* fills a template with."""

from datetime import datetime

import pytest

from core.placeholders import CATALOGUE, render, sample_values


@pytest.mark.parametrize(
    ("lang", "name", "date", "weekday"),
    [
        ("da_DK", "Anna Jensen", "12. januar 2027", "tirsdag"),
        ("de_DE", "Anna Müller", "12. Januar 2027", "Dienstag"),
        ("pl_PL", "Anna Kowalska", "12 stycznia 2027", "wtorek"),
        ("en_US", "Anna Smith", "12 January 2027", "Tuesday"),
        ("fr_FR", "Anna Smith", "12 January 2027", "Tuesday"),
    ],
)
def test_a_sample_patient_of_the_language_on_the_given_day(lang, name, date, weekday):
    values = sample_values(
        lang=lang, start_local=datetime(2027, 1, 12, 10, 0), clinic="Klinik", location="Room 1"
    )
    assert set(values) == set(CATALOGUE)
    assert (values["patient_name"], values["patient_first_name"]) == (name, "Anna")
    assert (values["appointment_date"], values["appointment_weekday"]) == (date, weekday)
    assert values["appointment_time"] == "10:00"
    assert render("{clinic}, {location}", values) == "Klinik, Room 1"
