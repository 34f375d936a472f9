"""Language identification with lingua (offline, accurate on short questions).

Codes are ISO 639-1, with Norwegian reported as ``no`` whether Bokmål or
Nynorsk. Only the languages ragbot supports are candidates, which keeps lingua
fast and stops short Scandinavian questions being taken for e.g. Swedish.

>>> detect_language("Hvor længe varede mødet?")
'da'
"""

from __future__ import annotations

from functools import lru_cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

_CODES: dict[Language, str] = {
    Language.ENGLISH: "en",
    Language.DANISH: "da",
    Language.BOKMAL: "no",
    Language.NYNORSK: "no",
    Language.GERMAN: "de",
    Language.SWEDISH: "sv",
}
LANGUAGE_NAMES = {"en": "English", "da": "Danish", "no": "Norwegian", "de": "German", "sv": "Swedish"}
DEFAULT_LANGUAGE = "en"
# What answers are written in (the JSON contract); Swedish is only a candidate
# so that short Scandinavian texts are not forced into Danish or Norwegian.
ANSWER_LANGUAGES = ("en", "da", "no", "de")


@lru_cache(maxsize=1)
def _detector() -> LanguageDetector:
    # Every n-gram model at once (about 1.5 s): loaded lazily, the first
    # Danish and the first Norwegian text each paid 1.2-1.4 s for theirs.
    return LanguageDetectorBuilder.from_languages(*_CODES).with_preloaded_language_models().build()


def preload_language_models() -> None:
    """Load the detector now, so that a first question does not wait for it."""
    _detector()


def detect_language(text: str, default: str = DEFAULT_LANGUAGE) -> str:
    """The ISO code of ``text``'s language, or ``default`` when unsure."""
    if not any(ch.isalpha() for ch in text):
        return default
    language = _detector().detect_language_of(text)
    return _CODES.get(language, default) if language else default


def question_language(text: str, default: str = DEFAULT_LANGUAGE) -> str:
    """The answer language for a question: its own, or the likeliest of
    ``ANSWER_LANGUAGES`` when lingua finds another (Swedish) or none.

    >>> question_language("Hvor længe varede mødet?"), question_language("Vem träffade Putin i Moskva?")
    ('da', 'da')
    >>> question_language("12 + 7 = ?")
    'en'
    """
    language = detect_language(text, default)
    if language in ANSWER_LANGUAGES:
        return language
    likelihood: dict[str, float] = {}
    for value in _detector().compute_language_confidence_values(text):
        code = _CODES[value.language]
        if code in ANSWER_LANGUAGES:
            likelihood[code] = max(likelihood.get(code, 0.0), value.value)
    return max(likelihood, key=likelihood.__getitem__) if likelihood else default


# Danish and Norwegian share much of their spelling: "IS kontrollerer Idlib"
# is both. A text counts as the asked language when lingua finds it at least
# this fraction as likely as the language it likes best.
AMBIGUITY_RATIO = 0.6


def answer_language(text: str, default: str = DEFAULT_LANGUAGE, asked: str | None = None) -> str:
    """The language of an answer, judged without its names.

    Names carry no language, but they sway a detector: with the Turkish
    "Çavuşoğlu" in it, an English sentence was taken for German. Words
    written with a capital inside the text are left out (the first word
    stays); German, which capitalises every noun, keeps enough small words
    to be told apart. Citation markers should be stripped beforehand.
    Given the ``asked`` language, a text that is nearly as likely to be in
    it as in any other (see ``AMBIGUITY_RATIO``) is taken to be in it.

    >>> answer_language("Mevlut Çavuşoğlu spoke about freeing Syria of terrorist organisations.")
    'en'
    >>> answer_language("Die Türkei schoss 2015 ein russisches Kampfflugzeug ab.")
    'de'
    >>> answer_language("IS kontrollerer Idlib.", asked="da"), answer_language("Tirsdag blev 135 sivile drept.", asked="da")
    ('da', 'no')
    """
    words = text.split()
    kept = " ".join(word for index, word in enumerate(words) if index == 0 or not word[:1].isupper())
    if asked is None or not any(ch.isalpha() for ch in kept):
        return detect_language(kept, default)
    likelihood: dict[str, float] = {}
    for value in _detector().compute_language_confidence_values(kept):
        code = _CODES[value.language]  # Norwegian: the likelier of Bokmål and Nynorsk
        likelihood[code] = max(likelihood.get(code, 0.0), value.value)
    if not likelihood:
        return default
    best = max(likelihood, key=likelihood.__getitem__)
    if likelihood.get(asked, 0.0) >= AMBIGUITY_RATIO * likelihood[best]:
        return asked
    return best
