"""Words as the grounding checks compare them: content words, names, one word in other spellings.

The verify stage asks whether an answer says anything the question did not
already say, and whether a question for a person or place is answered
with a name the question does not hold. Both compare words across
inflections and spellings, so a word
is reduced first (:func:`rag.names.fold`: case, diacritics, transliteration
variants), and two words are the same when they share their first
:data:`STEM` letters (or are equal when shorter): "Tyrkiet" and "tyrkiske",
"Moskva" and "Moscow", "Erdoğan" and "Erdogans".

Function words come from the stopwords-iso lists of each supported language,
so "the", "efter" and "wurde" are never content.

>>> content_words("The talks in Moscow lasted about three hours.", "en")
['talks', 'moscow', 'lasted', 'hours']
>>> same_word("Moskva", "Moscow"), same_word("Tyrkiet", "tyrkiske"), same_word("Iran", "Irak")
(True, True, False)
>>> name_units("Iran's Hassan Rouhani met Mr Putin in Tehran.", "en")
[["Iran's"], ['Hassan', 'Rouhani'], ['Putin'], ['Tehran']]
"""

from __future__ import annotations

import re
from functools import lru_cache

from rag.names import country_names, fold

STEM = 4  # letters two spellings of one word share at least ("Mosk-va", "Mosc-ow" folded)
_WORD = re.compile(r"\w+(?:-\w+)*(?:['’]s)?")
_TOKEN = re.compile(r"\w+(?:-\w+)*(?:['’]s)?|[^\w\s]")
_POSSESSIVE = re.compile(r"['’]s$")


@lru_cache(maxsize=None)
def stopwords(language: str) -> frozenset[str]:
    """stopwords-iso's function words of ``language`` (an ISO code); none for another.

    >>> "efter" in stopwords("da"), "wurde" in stopwords("de"), "Moscow" in stopwords("en")
    (True, True, False)
    """
    import stopwordsiso

    return frozenset(stopwordsiso.stopwords(language)) if stopwordsiso.has_lang(language) else frozenset()


def words(text: str) -> list[str]:
    """The words of ``text`` in order, a hyphenated compound as one, a possessive 's dropped.

    >>> words("Iran's Idlib-provinsen, 2,000.")
    ['Iran', 'Idlib-provinsen', '2', '000']
    """
    return [_POSSESSIVE.sub("", word) for word in _WORD.findall(text)]


def tokens(text: str) -> list[str]:
    """The words and punctuation marks of ``text`` in order, a hyphenated compound
    and a possessive each one word.

    >>> tokens("Iran's 34 Turkish-backed soldiers, said Sohr.")
    ["Iran's", '34', 'Turkish-backed', 'soldiers', ',', 'said', 'Sohr', '.']
    """
    return _TOKEN.findall(text)


def content_words(text: str, language: str) -> list[str]:
    """The casefolded words of ``text`` that are neither function words of
    ``language``, nor digits, nor shorter than three letters."""
    function_words = stopwords(language)
    return [
        word
        for word in (w.casefold() for w in words(text))
        if word not in function_words and not word.isdigit() and len(word) > 2
    ]


def same_word(a: str, b: str) -> bool:
    """Whether two words are one word in other inflections or spellings (see module docstring)."""
    a, b = fold(a), fold(b)
    if a == b:
        return True
    n = min(len(a), len(b))
    return n >= STEM and a[:STEM] == b[:STEM] and _close(a, b)


def _close(a: str, b: str) -> bool:
    """Folded words sharing their stem are one word when one is a prefix of the
    other or they share most of the shorter one ("moskva"/"moskov", not "iran"/"irak")."""
    shorter = min(len(a), len(b))
    shared = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), shorter)
    return shared == shorter or shared >= max(STEM, shorter - 2)


def held_by(word: str, texts: list[str]) -> bool:
    """Whether any of ``texts`` holds ``word`` in some spelling, or, for a
    country, its name in another language (CLDR).

    >>> held_by("Tyrkiet", ["Die Türkei hat angerufen."]), held_by("Libyen", ["Turkey called Russia."])
    (True, False)
    >>> held_by("Turkey", ["Tyrkiet tog initiativ."])  # CLDR's English name is "Türkiye"
    True
    """
    spellings = {word, *country_equivalents(word)}
    return any(same_word(spelling, other) for text in texts for other in words(text) for spelling in spellings)


def country_equivalents(word: str) -> set[str]:
    """The folded names, in every ragbot language, of the countries whose name ``word`` is in some spelling."""
    return {
        equivalent
        for name, equivalents in country_names().items()
        if same_word(word, name)
        for equivalent in equivalents
    }


def name_units(text: str, language: str, sentence_initial: bool = True) -> list[list[str]]:
    """Runs of capitalised words that are not function words: the names in
    ``text``, a multi-word name as one unit ("Hassan Rouhani"); a possessive
    ends a unit, punctuation and lower-case words separate them.

    With ``sentence_initial`` a capitalised word opening a sentence may
    start a name ("Tyrkiet tog initiativ"); without it, it may not, since
    "Samtalene varte ..." opens with a common word just as often. German
    capitalises every noun, so there the units are names and nouns alike.

    >>> name_units("Samtalene varte tre timer i Moskva.", "no", sentence_initial=False)
    [['Moskva']]
    """
    function_words = stopwords(language)
    units: list[list[str]] = []
    current: list[str] = []
    opening = True
    for token in tokens(text):
        is_name = token[0].isalpha() and token[0].isupper() and token.casefold() not in function_words
        if is_name and (sentence_initial or not opening or current):
            current.append(token)
        elif current:
            units.append(current)
            current = []
        if current and _POSSESSIVE.search(token):
            units.append(current)
            current = []
        opening = token in ".!?:" if not token[0].isalnum() else False
    if current:
        units.append(current)
    return units
