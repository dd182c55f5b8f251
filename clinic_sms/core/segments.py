"""How many SMS parts a text costs, and how to make it cheaper.

Encodings (GSM 03.38 / 3GPP TS 23.038):

* ``"gsm7"`` -- every character is in :data:`GSM7_BASIC` (one septet each) or in
  :data:`GSM7_EXTENDED` (escape + character: two septets each). One message holds 160 septets;
  a concatenated (multi-part) message 153 septets per part (the user data header takes the rest).
* ``"ucs2"`` -- any other character switches the whole text to UCS-2. Units are UTF-16 code units:
  characters outside the Basic Multilingual Plane (most emoji) count two. One message holds 70
  units; a multi-part message 67 per part.

National language shift tables (Turkish, Spanish, Portuguese, ...) are not used: providers rarely
support them and the clinics this add-on serves do not need them.

Counting is *exact*, as an SMSC splits a long text: the parts are filled greedily, and a character
never straddles two parts -- a GSM-7 escape sequence (extension character) or a UTF-16 surrogate
pair (emoji) that does not fit in the last free unit of a part starts the next part, leaving that
unit empty. So the number of parts can exceed ``ceil(units / 153)`` (or ``/ 67``) by the wasted
units; e.g. 152 letters + ``€`` + 152 letters is 306 septets but 3 parts, not 2.
"""

import unicodedata
from dataclasses import dataclass

# GSM 03.38 default alphabet, in table order (0x00-0x7F). 0x1B (escape) is not a character.
_GSM7_BASIC_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)

#: Characters of the GSM-7 default alphabet (one septet each), including ``\n`` and ``\r``.
GSM7_BASIC: frozenset[str] = frozenset(_GSM7_BASIC_TABLE) - {"\x1b"}

#: Characters of the GSM-7 extension table (escape + character: two septets each), form feed included.
GSM7_EXTENDED: frozenset[str] = frozenset("\f^{}\\[~]|€")

_GSM7_ALL = GSM7_BASIC | GSM7_EXTENDED

GSM7 = "gsm7"
UCS2 = "ucs2"

#: Units in a single-part message and per part of a multi-part message, by encoding.
LIMITS: dict[str, tuple[int, int]] = {GSM7: (160, 153), UCS2: (70, 67)}


@dataclass(frozen=True)
class Parts:
    """The cost of a text as SMS.

    :ivar encoding: ``"gsm7"`` or ``"ucs2"``.
    :ivar units: septets for GSM-7 (extension characters count 2), UTF-16 code units for UCS-2
        (characters outside the BMP count 2).
    :ivar parts: number of SMS parts: 0 for an empty text, 1 up to 160 (GSM-7) / 70 (UCS-2) units,
        else the exact number of 153- / 67-unit parts (see the module docstring).
    :ivar per_part: units one part holds: 160 / 70 for a single part (and an empty text),
        153 / 67 for a multi-part message.
    :ivar remaining: units still free in the current (last) part; ``per_part`` for an empty text.
    """

    encoding: str
    units: int
    parts: int
    per_part: int
    remaining: int


def is_gsm7(text: str) -> bool:
    """Whether ``text`` can be sent in the GSM-7 alphabet (basic or extension table)."""
    return all(ch in _GSM7_ALL for ch in text)


def non_gsm7_chars(text: str) -> list[str]:
    """The characters of ``text`` that force UCS-2, in order of appearance, without duplicates."""
    return list(dict.fromkeys(ch for ch in text if ch not in _GSM7_ALL))


def _unit_costs(text: str, encoding: str) -> list[int]:
    if encoding == GSM7:
        return [2 if ch in GSM7_EXTENDED else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def count_parts(text: str) -> Parts:
    """Count the encoding, units and parts of ``text`` (see the module docstring for the rules)."""
    text = text or ""
    encoding = GSM7 if is_gsm7(text) else UCS2
    single, multi = LIMITS[encoding]
    costs = _unit_costs(text, encoding)
    units = sum(costs)
    if units == 0:
        return Parts(encoding, 0, 0, single, single)
    if units <= single:
        return Parts(encoding, units, 1, single, single - units)
    # Greedy split: a character whose units do not fit in the current part starts a new one.
    parts, used = 1, 0
    for cost in costs:
        if used + cost > multi:
            parts += 1
            used = 0
        used += cost
    return Parts(encoding, units, parts, multi, multi - used)


# --- transliteration -------------------------------------------------------------------------

_SPACES = "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000\t"

_TRANSLIT: dict[str, str] = {
    # Polish (the reason this exists: one of them turns a 160-character SMS into a 70-character one)
    "ą": "a", "ć": "c", "ę": "e", "ł": "l", "ń": "n", "ó": "o", "ś": "s", "ź": "z", "ż": "z",
    "Ą": "A", "Ć": "C", "Ę": "E", "Ł": "L", "Ń": "N", "Ó": "O", "Ś": "S", "Ź": "Z", "Ż": "Z",
    # Other letters that do not decompose to a base letter + accent
    "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "Th", "ħ": "h", "Ħ": "H",
    "ı": "i", "ŀ": "l", "Ŀ": "L", "œ": "oe", "Œ": "OE", "ĳ": "ij", "Ĳ": "IJ", "ẞ": "SS",
    "ç": "c",  # GSM-7 has only the capital Ç; "c" reads better in lower-case text
    # Quotes and apostrophes
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "`": "'", "´": "'", "‹": "'", "›": "'",
    "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "«": '"', "»": '"',
    # Dashes and hyphens, bullets, ellipsis
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-", "•": "-", "…": "...",
    # Line and paragraph separators
    "\u2028": "\n", "\u2029": "\n",
    # Invisible characters (zero-width spaces and joiners, soft hyphen, BOM) are dropped
    "\u200b": "", "\u200c": "", "\u200d": "", "\u2060": "", "\ufeff": "", "\u00ad": "",
}  # fmt: skip
_TRANSLIT.update(dict.fromkeys(_SPACES, " "))


def _translit_char(ch: str) -> str:
    if ch in _GSM7_ALL:
        return ch
    mapped = _TRANSLIT.get(ch)
    if mapped is not None:
        return mapped
    # Accented letters (á ê ë õ í ú â î ô û ă ř š ž ...): drop the combining marks when what is left
    # is GSM-7. Letters already in GSM-7 (é è ù ì ò Ä Ö Ñ Ü Å ...) never get here. Only letters: a
    # symbol's mark is its meaning (``≠`` is ``=`` with a stroke, ``≯`` is ``>`` with one).
    if not unicodedata.category(ch).startswith("L"):
        return ch
    base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
    if base and base != ch and is_gsm7(base):
        return base
    return ch


def transliterate(text: str) -> str:
    """Replace characters outside GSM-7 by GSM-7 look-alikes, to avoid the UCS-2 price.

    Polish letters lose their diacritics (``ą`` → ``a``, ``ł`` → ``l``, ``Ż`` → ``Z``), other accented
    letters outside GSM-7 do too (``á ê ë õ í ú â î ô û`` ..., ``ç`` → ``c``), typographic quotes
    become ``'`` and ``"``, dashes ``-``, the ellipsis ``...``, unicode spaces (non-breaking, thin,
    ...) and tabs a plain space, and zero-width characters are removed. GSM-7 characters
    (``é è ù ì ò Ç Ø ø Å å Æ æ ß É Ä Ö Ñ Ü ä ö ñ ü à`` ...) are kept. Characters without a mapping
    (emoji, Cyrillic, ...) stay unchanged, so :func:`count_parts` still reports UCS-2. A symbol never
    changes its meaning: ``≠``, ``≯``, ``∉`` ... stay as they are (only letters lose their marks).

    The result can cost *more* parts than the text (``…`` becomes ``...``, ``ẞ`` becomes ``SS``,
    and a text that stays UCS-2 only grows): :func:`transliterate_if_cheaper` decides whether to use it.
    """
    if not text:
        return text or ""
    return "".join(_translit_char(ch) for ch in text)


def transliterate_if_cheaper(text: str) -> str:
    """The text to send when transliteration is wanted: :func:`transliterate` of ``text`` if the
    whole result is GSM-7 and costs fewer parts than ``text``, else ``text`` unchanged.

    So it never costs more parts, and a text that stays Unicode (an emoji, Cyrillic, a ``≠``)
    keeps its letters: losing the accents would save nothing.
    """
    text = text or ""
    result = transliterate(text)
    if result != text and is_gsm7(result) and count_parts(result).parts < count_parts(text).parts:
        return result
    return text
