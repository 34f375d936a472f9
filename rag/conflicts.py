"""The conflict stage: when the articles disagree on the asked fact, show the disagreement.

In a news archive sources disagree all the time: a count corrected the next
day, another agency's figure, a rival claim of who did what. A small model
then picks one side and cites it, and the reader never learns there was
another. So a draft answering a how-many, how-long, when or who question
is checked against the sentences retrieved for the question, beyond the
four it was shown. The asked fact's **values** are numbers, durations and
dates (:func:`rag.numerals.numbers_in`) for the first three, and names
(:func:`rag.words.name_units`, the question's own names apart) for "who":

- the **supporting** sentences are the cited ones that hold a value of the
  answer's;
- a sentence **disagrees** when it comes from another file, holds a value
  of the asked kind (for numbers, :func:`rag.answer_type.holds` as well),
  shares none of the answer's values (the question's own numbers and
  names apart: "on March 1" names the event, "Erdogan" the person asked
  about), and states the same fact: its e5 vector is within
  :data:`SAME_FACT_SIMILARITY` of the supporting sentence's (a
  restatement, in any language), or it is about the question wherever the
  supporting sentence is: it holds every one of the question's content
  words that the supporting sentences hold (:func:`rag.words.held_by`, so
  inflections and spellings count), those being at least two and half of
  the question's.

Two near-copies of one article saying the same value never disagree; a
sentence about another event in the same story holds fewer of the
question's words ("Turkey killed 19 Syrian soldiers" against a question on
the 34 Turkish soldiers killed in an air strike) and is left alone. Names
are compared in every spelling and a country in every language
(:func:`rag.words.held_by`: "Lawrow" is "Lavrov", "Tyrkiet" is "Turkey"),
so one person named twice is one value; a title without a name
("the foreign minister") has no value and is not compared.

A draft with a disagreeing sentence is refused (rule ``conflicting_sources``)
with a text saying that the articles disagree, and the refusal shows the
supporting sentence and the disagreeing ones, each with its file and
offsets, so the reader sees which file says what. Places ("where") are not
compared: "the Kremlin" and "Moscow" are one place in two names.

>>> s = lambda source, text: StoredSentence(text, source, 0, len(text), text, "en", "", "", 0)
>>> ours = s("a.txt", "34 Turkish soldiers were killed in the air strike.")
>>> theirs = s("b.txt", "An air strike killed 99 Turkish soldiers, officials said.")
>>> other = s("c.txt", "Turkey killed 19 Syrian soldiers in drone attacks.")
>>> [x.source for x in conflict("34 soldiers were killed.", [ours], [ours, theirs, other],
...                             "How many Turkish soldiers were killed in the air strike?", "en")]
['a.txt', 'b.txt']
>>> host = s("a.txt", "Putin invited Erdogan to Russia, the Kremlin said.")
>>> rival = s("b.txt", "Erdogan was invited to Russia by Sergei Lavrov.")
>>> [x.source for x in conflict("Putin invited him.", [host], [host, rival], "Who invited Erdogan to Russia?", "en")]
['a.txt', 'b.txt']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from rag.answer_type import AnswerType, answer_type, asks_who, holds
from rag.language import question_language
from rag.names import is_language_name
from rag.numerals import numbers_in
from rag.store import StoredSentence
from rag.words import content_words, held_by, name_units, words

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
# Nearest stored sentences of each supporting one looked at beyond the
# question's candidates: where many articles cover one event, a restatement
# of the fact can rank below CANDIDATES for the question.
NEIGHBOURS = 20
# Disagreeing sentences shown with the supporting one (the refusal's passages).
SHOWN = 3


class _Numbers:
    """Numbers, durations and dates as values: language-neutral tokens, equal or not."""

    def __init__(self, kind: AnswerType, question: str, language: str) -> None:
        self.kind = kind
        # the question's own numbers ("on March 1") are the event's, not the answer's value
        self.given = numbers_in(question, language)

    def of(self, text: str, language: str, of_kind: bool = True) -> frozenset[str]:
        """The text's values; with ``of_kind``, none unless it holds the asked kind (a duration, ...)."""
        if of_kind and not holds(text, self.kind, language):
            return frozenset()
        return frozenset(numbers_in(text, language) - self.given)

    def shared(self, ours: frozenset[str], theirs: frozenset[str]) -> bool:
        return bool(ours & theirs)


class _Names:
    """Names as values: the words of a text's names (:func:`rag.words.name_units`)
    but those of a name the question holds and of languages, compared in every spelling.

    >>> sorted(_Names("Who invited Erdogan?").of("Putin invited Recep Tayyip Erdogan in Danish.", "en"))
    ['Putin']
    """

    def __init__(self, question: str) -> None:
        self.question = question

    def of(self, text: str, language: str, of_kind: bool = True) -> frozenset[str]:
        # a name one of whose words the question holds is the question's ("Vladimir Putin")
        units = [words(" ".join(unit)) for unit in name_units(text, language)]
        return frozenset(
            word
            for unit in units
            if not any(held_by(word, [self.question]) for word in unit)
            for word in unit
            if not is_language_name(word)
        )

    def shared(self, ours: frozenset[str], theirs: frozenset[str]) -> bool:
        # held_by: a country is one value in every language ("Tyrkiet", "Turkey")
        return any(held_by(word, [" ".join(theirs)]) for word in ours)


def _on_topic(topic: Sequence[str], sentence: StoredSentence) -> frozenset[str]:
    """The question's content words that ``sentence`` holds in some spelling,
    read under its article's headline, which names what the sentence leaves
    out ("the talks, which lasted about three hours" under "Erdogan and Putin
    vow closer co-operation at Moscow talks"). The headline only adds to a
    sentence that holds :data:`MIN_SHARED` of the words itself: under "Putin
    To Meet In Moscow For Syria Talks" every sentence of the article would
    otherwise be about the Moscow talks.

    >>> s = StoredSentence("i", "a.txt", 0, 1, "The visit is due on March 5.", "en", "", "Moscow talks", 0)
    >>> sorted(_on_topic(["moscow", "talks", "visit"], s))
    ['visit']
    """
    own = frozenset(word for word in topic if held_by(word, [sentence.text]))
    if len(own) < MIN_SHARED or not sentence.title:
        return own
    return own | frozenset(word for word in topic if held_by(word, [sentence.title]))


class Vectors(Protocol):
    """The stored e5 vectors, read as :class:`rag.retrieve.HybridRetriever` reads them."""

    def similarity(self, sentence: StoredSentence, others: Sequence[StoredSentence]) -> list[float]: ...

    def neighbours(self, sentence: StoredSentence, k: int) -> list[tuple[StoredSentence, float]]: ...


def conflict(
    answer: str,
    cited: Sequence[StoredSentence],
    candidates: Sequence[StoredSentence],
    question: str,
    language: str,
    vectors: Vectors | None = None,
) -> list[StoredSentence]:
    """A supporting sentence followed by the sentences of other files that state
    another value of the asked fact (one per file, best ranked first, up to
    SHOWN); empty when no disagreement is seen.

    Each supporting sentence is compared in turn with ``candidates`` (the
    question's retrieval, best first) and with its own :data:`NEIGHBOURS`
    nearest stored sentences (``vectors``): a restatement of the fact the
    question's retrieval ranks low ("the talks lasted twenty minutes" among
    many articles on the same talks) is still the same fact. A candidate
    within :data:`SAME_FACT_SIMILARITY` of the supporting sentence's stored
    vector is about the same fact even where the words differ.
    """
    kind = answer_type(question)
    values: _Numbers | _Names
    if kind is not None:
        values = _Numbers(kind, question, language)
    elif asks_who(question):
        values = _Names(question)
    else:
        return []
    stated = values.of(answer, language, of_kind=False)
    if not stated:
        return []
    supporting = [s for s in cited if values.shared(values.of(s.text, s.language, of_kind=False), stated)]
    files = {s.source for s in supporting}

    def other_value(sentence: StoredSentence) -> bool:
        theirs = values.of(sentence.text, sentence.language)
        return sentence.source not in files and bool(theirs) and not values.shared(theirs, stated)

    pool = [sentence for sentence in candidates if other_value(sentence)]
    in_pool = {sentence.id for sentence in pool}
    topic = sorted(set(content_words(question, question_language(question))))
    needed = max(MIN_SHARED, len(topic) / 2)  # fewer: barely about the question itself
    for ours in supporting:
        # the question's words this sentence holds: a disagreeing one holds them all too
        bar = _on_topic(topic, ours)
        pairs = list(zip(pool, vectors.similarity(ours, pool) if vectors and pool else [0.0] * len(pool)))
        near = vectors.neighbours(ours, NEIGHBOURS) if vectors else []
        pairs += [(sentence, cosine) for sentence, cosine in near if sentence.id not in in_pool and other_value(sentence)]
        found: dict[str, StoredSentence] = {}
        for sentence, cosine in pairs:
            same_fact = cosine >= SAME_FACT_SIMILARITY or (len(bar) >= needed and bar <= _on_topic(topic, sentence))
            if same_fact and sentence.source not in found:
                found[sentence.source] = sentence
        if found:
            return [ours, *list(found.values())[:SHOWN]]
    return []
