"""Received text made safe to store (core/text.py), and the parsed webhook values that use it."""

from datetime import datetime, timezone

import pytest

from core import gateway as gw
from core.text import BODY_LIMIT, ERROR_LIMIT, FIELD_LIMIT, REPLACEMENT, clean_field, clean_text


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (None, ""),
        ("", ""),
        ("Ja tak, vi ses", "Ja tak, vi ses"),
        ("anna\x00example.dk", "anna\ufffdexample.dk"),  # GSM-7 '@' passed on undecoded
        ("\x00\x00", "\ufffd\ufffd"),
        ("broken \ud83d emoji", "broken \ufffd emoji"),  # a high surrogate alone
        ("\udc00 low first", "\ufffd low first"),
        ("x\udfff", "x\ufffd"),  # at the very end
        ("pair \ud83d\ude00 joined", "pair 😀 joined"),  # a valid pair: the character it encodes
        ("😀 æøå ł ß", "😀 æøå ł ß"),
        ("tab\tand\nnew line", "tab\tand\nnew line"),  # only NUL is refused by PostgreSQL
    ],
)
def test_nul_and_lone_surrogates_are_replaced(raw, clean):
    cleaned = clean_text(raw)
    assert cleaned == clean
    cleaned.encode("utf-8")  # storable


def test_a_text_at_the_limit_is_kept_whole():
    text = "a" * BODY_LIMIT
    assert clean_text(text) == text


def test_a_long_text_is_cut_and_says_how_long_it_was():
    cleaned = clean_text("Hej " * 1_310_720)  # 5,242,880 characters
    assert len(cleaned) == BODY_LIMIT
    assert cleaned.startswith("Hej Hej ")
    assert cleaned.endswith("… [truncated, 5,242,880 characters]")


def test_the_length_noted_is_the_cleaned_one():
    cleaned = clean_text("\ud83d\ude00" * 1000 + "x" * 1000)  # 1000 pairs: 2,000 characters once joined
    assert cleaned.endswith("[truncated, 2,000 characters]")
    assert cleaned.startswith("😀😀")


def test_cleaning_twice_changes_nothing():
    for raw in ("a\x00b\ud800", "x" * 10_000, "ø" * (BODY_LIMIT + 1), "short"):
        once = clean_text(raw)
        assert clean_text(once) == once
        assert clean_text(raw, 40) == clean_text(clean_text(raw, 40), 40)


def test_a_tiny_limit_is_never_exceeded():
    assert len(clean_text("x" * 100, 10)) == 10
    assert clean_text("x" * 100, 10, note=False) == "x" * 10


def test_fields_are_cut_without_a_note_and_stripped():
    assert clean_field(" +4520123456\x00 ") == "+4520123456\ufffd"
    assert clean_field("9" * 5000) == "9" * FIELD_LIMIT
    assert clean_field(None) == ""


def test_a_reply_is_cleaned_field_by_field():
    at = datetime(2027, 1, 11, 9, 0, tzinfo=timezone.utc)
    reply = gw.Inbound(
        number="+4520123456\x00", body="ja\x00" + "x" * 5000, provider_ref="m\ud800", to=" 1234 ", at=at
    )
    cleaned = reply.cleaned()
    assert cleaned.number == "+4520123456" + REPLACEMENT
    assert cleaned.body.startswith("ja" + REPLACEMENT + "xxx")
    assert cleaned.body.endswith("[truncated, 5,003 characters]")
    assert (cleaned.provider_ref, cleaned.to, cleaned.at) == ("m" + REPLACEMENT, "1234", at)
    assert cleaned.cleaned() == cleaned


def test_a_report_is_cleaned_field_by_field():
    report = gw.Report("gw\x00", "failed", ref="²" * 200, reason=gw.R_REJECTED, error="no\x00 " * 100)
    cleaned = report.cleaned()
    assert cleaned.provider_ref == "gw" + REPLACEMENT
    assert cleaned.ref == "²" * FIELD_LIMIT
    assert len(cleaned.error) == ERROR_LIMIT and cleaned.error.endswith("characters]")
    assert (cleaned.state, cleaned.reason) == ("failed", gw.R_REJECTED)


@pytest.mark.parametrize(
    "body",
    [b"[" * 5000 + b"]" * 5000, b'{"a": ' * 3000 + b"1" + b"}" * 3000, b"\xff\xfe{}", b"{", b"1" * 5000],
)
def test_json_that_cannot_be_read_is_malformed(body):
    """Deep nesting raises RecursionError in json, and a 5,000-digit number a ValueError: both are
    an unreadable request (400), not a crash (500)."""
    with pytest.raises(gw.Malformed):
        gw.Request("POST", "https://c/i", body=body).json()
