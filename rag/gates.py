"""Refusals before generation: questions the retrieved evidence cannot be about.

Each gate is a named reason to refuse without spending seconds on the model;
like the verify stage's checks, a gate only ever refuses, so the evaluation
measures each by switching it off (``ragbot eval --ablation``).

- ``low_relevance``: even the best sentence is far from the question in
  meaning (e5 similarity below the embedding model's calibrated floor):
  trivia, other topics.
- ``unsupported_language``: the question is mostly written in a script
  none of the answer languages uses (:func:`rag.language.unsupported_language`).
  The 1.5B model answered a Chinese and an Arabic question with invented
  facts; the refusal names the languages ragbot answers in, in English,
  and still shows related passages (e5 is multilingual).
- ``several_questions``: the question asks two things at once
  (:func:`rag.question_parts.several_questions`); the refusal asks for one
  question at a time and shows the passages nearest the whole question.

Two more gates were measured and removed (docs/evaluation.md, "Rules that remain"): a
number the question names that no evidence sentence has, and a name the
corpus never mentions in any spelling; each refused more answerable test
questions than unanswerable ones.
"""

from __future__ import annotations

from rag.language import unsupported_language
from rag.question_parts import several_questions
from rag.retrieve import Retrieved

LOW_RELEVANCE, UNSUPPORTED_LANGUAGE, SEVERAL_QUESTIONS = "low_relevance", "unsupported_language", "several_questions"
GATES = (LOW_RELEVANCE, UNSUPPORTED_LANGUAGE, SEVERAL_QUESTIONS)


def gates_fired(retrieved: Retrieved, min_relevance: float, question: str = "") -> list[str]:
    """The names of the gates that refuse (an empty list: ask the model).

    >>> gates_fired(Retrieved([], 0.79, {}), 0.81), gates_fired(Retrieved([], 0.85, {}), 0.81)
    (['low_relevance'], [])
    >>> gates_fired(Retrieved([], 0.85, {}), 0.81, "普京和埃尔多安谈了多久？")
    ['unsupported_language']
    >>> gates_fired(Retrieved([], 0.85, {}), 0.81, "Where did they meet, and when?")
    ['several_questions']
    """
    fired = [UNSUPPORTED_LANGUAGE] if unsupported_language(question) else []
    fired += [SEVERAL_QUESTIONS] if several_questions(question) else []
    return fired + ([LOW_RELEVANCE] if retrieved.top_similarity < min_relevance else [])
