"""Abstention from one calibrated score: the model's own doubt that any sentence answers.

The generate stage reads, at the reply's first token, log P("0") − log P(best
sentence number) (:class:`rag.generate.Draft.abstain_score`). The answer is
refused when the score is above a threshold chosen on the dev split for that
model for precision, together with the confirm stage's
(:mod:`rag.calibration`: ``ragbot eval --fit-abstention --save``). A model
without one gets 0.0: it abstains exactly when "no sentence" is its own
first choice.
"""

from __future__ import annotations


def abstains(score: float | None, threshold: float) -> bool:
    """Whether a draft with this abstention score is refused (no score: the model chose).

    >>> abstains(0.4, 0.0), abstains(-2.0, 0.0), abstains(None, 0.0)
    (True, False, False)
    """
    return score is not None and score > threshold
