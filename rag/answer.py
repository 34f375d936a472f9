"""The answer contract, and the render stage: a checked draft becomes an :class:`Answer`.

Citations are built from the chosen sentences' stored offsets, never from
text the model wrote, so every ``quote`` is a verbatim span of its source
file, in its original language.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from itertools import zip_longest

from rag.store import StoredSentence

# A refusal says that the articles do not state it; the nearest passages
# follow it (``Answer.related``) under RELATED_LABELS, never as an answer.
REFUSALS = {
    "en": "The articles don't state this.",
    "da": "Det fremgår ikke af artiklerne.",
    "no": "Det står ikke i artiklene.",
    "de": "Das geht aus den Artikeln nicht hervor.",
    "sv": "Det framgår inte av artiklarna.",
}
RELATED_LABELS = {
    "en": "Related passages (not an answer):",
    "da": "Relaterede passager (ikke et svar):",
    "no": "Relaterte avsnitt (ikke et svar):",
    "de": "Verwandte Textstellen (keine Antwort):",
    "sv": "Relaterade avsnitt (inte ett svar):",
}
RELATED_SHOWN = 3  # nearest passages a refusal shows
# When the articles disagree on the asked fact (rag.conflicts), the refusal
# says so, and its passages are the disagreeing sentences, one per file.
DISAGREEMENTS = {
    "en": "The articles disagree on this; each passage below is what one file says.",
    "da": "Artiklerne er uenige om dette; hver passage nedenfor er, hvad én fil siger.",
    "no": "Artiklene er uenige om dette; hvert avsnitt nedenfor er det én fil sier.",
    "de": "Die Artikel widersprechen sich hier; jede Textstelle unten ist, was eine Datei sagt.",
    "sv": "Artiklarna är oense om detta; varje avsnitt nedan är vad en fil säger.",
}
# A question asking several things at once (rag.question_parts): the refusal
# says why, and the related passages (nearest the whole question) follow.
ONE_QUESTION = {
    "en": "This asks several things at once; please ask one question at a time. The passages below are the nearest.",
    "da": "Spørgsmålet spørger om flere ting på én gang; stil ét spørgsmål ad gangen. Passagerne nedenfor er de nærmeste.",
    "no": "Spørsmålet spør om flere ting samtidig; still ett spørsmål om gangen. Avsnittene nedenfor er de nærmeste.",
    "de": "Die Frage fragt nach mehreren Dingen zugleich; bitte stellen Sie eine Frage nach der anderen. Die Textstellen unten sind die nächsten.",
    "sv": "Frågan gäller flera saker på en gång; ställ en fråga i taget. Avsnitten nedan är de närmaste.",
}

_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


@dataclass
class Citation:
    source: str  # file name
    quote: str  # the sentence, verbatim: source_text[start:end]
    start: int
    end: int
    language: str = ""  # the article's language (ISO code)
    title: str = ""  # the article's headline, when it has one


@dataclass
class Answer:
    """The JSON contract of ``ragbot ask --json`` (see docs/json-contract.md)."""

    question: str
    answer: str
    refused: bool
    language: str
    citations: list[Citation] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    backend: dict[str, str] = field(default_factory=dict)
    # prompt_tokens (all of every call's prompt, cached prefix included),
    # cached_prompt_tokens (of those, the ones found in the KV cache),
    # completion_tokens and model_calls of this answer
    usage: dict[str, int] = field(default_factory=dict)
    # A refusal's nearest passages (up to RELATED_SHOWN, best first): verbatim
    # sentences to read on from, not an answer; empty for answers, and when
    # even the nearest sentence is far from the question in meaning.
    related: list[Citation] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def refusal_text(language: str) -> str:
    return REFUSALS.get(language, REFUSALS["en"])


def one_question_text(language: str) -> str:
    return ONE_QUESTION.get(language, ONE_QUESTION["en"])


def disagreement_text(language: str) -> str:
    return DISAGREEMENTS.get(language, DISAGREEMENTS["en"])


# In English: the one language a reader of any other is most likely to read.
UNSUPPORTED_LANGUAGE_REFUSAL = (
    "ragbot answers questions in English, Danish, Norwegian and German; "
    "please ask in one of them. The passages below are the nearest to your question."
)


def related_label(language: str) -> str:
    """The heading shown above a refusal's related passages, in the answer's language.

    >>> related_label("da"), related_label("xx")
    ('Relaterede passager (ikke et svar):', 'Related passages (not an answer):')
    """
    return RELATED_LABELS.get(language, RELATED_LABELS["en"])


def cite(sentence: StoredSentence) -> Citation:
    """A stored sentence as a citation: its verbatim text and offsets in its file."""
    return Citation(sentence.source, sentence.text, sentence.start, sentence.end, sentence.language, sentence.title)


def strip_markers(text: str) -> str:
    """The prose without citation markers.

    >>> strip_markers("34 soldiers [2, 3] died.")
    '34 soldiers   died.'
    """
    return _MARKER.sub(" ", text)


def render(
    text: str, chosen: list[int], evidence: list[StoredSentence]
) -> tuple[str, list[Citation]]:
    """The answer with one marker citing the chosen sentences, and their citations.

    >>> s = StoredSentence("i", "a.txt", 10, 38, "Die Gespräche dauerten drei.", "de", "", "", 0)
    >>> text, citations = render("The talks lasted three hours.", [1], [s])
    >>> text, citations[0].quote, citations[0].start
    ('The talks lasted three hours [1].', 'Die Gespräche dauerten drei.', 10)
    """
    cited = [evidence[n - 1] for n in chosen]
    marker = "[" + ", ".join(str(i) for i in range(1, len(cited) + 1)) + "]"
    text = " ".join(strip_markers(text).split())
    answer = f"{text[:-1].rstrip()} {marker}{text[-1]}" if text[-1:] in (".", "!", "?") else f"{text} {marker}"
    return answer, [cite(s) for s in cited]


def related_passages(by_meaning: Sequence[StoredSentence], by_words: Sequence[StoredSentence]) -> list[Citation]:
    """What a refusal shows instead of an answer: the nearest sentences, verbatim.

    The nearest by meaning (the ranking the evidence came from) and the
    nearest by the question's own words (BM25) take turns: a refusal often
    means the evidence shown to the model missed the sentence, and the one
    sharing the question's rarest word is then a good place to look
    ("Hvem tog initiativ til telefonsamtalen ...?": "Tyrkiet tog initiativ
    til samtalen", fifth by meaning, first by words).

    >>> s = lambda i: StoredSentence(i, "a.txt", 0, 1, i, "en", "", "", 0)
    >>> [c.quote for c in related_passages([s("m1"), s("m2"), s("w1")], [s("w1"), s("m1")])]
    ['m1', 'w1', 'm2']
    """
    shown: dict[str, StoredSentence] = {}
    for pair in zip_longest(by_meaning, by_words):
        for sentence in pair:
            if sentence is not None and len(shown) < RELATED_SHOWN:
                shown.setdefault(sentence.id, sentence)
    return [cite(sentence) for sentence in shown.values()]
