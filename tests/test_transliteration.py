"""Transliteration to GSM-7 keeps every symbol's meaning, and is used only when it saves parts."""

import sys
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.segments import count_parts, is_gsm7, transliterate, transliterate_if_cheaper

POLISH = (
    "Dzień dobry Łukaszu, przypominamy o wizycie w gabinecie stomatologicznym jutro o 14:30. "
    "Prosimy o potwierdzenie. Zażółć gęślą jaźń."
)


# --- meaning -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("symbol", ["≠", "≯", "≮", "≢", "∉", "∄", "≰", "≱", "≁"])
def test_a_negated_symbol_stays_what_it_is(symbol):
    # NFD splits "≠" into "=" + a combining stroke: dropping the stroke would say the opposite.
    assert transliterate(f"1 {symbol} 2") == f"1 {symbol} 2"
    assert transliterate_if_cheaper(f"1 {symbol} 2") == f"1 {symbol} 2"


def test_no_mathematical_symbol_changes_but_the_minus_sign():
    changed = {
        chr(code): transliterate(chr(code))
        for code in range(0x80, sys.maxunicode + 1)
        if unicodedata.category(chr(code)) == "Sm" and transliterate(chr(code)) != chr(code)
    }
    assert changed == {"−": "-"}


def test_no_symbol_becomes_an_ascii_symbol_of_another_meaning():
    # Only the mapped typographic marks (quotes, primes, dashes, bullet, accents) change.
    changed = {
        chr(code)
        for code in range(sys.maxunicode + 1)
        if unicodedata.category(chr(code))[0] == "S" and transliterate(chr(code)) != chr(code)
    }
    assert changed == {"−", "`", "´"}


def test_letters_still_lose_their_marks():
    assert transliterate("ąćęłńóśźż ĄĆĘŁŃÓŚŹŻ") == "acelnoszz ACELNOSZZ"
    assert transliterate("čřšž ő") == "crsz o"


# --- when it is used -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Polish, two Unicode parts -> one GSM-7 part: used.
        (POLISH, transliterate(POLISH)),
        # Short Polish, one part either way: the letters are kept.
        ("Dzień dobry", "Dzień dobry"),
        # A lone ẞ (one Unicode part) would become "SS" (one GSM-7 part): nothing saved.
        ("Straẞe", "Straẞe"),
        # Ellipses with an emoji stay Unicode; "..." only makes the text longer.
        ("😀" + "…" * 30, "😀" + "…" * 30),
        # Ellipses alone: 3 Unicode parts -> 2 GSM-7 parts: used.
        ("a" * 158 + "…", "a" * 158 + "..."),
        # A Polish text with a ≠ stays Unicode whatever is done to its letters: unchanged.
        (POLISH + " 1 ≠ 2", POLISH + " 1 ≠ 2"),
        (POLISH + " ≯", POLISH + " ≯"),
        # Already GSM-7, empty.
        ("Hej Søren, tid i morgen kl. 14:30", "Hej Søren, tid i morgen kl. 14:30"),
        ("", ""),
    ],
)
def test_transliteration_is_used_only_when_it_saves_parts(text, expected):
    assert transliterate_if_cheaper(text) == expected


def test_ellipsis_and_sharp_s_would_cost_more_but_are_kept():
    text = "😀 Straẞe " + "…" * 30
    assert count_parts(transliterate(text)).parts > count_parts(text).parts
    assert transliterate_if_cheaper(text) == text


def test_polish_reminder_goes_from_two_parts_to_one():
    assert count_parts(POLISH).parts == 2
    chosen = transliterate_if_cheaper(POLISH)
    assert count_parts(chosen).parts == 1
    assert is_gsm7(chosen)


_ALPHABET = st.sampled_from(list("abcXYZ 019.,!?€[]{}ąćęłńóśźżĄŁŻ…ẞß≠≯−–—„”‘’«»\u00a0\u200b\tčřšžçé😀Жω漢"))


@settings(max_examples=400, deadline=None)
@given(st.lists(_ALPHABET, max_size=400).map("".join))
def test_the_chosen_text_never_costs_more_parts(text):
    chosen = transliterate_if_cheaper(text)
    assert count_parts(chosen).parts <= count_parts(text).parts
    if chosen != text:
        assert chosen == transliterate(text)
        assert is_gsm7(chosen)
        assert count_parts(chosen).parts < count_parts(text).parts
    for symbol in "≠≯":
        assert chosen.count(symbol) == text.count(symbol)
