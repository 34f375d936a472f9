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
  the event), and states the same fact: its e5 vector is within
  :data:`SAME_FACT_SIMILARITY` of the supporting sentence's (a restatement,
  in any language), or it is about the question wherever the supporting
  sentence is: it holds every one of the question's content words that the
  supporting sentences hold (:func:`rag.words.held_by`, so inflections and
  spellings count), those being at least two and half of the question's.

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

from collections.abc import Callable, Sequence

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
# Two sentences whose stored e5 vectors are this close state the same fact,
# whatever their words or language. On the seeds' dev and test drafts, pairs
# of sentences holding different values of the asked kind reach 0.908 (other
# events of one story); planted restatements of a seed fact with another
# value scored 0.938-0.968 in the same language, 0.836-0.879 across
# languages or in other words (docs/answering.md).
SAME_FACT_SIMILARITY = 0.92
# Disagreeing sentences shown with the supporting one (the refusal's passages).
SHOWN = 3


def _on_topic(topic: Sequence[str], sentence: StoredSentence) -> frozenset[str]:
    """The question's content words that ``sentence`` holds in some spelling."""
    return frozenset(word for word in topic if held_by(word, [sentence.text]))


Similarity = Callable[[StoredSentence, Sequence[StoredSentence]], list[float]]


def conflict(
    answer: str,
    cited: Sequence[StoredSentence],
    candidates: Sequence[StoredSentence],
    question: str,
    language: str,
    similarity: Similarity | None = None,
) -> list[StoredSentence]:
    """The supporting sentence followed by the sentences of other files that state
    another value of the asked fact (one per file, best ranked first, up to
    SHOWN); empty when no disagreement is seen.

    ``similarity(supporting, candidates)`` gives each candidate's cosine with
    the supporting sentence (the stored e5 vectors); a candidate at least
    :data:`SAME_FACT_SIMILARITY` from it is about the same fact even where
    the words differ.
    """
    kind = answer_type(question)
    # the question's own numbers ("on March 1") are the event's, not the answer's value
    given = numbers_in(question, language)
    stated = numbers_in(answer, language) - given
    if kind is None or not stated:
        return []
    supporting = [s for s in cited if numbers_in(s.text, s.language) & stated]
    if not supporting:
        return []
    files = {s.source for s in supporting}
    other_values = [
        sentence
        for sentence in candidates
        if sentence.source not in files
        and holds(sentence.text, kind, sentence.language)
        and (values := numbers_in(sentence.text, sentence.language) - given)
        and not values & stated
    ]
    if not other_values:
        return []
    topic = sorted(set(content_words(question, question_language(question))))
    # the question's words every supporting sentence holds: a disagreeing one holds them all too
    bar = frozenset.intersection(*(_on_topic(topic, s) for s in supporting))
    comparable = len(bar) >= max(MIN_SHARED, len(topic) / 2)  # else barely about the question itself
    close = similarity(supporting[0], other_values) if similarity else [0.0] * len(other_values)
    found: dict[str, StoredSentence] = {}
    for sentence, cosine in zip(other_values, close):
        same_fact = cosine >= SAME_FACT_SIMILARITY or (comparable and bar <= _on_topic(topic, sentence))
        if same_fact and sentence.source not in found:
            found[sentence.source] = sentence
    if not found:
        return []
    return [supporting[0], *list(found.values())[:SHOWN]]
