"""Money as the clinic reads it: amounts with their currency's symbol, in the user's language.

Plain functions taking an environment, shared by models, wizards and reports (like ``access``).
"""

from odoo.tools.misc import formatLang


def format_price(env, value, currency, digits=None):
    """An amount with its currency's symbol on the currency's side (``kr. 0.99``, ``0,05 €``), with
    the currency's decimals, more when ``value`` has them (up to ``digits``, default 4: a price per
    credit may be a fraction of a cent)."""
    places = currency.decimal_places if currency else 2
    wanted = 4 if digits is None else digits
    while places < wanted and round(value, places) != round(value, wanted):
        places += 1
    text = formatLang(env, value, digits=places)
    if not currency:
        return text
    symbol = currency.symbol or currency.name
    return (
        f"{symbol}\N{NO-BREAK SPACE}{text}"
        if currency.position == "before"
        else f"{text}\N{NO-BREAK SPACE}{symbol}"
    )
