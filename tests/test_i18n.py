"""The translations against their template: every term translated, nothing stale, placeholders kept.

That the template itself is what Odoo exports from the code is checked by the Odoo test
clinic_sms/tests/test_i18n.py (it needs the add-on installed); `tools/update_i18n.sh` regenerates
the template and merges it into every language.
"""

import pathlib
import re
from collections import Counter

import polib
import pytest

I18N = pathlib.Path(__file__).resolve().parent.parent / "clinic_sms" / "i18n"
POT = I18N / "clinic_sms.pot"
LANGUAGES = ("da", "de", "pl")

#: Jinja-style expressions of mail templates, e.g. ``{{ object.name }}``.
EXPRESSION = re.compile(r"\{\{.*?\}\}", re.S)
#: QWeb attributes, e.g. ``t-out="fmt(statement['opening'])"``: the code a translation must keep.
QWEB = re.compile(r"""\bt-[a-z-]+=(?:"[^"]*"|'[^']*')""")
#: Python %-formatting, named or positional (``%%`` is a literal percent sign).
NAMED = re.compile(r"%\(\w+\)[#0+-]*\d*(?:\.\d+)?[sdifrxXeEgGc]")
POSITIONAL = re.compile(r"%[#0+-]*\d*(?:\.\d+)?[sdifrxXeEgGc]")
#: The add-on's own placeholders, e.g. ``{patient_first_name}``, and str.format fields.
FIELD = re.compile(r"(?<![{\w])\{\w*\}(?!\})")


def placeholders(text):
    """(every placeholder as a multiset, the positional %-specifiers in order) of a term."""
    found = Counter()
    for pattern in (EXPRESSION, QWEB):
        found.update(" ".join(match.split()) for match in pattern.findall(text))
        text = pattern.sub(" ", text)
    text = text.replace("%%", " ")
    found.update(NAMED.findall(text))
    text = NAMED.sub(" ", text)
    positional = POSITIONAL.findall(text)
    found.update(positional)
    found.update(FIELD.findall(text))
    return found, positional


def short(msgid, width=90):
    text = " ".join(msgid.split())
    return repr(text if len(text) <= width else text[: width - 1] + "…")


@pytest.fixture(scope="module")
def pot():
    return polib.pofile(str(POT))


def load(language):
    return polib.pofile(str(I18N / f"{language}.po"))


# ---------------------------------------------------------------- the helper itself


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("%(asked)s asked, %(changed)d changed", ["%(asked)s", "%(changed)d"]),
        ("%s contacts, 50 % of them, 100%% sure", ["%s"]),
        ("Hi {patient_first_name}, see you at {clinic}", ["{patient_first_name}", "{clinic}"]),
        ("{{ object.name }} has {{ ('%.2f' % x) }}", ["{{ object.name }}", "{{ ('%.2f' % x) }}"]),
        ('Balance: <strong t-out="fmt(value)"/> credits', ['t-out="fmt(value)"']),
        ("A {{  object.name  }}", ["{{ object.name }}"]),
    ],
)
def test_placeholders_are_found_in_every_notation(text, expected):
    assert placeholders(text)[0] == Counter(expected)


def test_a_lost_or_changed_placeholder_is_seen():
    source = "Hi {patient_first_name}, %(count)s messages for %s at %d"
    assert placeholders("Hej {patient_first_name}, %(count)s beskeder til %s kl. %d") == placeholders(source)
    assert placeholders("Hej {fornavn}, %(count)s beskeder til %s kl. %d") != placeholders(source)
    assert placeholders("Hej {patient_first_name}, %(antal)s beskeder til %s kl. %d") != placeholders(source)
    assert placeholders("Hej {patient_first_name}, %(count)s beskeder til %d kl. %s") != placeholders(source)
    assert placeholders("Hej {patient_first_name}, %(count)s beskeder til %s") != placeholders(source)


# ---------------------------------------------------------------- the translations


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_term_of_the_template_is_translated(pot, language):
    po = load(language)
    translated = {
        entry.msgid for entry in po if entry.msgstr.strip() and not entry.fuzzy and not entry.obsolete
    }
    fuzzy = {entry.msgid for entry in po if entry.fuzzy and not entry.obsolete}
    missing = [entry.msgid for entry in pot if entry.msgid not in translated]
    assert not missing, (
        f"{language}.po lacks {len(missing)} of the {len(pot)} terms of clinic_sms.pot "
        "(run tools/update_i18n.sh, then translate them):\n"
        + "\n".join(f"  {short(msgid)}{'  (fuzzy)' if msgid in fuzzy else ''}" for msgid in missing)
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_translation_is_kept_for_a_term_the_template_no_longer_has(pot, language):
    current = {entry.msgid for entry in pot}
    stale = [entry.msgid for entry in load(language) if not entry.obsolete and entry.msgid not in current]
    assert not stale, (
        f"{language}.po has {len(stale)} terms that clinic_sms.pot no longer has (tools/update_i18n.sh):\n"
        + "\n".join(f"  {short(msgid)}" for msgid in stale)
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_translation_keeps_the_placeholders_of_its_term(language):
    wrong = []
    for entry in load(language):
        if entry.obsolete or not entry.msgstr.strip():
            continue
        source, translation = placeholders(entry.msgid), placeholders(entry.msgstr)
        if source != translation:
            lost = sorted((source[0] - translation[0]).elements())
            added = sorted((translation[0] - source[0]).elements())
            detail = (
                f"lost {lost}, added {added}" if lost or added else f"order {source[1]} → {translation[1]}"
            )
            wrong.append(f"  {short(entry.msgid)}: {detail}")
    assert not wrong, f"{language}.po changes placeholders or format specifiers:\n" + "\n".join(wrong)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_file_says_which_language_it_is(language):
    po = load(language)
    assert po.metadata.get("Language") == language
    assert po.metadata.get("Content-Type") == "text/plain; charset=UTF-8"
