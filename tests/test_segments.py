"""SMS parts: GSM-7 / UCS-2 detection, unit counting, exact multi-part split, transliteration."""

import pytest

from core import credits, segments
from core.segments import GSM7_BASIC, GSM7_EXTENDED, Parts, count_parts, is_gsm7, transliterate

# --- alphabet tables ---------------------------------------------------------------------------------


def test_gsm7_tables_sizes_and_disjoint():
    # 128 positions in the basic table minus the escape; 10 extension characters.
    assert len(GSM7_BASIC) == 127
    assert len(GSM7_EXTENDED) == 10
    assert not GSM7_BASIC & GSM7_EXTENDED
    assert "\x1b" not in GSM7_BASIC


def test_gsm7_basic_contents():
    for ch in "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà\n\r !\"#%&'()*+,-./:;<=>?":
        assert ch in GSM7_BASIC, ch
    for ch in "AZaz09":
        assert ch in GSM7_BASIC


def test_gsm7_extended_contents():
    assert set("\f^{}\\[~]|€") == GSM7_EXTENDED


@pytest.mark.parametrize("ch", [*"ąćęłńóśźżĄĆĘŁŃÓŚŹŻáêëçõ`\t", "\u00a0", "’", "“", "–", "—", "…", "😀"])
def test_not_gsm7(ch):
    assert ch not in GSM7_BASIC
    assert ch not in GSM7_EXTENDED
    assert not is_gsm7("abc" + ch)


def test_is_gsm7():
    assert is_gsm7("")
    assert is_gsm7("Hej Søren, din tid hos Tandlægen Ærø er i morgen kl. 14:30. Mvh Åse")
    assert is_gsm7("Grüße aus München, Straße 5 € [x] {y} ~|^\\")
    assert not is_gsm7("Dzień dobry")
    assert segments.non_gsm7_chars("Zażółć a ż") == ["ż", "ó", "ł", "ć"]


# --- count_parts: single part --------------------------------------------------------------------------


def test_empty_text():
    assert count_parts("") == Parts("gsm7", 0, 0, 160, 160)


def test_single_gsm7_part():
    assert count_parts("Hello") == Parts("gsm7", 5, 1, 160, 155)
    assert count_parts("a" * 160) == Parts("gsm7", 160, 1, 160, 0)


def test_danish_and_german_letters_are_gsm7():
    text = "æøåÆØÅäöüÄÖÜßéÉ"
    assert count_parts(text) == Parts("gsm7", 15, 1, 160, 145)


def test_extension_characters_count_two():
    assert count_parts("€") == Parts("gsm7", 2, 1, 160, 158)
    assert count_parts("[]{}") == Parts("gsm7", 8, 1, 160, 152)
    assert count_parts("\f") == Parts("gsm7", 2, 1, 160, 158)
    # 159 letters + € = 161 septets: two parts although only 160 characters.
    assert count_parts("a" * 159 + "€") == Parts("gsm7", 161, 2, 153, 145)
    assert count_parts("a" * 158 + "€") == Parts("gsm7", 160, 1, 160, 0)


def test_newlines_are_one_septet():
    assert count_parts("a\nb\r\n") == Parts("gsm7", 5, 1, 160, 155)


def test_single_ucs2_part():
    assert count_parts("ą") == Parts("ucs2", 1, 1, 70, 69)
    assert count_parts("ą" * 70) == Parts("ucs2", 70, 1, 70, 0)


def test_one_polish_letter_switches_whole_text_to_ucs2():
    text = "a" * 100 + "ł"
    assert count_parts(text) == Parts("ucs2", 101, 2, 67, 33)
    assert count_parts(transliterate(text)) == Parts("gsm7", 101, 1, 160, 59)


def test_extension_character_counts_one_in_ucs2():
    assert count_parts("ą€") == Parts("ucs2", 2, 1, 70, 68)


def test_emoji_counts_two_utf16_units():
    assert count_parts("😀") == Parts("ucs2", 2, 1, 70, 68)
    assert count_parts("😀" * 35) == Parts("ucs2", 70, 1, 70, 0)
    assert count_parts("😀" * 35 + "a").parts == 2


# --- count_parts: multi-part ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "parts", "remaining"),
    [(161, 2, 145), (306, 2, 0), (307, 3, 152), (459, 3, 0), (460, 4, 152), (1530, 10, 0)],
)
def test_multipart_gsm7(length, parts, remaining):
    assert count_parts("x" * length) == Parts("gsm7", length, parts, 153, remaining)


@pytest.mark.parametrize(
    ("length", "parts", "remaining"), [(71, 2, 63), (134, 2, 0), (135, 3, 66), (201, 3, 0), (202, 4, 66)]
)
def test_multipart_ucs2(length, parts, remaining):
    assert count_parts("ż" * length) == Parts("ucs2", length, parts, 67, remaining)


def test_escape_sequence_never_split_across_parts():
    # 152 letters + € + 152 letters = 306 septets = 2 x 153, but the € cannot start in the last
    # septet of part 1: part 1 = 152 (1 septet unused), part 2 = € + 151, part 3 = 1.
    text = "a" * 152 + "€" + "a" * 152
    assert count_parts(text) == Parts("gsm7", 306, 3, 153, 152)
    # With the € one position earlier it fits exactly at the end of part 1: 2 parts.
    text = "a" * 151 + "€" + "a" * 153
    assert count_parts(text) == Parts("gsm7", 306, 2, 153, 0)


def test_escape_at_part_boundary_moves_to_next_part():
    # 152 letters + € + 7 letters = 161 septets: part 1 = 152 (€ does not fit), part 2 = € + 7 = 9.
    assert count_parts("a" * 152 + "€" + "b" * 7) == Parts("gsm7", 161, 2, 153, 144)
    # 152 letters + € alone is 154 septets, within a single 160-septet message.
    assert count_parts("a" * 152 + "€") == Parts("gsm7", 154, 1, 160, 6)


def test_surrogate_pair_never_split_across_parts():
    text = "ą" * 66 + "😀" + "ą" * 66  # 134 units = 2 x 67, but the emoji cannot straddle
    assert count_parts(text) == Parts("ucs2", 134, 3, 67, 66)
    text = "ą" * 65 + "😀" + "ą" * 67
    assert count_parts(text) == Parts("ucs2", 134, 2, 67, 0)


def test_parts_never_below_simple_formula():
    import math

    for text in ("€" * 100, "a€" * 70, "😀a" * 50, "{x}" * 61):
        result = count_parts(text)
        per = 153 if result.encoding == "gsm7" else 67
        assert result.parts >= math.ceil(result.units / per)
        assert 0 <= result.remaining < result.per_part


def test_all_extension_chars_multipart():
    # 80 € = 160 septets: one message. 81 € = 162 septets: 76 € fill 152 septets of part 1 (the
    # 153rd stays empty), 5 € = 10 septets in part 2.
    assert count_parts("€" * 80) == Parts("gsm7", 160, 1, 160, 0)
    assert count_parts("€" * 81) == Parts("gsm7", 162, 2, 153, 143)
    # 153 € = 306 septets = 2 x 153, but 76 € per part: 3 parts.
    assert count_parts("€" * 153) == Parts("gsm7", 306, 3, 153, 151)


def test_none_treated_as_empty():
    assert count_parts(None).parts == 0


# --- real messages: parts and credits, pinned ----------------------------------------------------------
# Each text is chosen so that a naive count (characters / 160 or / 70) gives a different answer.

#: 310 GSM-7 characters (æ, ø, å, Æ are in the basic table): 3 parts of 153, not 2 of 160.
DANISH_LONG = (
    "Hej Søren! Husk din tid hos Tandlægen Ærø onsdag den 13. januar 2027 kl. 11:00 hos Dr. Mette Hansen, "
    "Nørrebrogade 12, 2. sal, 2200 København N. Mød gerne 10 minutter før, og tag dit sundhedskort med. "
    "Parkering i gården bag klinikken. Kan du ikke komme, så svar NEJ senest dagen før. Vi glæder os. "
    "Mvh Klinikken"
)
#: 139 characters with Polish letters: UCS-2, 3 parts of 67, not 2 of 70.
POLISH = (
    "Dzień dobry! Przypominamy o wizycie w środę 13 stycznia 2027 o 11:00 u dr Łukasza Wójcika. "
    "Prosimy o potwierdzenie: TAK lub NIE. Dziękujemy"
)
#: 159 characters, two of them €: 161 septets, so 2 parts although fewer than 160 characters.
EURO_FEE = (
    "Hej Anna, husk din tid i morgen kl. 11:00. Ved afbud senere end 24 timer før tiden opkræves et "
    "gebyr på 50 €, ved udeblivelse 75 €. Afbud: svar NEJ. Mvh Klinik"
)


@pytest.mark.parametrize(
    ("text", "characters", "parts"),
    [
        (DANISH_LONG, 310, Parts("gsm7", 310, 3, 153, 149)),
        (POLISH, 139, Parts("ucs2", 139, 3, 67, 62)),
        (EURO_FEE, 159, Parts("gsm7", 161, 2, 153, 145)),
    ],
)
def test_real_messages_have_pinned_parts(text, characters, parts):
    assert len(text) == characters
    assert count_parts(text) == parts


def test_real_messages_cost_their_parts_times_the_price():
    prices = {"+48": 0.5}
    assert credits.cost(count_parts(DANISH_LONG).parts, "+4520123456", 1.0, prices) == 3.0
    assert credits.cost(count_parts(POLISH).parts, "+48601234567", 1.0, prices) == 1.5
    assert credits.cost(count_parts(EURO_FEE).parts, "+4520123456", 1.25, prices) == 2.5


# --- transliterate ---------------------------------------------------------------------------------------


def test_transliterate_polish():
    assert transliterate("ąćęłńóśźż") == "acelnoszz"
    assert transliterate("ĄĆĘŁŃÓŚŹŻ") == "ACELNOSZZ"
    text = "Dzień dobry, przypominamy o wizycie w gabinecie. Zażółć gęślą jaźń."
    result = transliterate(text)
    assert result == "Dzien dobry, przypominamy o wizycie w gabinecie. Zazolc gesla jazn."
    assert is_gsm7(result)


def test_transliterate_quotes_dashes_ellipsis():
    assert transliterate("‘a’ ‚b‛ “c” „d”") == "'a' 'b' \"c\" \"d\""
    assert transliterate("8–10 — ok…") == "8-10 - ok..."


def test_transliterate_spaces_and_invisibles():
    assert transliterate("a\u00a0b\u2009c\u202fd\u3000e\tf") == "a b c d e f"
    assert transliterate("a\u200bb\ufeffc\u00add") == "abcd"


def test_transliterate_other_accents():
    assert transliterate("á ê ë ç õ í ú â î ô û") == "a e e c o i u a i o u"
    assert transliterate("ÁÊËÕÍÚÂÎÔÛÈ") == "AEEOIUAIOUE"
    assert transliterate("čřšžýĺ ŐŰ ğ ı œ") == "crszyl OU g i oe"


def test_transliterate_keeps_gsm7_letters():
    keep = "é è ù ì ò Ç Ø ø Å å Æ æ ß É Ä Ö Ñ Ü ä ö ñ ü à € [ ]"
    assert transliterate(keep) == keep


def test_transliterate_leaves_unmapped_characters():
    text = "Привет 😀 漢字"
    assert transliterate(text) == text
    assert count_parts(transliterate("ł 😀")).encoding == "ucs2"
    assert transliterate("ł 😀") == "l 😀"


def test_transliterate_result_of_mixed_text_is_cheaper():
    text = "Przypominamy o wizycie — jutro o 14:30 u dr Łukasza Wójcika. „Do zobaczenia”"
    before, after = count_parts(text), count_parts(transliterate(text))
    assert before.encoding == "ucs2"
    assert after.encoding == "gsm7"
    assert after.parts == 1 < before.parts


def test_transliterate_empty():
    assert transliterate("") == ""
