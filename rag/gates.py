"""Refusals before generation: questions the retrieved evidence cannot be about.

Each gate is a named reason to refuse without spending seconds on the model;
like the verify stage's checks, a gate only ever refuses, so the evaluation
measures each by switching it off (``ragbot eval --ablation``).

- ``low_relevance``: even the best sentence is far from the question in
  meaning (e5 similarity below the embedding model's calibrated floor):
  trivia, other topics.
- ``unmatched_number``: the question names a number or year that no evidence
  sentence has ("What happened in 2023?").
- ``unknown_name``: the question names something the corpus never mentions
  in any spelling (:mod:`rag.names`).
"""

from __future__ import annotations

from rag.answer import unmatched_numbers
from rag.names import CorpusVocabulary
from rag.retrieve import Retrieved
from rag.store import StoredSentence

GATES = ("low_relevance", "unmatched_number", "unknown_name")


def gates_fired(
    question: str,
    question_language: str,
    retrieved: Retrieved,
    evidence: list[StoredSentence],
    min_relevance: float,
    vocabulary: CorpusVocabulary,
) -> list[str]:
    """The names of the gates that refuse ``question`` (an empty list: ask the model)."""
    fired = []
    if retrieved.top_similarity < min_relevance:
        fired.append("low_relevance")
    if unmatched_numbers(question, evidence):
        fired.append("unmatched_number")
    if vocabulary.unknown_names(question, question_language):
        fired.append("unknown_name")
    return fired
