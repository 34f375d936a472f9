"""Language and country names from Babel's CLDR tables, for retrieval.

:func:`named_language` finds the one article language a question asks
about ("according to the German article", "im dänischen Bericht"), so that
retrieval can put that language's sentences first; country names
("Deutschland") are told apart from language names ("deutschen").
(A gate that refused questions naming something the corpus never mentions
lived here; it refused more answerable test questions than unanswerable
ones and was removed: docs/evaluation.md, "Rules that remain".)
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from rag.language import LANGUAGE_NAMES
from rag.numerals import BABEL_LOCALES

_WORD = re.compile(r"\w+")
_FOLDED_LETTERS = str.maketrans({"ø": "o", "æ": "ae", "å": "a", "ß": "ss", "ı": "i"})
# Spellings that transliterations of one name differ by.
_EQUIVALENT_SPELLINGS = (("tsch", "ch"), ("sch", "sh"), ("ck", "k"), ("c", "k"), ("w", "v"), ("ph", "f"))


@lru_cache(maxsize=65536)
def fold(word: str) -> str:
    """A word reduced to what its spellings across languages share.

    >>> fold("Tschetschenien"), fold("Lawrow"), fold("Lavrov"), fold("Grækenland")
    ('khekhenien', 'lavrov', 'lavrov', 'graekenland')
    """
    decomposed = unicodedata.normalize("NFKD", word.casefold().translate(_FOLDED_LETTERS))
    folded = "".join(char for char in decomposed if not unicodedata.combining(char))
    for spelling, equivalent in _EQUIVALENT_SPELLINGS:
        folded = folded.replace(spelling, equivalent)
    return folded


@lru_cache(maxsize=1)
def _country_names() -> dict[str, frozenset[str]]:
    """Folded country name in any ragbot language -> the country's folded names in all of them."""
    names_by_code: dict[str, set[str]] = {}
    for language in BABEL_LOCALES:
        for name, code in _countries_in(language).items():
            names_by_code.setdefault(code, set()).add(fold(name))
    return {name: frozenset(names) for names in names_by_code.values() for name in names}


@lru_cache(maxsize=1)
def _language_names() -> frozenset[str]:
    from babel import Locale

    return frozenset(
        fold(name) for locale in set(BABEL_LOCALES.values()) for name in Locale.parse(locale).languages.values()
    )


@lru_cache(maxsize=None)
def _countries_in(language: str) -> dict[str, str]:
    """Country names in one of ragbot's languages (CLDR) -> their codes."""
    from babel import Locale

    territories = Locale.parse(BABEL_LOCALES[language]).territories
    # Letter codes are countries; digit codes are regions ("Europe").
    return {name: code for code, name in territories.items() if code.isalpha()}


def load_name_tables() -> None:
    """Read Babel's name tables now, so that a first question does not wait for them."""
    _country_names()
    _language_names()
    for language in BABEL_LOCALES:
        _countries_in(language)


def is_country_name(word: str) -> bool:
    """Whether ``word`` is a country's name in one of ragbot's languages (CLDR).

    >>> is_country_name("Deutschland"), is_country_name("German")
    (True, False)
    """
    return fold(word) in _country_names()


def country_names() -> dict[str, frozenset[str]]:
    """Every country's folded name in every ragbot language (CLDR) -> its folded names in all of them.

    >>> sorted(country_names()["tyskland"])[:3]
    ['deukhland', 'germany', 'tyskland']
    """
    return _country_names()


def is_language_name(word: str) -> bool:
    """Whether ``word`` names a language or its people in one of ragbot's languages ("Danish", "tyske").

    >>> is_language_name("Danish"), is_language_name("norwegischen"), is_language_name("Norway")
    (True, True, False)
    """
    folded = word.casefold()
    return any(
        folded.startswith(name) and len(folded) - len(name) <= _INFLECTION_LETTERS and not is_country_name(word)
        for name in _language_name_words()
    )


# A language name inflected ("tyske", "deutschen") adds at most this many letters;
# "Deutschland" and "danskerne" add more and are not the language.
_INFLECTION_LETTERS = 3


@lru_cache(maxsize=1)
def _language_name_words() -> dict[str, str]:
    """Each supported language's one-word names in the supported languages -> its code."""
    from babel import Locale

    names: dict[str, str] = {}
    for code in LANGUAGE_NAMES:
        for locale in BABEL_LOCALES.values():
            name = Locale.parse(locale).languages.get(code, "").casefold()
            if name.isalpha():
                names[name] = code
    return names


def named_language(text: str) -> str | None:
    """The one language ``text`` names, as in "according to the German article".

    >>> named_language("Hvilken dag fant samtalene sted ifølge den tyske artikkelen?")
    'de'
    >>> named_language("Was steht im englischen Bericht?"), named_language("Which town, according to the Danish report?")
    ('en', 'da')
    >>> named_language("Was sagt Deutschland?"), named_language("What did Germany say?"), named_language("The Danish and German reports")
    (None, None, None)
    """
    named = set()
    for word in text.casefold().split():
        word = word.strip(".,;:!?\"'()«»“”„")
        for name, code in _language_name_words().items():
            if word.startswith(name) and len(word) - len(name) <= _INFLECTION_LETTERS:
                if not is_country_name(word):
                    named.add(code)
    return named.pop() if len(named) == 1 else None
