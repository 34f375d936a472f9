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

import re
from functools import lru_cache

# A number in digits: grouped in thousands (by comma, point, apostrophe or a
# space: "2,000", "2.000", "2 000" are one value), else with at most one
# decimal part ("1,5" and "1.5" are one value). A point or comma followed by
# exactly three digits is read as a thousands separator, as news writes.
_NUMBER = re.compile(r"(?<![\d.,])\d{1,3}([,.'\u00a0\u202f ])\d{3}(?!\d)(?:\1\d{3}(?!\d))*|\d+(?:[.,]\d+)?")
_NUMBER_WORD = re.compile(r"\w+(?:-\w+)*")  # "thirty-four" is one word here


def join_digit_groups(text: str) -> str:
    """``text`` with each number grouped in thousands written without its separators,
    so that a tokenizer reads it as one word.

    >>> join_digit_groups("2,000 troops, 1.5 km, 2 000 soldater")
    '2000 troops, 1.5 km, 2000 soldater'
    """
    return _NUMBER.sub(lambda found: found.group(0).replace(found.group(1), "") if found.group(1) else found.group(0), text)


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


def numbers_in(text: str, language: str = "") -> set[str]:
    """Numbers written in digits, and (when the language is given) number
    words, weekdays and months, as language-neutral tokens (:func:`canonical`).

    Digits are read whole ("2,000" is one number, never "2" and "000").

    >>> sorted(numbers_in("Pulling 2,000 troops in three days on Saturday.", "en"))
    ['#day5', '2000', '3']
    >>> numbers_in("2 000 soldater", "no") == numbers_in("2000 Soldaten", "de") == numbers_in("2,000 troops", "en")
    True
    >>> numbers_in("fireogtredive soldater", "da") == numbers_in("thirty-four soldiers", "en") == {"34"}
    True
    >>> numbers_in("Am Samstag.", "de") == numbers_in("On Saturday.", "en")
    True
    """
    found = {_value(match) for match in _NUMBER.finditer(text)}
    for compound in _NUMBER_WORD.findall(text):
        words = [compound] if is_number(canonical(compound, language)) else compound.split("-")
        for word in words:
            token = canonical(word, language)
            if (is_number(token) and not word.isdigit()) or token.startswith("#"):
                found.add(token)
    return found


# A year of modern history, as news articles write one.
YEAR = re.compile(r"\b(?:1[5-9]\d\d|2[01]\d\d)\b")


def dates_in(text: str, language: str = "") -> set[str]:
    """The years, months and weekdays among :func:`numbers_in`: what dates an event.

    >>> sorted(dates_in("Did 34 soldiers die in March 2020, on a Saturday?", "en"))
    ['#day5', '#month3', '2020']
    """
    return {token for token in numbers_in(text, language) if token.startswith("#") or YEAR.fullmatch(token)}


def _value(match: re.Match[str]) -> str:
    """One spelling per value: thousands separators dropped, a decimal comma made a point.

    A match of :data:`_NUMBER` holds a separator group only when it was read
    as grouped in thousands.

    >>> [_value(_NUMBER.match(n)) for n in ("2,000", "2.000", "2 000", "2000", "1,5", "1.5")]
    ['2000', '2000', '2000', '2000', '1.5', '1.5']
    """
    if match.group(1):
        return re.sub(r"\D", "", match.group(0))
    return match.group(0).replace(",", ".")
