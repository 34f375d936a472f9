"""Abstention from one calibrated score: the model's own doubt that any sentence answers.

The generate stage reads, at the reply's first token, log P("0") − log P(best
sentence number) (:class:`rag.generate.Draft.abstain_score`). The answer is
refused when the score is above a threshold chosen on the dev split for that
model for precision (``ragbot eval --fit-abstention`` prints the curve and
the point with the most coverage at precision 0.90). A model not in
the table gets 0.0: it abstains exactly when "no sentence" is its own first
choice. ``RAGBOT_ABSTAIN_THRESHOLD`` overrides both.

>>> threshold_for("embedded:some-other-model", None)
0.0
>>> threshold_for("embedded:some-other-model", -1.5)
-1.5
"""

from __future__ import annotations

# Chosen on evals/dev.jsonl with `ragbot eval --fit-abstention` (see
# docs/answering.md): the threshold with the most coverage whose precision
# is at least 0.90 (rag.selective.choose_thresholds), with the verify stage's
# checks in place, for the prompt in use (four evidence sentences, four
# worked examples); the score's scale moves with the prompt, so it is chosen
# again with every prompt change. (Until issue 44 it was -0.03, the
# threshold under which most dev items were right: precision 0.70; then
# -1.035 alone; since the confirm stage, the pair below, chosen together.)
FITTED_THRESHOLDS: dict[str, float] = {"embedded:qwen2.5-coder-1.5b": -0.501}
DEFAULT_THRESHOLD = 0.0
# The confirm stage's threshold on log P("no") − log P("yes") (rag.confirm),
# chosen on dev jointly with the one above; a model not in the table gets
# 0.0: the answer stands when the model's own first word would be "yes".
FITTED_CONFIRM_THRESHOLDS: dict[str, float] = {"embedded:qwen2.5-coder-1.5b": -1.597}


def threshold_for(identity: str, override: float | None) -> float:
    """The abstention threshold for the model called ``identity``."""
    if override is not None:
        return override
    return FITTED_THRESHOLDS.get(identity, DEFAULT_THRESHOLD)


def confirm_threshold_for(identity: str, override: float | None) -> float:
    """The confirm stage's threshold for the model called ``identity``.

    >>> confirm_threshold_for("embedded:some-other-model", None)
    0.0
    """
    if override is not None:
        return override
    return FITTED_CONFIRM_THRESHOLDS.get(identity, DEFAULT_THRESHOLD)


def abstains(score: float | None, threshold: float) -> bool:
    """Whether a draft with this abstention score is refused (no score: the model chose).

    >>> abstains(0.4, 0.0), abstains(-2.0, 0.0), abstains(None, 0.0)
    (True, False, False)
    """
    return score is not None and score > threshold
