"""Refusals before generation: questions the retrieved evidence cannot be about.

Each gate is a named reason to refuse without spending seconds on the model;
like the verify stage's checks, a gate only ever refuses, so the evaluation
measures each by switching it off (``ragbot eval --ablation``).

- ``low_relevance``: even the best sentence is far from the question in
  meaning (e5 similarity below the embedding model's calibrated floor):
  trivia, other topics.

Two more gates were measured and removed (README, "Rules that remain"): a
number the question names that no evidence sentence has, and a name the
corpus never mentions in any spelling; each refused more answerable test
questions than unanswerable ones.
"""

from __future__ import annotations

from rag.retrieve import Retrieved

GATES = ("low_relevance",)


def gates_fired(retrieved: Retrieved, min_relevance: float) -> list[str]:
    """The names of the gates that refuse (an empty list: ask the model).

    >>> gates_fired(Retrieved([], 0.79, {}), 0.81), gates_fired(Retrieved([], 0.85, {}), 0.81)
    (['low_relevance'], [])
    """
    return ["low_relevance"] if retrieved.top_similarity < min_relevance else []
