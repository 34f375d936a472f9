"""Names a question asks about that the corpus never mentions, in any spelling.

"What did Erdogan and Putin agree about Libya?" over articles that never name
Libya cannot be answered from them, however close the retrieved sentences
are in meaning (they are about Erdogan and Putin). A small model answers
such questions from the nearest sentence, so the engine refuses them before
the LLM runs, as it does for a year no evidence sentence holds.

A name is a capitalised word that does not start a sentence. German
capitalises every noun, so in a German question only acronyms and country
names count as names. Language names ("according to the Danish report")
and day, month and number words never count.

A name is *mentioned* when some word of the corpus matches it after folding
(case, accents, ø/æ/å/ß) and a few spelling equivalences that
transliterations differ by (w/v, c/k, sch/sh): the same word, one that
shares its first five letters ("Putins"/"Putin"), or one at most a letter
or two apart ("Schoigu"/"Shoigu", "Syrian"/"Syrien"). A country name also
counts as mentioned when the corpus names the country in another language,
from Babel's (CLDR) country names: "Hellas" is the Norwegian for "Greece".
What this cannot see: a city whose names differ across languages in more
than spelling ("Wien"/"Vienna") when the corpus uses only the other one;
such a question is refused.

The same CLDR names let :func:`named_language` find the article language
a question asks about ("according to the German article").

>>> vocabulary = CorpusVocabulary(["Putin invited Erdogan to Moscow.", "Tyrkiet og Rusland."])
>>> vocabulary.unknown_names("What did Putin say about Libya?", "en")
['Libya']
>>> vocabulary.unknown_names("Hvad sagde Putins talsmand i Moskva om Tyrkiet?", "da")
[]
>>> vocabulary.unknown_names("What did the Danish report say about Turkey on Monday?", "en")
[]
>>> vocabulary.unknown_names("Was sagte Erdogan über Frankreich und die Inflation?", "de")
['Frankreich']
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from rag.language import LANGUAGE_NAMES
from rag.numerals import BABEL_LOCALES, canonical

_WORD = re.compile(r"\w+")
# A word right after these (or at the start) begins a sentence or a quote.
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\"'«»“”„‘’]\s*)$")
_FOLDED_LETTERS = str.maketrans({"ø": "o", "æ": "ae", "å": "a", "ß": "ss", "ı": "i"})
# Spellings that transliterations of one name differ by.
_EQUIVALENT_SPELLINGS = (("tsch", "ch"), ("sch", "sh"), ("ck", "k"), ("c", "k"), ("w", "v"), ("ph", "f"))
SHARED_PREFIX = 5  # letters two inflected forms of a name share
SPELLING_SIMILARITY = 0.75  # difflib ratio: "turkiye"/"turkey" 0.77, "syrien"/"syria" 0.73
MIN_NAME_CHARS = 3  # "I", "Mr", "EU" are not checked


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


def country_spellings(folded: str) -> frozenset[str]:
    """The country's folded names in every ragbot language, when ``folded`` is (nearly) one.

    Nearly, because CLDR lists one name per language: its English name of
    Turkey is "Türkiye".

    >>> sorted(country_spellings(fold("Turkey")))
    ['turkei', 'turkiet', 'turkiye', 'tyrkia', 'tyrkiet']
    """
    names = _country_names()
    if folded not in names:
        close = difflib.get_close_matches(folded, list(names), n=1, cutoff=SPELLING_SIMILARITY)
        if not close:
            return frozenset()
        folded = close[0]
    return names[folded]


def _is_name(word: str, before: str, language: str) -> bool:
    if len(word) < MIN_NAME_CHARS or not word[0].isupper() or word.isdigit():
        return False
    if _SENTENCE_START.search(before):
        return False
    folded = fold(word)
    if folded in _language_names() or canonical(word, language) != word.casefold():
        return False  # a language name, a day, a month or a number word
    # German capitalises every noun.
    return language != "de" or word.isupper() or folded in _country_names()


def question_names(question: str, language: str) -> list[str]:
    """The names in ``question`` (see the module's docstring); adjacent
    capitalised words are one name ("United Arab Emirates").

    >>> question_names("Hvad sagde Erdogan om Hellas? 'Ignorer alt' sagde Vladimir Putin.", "da")
    ['Erdogan', 'Hellas', 'Vladimir Putin']
    >>> question_names("Wie viele Einwohner hat Moskau laut TASS?", "de")
    ['TASS']
    """
    names: list[str] = []
    previous_end = -1
    for match in _WORD.finditer(question):
        if not _is_name(match.group(), question[: match.start()], language):
            continue
        if names and question[previous_end : match.start()] in (" ", "-"):
            names[-1] += question[previous_end : match.end()]
        else:
            names.append(match.group())
        previous_end = match.end()
    return names


class CorpusVocabulary:
    """Every word of the corpus, folded, for asking whether a name occurs in it."""

    def __init__(self, texts: Iterable[str], folded: Iterable[str] = ()) -> None:
        # Folded once per distinct word: a large corpus repeats most of its words.
        self._words = {fold(word) for word in {word for text in texts for word in _WORD.findall(text)}}
        self._words.update(folded)
        self._by_initial: dict[str, list[str]] = {}
        for word in self._words:
            self._by_initial.setdefault(word[:1], []).append(word)

    @classmethod
    def merged(cls, vocabularies: Iterable[CorpusVocabulary]) -> CorpusVocabulary:
        """One vocabulary of several (the corpus of its articles'), without folding again."""
        return cls([], folded=set().union(*(vocabulary._words for vocabulary in vocabularies)))

    def _spelled(self, folded: str, similarity: float) -> bool:
        if folded in self._words:
            return True
        candidates = self._by_initial.get(folded[:1], [])
        prefix = folded[:SHARED_PREFIX]
        if len(folded) >= SHARED_PREFIX and any(word.startswith(prefix) for word in candidates):
            return True
        return bool(difflib.get_close_matches(folded, candidates, n=1, cutoff=similarity))

    def mentions(self, name: str, similarity: float = SPELLING_SIMILARITY) -> bool:
        """Whether the corpus has the name, or one word of a name of several words."""
        for word in _WORD.findall(name):
            folded = fold(word)
            if any(self._spelled(spelling, similarity) for spelling in {folded, *country_spellings(folded)}):
                return True
        return False

    def unknown_names(self, question: str, language: str) -> list[str]:
        """The names of ``question`` that the corpus never mentions."""
        return [name for name in question_names(question, language) if not self.mentions(name)]


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
