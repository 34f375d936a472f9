"""Questions and conversations: what a question must be, and what a follow-up may become.

Shared by every interface (CLI, chat, Discord, evaluation) before the engine
answers, so a bad line gets its one-line message without loading a model.
"""

from __future__ import annotations

from collections.abc import Sequence

from rag.controls import strip_controls
from rag.errors import InvalidQuestion
from rag.language import answer_language, question_language


def validate_question(question: str, max_chars: int) -> str:
    r"""The question stripped of control characters, or InvalidQuestion with a message fit for users.

    Terminal escape sequences and control characters carry no meaning in a
    question (they come from pasted terminal output or from an attack on
    whoever reads the logs); a question with no letter or digit left is no
    question. Lone surrogates are bytes that were not UTF-8.

    >>> validate_question("\x1b[31mWho met?\x07 ", 500)
    'Who met?'
    """
    if any("\ud800" <= char <= "\udfff" for char in question):
        raise InvalidQuestion("the question is not valid UTF-8 text")
    cleaned = strip_controls(question).strip()
    if not cleaned:
        raise InvalidQuestion("the question is empty")
    if not any(char.isalnum() for char in cleaned):
        raise InvalidQuestion("the question has no words")
    if len(cleaned) > max_chars:
        raise InvalidQuestion(
            f"the question is {len(cleaned)} characters long; the limit is {max_chars}"
        )
    return cleaned


def usable_rewrite(rewritten: str, question: str, max_chars: int) -> bool:
    """Whether a condensed follow-up may stand in for the user's own words.

    The rewrite must be a question of acceptable length in the follow-up's
    language, as the condense prompt asks: the 1.5B model, when it switched
    to English, also turned "Og hvem inviterede Putin til Rusland?" into
    "Who invited Putin to Russia?", reversing who invited whom. A rewrite
    that breaks the one rule that can be checked is not trusted with the
    meaning either.

    >>> usable_rewrite("Hvad sagde Putin om Iran?", "Og hvad med Iran?", 500)
    True
    >>> usable_rewrite("Who invited Putin to Russia?", "Og hvem inviterede Putin til Rusland?", 500)
    False
    """
    if not rewritten or len(rewritten) > max_chars:
        return False
    asked = question_language(question)
    return answer_language(rewritten, asked=asked) == asked


Turn = tuple[str, str]  # (question, answer text) of an earlier exchange
TURNS_KEPT = 6  # earlier exchanges a conversation remembers (condense reads the last 3)


def remember(history: Sequence[Turn], turn: Turn) -> list[Turn]:
    """``history`` with ``turn`` added, trimmed to the last TURNS_KEPT exchanges.

    >>> remember([("q1", "a1")], ("q2", "a2"))
    [('q1', 'a1'), ('q2', 'a2')]
    """
    return [*history, turn][-TURNS_KEPT:]
