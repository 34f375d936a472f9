"""The conflict stage: when the articles disagree on the asked fact, show the disagreement.

In a news archive sources disagree all the time: a count corrected the next
day, another agency's figure, a rival claim. A small model then picks one
side and cites it, and the reader never learns there was another. So a
draft answering a how-many, how-long or when question is checked against
the sentences retrieved for the question, beyond the four it was shown:

- the **supporting** sentences are the cited ones that hold a number of the
  answer's (numbers, durations and dates alike, :func:`rag.numerals.numbers_in`);
- a sentence **disagrees** when it comes from another file, has something of
  the asked kind (:func:`rag.answer_type.holds`), shares none of the
  answer's numbers (the question's own numbers apart: "on March 1" names
  the event), and is about the question wherever the supporting sentence
  is: it holds every one of the question's content words that the
  supporting sentences hold (:func:`rag.words.held_by`, so inflections and
  spellings count); and those are at least two and half of the question's.

Two near-copies of one article saying the same number never disagree; a
sentence about another event in the same story holds fewer of the
question's words ("Turkey killed 19 Syrian soldiers" against a question on
the 34 Turkish soldiers killed in an air strike) and is left alone.

A draft with a disagreeing sentence is refused (rule ``conflicting_sources``)
with a text saying that the articles disagree, and the refusal shows the
supporting sentence and the disagreeing ones, each with its file and
offsets, so the reader sees which file says what. Name conflicts ("who
invited him") are not detected: names have no such test of sameness.

>>> s = lambda source, text: StoredSentence(text, source, 0, len(text), text, "en", "", "", 0)
>>> ours = s("a.txt", "34 Turkish soldiers were killed in the air strike.")
>>> theirs = s("b.txt", "An air strike killed 99 Turkish soldiers, officials said.")
>>> other = s("c.txt", "Turkey killed 19 Syrian soldiers in drone attacks.")
>>> [x.source for x in conflict("34 soldiers were killed.", [ours], [ours, theirs, other],
...                             "How many Turkish soldiers were killed in the air strike?", "en")]
['a.txt', 'b.txt']
"""

from __future__ import annotations

from collections.abc import Sequence

from rag.answer_type import answer_type, holds
from rag.language import question_language
from rag.numerals import numbers_in
from rag.store import StoredSentence
from rag.words import content_words, held_by

RULE = "conflicting_sources"
# Sentences looked at beyond the evidence: retrieval's ranking, best first.
CANDIDATES = 12
# The question's content words the supporting sentence must hold (at least
# this many, and half of them) for a comparison to mean anything: with one
# shared word ("Turkey") every sentence about Turkey would "disagree".
MIN_SHARED = 2
# Disagreeing sentences shown with the supporting one (the refusal's passages).
SHOWN = 3


def _on_topic(topic: Sequence[str], sentence: StoredSentence) -> frozenset[str]:
    """The question's content words that ``sentence`` holds in some spelling."""
    return frozenset(word for word in topic if held_by(word, [sentence.text]))


def conflict(
    answer: str,
    cited: Sequence[StoredSentence],
    candidates: Sequence[StoredSentence],
    question: str,
    language: str,
) -> list[StoredSentence]:
    """The supporting sentence followed by the sentences of other files that state
    another value of the asked fact (one per file, best ranked first, up to
    SHOWN); empty when no disagreement is seen."""
    kind = answer_type(question)
    # the question's own numbers ("on March 1") are the event's, not the answer's value
    given = numbers_in(question, language)
    stated = numbers_in(answer, language) - given
    if kind is None or not stated:
        return []
    supporting = [s for s in cited if numbers_in(s.text, s.language) & stated]
    if not supporting:
        return []
    topic = sorted(set(content_words(question, question_language(question))))
    # the question's words every supporting sentence holds: a disagreeing one holds them all too
    bar = frozenset.intersection(*(_on_topic(topic, s) for s in supporting))
    if len(bar) < max(MIN_SHARED, len(topic) / 2):
        return []  # the supporting sentence itself is barely about the question: no ground to compare on
    files = {s.source for s in supporting}
    found: dict[str, StoredSentence] = {}
    for sentence in candidates:
        if sentence.source in files or sentence.source in found or not holds(sentence.text, kind, sentence.language):
            continue
        values = numbers_in(sentence.text, sentence.language) - given
        if values and not values & stated and bar <= _on_topic(topic, sentence):
            found[sentence.source] = sentence
    if not found:
        return []
    return [supporting[0], *list(found.values())[:SHOWN]]
