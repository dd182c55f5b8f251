"""What a patient's reply means: opt out, confirm, cancel, or something for staff to read.

- An opt-out word (STOP and its equivalents) counts as a whole word anywhere in the reply:
  "Stop sending me these" and "please STOP" both opt out. It wins over everything else.
- A confirming or cancelling word counts only as the reply's first word ("Ja tak", "Nej, jeg er
  syg"), and only from the patient's language's list, because the same word means different things
  in different languages: Polish "TAK" is yes, Danish "tak" is thanks.
- A reply that starts with a confirming word but also holds a cancelling one (or the reverse) is
  left to staff.
- CANCEL is never a cancelling word: Twilio treats it as an opt-out and swallows it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

STOP = "stop"
CONFIRM = "confirm"
CANCEL = "cancel"
OTHER = "other"
ACTIONS = (STOP, CONFIRM, CANCEL)

#: Words no configuration may use to confirm or cancel (carrier-level opt-out keywords).
RESERVED = frozenset({"CANCEL", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "REVOKE", "OPTOUT"})

#: Default words per language (language code prefix → action → words).
DEFAULT_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {STOP: ("STOP", "UNSUBSCRIBE"), CONFIRM: ("YES", "Y", "OK", "CONFIRM"), CANCEL: ("NO", "N")},
    "da": {STOP: ("STOP", "STOPP", "AFMELD"), CONFIRM: ("JA", "OK", "BEKRÆFT"), CANCEL: ("NEJ", "AFLYS")},
    "de": {STOP: ("STOP", "STOPP", "ABMELDEN"), CONFIRM: ("JA", "OK"), CANCEL: ("NEIN", "ABSAGEN")},
    "pl": {STOP: ("STOP", "WYPISZ"), CONFIRM: ("TAK", "OK", "POTWIERDZAM"), CANCEL: ("NIE", "ODWOŁUJĘ")},
}

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Meaning:
    action: str  # STOP, CONFIRM, CANCEL or OTHER
    word: str = ""  # the word that decided it, as configured


def fold(word: str) -> str:
    """Upper case without accents, so "bekræft", "BEKRÆFT" and "Bekraeft" compare equal."""
    text = word.strip().upper().replace("Æ", "AE").replace("Ø", "OE").replace("Å", "AA").replace("ß", "SS")
    text = text.replace("Ł", "L")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    return [fold(w) for w in _WORD.findall(text or "")]


def check_word(action: str, word: str) -> str | None:
    """Why ``word`` cannot be a reply word for ``action`` (an English sentence), or None."""
    folded = fold(word)
    if not folded or not _WORD.fullmatch(folded):
        return "A reply word must be a single word of letters or digits."
    if action in (CONFIRM, CANCEL) and folded in RESERVED:
        return (
            f"{word.strip().upper()} cannot confirm or cancel: providers such as Twilio treat it as an "
            "opt-out and never pass it on."
        )
    return None


def classify(text: str, keywords: Mapping[str, Iterable[str]]) -> Meaning:
    """What ``text`` means given ``keywords`` (action → words of the patient's language)."""
    found = words(text)
    if not found:
        return Meaning(OTHER)
    table = {action: {fold(w): w for w in keywords.get(action, ())} for action in ACTIONS}
    for token in found:
        if token in table[STOP]:
            return Meaning(STOP, table[STOP][token])
    first = found[0]
    for action, other in ((CONFIRM, CANCEL), (CANCEL, CONFIRM)):
        if first in table[action]:
            if any(token in table[other] for token in found[1:]):
                return Meaning(OTHER)
            return Meaning(action, table[action][first])
    return Meaning(OTHER)


def defaults_for(lang: str) -> dict[str, tuple[str, ...]]:
    """The default words for an Odoo language code such as ``da_DK`` (English when unknown)."""
    return DEFAULT_WORDS.get((lang or "en")[:2], DEFAULT_WORDS["en"])
