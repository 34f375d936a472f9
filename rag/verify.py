"""The verify stage: deterministic checks of a draft, each a named reason to refuse.

Every check only ever turns an answer into a refusal, never into another
answer, so the evaluation can measure each one by switching it off
(``ragbot eval --ablation``) from a single run. A check stays only while
it earns its place on the frozen test split (README: "Rules that remain").

>>> s = StoredSentence("i", "a.txt", 0, 1, "The talks lasted three hours.", "en", "", "", 0)
>>> draft = Draft([1], "They lasted four hours.")
>>> verify(draft, [s], "How long did the talks last?", "en", confidential="")
['unsupported_number']
>>> verify(Draft([1], "They lasted three hours."), [s], "How long did the talks last?", "en", confidential="")
[]
>>> verify(Draft([], ""), [s], "Who won?", "en", confidential="")
['no_evidence']
"""

from __future__ import annotations

from rag.answer import echoes, unsupported_numbers
from rag.generate import Draft
from rag.language import LANGUAGE_NAMES, answer_language
from rag.store import StoredSentence

CHECKS = ("no_evidence", "unsupported_number", "echo")

def verify(
    draft: Draft, evidence: list[StoredSentence], question: str, language: str, confidential: str
) -> list[str]:
    """The names of the checks ``draft`` fails (an empty list: it may stand).

    - ``no_evidence``: the model chose no sentence, or wrote no answer.
    - ``unsupported_number``: a number or date in the answer (digits or
      words, read in the answer's language: "four" is 4, "Samstag" a
      weekday) that neither a chosen sentence nor the question holds; a
      small model's favourite way of inventing facts.
    - ``echo``: the answer recites the prompt's fixed rules or worked
      examples (an injection that worked).
    """
    if not draft.evidence or not draft.text.strip():
        return ["no_evidence"]
    failed = []
    cited = [evidence[n - 1] for n in draft.evidence]
    if _unsupported_numbers(draft.text, cited, question, language):
        failed.append("unsupported_number")
    if confidential and echoes(draft.text, confidential):
        failed.append("echo")
    return failed


def _unsupported_numbers(text: str, cited: list[StoredSentence], question: str, asked: str) -> set[str]:
    """``unsupported_numbers`` read in the language the answer is written in.

    The language only decides how number words, weekdays and months are
    read, so when every language the detector can return reads the answer
    alike (digits only, say) the result is the same without detecting it.
    That spares a new process lingua's full models (README, "Start-up").

    >>> s = StoredSentence("i", "a.txt", 0, 1, "34 soldiers were killed.", "en", "", "", 0)
    >>> _unsupported_numbers("35 soldiers were killed [1].", [s], "How many?", "en")
    {'35'}
    """
    readings = {code: unsupported_numbers(text, cited, question, code) for code in {*LANGUAGE_NAMES, asked}}
    if len({frozenset(found) for found in readings.values()}) == 1:
        return readings[asked]
    return readings[answer_language(text, asked, asked=asked)]
