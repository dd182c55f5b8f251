from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..core import replies


class ClinicSmsKeyword(models.Model):
    _name = "clinic.sms.keyword"
    _description = "Clinic SMS reply word"
    _order = "lang_id, action, word"

    word = fields.Char(required=True, help="One word. Upper or lower case and accents do not matter.")
    action = fields.Selection(
        [("stop", "Opt out (anywhere in the reply)"), ("confirm", "Confirm"), ("cancel", "Cancel")],
        required=True,
        help="Opt-out words count anywhere in a reply; confirming and cancelling words only as its "
        "first word.",
    )
    lang_id = fields.Many2one(
        "res.lang",
        "Language",
        required=True,
        domain="[('active', 'in', [True, False])]",
        help="The word counts for patients who write in this language (or a variant of it).",
    )
    active = fields.Boolean(default=True)

    _word_uniq = models.UniqueIndex(
        "(lang_id, upper(word))", "This word is already a reply word in this language."
    )

    @api.constrains("word", "action")
    def _check_word(self):
        for keyword in self:
            problem = replies.check_word(keyword.action, keyword.word or "")
            if problem:
                raise ValidationError(
                    self.env._("“%(word)s”: %(problem)s", word=keyword.word, problem=problem)
                )

    @api.model
    def _words_for(self, lang):
        """Action → words for a patient writing in ``lang`` (an Odoo code such as ``da_DK``).

        Confirming and cancelling words come from the patient's language family (``de_AT`` uses
        the ``de_DE`` words; a language without words uses the English ones). Opt-out words of every
        language count for everyone: a patient who says no in any language is heard. With no words
        configured at all, the built-in defaults apply.
        """
        keywords = self.sudo().search_fetch([], ["word", "action", "lang_id"])
        if not keywords:
            table = {action: list(words) for action, words in replies.defaults_for(lang).items()}
            table[replies.STOP] = [w for words in replies.DEFAULT_WORDS.values() for w in words[replies.STOP]]
            return table
        prefix = (lang or "en_US")[:2]
        chosen = keywords.filtered(lambda k: k.lang_id.code[:2] == prefix) or keywords.filtered(
            lambda k: k.lang_id.code[:2] == "en"
        )
        table = {action: [] for action in replies.ACTIONS}
        for keyword in chosen.filtered(lambda k: k.action != replies.STOP):
            table[keyword.action].append(keyword.word)
        table[replies.STOP] = keywords.filtered(lambda k: k.action == replies.STOP).mapped("word")
        return table
