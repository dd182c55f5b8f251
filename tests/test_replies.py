import pytest

from core import replies
from core.replies import CANCEL, CONFIRM, OTHER, STOP, classify, defaults_for


@pytest.mark.parametrize(
    ("lang", "text", "action"),
    [
        ("da_DK", "STOP", STOP),
        ("da_DK", "stop", STOP),
        ("da_DK", "Venligst stop med at skrive", STOP),
        ("da_DK", "Afmeld mig", STOP),
        ("de_DE", "Bitte STOPP!", STOP),
        ("de_DE", "abmelden bitte", STOP),
        ("pl_PL", "Proszę STOP", STOP),
        ("pl_PL", "wypisz", STOP),
        ("en_US", "Yes, I'll be there", CONFIRM),
        ("da_DK", "Ja tak", CONFIRM),
        ("da_DK", "ja", CONFIRM),
        ("da_DK", "Bekræft", CONFIRM),
        ("da_DK", "bekraeft", CONFIRM),
        ("de_DE", "Ja, bis morgen", CONFIRM),
        ("pl_PL", "Tak", CONFIRM),
        ("pl_PL", "potwierdzam", CONFIRM),
        ("da_DK", "Nej tak", CANCEL),
        ("da_DK", "NEJ, jeg er syg", CANCEL),
        ("de_DE", "nein", CANCEL),
        ("pl_PL", "Nie", CANCEL),
        ("pl_PL", "Odwołuję", CANCEL),
        ("pl_PL", "odwoluje", CANCEL),
        ("en_US", "no", CANCEL),
        # A thank-you in Danish is not a Polish yes.
        ("da_DK", "Tak for påmindelsen", OTHER),
        # Not as the first word: for staff to read.
        ("da_DK", "Kan jeg komme kl. 10 i stedet? ja eller nej", OTHER),
        # Both a yes and a no: for staff.
        ("en_US", "Yes no maybe", OTHER),
        # CANCEL is never a cancelling word.
        ("en_US", "CANCEL", OTHER),
        # Part of a word is not the word.
        ("en_US", "Stopped by yesterday", OTHER),
        ("de_DE", "Janina hier", OTHER),
        ("en_US", "", OTHER),
        ("en_US", "   !!! ", OTHER),
    ],
)
def test_classify_defaults(lang, text, action):
    assert classify(text, defaults_for(lang)).action == action


def test_stop_wins_over_confirm():
    meaning = classify("Ja, men stop med SMS", defaults_for("da_DK"))
    assert meaning == replies.Meaning(STOP, "STOP")


def test_word_reported_as_configured():
    assert classify("bekraeft", defaults_for("da_DK")).word == "BEKRÆFT"


def test_unknown_language_uses_english():
    assert defaults_for("fr_FR") is replies.DEFAULT_WORDS["en"]
    assert defaults_for(False)[CONFIRM][0] == "YES"


@pytest.mark.parametrize("word", ["cancel", "Cancel", "STOPALL", "unsubscribe"])
def test_reserved_words_cannot_confirm_or_cancel(word):
    assert replies.check_word(CANCEL, word)
    assert replies.check_word(CONFIRM, word)


@pytest.mark.parametrize("word", ["two words", "", "  ", "ja!"])
def test_reply_word_must_be_one_word(word):
    assert replies.check_word(CONFIRM, word)


def test_valid_words_pass():
    assert replies.check_word(CANCEL, "Nej") is None
    assert replies.check_word(STOP, "Afmeld") is None


def test_no_default_confirm_or_cancel_word_is_reserved():
    for table in replies.DEFAULT_WORDS.values():
        for action in (CONFIRM, CANCEL):
            for word in table[action]:
                assert replies.check_word(action, word) is None, word
