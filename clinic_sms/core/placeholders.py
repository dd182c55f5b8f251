"""Template placeholders: the fixed catalogue, validation, rendering, and date/time wording.

Syntax: ``{name}`` inserts a value; ``{{`` and ``}}`` write a literal ``{`` and ``}``. Spaces just
inside the braces are allowed (``{ clinic }``). Anything else with braces is malformed: an
unclosed ``{``, a lone ``}``, ``{}`` or ``{ }``, a nested ``{``, or a name that is not an
identifier (``{patient name}``).

:func:`validate` refuses malformed bodies and unknown names (:class:`TemplateError`);
:func:`find` and :func:`render` never raise: they ignore malformed pieces (:func:`render` copies
them as they are) and render unknown or missing values as the empty string. Values are inserted
as plain text and are not parsed again.

Dates are written in the patient's language, from tables in this module (no Babel in the core):
Danish, German, Polish and English; any other language falls back to English.
"""

import functools
import re
from datetime import date, datetime, time

from .exceptions import TemplateError

#: Placeholder name -> English description, in the order shown to users.
CATALOGUE: dict[str, str] = {
    "patient_first_name": "The patient's first name",
    "patient_name": "The patient's full name",
    "appointment_date": "The appointment's date, e.g. 3 March 2027",
    "appointment_time": "The appointment's start time, e.g. 14:30 (for an all-day appointment: all day)",
    "appointment_weekday": "The appointment's day of the week, e.g. Wednesday",
    "appointment_type": "The type of appointment",
    "practitioner": "The practitioner's name",
    "clinic": "The clinic's name",
    "clinic_phone": "The clinic's phone number",
    "location": "The appointment's location",
}

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# --- parsing -------------------------------------------------------------------------------------

_TEXT, _FIELD, _ERROR = "text", "field", "error"


def _excerpt(body: str, pos: int) -> str:
    piece = body[pos : pos + 20]
    return piece + ("…" if len(body) > pos + 20 else "")


@functools.lru_cache(maxsize=256)
def _tokens(body: str) -> tuple[tuple[str, str, str], ...]:
    """Split ``body`` into (kind, text, detail) tokens (cached: a few template texts serve every message).

    kind ``text``: literal text (braces unescaped). ``field``: ``text`` is the raw ``{...}``,
    ``detail`` the name. ``error``: ``text`` is the raw malformed piece, ``detail`` the explanation.
    """
    tokens: list[tuple[str, str, str]] = []
    literal: list[str] = []
    i, n = 0, len(body)

    def flush() -> None:
        if literal:
            tokens.append((_TEXT, "".join(literal), ""))
            literal.clear()

    while i < n:
        ch = body[i]
        if ch == "{" and body.startswith("{{", i):
            literal.append("{")
            i += 2
        elif ch == "}" and body.startswith("}}", i):
            literal.append("}")
            i += 2
        elif ch == "}":
            flush()
            tokens.append((_ERROR, "}", f'A "}}" has no matching "{{" (at character {i + 1}).'))
            i += 1
        elif ch == "{":
            flush()
            close = body.find("}", i + 1)
            nested = body.find("{", i + 1)
            if close == -1 or (nested != -1 and nested < close):
                end = n if close == -1 else nested
                tokens.append(
                    (_ERROR, body[i:end], f'"{_excerpt(body, i)}" has a "{{" that is not closed by "}}".')
                )
                i = end
                continue
            raw = body[i : close + 1]
            name = raw[1:-1].strip()
            if _NAME.fullmatch(name):
                tokens.append((_FIELD, raw, name))
            elif not name:
                tokens.append((_ERROR, raw, f'"{raw}" is an empty placeholder.'))
            else:
                tokens.append((_ERROR, raw, f'"{raw}" is not a valid placeholder.'))
            i = close + 1
        else:
            literal.append(ch)
            i += 1
    flush()
    return tuple(tokens)


def _allowed_text() -> str:
    return ", ".join("{%s}" % name for name in CATALOGUE)


def find(body: str) -> list[str]:
    """The placeholder names used in ``body`` (known or not), in order of first use, no duplicates."""
    names = (detail for kind, _raw, detail in _tokens(body or "") if kind == _FIELD)
    return list(dict.fromkeys(names))


def validate(body: str) -> None:
    """Raise :class:`TemplateError` if ``body`` is malformed or uses a name not in :data:`CATALOGUE`.

    The message lists every problem found; for unknown names it also lists the allowed
    placeholders, and for malformed braces it explains how to write a literal brace.
    """
    tokens = _tokens(body or "")
    errors = [detail for kind, _raw, detail in tokens if kind == _ERROR]
    unknown = tuple(name for name in find(body or "") if name not in CATALOGUE)
    if not errors and not unknown:
        return
    sentences = list(errors)
    if errors:
        sentences.append('Placeholders are written {name}; write "{{" and "}}" for literal braces.')
    if unknown:
        listed = ", ".join("{%s}" % name for name in unknown)
        noun = "placeholder" if len(unknown) == 1 else "placeholders"
        sentences.append(f"Unknown {noun}: {listed}. Allowed placeholders: {_allowed_text()}.")
    raise TemplateError(" ".join(sentences), unknown)


def render(body: str, values: dict[str, str]) -> str:
    """Fill the placeholders of ``body`` from ``values``; never raises.

    Missing, ``None`` or ``False`` values (and unknown names) render as ``""``; other values are
    converted with ``str``. Malformed pieces are copied unchanged. ``{{``/``}}`` become ``{``/``}``.
    """
    values = values or {}
    out = []
    for kind, raw, detail in _tokens(body or ""):
        if kind == _TEXT:
            out.append(raw)
        elif kind == _FIELD:
            value = values.get(detail)
            out.append("" if value is None or value is False else str(value))
        else:
            out.append(raw)
    return "".join(out)


# --- dates and times in the patient's language ---------------------------------------------------

_MONTHS = {
    "da": ("januar", "februar", "marts", "april", "maj", "juni",
           "juli", "august", "september", "oktober", "november", "december"),
    "de": ("Januar", "Februar", "März", "April", "Mai", "Juni",
           "Juli", "August", "September", "Oktober", "November", "Dezember"),
    # Polish dates use the genitive: "3 marca 2027".
    "pl": ("stycznia", "lutego", "marca", "kwietnia", "maja", "czerwca",
           "lipca", "sierpnia", "września", "października", "listopada", "grudnia"),
    "en": ("January", "February", "March", "April", "May", "June",
           "July", "August", "September", "October", "November", "December"),
}  # fmt: skip

# Monday first, as date.weekday().
_WEEKDAYS = {
    "da": ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"),
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
    "pl": ("poniedziałek", "wtorek", "środa", "czwartek", "piątek", "sobota", "niedziela"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}

_DATE_PATTERNS = {
    "da": "{day}. {month} {year}",
    "de": "{day}. {month} {year}",
    "pl": "{day} {month} {year}",
    "en": "{day} {month} {year}",
}

_ALLDAY = {"da": "hele dagen", "de": "ganztägig", "pl": "cały dzień", "en": "all day"}

#: Languages with their own wording; others use English.
LANGUAGES = tuple(_MONTHS)


def _language(lang: str | None) -> str:
    """``"da_DK"``, ``"de-AT"``, ``"pl"`` -> ``"da"``, ``"de"``, ``"pl"``; unknown -> ``"en"``."""
    code = re.split(r"[_\-@.]", (lang or "").strip(), maxsplit=1)[0].lower()
    return code if code in _MONTHS else "en"


def format_date(d: date, lang: str) -> str:
    """The date as written in ``lang``: da "3. marts 2027", de "3. März 2027", pl "3 marca 2027",
    en "3 March 2027" (British order, also for en_US: the clinics are European)."""
    code = _language(lang)
    return _DATE_PATTERNS[code].format(day=d.day, month=_MONTHS[code][d.month - 1], year=d.year)


def format_time(t: time, lang: str) -> str:
    """The time on the 24-hour clock, ``"14:30"``, in every supported language."""
    return f"{t.hour:02d}:{t.minute:02d}"


def format_weekday(d: date, lang: str) -> str:
    """The day of the week in ``lang``: da "onsdag", de "Mittwoch", pl "środa", en "Wednesday"."""
    return _WEEKDAYS[_language(lang)][d.weekday()]


def allday_label(lang: str) -> str:
    """What ``{appointment_time}`` says for an all-day appointment: da "hele dagen", de
    "ganztägig", pl "cały dzień", en "all day"."""
    return _ALLDAY[_language(lang)]


def event_values(
    *,
    patient_name: str,
    start_local: datetime,
    allday: bool,
    lang: str,
    appointment_type: str = "",
    practitioner: str = "",
    clinic: str = "",
    clinic_phone: str = "",
    location: str = "",
) -> dict[str, str]:
    """Every catalogue value for one patient and appointment, ready for :func:`render`.

    :param start_local: the appointment's start already in the clinic's time zone (its wall-clock
        fields are used as they are, aware or naive). For an all-day appointment only its date is
        used (a plain ``date`` is accepted too).
    :param allday: ``{appointment_time}`` becomes :func:`allday_label` instead of a clock time.
    Empty or ``False``/``None`` texts give ``""``; ``patient_first_name`` is the first word of
    ``patient_name``.
    """

    def text(value) -> str:
        return "" if value is None or value is False else str(value).strip()

    name = text(patient_name)
    day = start_local.date() if isinstance(start_local, datetime) else start_local
    clock = allday_label(lang) if allday else format_time(start_local.time(), lang)
    return {
        "patient_first_name": name.split()[0] if name else "",
        "patient_name": name,
        "appointment_date": format_date(day, lang),
        "appointment_time": clock,
        "appointment_weekday": format_weekday(day, lang),
        "appointment_type": text(appointment_type),
        "practitioner": text(practitioner),
        "clinic": text(clinic),
        "clinic_phone": text(clinic_phone),
        "location": text(location),
    }


_SAMPLE_PATIENTS = {
    "da": "Anna Jensen",
    "de": "Anna Müller",
    "pl": "Anna Kowalska",
    "en": "Anna Smith",
}


def sample_values(
    *,
    lang: str,
    start_local: datetime,
    appointment_type: str = "",
    practitioner: str = "",
    clinic: str = "",
    clinic_phone: str = "",
    location: str = "",
) -> dict[str, str]:
    """Every catalogue value for a sample patient (a common name in ``lang``: da "Anna Jensen",
    de "Anna Müller", pl "Anna Kowalska", else "Anna Smith") and an appointment at ``start_local``:
    what *Send me a test* fills a template with."""
    return event_values(
        patient_name=_SAMPLE_PATIENTS[_language(lang)],
        start_local=start_local,
        allday=False,
        lang=lang,
        appointment_type=appointment_type,
        practitioner=practitioner,
        clinic=clinic,
        clinic_phone=clinic_phone,
        location=location,
    )


_ALSO = {
    "da": ("Også: {dates}.", "{date} kl. {time}"),
    "de": ("Außerdem: {dates}.", "{date} um {time}"),
    "pl": ("Także: {dates}.", "{date} o {time}"),
    "en": ("Also: {dates}.", "{date} at {time}"),
}


def also_sentence(
    starts_local: list[datetime], lang: str, allday: bool = False, day: date | None = None
) -> str:
    """The sentence a notice adds for the other appointments it speaks for (a series, a burst of
    changes): da "Også: 18. januar 2027 kl. 10:00, 25. januar 2027 kl. 10:00.", or "" for none.
    ``day``: the local day of the message's own appointment; when every other start is on it (one
    reminder for a patient's day), only their times are named: "Also: 14:00, 16:30."."""
    if not starts_local:
        return ""
    code = _language(lang)
    sentence, item = _ALSO[code]
    if day is not None and not allday and all(start.date() == day for start in starts_local):
        times = (format_time(start.time(), lang) for start in sorted(starts_local))
        return sentence.format(dates=", ".join(times))
    dates = ", ".join(
        format_date(start.date(), lang)
        if allday
        else item.format(date=format_date(start.date(), lang), time=format_time(start.time(), lang))
        for start in sorted(starts_local)
    )
    return sentence.format(dates=dates)
