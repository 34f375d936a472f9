"""The second-reading stage: a number the answer states, read again from the
articles in other languages.

The conflict stage (:mod:`rag.conflicts`) compares sentences, and across
languages e5 cannot tell a restatement from another event of the same story
(a translation scores 0.84-0.91, another event as much), so a count or a
year that an article in another language states differently slips through:
a Danish "4.000 amerikanske soldater" against the English "2,000 American
troops", a German "2018" against the English "2017". The model, which reads
every language, can tell.

So a draft answering a how-many, how-long or when question, that nothing
else refused, is read a second time: the same question and prompt, with
evidence of the other languages only, without the cited files and without
any sentence stating every value of the answer's. When that evidence holds
no other value of the asked kind, no call is made. The second draft must
stand as any draft does (the abstention threshold, the verify checks, the
confirm stage's threshold). It disagrees with the first when the two state
values of one kind that differ (:func:`differing`: a year against a year, a
day of the month against a day, a weekday against a weekday; "Saturday" and
"2 March" are not compared), and, for a count, when the two counted phrases
share a word in some spelling or translation
(:func:`rag.counts.counts_alike`: "135 sivile" is not "to soldater").
Then the answer is refused as a disagreement, showing the first draft's
supporting sentence and the second's, each with its file.

Why only numbers, and only other languages: within one language the
conflict stage's sentence tests hold, and names were where the second
reader went wrong most (a spokesman read as the defence minister).

>>> differing(frozenset({"2018", "3"}), frozenset({"2017", "3"})), differing(frozenset({"#day6"}), frozenset({"2", "#month3"}))
(True, False)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.abstain import abstains
from rag.answer import strip_markers
from rag.confirm import Confirmer, unconfirmed
from rag.conflicts import Numbers, Vectors, asked_values, differing
from rag.counts import counts_alike
from rag.store import StoredSentence
from rag.verify import verify

if TYPE_CHECKING:
    from rag.generate import StructuredGenerator

RULE = "second_reading_disagrees"


@dataclass
class SecondDraft:
    """What the second reading stated: its text and the sentences it cited."""

    text: str
    cited: list[StoredSentence]


class SecondReader:
    """The second draft, held to the bar any draft meets: the abstention
    threshold, the verify checks and the confirm stage's threshold."""

    def __init__(self, generator: StructuredGenerator, confirmer: Confirmer, confidential: str) -> None:
        self.generator = generator
        self.confirmer = confirmer
        self.confidential = confidential

    def read(
        self,
        question: str,
        evidence: list[StoredSentence],
        language: str,
        thresholds: tuple[float, float],
        usage: dict[str, int],
    ) -> SecondDraft | None:
        """The draft from ``evidence`` (None when it does not stand); each call's
        tokens are added to ``usage``. ``thresholds``: abstention, confirm."""
        doubt, confirm = thresholds
        draft = self.generator.generate(question, evidence, language, abstain_above=doubt)
        _add(usage, draft.usage)
        if abstains(draft.abstain_score, doubt) or not draft.evidence or not draft.text:
            return None
        if verify(draft, evidence, question, language, self.confidential):
            return None
        text, cited = strip_markers(draft.text), [evidence[n - 1] for n in draft.evidence]
        if confirm != math.inf:  # the confirm stage's bar, as for any draft
            confirmation = self.confirmer.confirm(question, text.strip(), [sentence.text for sentence in cited])
            _add(usage, confirmation.usage)
            if unconfirmed(confirmation.score, confirm):
                return None
        return SecondDraft(text, cited)


def _add(usage: dict[str, int], more: dict[str, int]) -> None:
    for key, value in more.items():
        usage[key] = usage.get(key, 0) + value


def other_language_evidence(
    question: str, language: str, answer: str, cited: Sequence[StoredSentence], ranked: Sequence[StoredSentence]
) -> list[StoredSentence]:
    """``ranked`` in languages other than the cited sentences', without the cited
    files and without any sentence stating every value of ``answer``'s; empty
    when the question asks no number, duration or date, or when what is left
    holds no other value of the asked kind (nothing to disagree with)."""
    values = asked_values(question, language)
    if not isinstance(values, Numbers):
        return []
    stated = values.of(answer, language, of_kind=False)
    if not stated:
        return []
    files = {sentence.source for sentence in cited}
    languages = {sentence.language for sentence in cited}
    left = [
        sentence for sentence in ranked
        if sentence.source not in files and sentence.language not in languages
        and not values.covers(values.of(sentence.text, sentence.language, of_kind=False), stated)
    ]
    if not any(values.of(sentence.text, sentence.language) for sentence in left):
        return []
    return left


def disagreement(
    question: str,
    language: str,
    answer: str,
    cited: Sequence[StoredSentence],
    ranked: Sequence[StoredSentence],
    evidence_k: int,
    read: Callable[[list[StoredSentence]], SecondDraft | None],
    vectors: Vectors,
) -> list[StoredSentence]:
    """The first draft's supporting sentence and the second reading's, when the
    second reading (``read``: a draft from other evidence, None when it does
    not stand) states a value that differs from the answer's; else empty."""
    evidence = other_language_evidence(question, language, answer, cited, ranked)[:evidence_k]
    if not evidence:
        return []
    second = read(evidence)
    if second is None:
        return []
    values = asked_values(question, language)
    assert isinstance(values, Numbers)  # other_language_evidence found some
    stated = values.of(answer, language, of_kind=False)
    theirs = values.of(second.text, language, of_kind=False)
    if not differing(stated, theirs, dated=values.kind == "date"):
        return []
    ours = [s for s in cited if values.shared(values.of(s.text, s.language, of_kind=False), stated - theirs)]
    others = [s for s in second.cited if values.shared(values.of(s.text, s.language, of_kind=False), theirs - stated)]
    if not ours or not others:
        return []
    if values.kind == "quantity" and not counts_alike(ours[0], others[0], frozenset(values.given), vectors):
        return []
    return [ours[0], others[0]]
