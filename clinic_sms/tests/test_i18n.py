"""The shipped translation template is what Odoo's own export makes of the add-on now.

Odoo loads a translation by the template's occurrences (which field, view or code a term belongs to)
and by its comments (``odoo-javascript`` terms go to the web client), so a term that changed in the
code, a new field label that reuses an old term, or a string that moved into JavaScript all need a
new template: `tools/update_i18n.sh` makes it and merges it into da, de and pl. The translations
themselves are checked against the template by the pure tests (tests/test_i18n.py).
"""

import io
from collections import defaultdict

import polib

from odoo.tests import TransactionCase, tagged
from odoo.tools.misc import file_path
from odoo.tools.translate import trans_export


def terms(pofile):
    """{msgid: {the records and code kinds it is loaded for}}, line numbers and file paths left out."""
    found = defaultdict(set)
    for entry in pofile:
        if entry.obsolete:
            continue
        kinds = found[entry.msgid]
        for occurrence, _line in entry.occurrences:
            if occurrence.startswith(("model:", "model_terms:")):
                kinds.add(occurrence)
        kinds.update(
            comment for comment in entry.comment.splitlines() if comment in ("odoo-python", "odoo-javascript")
        )
    return found


def short(msgid, width=90):
    text = " ".join(msgid.split())
    return repr(text if len(text) <= width else text[: width - 1] + "…")


@tagged("post_install", "-at_install")
class TestTranslationTemplate(TransactionCase):
    def test_the_template_is_what_odoo_exports_from_the_code(self):
        buffer = io.BytesIO()
        self.assertTrue(trans_export(None, ["clinic_sms"], buffer, "po", self.env))
        fresh = terms(polib.pofile(buffer.getvalue().decode()))
        shipped = terms(polib.pofile(file_path("clinic_sms/i18n/clinic_sms.pot")))

        problems = []
        missing = sorted(set(fresh) - set(shipped))
        if missing:
            problems.append(f"{len(missing)} terms of the code are missing from clinic_sms.pot:")
            problems += [f"  {short(msgid)}" for msgid in missing]
        stale = sorted(set(shipped) - set(fresh))
        if stale:
            problems.append(f"{len(stale)} terms of clinic_sms.pot are no longer in the code:")
            problems += [f"  {short(msgid)}" for msgid in stale]
        changed = [msgid for msgid in sorted(set(fresh) & set(shipped)) if fresh[msgid] != shipped[msgid]]
        if changed:
            problems.append(f"{len(changed)} terms of clinic_sms.pot are used elsewhere now:")
        for msgid in changed:
            gone = sorted(shipped[msgid] - fresh[msgid])
            new = sorted(fresh[msgid] - shipped[msgid])
            problems.append(f"  {short(msgid)}: new {new}, gone {gone}")
        if problems:
            self.fail(
                "clinic_sms/i18n/clinic_sms.pot is out of date; run tools/update_i18n.sh, then translate "
                "what it marks in da.po, de.po and pl.po.\n" + "\n".join(problems)
            )
        self.assertGreater(len(fresh), 100, "the export found the add-on's terms")
