"""The confirm stage: the model, asked a second time, judges the answer against its citations.

A draft that passed the doubt threshold and every verify check can still be
wrong in ways no word-level check sees: it answers a neighbouring question
(the date of another event), or states what the cited sentence only hints
at. So the draft is shown back to the model in a short prompt of its own
(``prompts/confirm_system.txt``, ``prompts/confirm_user.txt``: the cited
sentences, the question, the answer) that asks "do the sentences state this
answer to the question? yes or no". Nothing is generated: the score is
read at the reply's first token,

    confirm doubt = log P("no") − log P("yes"),

and the answer is refused (rule ``unconfirmed``) when it is above a
threshold chosen on dev together with the doubt threshold
(``ragbot eval --fit-abstention``, :func:`rag.selective.choose_thresholds`).

Why a second call pays (measured on dev, EPYC AVX-512; docs/answering.md):
as a separate judgement the score ranks right above wrong answers among
the drafts that pass everything else (AUC 0.76 on dev and on test), which
the answer call's own first-token doubt cannot, since it was spent choosing
a sentence. It costs one prompt of ~170 tokens and no generated token, and
only drafts that would otherwise be answered pay it.

Backends without log-probabilities (Ollama's chat API today) skip the
stage: the score is None and the doubt threshold and the checks decide alone.

>>> confirm_messages("How long?", "About three hours.", ["The talks lasted about three hours."])[1]["content"].splitlines()[:2]
['Sentences:', '- The talks lasted about three hours.']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rag.prompts import render

if TYPE_CHECKING:
    from rag.llm import ChatModel, Message

ACCEPT = ("yes", "Yes")
REJECT = ("no", "No")
RULE = "unconfirmed"


def confirm_messages(question: str, answer: str, quotes: Sequence[str]) -> list[Message]:
    """The confirm prompt: the cited sentences, the question and the answer (all data)."""
    sentences = "\n".join(f"- {quote}" for quote in quotes)
    return [
        {"role": "system", "content": render("confirm_system").strip()},
        {"role": "user", "content": render("confirm_user", sentences=sentences, question=question, answer=answer).strip()},
    ]


@dataclass
class Confirmation:
    """The model's doubt that the cited sentences state the answer (None: not read), and its cost."""

    score: float | None = None
    usage: dict[str, int] = field(default_factory=dict)


class Confirmer:
    """Asks ``chat_model`` whether an answer's cited sentences state it."""

    def __init__(self, chat_model: ChatModel) -> None:
        self.chat_model = chat_model

    def confirm(self, question: str, answer: str, quotes: Sequence[str]) -> Confirmation:
        score, usage = self.chat_model.first_word_doubt(confirm_messages(question, answer, quotes), ACCEPT, REJECT)
        return Confirmation(score, usage)


def unconfirmed(score: float | None, threshold: float) -> bool:
    """Whether the confirm doubt refuses the answer (no score: the stage was skipped).

    >>> unconfirmed(-3.0, -1.5), unconfirmed(0.2, -1.5), unconfirmed(None, -1.5)
    (False, True, False)
    """
    return score is not None and score > threshold
