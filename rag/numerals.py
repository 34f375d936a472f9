"""Number words, weekdays and months of one language, keyed to one canonical
token each, so that a fact stays the same fact across languages.

The answer checks compare what an answer says with what its cited sentence
says. A small model answering an English question from a Norwegian sentence
writes "four" where the sentence says "fire", and "Saturday" for "Samstag";
compared word for word, the answer would seem to add a fact its source does
not hold and be refused. Here both sides become "4" and "#day5".

The words come from maintained libraries, not from a hand-made list:
num2words spells the numbers, Babel (CLDR) names the days and months.

>>> canonical("fire", "no"), canonical("four", "en"), canonical("vier", "de"), canonical("4", "en")
('4', '4', '4', '4')
>>> canonical("Samstag", "de") == canonical("lørdag", "da") == canonical("saturday", "en")
True
>>> canonical("fire", "en"), canonical("to", "en"), canonical("may", "en")
('fire', 'to', 'may')
>>> canonical("fireogtredive", "da"), canonical("trettifire", "no"), canonical("thirty-four", "en")
('34', '34', '34')
"""

from __future__ import annotations

from functools import lru_cache

# Babel's locale for each ISO code ragbot uses (Norwegian: Bokmål).
BABEL_LOCALES = {"en": "en", "da": "da", "no": "nb", "de": "de", "sv": "sv"}
# 1 is left out: "en", "et", "ein", "one" are also articles and pronouns.
# Compounds such as "fireogtredive", "vierunddreißig" and "thirty-four" are
# single words (hyphens joined); "one hundred" and other multi-word numbers
# are left alone.
_NUMBERS = [*range(2, 100), 100, 1000]
# Words that are also common words of their own language.
_AMBIGUOUS = {"en": {"may"}}


@lru_cache(maxsize=None)
def day_and_month_names(language: str) -> dict[str, str]:
    """Babel's (CLDR) weekday and month names of ``language`` -> their tokens.

    >>> day_and_month_names("da")["marts"], day_and_month_names("de")["Samstag"]
    ('#month3', '#day5')
    """
    from babel.dates import get_day_names, get_month_names

    locale = BABEL_LOCALES.get(language)
    if locale is None:
        return {}
    names = {name: f"#day{index}" for index, name in get_day_names("wide", locale=locale).items()}
    names.update({name: f"#month{index}" for index, name in get_month_names("wide", locale=locale).items()})
    return names


@lru_cache(maxsize=None)
def _table(language: str) -> dict[str, str]:
    from num2words import num2words

    if language not in BABEL_LOCALES:
        return {}
    table: dict[str, str] = {}
    for number in _NUMBERS:
        word = num2words(number, lang=language).casefold()
        if word.replace("-", "").isalpha():  # single words only: "one hundred" is left alone
            table[word] = str(number)
    table.update({name.casefold(): token for name, token in day_and_month_names(language).items()})
    for word in _AMBIGUOUS.get(language, ()):
        table.pop(word, None)
    return table


def canonical(word: str, language: str) -> str:
    """The word's canonical token in ``language`` (an ISO code), or the word itself, casefolded."""
    folded = word.casefold()
    return _table(language).get(folded, folded)


def is_number(token: str) -> bool:
    """Whether a canonical token is a number (digits, or a number word made digits).

    >>> is_number(canonical("drei", "de")), is_number(canonical("Samstag", "de"))
    (True, False)
    """
    return token.isdigit()
