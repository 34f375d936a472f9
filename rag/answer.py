"""Answers with citations that are true by construction.

The LLM sees a few numbered evidence sentences and must cite their numbers.
Citations are built from the cited sentences' stored offsets, never from text
the model wrote, so every ``quote`` is a verbatim span of its source file.
An answer is refused when the model says the evidence does not answer, when
it cites nothing, or when it states a number that no cited sentence holds
(a small model's favourite way of inventing facts).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from rag.language import LANGUAGE_NAMES
from rag.store import StoredSentence

REFUSAL_TOKEN = "NOT_IN_SOURCES"

REFUSALS = {
    "en": "The sources don't say.",
    "da": "Det fremgår ikke af kilderne.",
    "no": "Det står ikke i kildene.",
    "de": "Das geht aus den Quellen nicht hervor.",
    "sv": "Det framgår inte av källorna.",
}

_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


@dataclass
class Citation:
    source: str
    quote: str
    start: int
    end: int


@dataclass
class Answer:
    """The JSON contract of ``ragbot ask --json`` (see README)."""

    question: str
    answer: str
    refused: bool
    language: str
    citations: list[Citation] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    backend: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def refusal_text(language: str) -> str:
    return REFUSALS.get(language, REFUSALS["en"])


def format_evidence(evidence: list[StoredSentence]) -> str:
    lines = []
    for number, sentence in enumerate(evidence, start=1):
        language = LANGUAGE_NAMES.get(sentence.language, sentence.language)
        lines.append(f"[{number}] ({language} article {sentence.source}) {sentence.text}")
    return "\n".join(lines)


def cited_numbers(reply: str, evidence_count: int) -> list[int]:
    """Evidence numbers the reply cites, in first-cited order, valid ones only.

    >>> cited_numbers("Three hours [2]. Also [2, 5] and [9].", 6)
    [2, 5]
    """
    numbers: list[int] = []
    for match in _MARKER.finditer(reply):
        for part in match.group(1).split(","):
            number = int(part)
            if 1 <= number <= evidence_count and number not in numbers:
                numbers.append(number)
    return numbers


def strip_markers(text: str) -> str:
    """The prose without citation markers.

    >>> strip_markers("34 soldiers [2, 3] died.")
    '34 soldiers   died.'
    """
    return _MARKER.sub(" ", text)


def _numbers(text: str) -> set[str]:
    return {n.replace(",", ".") for n in _NUMBER.findall(text)}


def unsupported_numbers(answer: str, cited: list[StoredSentence]) -> set[str]:
    """Numbers in the answer that appear in none of the cited sentences.

    >>> s = StoredSentence("i", "a.txt", 0, 1, "The talks lasted 3 hours in 2019.", "en", "", "", 0)
    >>> unsupported_numbers("They lasted 3 hours [1] and cost 5 [1].", [s])
    {'5'}
    """
    supported: set[str] = set()
    for sentence in cited:
        supported |= _numbers(sentence.text)
    return _numbers(strip_markers(answer)) - supported


def compose(
    reply: str, evidence: list[StoredSentence], language: str
) -> tuple[str, bool, list[Citation]]:
    """Turn the model's reply into (answer, refused, citations)."""
    text = reply.strip()
    if not text or REFUSAL_TOKEN in text.upper().replace(" ", "_"):
        return refusal_text(language), True, []
    numbers = cited_numbers(text, len(evidence))
    if not numbers:
        return refusal_text(language), True, []
    cited = [evidence[n - 1] for n in numbers]
    if unsupported_numbers(text, cited):
        return refusal_text(language), True, []
    # Renumber markers to the citation list's order: [4] -> [1] if 4 was cited first.
    order = {n: i + 1 for i, n in enumerate(numbers)}

    def renumber(match: re.Match) -> str:
        kept = [order[int(p)] for p in match.group(1).split(",") if int(p) in order]
        return "[" + ", ".join(str(k) for k in kept) + "]" if kept else ""

    answer = re.sub(r"\s+", " ", _MARKER.sub(renumber, text)).strip()
    citations = [Citation(s.source, s.text, s.start, s.end) for s in cited]
    return answer, False, citations
