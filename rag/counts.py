"""What a number counts, and whether two sentences in different languages state one count.

The conflict stage (:mod:`rag.conflicts`) and the second reading
(:mod:`rag.second_reading`) compare counts across languages, where neither
the question's words nor a whole sentence's e5 vector tell a restatement
from another event of the same story. Two things are compared instead:

- **what is counted** (:func:`counted`): the words after the number, up to
  :data:`COUNTED_WORDS`, function words skipped ("36 türkische Soldaten",
  "34 Turkish soldiers"); a word of one phrase is a word of the other in
  some spelling (:func:`rag.words.held_by`) or translation (two words whose
  e5 vectors, each embedded alone, are within :data:`TRANSLATION_SIMILARITY`);
- **the sentences, or else the clauses around the numbers**
  (:func:`count_clauses`: up to :data:`CLAUSE_WORDS` words either side of
  a number, not across punctuation), by their e5 vectors; whole sentences
  need every counted word matched, clauses one (:func:`counts_alike`).
  A sentence can say much more than its count: "Russia and Turkey have agreed to
  co-ordinate ground operations ... following Trump's announcement about
  pulling 2,000 American troops out of Syria" scores 0.836 against the
  Danish "Trump meddelte, at 4.000 amerikanske soldater trækkes ud af
  Syrien", no more than another event's count in another language, while
  the clauses "about pulling 2000 American troops out of" and "at 4000
  amerikanske soldater trækkes ud" score 0.865.

The verify stage reads what a how-many question counts too
(:func:`counts_another_country`): "Wie viele türkische Soldaten …?" is not
answered by a number counting Syrian soldiers.

>>> counted("Sohr said 34 Turkish soldiers died, and 2 of the Syrian army.", "en")
[['Turkish', 'soldiers'], ['Syrian', 'army']]
>>> [clause for _, clause in count_clauses("Trump spoke of pulling 2,000 American troops out of Syria.", "en")]
['Trump spoke of pulling 2000 American troops out of']
"""

from __future__ import annotations

from typing import Protocol

from rag.answer_type import counted_part
from rag.numerals import join_digit_groups, numbers_in
from rag.store import StoredSentence
from rag.words import country_equivalents, held_by, stopwords, tokens

# Words read after a number as what it counts ("36 türkische Soldaten").
COUNTED_WORDS = 2
# Two words whose e5 vectors (embedded alone) are this close are one word in
# two languages: "soldater"/"soldiers" 0.957, "amerikanske"/"American" 0.947,
# "russiske"/"Russian" 0.922, while "civilians"/"soldiers" reach 0.901 and
# "syriske"/"Turkish" 0.869. Some translations score lower
# ("opprørere"/"rebels" 0.867, "soldater"/"troops" 0.879).
TRANSLATION_SIMILARITY = 0.92
# Words either side of a number in its clause (:func:`count_clauses`).
CLAUSE_WORDS = 4
# Two sentences in different languages, or two clauses around their numbers,
# this close state one count when what they count is alike
# (:func:`same_count_across_languages`). Planted restatements across
# languages, in the sets looked at before heldout12 (docs/experiments.md):
# sentences 0.836-0.979, clauses 0.857-0.985, the better of the two at
# least 0.865; on the seeds the closest pair of counts of different events
# in two languages: sentences 0.830, clauses 0.837 ("to soldater fra den
# syriske" and "Turkey killed 19 Syrian soldiers in drone").
CROSS_LANGUAGE_SIMILARITY = 0.85


class Phrases(Protocol):
    """e5 vectors of short texts embedded alone (:class:`rag.retrieve.HybridRetriever`)."""

    def phrase_similarity(self, phrase: str, other: str) -> float: ...


def counted(text: str, language: str, given: frozenset[str] = frozenset()) -> list[list[str]]:
    """What each number of ``text`` counts: up to :data:`COUNTED_WORDS` words after
    it, function words and numbers skipped, up to the next punctuation; the
    question's own numbers (``given``) are left out."""
    return [phrase for _, phrase in counted_values(text, language, given)]


def counted_values(text: str, language: str, given: frozenset[str] = frozenset()) -> list[tuple[frozenset[str], list[str]]]:
    """Each number of ``text`` (its values) with what it counts, as :func:`counted`;
    digit groups are read whole ("2,000" is 2000).

    >>> counted_values("Turkey killed 19 Syrian soldiers and 2,000 fled.", "en")
    [(frozenset({'19'}), ['Syrian', 'soldiers']), (frozenset({'2000'}), ['fled'])]
    """
    found = tokens(join_digit_groups(text))
    phrases = [(values, _counted_words(found[i + 1:], language)) for i, values in _numbers(found, language, given)]
    return [(values, phrase) for values, phrase in phrases if phrase]


def asked_counted(question: str, language: str) -> list[str]:
    """What a how-many question counts: up to :data:`COUNTED_WORDS` words after its
    question words, function words skipped, up to punctuation (empty for
    another question).

    >>> asked_counted("Hvor mange soldater fra den syriske hær blev dræbt?", "da")
    ['soldater', 'syriske']
    """
    part = counted_part(question)
    return [] if part is None else _counted_words(tokens(part), language)


def _numbers(found: list[str], language: str, given: frozenset[str]) -> list[tuple[int, frozenset[str]]]:
    """The positions and values of the tokens that are numbers, not weekdays or
    months, and not only the question's own (``given``)."""
    numbers = []
    for i, token in enumerate(found):
        values = frozenset(numbers_in(token, language))
        if values and not values <= given and not all(value.startswith("#") for value in values):
            numbers.append((i, values))
    return numbers


def _counted_words(following: list[str], language: str) -> list[str]:
    """Up to :data:`COUNTED_WORDS` of the words in ``following``, function words and
    numbers skipped, up to the first punctuation mark."""
    function_words = stopwords(language)
    words: list[str] = []
    for word in following:
        if not word[0].isalnum() or len(words) == COUNTED_WORDS:
            break
        if word.casefold() not in function_words and not numbers_in(word, language):
            words.append(word)
    return words


def _countries(phrase: list[str]) -> set[str]:
    return {country for word in phrase for country in country_equivalents(word)}


def counts_another_country(question: str, language: str, answer: str, cited: list[StoredSentence]) -> bool:
    """Whether a how-many question counts one country's people ("Wie viele
    türkische Soldaten …?") and the answer's numbers, in the cited sentences,
    count only another country's ("Turkey killed 19 Syrian soldiers"): a
    count of something else, read off a sentence on the same event.

    >>> s = StoredSentence("i", "a.txt", 0, 1, "Turkey killed 19 Syrian soldiers in drone strikes.", "en", "", "", 0)
    >>> counts_another_country("Wie viele türkische Soldaten wurden getötet?", "de", "19 Soldaten.", [s])
    True
    >>> counts_another_country("Wie viele syrische Soldaten wurden getötet?", "de", "19 Soldaten.", [s])
    False
    """
    asked = _countries(asked_counted(question, language))
    if not asked:
        return False
    values = numbers_in(answer, language) - numbers_in(question, language)
    phrases = [phrase for sentence in cited for found, phrase in counted_values(sentence.text, sentence.language)
               if found & values]
    countries = [_countries(phrase) for phrase in phrases]
    return bool(countries) and all(named and not named & asked for named in countries)


def count_clauses(text: str, language: str, given: frozenset[str] = frozenset()) -> list[tuple[frozenset[str], str]]:
    """Each number of ``text`` (not a weekday or month, not one of ``given``) with its
    clause: up to :data:`CLAUSE_WORDS` words either side, stopping at
    punctuation; digit groups are read whole ("2,000" is 2000)."""
    found = tokens(join_digit_groups(text))
    clauses = []
    for i, values in _numbers(found, language, given):
        start = i
        while start > 0 and i - start < CLAUSE_WORDS and found[start - 1][0].isalnum():
            start -= 1
        end = i
        while end + 1 < len(found) and end - i < CLAUSE_WORDS and found[end + 1][0].isalnum():
            end += 1
        clauses.append((values, " ".join(found[start:end + 1])))
    return clauses


def _shares_counted_word(
    ours: StoredSentence, theirs: StoredSentence, given: frozenset[str], vectors: Phrases, every_word: bool
) -> bool:
    """Whether some counted phrase of one sentence has every word (with
    ``every_word`` false: some word) in a counted phrase of the other, in some
    spelling or translation (:data:`TRANSLATION_SIMILARITY`)."""

    def is_in(word: str, phrase: list[str]) -> bool:
        return held_by(word, [" ".join(phrase)]) or any(
            vectors.phrase_similarity(word.casefold(), other.casefold()) >= TRANSLATION_SIMILARITY for other in phrase
        )

    test = all if every_word else any
    for a in counted(ours.text, ours.language, given):
        for b in counted(theirs.text, theirs.language, given):
            shorter, longer = (a, b) if len(a) <= len(b) else (b, a)
            if test(is_in(word, longer) for word in shorter):
                return True
    return False


def counts_alike(ours: StoredSentence, theirs: StoredSentence, given: frozenset[str], vectors: Phrases | None) -> bool:
    """Whether the two sentences' counted phrases share a word in some spelling or
    translation ("4.000 amerikanske soldater", "2,000 American troops") and
    name no two different countries ("34 Turkish soldiers" and "to soldater
    fra den syriske hær" share the soldiers, not the army); "135 sivile" and
    "to soldater" share no word.

    >>> s = lambda text, language: StoredSentence(text, "a.txt", 0, len(text), text, language, "", "", 0)
    >>> counts_alike(s("34 Turkish soldiers died.", "en"), s("To soldater fra den syriske hær døde.", "da"), frozenset(), None)
    False
    """
    countries = [
        _countries([word for phrase in counted(sentence.text, sentence.language, given) for word in phrase])
        for sentence in (ours, theirs)
    ]
    if vectors is None or (all(countries) and not countries[0] & countries[1]):
        return False  # without the vectors no translation is known
    return _shares_counted_word(ours, theirs, given, vectors, every_word=False)


def clause_similarity(ours: StoredSentence, theirs: StoredSentence, given: frozenset[str], vectors: Phrases) -> float:
    """The highest cosine between a clause of ``ours`` and a clause of ``theirs``
    around two different numbers (0.0 when there is no such pair)."""
    return max(
        (
            vectors.phrase_similarity(mine, other)
            for values, mine in count_clauses(ours.text, ours.language, given)
            for their_values, other in count_clauses(theirs.text, theirs.language, given)
            if not values & their_values
        ),
        default=0.0,
    )


def same_count_across_languages(
    ours: StoredSentence, theirs: StoredSentence, given: frozenset[str], vectors: Phrases, sentence_similarity: float
) -> bool:
    """Whether ``theirs``, in another language, states the count ``ours`` states
    (with another number): the two sentences (``sentence_similarity``: their
    stored vectors' cosine) are within :data:`CROSS_LANGUAGE_SIMILARITY` and
    every word one counts is a word the other counts ("36 türkische
    Soldaten", "34 Turkish soldiers"); or else the clauses around the two
    numbers are within it and what they count is alike (:func:`counts_alike`:
    "amerikanske soldater" and "American troops", though "soldater" and
    "troops" are only 0.879 apart)."""
    if sentence_similarity >= CROSS_LANGUAGE_SIMILARITY and _shares_counted_word(ours, theirs, given, vectors, every_word=True):
        return True
    return counts_alike(ours, theirs, given, vectors) and clause_similarity(ours, theirs, given, vectors) >= CROSS_LANGUAGE_SIMILARITY
