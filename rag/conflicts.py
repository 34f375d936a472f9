"""The conflict stage: when the articles disagree on the asked fact, show the disagreement.

In a news archive sources disagree all the time: a count corrected the next
day, another agency's figure, a rival claim of who did what. A small model
then picks one side and cites it, and the reader never learns there was
another. So a draft answering a how-many, how-long, when or who question
is checked against the sentences retrieved for the question, beyond the
four it was shown. The asked fact's **values** are numbers, durations and
dates (:func:`rag.numerals.numbers_in`) for the first three, and names
(:func:`rag.words.name_units`, the question's own names apart) for "who"
(also "which official", "welcher Kremlsprecher", "hvilket land":
:func:`rag.answer_type.asks_who`):

- the **supporting** sentences are the cited ones that hold a value of the
  answer's;
- a sentence **disagrees** with a supporting one when it comes from
  another file, holds a value of the asked kind (for numbers,
  :func:`rag.answer_type.holds` as well), shares none of the answer's
  values that the supporting sentence states (the question's own numbers
  and names apart: "on March 1" names the event, "Erdogan" the person
  asked about; a draft citing both files and stating both values, "first
  four zones, later five", disagrees with itself), and states the same
  fact: its e5 vector is within :data:`SAME_FACT_SIMILARITY` of the
  supporting sentence's (a restatement, in any language), or it is about
  the question wherever the supporting sentence is: it holds every one of
  the question's content words that the supporting sentences hold
  (:func:`rag.words.held_by`, so inflections and spellings count), those
  being at least two and half of the question's; or, when the supporting
  sentence is in another language than the question's and so holds only
  the question's names ("Moskau", "Türkei" in "Turkey and Russia share the
  goal …, Turkish presidential spokesman Ibrahim Kalin said"), it is in the
  question's language, holds those names and half the question's words
  itself ("Die Türkei und Russland haben das gemeinsame Ziel …, sagte der
  türkische Außenminister Mevlüt Çavuşoğlu").

Otherwise, across languages neither test sees a restatement: the question's
words are not the sentence's, and e5 puts a translation (0.84-0.91) no
nearer than another event of the same story in one language (up to 0.908;
with the names taken out of both sentences, a planted rival name scored
0.81-0.90, seed sentences naming different people up to 0.893). So for a
count a third test compares the counts themselves
(:func:`rag.counts.same_count_across_languages`): a sentence in another
language states the same count when the two sentences are close in e5
and every word one number counts is a word the other counts, in some
spelling or translation ("36 türkische Soldaten", "34 Turkish soldiers"),
or else when the clauses around the two numbers are close and what they
count shares a word, naming no two different countries ("about pulling
2000 American troops out of" and "at 4000 amerikanske soldater trækkes
ud", where the whole sentences are not close).
"Two soldiers of the Syrian army" is not "34 Turkish soldiers", nor "135
sivile" two soldiers.

When no other file's sentence is seen to disagree, the draft's own citations
are compared (:func:`_cited_against`): a draft citing the Danish "3.
marts" and the English "March 2" and telling "3. marts" disagrees with
itself, values being compared within one kind (:func:`differing`: the
day, not the shared month).

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
from rag.counts import Phrases, counts_alike, same_count_across_languages
from rag.language import question_language
from rag.names import is_language_name
from rag.numerals import YEAR, numbers_in
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
# of the fact can rank below CANDIDATES for the question (with 85 planted
# articles on the Moscow talks, the seed's "about three hours" ranked 34th
# among the planted "twenty minutes"' neighbours; at 100 nothing more was
# found, and on the seeds neither refuses a dev or test draft).
NEIGHBOURS = 50
# Disagreeing sentences shown with the supporting one (the refusal's passages).
SHOWN = 3


class Numbers:
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

    def covers(self, ours: frozenset[str], theirs: frozenset[str]) -> bool:
        """Whether ``ours`` states every value of ``theirs``."""
        return theirs <= ours


class _Names:
    """Names as values: the words of a text's names (:func:`rag.words.name_units`)
    but those of a name the question holds and of languages, compared in every spelling.

    >>> sorted(_Names("Who invited Erdogan?").of("Putin invited Recep Tayyip Erdogan in Danish.", "en"))
    ['Putin']
    >>> sorted(_Names("Which Turkish official said so?").of("Turkish Foreign Minister Mevlüt Çavuşoğlu said so.", "en"))
    ['Foreign', 'Mevlüt', 'Minister', 'Çavuşoğlu']
    """

    def __init__(self, question: str) -> None:
        self.question = question

    def of(self, text: str, language: str, of_kind: bool = True) -> frozenset[str]:
        # A name ends with its surname: a unit whose last word the question holds
        # is the question's person ("Vladimir Putin" for "... Putin?"); of any other
        # unit only the words the question holds are the question's ("Turkish" in
        # "Turkish Foreign Minister Mevlüt Çavuşoğlu" when the question says "Turkish").
        values: set[str] = set()
        for unit in name_units(text, language):
            unit_words = words(" ".join(unit))
            asked = [held_by(word, [self.question]) for word in unit_words]  # each word looked up once
            if unit_words and not asked[-1]:
                values.update(w for w, held in zip(unit_words, asked) if not held and not is_language_name(w))
        return frozenset(values)

    def shared(self, ours: frozenset[str], theirs: frozenset[str]) -> bool:
        # held_by: a country is one value in every language ("Tyrkiet", "Turkey")
        return any(held_by(word, [" ".join(theirs)]) for word in ours)


def asked_values(question: str, language: str) -> Numbers | _Names | None:
    """How the asked fact's values are read and compared: numbers, durations and
    dates for a how-many, how-long or when question, names for "who"; None
    for any other question (nothing to compare)."""
    kind = answer_type(question)
    if kind is not None:
        return Numbers(kind, question, language)
    if asks_who(question):
        return _Names(question)
    return None


def _on_topic(topic: Sequence[str], sentence: StoredSentence, own: frozenset[str] | None = None) -> frozenset[str]:
    """The question's content words that ``sentence`` holds in some spelling,
    read under its article's headline, which names what the sentence leaves
    out ("the talks, which lasted about three hours" under "Erdogan and Putin
    vow closer co-operation at Moscow talks"). The headline only adds to a
    sentence that holds :data:`MIN_SHARED` of the words itself: under "Putin
    To Meet In Moscow For Syria Talks" every sentence of the article would
    otherwise be about the Moscow talks. A compound question word counts only
    when each of its parts is there (:func:`_holds_whole`).

    >>> s = StoredSentence("i", "a.txt", 0, 1, "The visit is due on March 5.", "en", "", "Moscow talks", 0)
    >>> sorted(_on_topic(["moscow", "talks", "visit"], s))
    ['visit']
    """
    own = _own_topic(topic, sentence) if own is None else own  # ``own``: already read by the caller
    if len(own) < MIN_SHARED or not sentence.title:
        return own
    return own | frozenset(word for word in topic if _holds_whole(word, sentence.title))


def _own_topic(topic: Sequence[str], sentence: StoredSentence) -> frozenset[str]:
    """The question's content words that ``sentence`` itself holds, its headline apart."""
    return frozenset(word for word in topic if _holds_whole(word, sentence.text))


def _holds_whole(word: str, text: str) -> bool:
    """Whether ``text`` holds ``word`` in some spelling, a compound only when it
    holds each part: "Syrien-samtalerne" (the Syria talks) is not held by a
    sentence that only names Syria, though "Syria" shares its first letters.

    >>> _holds_whole("syrien-samtalerne", "They co-operate on Syria."), _holds_whole("syrien-samtalerne", "Syriens samtaler")
    (False, True)
    """
    return all(held_by(part, [text]) for part in word.split("-") if part)


class Vectors(Phrases, Protocol):
    """The stored e5 vectors, read as :class:`rag.retrieve.HybridRetriever` reads them."""

    def similarity(self, sentence: StoredSentence, others: Sequence[StoredSentence]) -> list[float]: ...

    def neighbours(self, sentence: StoredSentence, k: int) -> list[tuple[StoredSentence, float]]: ...


def _kinds(values: frozenset[str], dated: bool) -> dict[str, frozenset[str]]:
    """Values by what they are: months, weekdays and numbers, and for a
    question asking a date (``dated``) years apart from other numbers (for a
    count, "2,000" is a number)."""
    kinds: dict[str, set[str]] = {}
    for value in values:
        kind = (
            "year" if dated and YEAR.fullmatch(value)
            else "month" if value.startswith("#month")
            else "weekday" if value.startswith("#day")
            else "number"
        )
        kinds.setdefault(kind, set()).add(value)
    return {kind: frozenset(found) for kind, found in kinds.items()}


def differing(ours: frozenset[str], theirs: frozenset[str], dated: bool = True) -> bool:
    """Whether two answers state, for some kind of value both hold, none in common
    (``dated``: the question asks a date, so a year is compared with years).

    >>> differing(frozenset({"5", "#month3"}), frozenset({"6", "#month3"}))
    True
    >>> differing(frozenset({"5", "#month3"}), frozenset({"#day3"}))
    False
    >>> differing(frozenset({"2000"}), frozenset({"4000"}), dated=False)
    True
    """
    mine, other = _kinds(ours, dated), _kinds(theirs, dated)
    return any(not (mine[kind] & other[kind]) for kind in mine.keys() & other.keys())


def _cited_against(
    values: Numbers, stated: frozenset[str], cited: Sequence[StoredSentence], vectors: Vectors | None
) -> list[StoredSentence]:
    """A cited sentence stating the answer's value, and a cited sentence of another
    file stating another value of the same kind: the draft cites both sides
    and tells one ("3. marts" citing both "3. marts" and "March 2"). For a
    count, only when the two count the same people (:func:`counts_alike`)."""
    dated = values.kind == "date"
    for ours in cited:
        mine = values.of(ours.text, ours.language, of_kind=False)
        if not values.shared(mine, stated) or differing(mine, stated, dated):
            continue  # not the answer's sentence
        for other in cited:
            theirs = values.of(other.text, other.language)
            if other.source == ours.source or not theirs or not differing(theirs, stated, dated):
                continue
            if values.kind == "quantity" and not counts_alike(ours, other, frozenset(values.given), vectors):
                continue
            return [ours, other]
    return []


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
    values = asked_values(question, language)
    if values is None:
        return []
    stated = values.of(answer, language, of_kind=False)
    if not stated:
        return []
    supporting = [s for s in cited if values.shared(values.of(s.text, s.language, of_kind=False), stated)]
    asked_in = question_language(question)
    topic = sorted(set(content_words(question, asked_in)))
    needed = max(MIN_SHARED, len(topic) / 2)  # fewer: barely about the question itself
    counts = kind == "quantity"
    given = frozenset(values.given) if isinstance(values, Numbers) else frozenset()
    value_of: dict[str, frozenset[str]] = {}  # each sentence read once, whichever supporting one it meets
    topic_of: dict[str, frozenset[str]] = {}
    own_of: dict[str, frozenset[str]] = {}

    def own_topic(sentence: StoredSentence) -> frozenset[str]:
        if sentence.id not in own_of:
            own_of[sentence.id] = _own_topic(topic, sentence)
        return own_of[sentence.id]

    def on_topic(sentence: StoredSentence) -> frozenset[str]:
        if sentence.id not in topic_of:
            topic_of[sentence.id] = _on_topic(topic, sentence, own_topic(sentence))
        return topic_of[sentence.id]

    for ours in supporting:
        # the answer's values this sentence states: another file's sentence with none
        # of them disagrees, even one the answer also cites ("first four, later five")
        mine = frozenset(v for v in values.of(ours.text, ours.language, of_kind=False) if values.shared(frozenset([v]), stated))

        def other_value(sentence: StoredSentence) -> bool:
            if sentence.id not in value_of:
                value_of[sentence.id] = values.of(sentence.text, sentence.language)
            theirs = value_of[sentence.id]
            return sentence.source != ours.source and bool(theirs) and not values.shared(theirs, mine)

        pool = [sentence for sentence in candidates if other_value(sentence)]
        in_pool = {sentence.id for sentence in pool}
        # the question's words this sentence holds: a disagreeing one holds them all too
        bar = on_topic(ours)
        # In another language than the question's, the supporting sentence holds only
        # its names ("Moskau", "Türkei"); a sentence in the question's language that
        # holds those, and half the question in its own words (its headline apart:
        # "visit to Russia" under "Erdogan, Putin To Meet …" is not about Putin's
        # invitation), is about the question for it.
        across = ours.language != asked_in and len(bar) >= MIN_SHARED
        pairs = list(zip(pool, vectors.similarity(ours, pool) if vectors and pool else [0.0] * len(pool)))
        near = vectors.neighbours(ours, NEIGHBOURS) if vectors else []
        pairs += [(sentence, cosine) for sentence, cosine in near if sentence.id not in in_pool and other_value(sentence)]
        found: dict[str, StoredSentence] = {}
        for sentence, cosine in pairs:
            same_fact = (
                cosine >= SAME_FACT_SIMILARITY
                or (len(bar) >= needed and bar <= on_topic(sentence))
                or (across and sentence.language == asked_in and bar <= on_topic(sentence) and len(own_topic(sentence)) >= needed)
                or (
                    counts and vectors is not None and sentence.language != ours.language
                    and same_count_across_languages(ours, sentence, given, vectors, cosine)
                )
            )
            if same_fact and sentence.source not in found:
                found[sentence.source] = sentence
        if found:
            return [ours, *list(found.values())[:SHOWN]]
    # no other file's sentence seen stating it otherwise: the draft's own citations may
    return _cited_against(values, stated, cited, vectors) if isinstance(values, Numbers) else []
