"""Language identification with lingua (offline, accurate on short questions).

Codes are ISO 639-1, with Norwegian reported as ``no`` whether Bokmål or
Nynorsk. Only the languages ragbot supports are candidates, which keeps lingua
fast and stops short Scandinavian questions being taken for e.g. Swedish.

>>> detect_language("Hvor længe varede mødet?")
'da'
"""

from __future__ import annotations

import threading
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


# lingua's high-accuracy models (n-grams of one to five letters) take about
# 1.9 s of CPU to load, the largest part of a new process's start-up besides
# the LLM; its low-accuracy mode (trigrams only) loads in 0.06 s and is right
# on most texts, but over-confident on a few short ones. So the quick
# detector answers when it is all but certain, and the full one loads (once,
# on first need) for the rest. The bar was chosen on dev's 168 questions: at
# 0.995 the quick detector decided 118 of them and agreed with the full one
# on every one (at 0.99, 121 and one disagreement). docs/performance.md, "Start-up".
QUICK_CONFIDENCE = 0.995

_full_lock = threading.Lock()


@lru_cache(maxsize=1)
def _quick_detector() -> LanguageDetector:
    return LanguageDetectorBuilder.from_languages(*_CODES).with_preloaded_language_models().with_low_accuracy_mode().build()


def _full_detector() -> LanguageDetector:
    # Every n-gram model at once: loaded lazily, the first Danish and the
    # first Norwegian text each paid 1.2-1.4 s for theirs. The lock keeps two
    # threads (the Discord bot answers in a pool) from loading it twice.
    with _full_lock:
        return _build_full_detector()


@lru_cache(maxsize=1)
def _build_full_detector() -> LanguageDetector:
    return LanguageDetectorBuilder.from_languages(*_CODES).with_preloaded_language_models().build()


def _merged(detector: LanguageDetector, text: str) -> dict[str, float]:
    """Confidence per code; Norwegian takes the likelier of Bokmål and Nynorsk."""
    likelihood: dict[str, float] = {}
    for value in detector.compute_language_confidence_values(text):
        code = _CODES[value.language]
        likelihood[code] = max(likelihood.get(code, 0.0), value.value)
    return likelihood


def _sure_quick(text: str) -> dict[str, float] | None:
    """The quick detector's confidences, when it is all but certain; else None."""
    likelihood = _merged(_quick_detector(), text)
    return likelihood if likelihood and max(likelihood.values()) >= QUICK_CONFIDENCE else None


def _confidences(text: str, exact: bool = False) -> dict[str, float]:
    """How likely ``text`` is in each language (codes, Norwegian merged).

    From the quick detector when it is sure, else from the full one;
    ``exact`` always uses the full one (the evaluation's scorer does).
    """
    return (None if exact else _sure_quick(text)) or _merged(_full_detector(), text)


def preload_language_models() -> None:
    """Load the quick detector now; the full one loads on first need (see ``QUICK_CONFIDENCE``)."""
    _quick_detector()


def detect_language(text: str, default: str = DEFAULT_LANGUAGE, exact: bool = False) -> str:
    """The ISO code of ``text``'s language, or ``default`` when unsure.

    ``exact`` skips the quick detector (see ``QUICK_CONFIDENCE``).
    """
    if not any(ch.isalpha() for ch in text):
        return default
    quick = None if exact else _sure_quick(text)
    if quick:
        return max(quick, key=quick.__getitem__)
    language = _full_detector().detect_language_of(text)
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
    likelihood = {code: value for code, value in _confidences(text).items() if code in ANSWER_LANGUAGES}
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
    Always the full detector: an answer's names are gone, and what is left
    is often too short for the quick one (``rag.verify`` avoids calling
    this when the language would change nothing).

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
        return detect_language(kept, default, exact=True)
    likelihood = _confidences(kept, exact=True)
    if not likelihood:
        return default
    best = max(likelihood, key=likelihood.__getitem__)
    if likelihood.get(asked, 0.0) >= AMBIGUITY_RATIO * likelihood[best]:
        return asked
    return best


# The scripts the answer languages are written in; a question mostly in
# another (Chinese, Arabic, Cyrillic, ...) is in a language ragbot does not
# answer in, whatever lingua (which only knows the supported ones) makes of it.
SUPPORTED_SCRIPTS = ("LATIN",)
# Names in other scripts do not make a question foreign: it counts as
# unsupported only when most of its letters are in other scripts.
FOREIGN_SCRIPT_SHARE = 0.5


def foreign_script_share(text: str) -> float:
    """The share of ``text``'s letters written in a script none of ANSWER_LANGUAGES uses.

    >>> foreign_script_share("Hvor længe varede mødet?"), foreign_script_share("普京和埃尔多安谈了多久？")
    (0.0, 1.0)
    >>> round(foreign_script_share("Hvad sagde Путин om Syrien?"), 2)  # 5 of 22 letters
    0.23
    """
    import unicodedata

    letters = [char for char in text if char.isalpha()]
    if not letters:
        return 0.0
    foreign = sum(unicodedata.name(char, "UNKNOWN").split(" ")[0] not in SUPPORTED_SCRIPTS for char in letters)
    return foreign / len(letters)


def unsupported_language(text: str) -> bool:
    """Whether ``text`` is written mostly in a script the answer languages do not use.

    Latin-script languages other than the supported ones (French, Turkish)
    are not recognised here: lingua is given only the supported languages,
    and taking them all would cost seconds of start-up (docs/answering.md).

    >>> unsupported_language("كم استمرت المحادثات في موسكو؟"), unsupported_language("Who is Erdoğan?")
    (True, False)
    """
    return foreign_script_share(text) > FOREIGN_SCRIPT_SHARE
