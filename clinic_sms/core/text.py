"""Text that arrives from outside (webhooks, providers' answers), made safe to store.

PostgreSQL refuses a NUL character in text (GSM-7 writes ``@`` as 0x00, and a gateway that passes a
GSM-7 text on undecoded leaves NULs in it), and UTF-8 cannot encode a lone surrogate (what a broken
UTF-16 pair, or a JSON ``"\\ud83d"`` escape, leaves in a Python string): either would make storing
the text fail. Both become U+FFFD, the replacement character. A valid surrogate pair becomes the
character it encodes.

Text longer than its limit is cut, and a body that is cut says how long it was, so staff reading it
know something is missing: a patient's reply is kept up to ten SMS parts (1,600 characters); a
number, a message id or a reference up to 100 characters (a longer one is not a real one).
"""

from __future__ import annotations

REPLACEMENT = "\ufffd"
#: Characters kept of a patient's reply: ten SMS parts of 160 GSM-7 characters.
BODY_LIMIT = 1600
#: Characters kept of a phone number, a provider's message id or our reference.
FIELD_LIMIT = 100
#: Characters kept of a provider's words about a failed message (``clinic.sms.message.error``).
ERROR_LIMIT = 250


def clean_text(value: str | None, limit: int = BODY_LIMIT, *, note: bool = True) -> str:
    """``value`` without NUL and lone surrogates, and at most ``limit`` characters long.

    A longer text is cut to make room for ``"… [truncated, 5,242,880 characters]"`` (its length
    after cleaning) when ``note`` is true, else simply cut. The result is never longer than
    ``limit``, so cleaning twice changes nothing. ``None`` is ``""``.
    """
    if not value:
        return ""
    text = str(value).replace("\x00", REPLACEMENT)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # Join the valid pairs (UTF-16 round trip), replace what is left alone.
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    if len(text) <= limit:
        return text
    if not note:
        return text[:limit]
    suffix = f"… [truncated, {len(text):,} characters]"
    return (text[: max(limit - len(suffix), 0)] + suffix)[:limit]


def clean_field(value: str | None, limit: int = FIELD_LIMIT) -> str:
    """A short value (a number, an id): cleaned, stripped, and cut at ``limit`` without a note."""
    return clean_text(value, limit, note=False).strip()
