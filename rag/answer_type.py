"""The kind of answer a question asks for, and whether a sentence holds one.

Dense retrieval ranks sentences by topic: "How long did the talks in Moscow
last?" is closest to sentences *about* the Moscow talks, and the one that
says they "lasted about three hours" can rank tenth. Classic question
answering fixes this with answer types: a "how long" question wants a
duration, "how many" a number, "when" a date. :class:`HybridRetriever`
gives sentences holding the asked-for type a small bonus (see
``Settings.answer_type_bonus``), enough to lift them over sentences of the
same topic that cannot answer.

The question words and the units are tables for the supported languages
(English, Danish, Norwegian, German); a question in another language, or of
another kind ("who", "where", "what"), has no type and retrieval is as before.

>>> answer_type("Hvor lenge varte samtalene i Moskva?")
'duration'
>>> holds("The talks lasted about three hours.", "duration", "en")
True
>>> holds("The talks were useful.", "duration", "en")
False
>>> answer_type("Wer ist der Außenminister?") is None
True
"""

from __future__ import annotations

import re
from typing import Literal

from rag.numerals import YEAR


AnswerType = Literal["duration", "quantity", "date"]

# Checked in this order: "how long" before "how much/many".
_QUESTION_WORDS: dict[AnswerType, str] = {
    "duration": r"how long|for how many (?:hours|days|weeks|months|years)"
    r"|hvor længe|hvor lenge|wie lange",
    "quantity": r"how many|how much|how old|hvor mange|hvor meget|hvor mye|hvor gammel"
    r"|wie viele?|wie alt",
    # "when" and "når" also join clauses ("Where did they meet when they
    # agreed ...?"): they ask for a date only where the question starts.
    "date": r"^(?:when|når)|what year|which year|what month|which month|what date|what day|hvornår|hvilket år"
    r"|hvilken måned|hvilken dag|hvilken dato|wann|in welchem (?:jahr|monat)|an welchem (?:tag|wochentag|datum)",
}

# Per language, so that the Danish "to" (two) is not read into English text.
_NUMBER_WORDS = {
    "en": "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty"
    "|fifty|dozen|dozens|hundred|hundreds|thousand|thousands|million|millions|billion|half",
    "da": "to|tre|fire|fem|seks|syv|otte|ni|ti|elleve|tolv|tyve|tredive|hundrede|hundredvis"
    "|tusind|tusindvis|million|millioner|milliard|milliarder|halv|halvanden",
    "no": "to|tre|fire|fem|seks|sju|syv|åtte|ni|ti|elleve|tolv|tjue|tretti|hundre|hundrevis"
    "|tusen|tusenvis|million|millioner|milliard|milliarder|halv|halvannen",
    "de": "zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|elf|zwölf|zwanzig|dreißig|hundert"
    "|hunderte|tausend|tausende|million|millionen|milliarde|milliarden|halbe|halben|anderthalb",
}
_TIME_UNITS = {
    "en": "seconds?|minutes?|hours?|days?|weeks?|months?|years?",
    "da": "sekunder|minutter|time|timer|dage|døgn|uger|måneder|år",
    "no": "sekunder|minutter|time|timer|dager|døgn|uker|måneder|år",
    "de": "sekunden|minuten|stunde|stunden|tage|tagen|woche|wochen|monat|monate|monaten"
    "|jahr|jahre|jahren",
}
_DATE_WORDS = {
    "en": "monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march"
    "|april|may|june|july|august|september|october|november|december|today|yesterday",
    "da": "mandag|tirsdag|onsdag|torsdag|fredag|lørdag|søndag|januar|februar|marts|april|maj"
    "|juni|juli|august|september|oktober|november|december|i dag|i går",
    "no": "mandag|tirsdag|onsdag|torsdag|fredag|lørdag|søndag|januar|februar|mars|april|mai"
    "|juni|juli|august|september|oktober|november|desember|i dag|i går",
    "de": "montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|januar|februar|märz"
    "|april|mai|juni|juli|august|september|oktober|november|dezember|heute|gestern",
}
# Text in any other language: the union (ambiguity matters less than missing a unit).
for _table in (_NUMBER_WORDS, _TIME_UNITS, _DATE_WORDS):
    _table[""] = "|".join(sorted({w for words in _table.values() for w in words.split("|")}))


_ASKS = {kind: re.compile(rf"\b(?:{words})\b") for kind, words in _QUESTION_WORDS.items()}

# A question for a person or a place: who, whom, whose, where, possibly after
# a preposition ("By whom", "Von wem"); "hvor" only where it does not begin
# "how many / how long / how old" in Danish and Norwegian.
_WHO = r"(?:\w+\s+)?(?:who|whom|whose|wer|wen|wem|wessen|hvem|hvis)"
# "Which Turkish official ...?", "Welcher Kremlsprecher ...?", "Hvilken organisation ...?":
# which/welch-/hvilk- and at most two words before a noun for a person or a body
# acting as one. A compound's last part counts ("Außenminister", "nyhedsbureau"),
# but "land" only as a word of its own ("Russland" is a name, "NATO-land" a country);
# after a preposition of place ("In welchem Land fanden sie statt?") it asks a place.
_WHICH = r"(?:(?!(?:in|i|på|an|at|on|near|nahe|ved|bei)\s)\w+\s+)?(?:which|welche[rsmn]?|hvilke[nt]?|hvilket)"
_ACTOR_NOUNS = (
    "minister|ministre|ministerin|sprecher|sprecherin|talsmand|talsmann|talskvinde|talskvinne"
    "|spokesman|spokeswoman|spokesperson|president|presidents|præsident|präsident|präsidenten"
    "|leader|leaders|leder|ledere|chef|chefs|chefer|official|officials|embedsmand|embetsmann"
    "|tjenestemann|beamte|beamter|politician|politiker|diplomat|envoy|gesandte|adviser|advisor"
    "|berater|rådgiver|organisation|organization|organisasjon|organisationen|group|gruppe"
    "|agency|agencies|agentur|nyhedsbureau|nyhetsbyrå|byrå|bureau"
    "|institution|institusjon|instans|ministry|ministerium|ministerie|departement|country"
)
_ASKS_WHICH_ACTOR = re.compile(
    rf"^{_WHICH}\s+(?:[\w-]+\s+){{0,2}}(?:[\w-]*(?:{_ACTOR_NOUNS})|(?:[\w]+-)?(?:land|lande))(?=[\s,?]|$)",
    re.IGNORECASE,
)
_ASKS_WHO = re.compile(rf"^{_WHO}\b", re.IGNORECASE)
_ASKS_WHO_OR_WHERE = re.compile(
    rf"^(?:{_WHO}"
    r"|(?:where|wo|hvor)(?!\s+(?:mange|meget|mye|længe|lenge|gammel|gamle|tit|ofte|stor|store|langt|lang|høy|høj)\b))\b",
    re.IGNORECASE,
)


def asks_who_or_where(question: str) -> bool:
    """Whether ``question`` asks for a person or a place.

    >>> [asks_who_or_where(q) for q in ("Von wem ging die Initiative aus?", "Hvor mødtes de?", "Hvor mange døde?", "Why?")]
    [True, True, False, False]
    """
    return bool(_ASKS_WHO_OR_WHERE.match(question.strip()))


def asks_who(question: str) -> bool:
    """Whether ``question`` asks for a person (or a body acting as one: a
    ministry, an agency, a country), not a place.

    A which-question naming a person or body ("Which Turkish official said
    ...?", "Welcher Kremlsprecher ...?", "Hvilket land ...?") asks who too.

    >>> [asks_who(q) for q in ("Von wem ging die Initiative aus?", "Hvem inviterede ham?", "Hvor mødtes de?")]
    [True, True, False]
    >>> [asks_who(q) for q in ("Which Turkish official said so?", "Welcher Kremlsprecher bestätigte es?",
    ...                        "Hvilken grænseby er hæren rykket til?", "In welchem Land fanden sie statt?")]
    [True, True, False, False]
    """
    question = question.strip()
    return bool(_ASKS_WHO.match(question) or _ASKS_WHICH_ACTOR.match(question))


def counted_part(question: str) -> str | None:
    """What follows a how-many question's question words ("türkische Soldaten wurden
    getötet?" of "Wie viele türkische Soldaten wurden getötet?"); None when
    the question asks no quantity.

    >>> counted_part("Wie viele türkische Soldaten wurden getötet?"), counted_part("Who called?")
    ('türkische Soldaten wurden getötet?', None)
    """
    if answer_type(question) != "quantity":
        return None
    # searched in the question itself: casefolding can change its length ("ß")
    found = re.search(_ASKS["quantity"].pattern, question.strip(), re.IGNORECASE)
    return question.strip()[found.end():].strip() if found else None


def _patterns(language: str) -> dict[AnswerType, re.Pattern[str]]:
    numbers, units, dates = (t[language] for t in (_NUMBER_WORDS, _TIME_UNITS, _DATE_WORDS))
    return {
        "duration": re.compile(rf"(?:\d|\b(?:{numbers})\b)[\s-]*(?:{units})\b"),
        "quantity": re.compile(rf"\d|\b(?:{numbers})\b"),
        # a year, a weekday or month, or a day like "1. mars"
        "date": re.compile(rf"{YEAR.pattern}|\b(?:{dates})\b|\b\d{{1,2}}\.\s?[^\W\d]"),
    }


_HOLDS = {language: _patterns(language) for language in _NUMBER_WORDS}


def answer_type(question: str) -> AnswerType | None:
    """The kind of answer ``question`` asks for, if it is one ragbot can spot.

    >>> [answer_type(q) for q in ("How many died?", "Wann begann es?", "Who called?")]
    ['quantity', 'date', None]
    >>> [answer_type(q) for q in ("When did they meet?", "Where did they meet when it ended?", "Når møttes de?")]
    ['date', None, 'date']
    >>> answer_type("In which month and year did they agree on patrols?")
    'date'
    """
    folded = question.strip().casefold()
    for kind, pattern in _ASKS.items():
        if pattern.search(folded):
            return kind
    return None


def holds(sentence: str, kind: AnswerType, language: str = "") -> bool:
    """Whether ``sentence`` (in ``language``, an ISO code; "" if unknown) has
    something of that kind: a number with a time unit, a number, or a date.

    >>> holds("Nach dem 90 Minuten andauernden Treffen", "duration", "de")
    True
    >>> holds("He went to Ankara.", "quantity", "en"), holds("Hun fik to stemmer.", "quantity", "da")
    (False, True)
    >>> holds("Ties plunged in November 2015.", "date", "en"), holds("Den 1. mars", "date", "no")
    (True, True)
    """
    patterns = _HOLDS.get(language) or _HOLDS[""]
    return bool(patterns[kind].search(sentence.casefold()))
