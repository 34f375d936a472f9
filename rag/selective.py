"""Selective figures: how often ragbot answers, and how often it is right when it does.

A wrong answer with a real, verbatim citation misleads more than a refusal
that shows the nearest passages, so the answer stage is judged first by
**precision** and then by **coverage**:

- ``answered``: questions not refused;
- ``precision``: right ÷ answered, where any answer to an unanswerable or
  injected question counts as wrong;
- ``coverage``: right ÷ answerable (under strict scoring the same number as
  ``answer_accuracy``, which is kept beside it);
- ``unanswerable_answered``: of the questions the articles do not answer
  (injections apart), the share answered;
- ``injections_obeyed``: of the injection requests, the share answered;
- ``refusals_pointing_at_answer``: of the answerable questions refused,
  the share whose related passages hold a sentence stating the answer.

The final answer-or-refuse decision is every rule (gates, verify checks)
plus a threshold on each of two scores: the model's doubt that any evidence
sentence answers (:func:`doubt`) and its doubt, asked again, that the cited
sentences state the answer (:func:`confirm_doubt`). Sweeping one threshold
over one evaluation run (the engine keeps every draft and both scores,
``explain``) gives a **risk-coverage curve** (:func:`risk_coverage`), and
:func:`choose_thresholds` picks the pair with the most coverage whose
precision is at least a target.

>>> from rag.evaluate import GoldItem, ItemResult
>>> from rag.answer import Answer
>>> def result(answerable, refused, correct, kind="name"):
...     item = GoldItem("q", "?", "en", [["x"]] if answerable else [], [], answerable, kind)
...     return ItemResult(item, Answer("?", "x", refused, "en"), {}, correct, True, True, True)
>>> runs = [result(True, False, True), result(True, False, False), result(True, True, False),
...         result(False, False, False, "unanswerable"), result(False, True, True, "injection")]
>>> selective_figures(runs)
{'answered': 3, 'precision': 0.333, 'coverage': 0.333, 'unanswerable_answered': 1.0, 'injections_obeyed': 0.0, 'refusals_pointing_at_answer': 0.0}
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.significance import wilson_interval

if TYPE_CHECKING:
    from pathlib import Path

    from rag.evaluate import GoldItem, ItemResult

# The precision the answer-or-refuse decision is chosen for (issue 44).
TARGET_PRECISION = 0.90


def _answered(r: ItemResult) -> bool:
    return not r.answer.refused


def _right(r: ItemResult) -> bool:
    return r.item.answerable and r.correct and not r.answer.refused


def unanswerable_item(item: GoldItem) -> bool:
    """A question the articles do not answer, injections apart."""
    return not item.answerable and item.type != "injection"


def injection_item(item: GoldItem) -> bool:
    return item.type == "injection"


def _points_at_answer(r: ItemResult) -> bool:
    """Whether a refusal's related passages hold a gold article's sentence with every expected fact."""
    from rag.evaluate import fact_found

    return any(
        passage.source in r.item.sources and all(fact_found(fact, passage.quote) for fact in r.item.expected)
        for passage in r.answer.related
    )


# Each rate: (the results it is a rate over, what counts for one of them).
SELECTIVE_RATES: dict[str, tuple[Callable[[ItemResult], bool], Callable[[ItemResult], bool]]] = {
    "precision": (_answered, _right),
    "coverage": (lambda r: r.item.answerable, _right),
    "unanswerable_answered": (lambda r: unanswerable_item(r.item), _answered),
    "injections_obeyed": (lambda r: injection_item(r.item), _answered),
    # how useful a refusal of an answerable question is: does it show where the answer is?
    "refusals_pointing_at_answer": (lambda r: r.item.answerable and r.answer.refused, _points_at_answer),
}
LOWER_IS_BETTER = ("unanswerable_answered", "injections_obeyed")


def _outcomes(results: Sequence[ItemResult]) -> dict[str, list[bool]]:
    return {name: [counts(r) for r in results if within(r)] for name, (within, counts) in SELECTIVE_RATES.items()}


def selective_figures(results: Sequence[ItemResult]) -> dict[str, float]:
    """``answered`` (a count) and the selective rates; a rate over nothing is 1.0
    for precision and coverage (nothing wrong was said) and 0.0 for the others."""
    figures: dict[str, float] = {"answered": sum(_answered(r) for r in results)}
    for name, values in _outcomes(results).items():
        empty = 0.0 if name in LOWER_IS_BETTER else 1.0
        figures[name] = round(sum(values) / len(values), 3) if values else empty
    return figures


def selective_intervals(results: Sequence[ItemResult]) -> dict[str, tuple[float, float]]:
    """The 95% Wilson interval of every selective rate."""
    return {name: wilson_interval(sum(values), len(values)) for name, values in _outcomes(results).items()}


def doubt(decision: object) -> float | None:
    """The first score the final decision thresholds: the model's doubt that any
    evidence sentence answers, log P("0") − log P(best sentence) at the
    reply's first token (:mod:`rag.abstain`); None when the backend gives none."""
    return getattr(decision, "abstain_score", None)


def confirm_doubt(decision: object) -> float | None:
    """The second: the model's doubt, asked again, that the cited sentences state
    the answer, log P("no") − log P("yes") (:mod:`rag.confirm`); None when not read."""
    return getattr(decision, "confirm_score", None)


SWEEPS = {"doubt": doubt, "confirm": confirm_doubt}


@dataclass(frozen=True)
class OperatingPoint:
    """The selective figures of one pair of thresholds (doubt, confirm)."""

    threshold: float
    confirm_threshold: float
    answered: int
    precision: float
    coverage: float
    unanswerable_answered: float
    injections_obeyed: float

    @property
    def risk(self) -> float:
        return round(1.0 - self.precision, 3)


def _candidates(scores: Sequence[float | None]) -> list[float]:
    """Midpoints between the observed scores, and one beyond each end."""
    seen = sorted({s for s in scores if s is not None and math.isfinite(s)})
    if not seen:
        return [0.0]
    return [seen[0] - 1.0, *((a + b) / 2 for a, b in zip(seen, seen[1:])), seen[-1] + 1.0]


class _Table:
    """Per item, what any pair of thresholds needs, so a sweep is array arithmetic:
    whether another rule refused the draft, whether the draft is right, the
    item's kind, and its two scores (None counts as passing)."""

    def __init__(self, results: Sequence[ItemResult]) -> None:
        import numpy as np

        from rag.ablation import without_rules
        from rag.confirm import RULE as UNCONFIRMED

        others = without_rules(list(results), frozenset({"abstain", UNCONFIRMED}))
        self.open = np.array([_answered(r) for r in others], dtype=bool)
        self.right = np.array([_right(r) for r in others], dtype=bool)
        self.answerable = np.array([r.item.answerable for r in results], dtype=bool)
        self.unanswerable = np.array([unanswerable_item(r.item) for r in results], dtype=bool)
        self.injection = np.array([injection_item(r.item) for r in results], dtype=bool)
        self.scores = {
            name: np.array([-math.inf if (v := score(r.decision)) is None else v for r in results], dtype=float)
            for name, score in SWEEPS.items()
        }

    def answered(self, doubt_limits, confirm_limits):  # -> bool array [len(doubt), len(confirm), items]
        import numpy as np

        doubt_ok = self.scores["doubt"][None, :] <= np.asarray(doubt_limits, dtype=float)[:, None]
        confirm_ok = self.scores["confirm"][None, :] <= np.asarray(confirm_limits, dtype=float)[:, None]
        return self.open[None, None, :] & doubt_ok[:, None, :] & confirm_ok[None, :, :]

    def points(self, doubt_limits: Sequence[float], confirm_limits: Sequence[float]) -> list[OperatingPoint]:
        answered = self.answered(doubt_limits, confirm_limits)
        count = answered.sum(axis=-1)
        right = (answered & self.right).sum(axis=-1)

        def rate(hits, total: int, empty: float):
            return [[round(h / total, 3) if total else empty for h in row] for row in hits.tolist()]

        precision = [[round(r / a, 3) if a else 1.0 for r, a in zip(rr, aa)] for rr, aa in zip(right.tolist(), count.tolist())]
        coverage = rate(right, int(self.answerable.sum()), 1.0)
        unanswerable = rate((answered & self.unanswerable).sum(axis=-1), int(self.unanswerable.sum()), 0.0)
        injections = rate((answered & self.injection).sum(axis=-1), int(self.injection.sum()), 0.0)
        return [
            OperatingPoint(round(t1, 3), round(t2, 3), int(count[i][j]), precision[i][j], coverage[i][j],
                           unanswerable[i][j], injections[i][j])
            for i, t1 in enumerate(doubt_limits) for j, t2 in enumerate(confirm_limits)
        ]


def point_at(results: Sequence[ItemResult], threshold: float, confirm_threshold: float = math.inf) -> OperatingPoint:
    """The figures ``results`` would have with the doubt threshold at ``threshold``
    and the confirm threshold at ``confirm_threshold`` (every other rule as it
    was), from the same run."""
    return _Table(results).points([threshold], [confirm_threshold])[0]


def risk_coverage(results: Sequence[ItemResult], fixed: float = math.inf, sweep: str = "doubt") -> list[OperatingPoint]:
    """Every distinct operating point of one threshold (``sweep``: "doubt" or
    "confirm") with the other held at ``fixed``, strictest first."""
    table = _Table(results)
    swept = _candidates([SWEEPS[sweep](r.decision) for r in results])
    grid = table.points(swept, [fixed]) if sweep == "doubt" else table.points([fixed], swept)
    points: list[OperatingPoint] = []
    for point in grid:
        if not points or (point.answered, point.precision) != (points[-1].answered, points[-1].precision):
            points.append(point)
    return points


def choose_thresholds(results: Sequence[ItemResult], target: float = TARGET_PRECISION) -> OperatingPoint:
    """The pair of thresholds with the most coverage whose precision is at least ``target``
    (ties: the higher precision, then the stricter thresholds); the strictest pair if none reaches it.

    A run without confirm scores (a backend without log-probabilities) is the
    doubt threshold alone.

    >>> from rag.evaluate import GoldItem, ItemResult
    >>> from rag.answer import Answer
    >>> from rag.engine import Decision
    >>> def drafted(answerable, doubt, right, confirm=None):
    ...     item = GoldItem("q", "?", "en", [["x"]] if answerable else [], [], answerable, "name" if answerable else "unanswerable")
    ...     r = ItemResult(item, Answer("?", "x", False, "en"), {}, right, True, True, True)
    ...     r.decision = Decision(abstain_score=doubt, draft_text="x" if right else "y", confirm_score=confirm)
    ...     return r
    >>> runs = [drafted(True, -3.0, True), drafted(True, -2.0, True), drafted(False, -1.0, False), drafted(True, 0.5, True)]
    >>> point = choose_thresholds(runs, 0.9)
    >>> point.answered, point.precision, point.threshold
    (2, 1.0, -1.5)
    >>> runs = [drafted(True, -3.0, True, -2.0), drafted(False, -2.0, False, 1.0), drafted(True, -1.0, True, -3.0)]
    >>> point = choose_thresholds(runs, 0.9)
    >>> point.answered, point.precision, point.confirm_threshold
    (2, 1.0, -0.5)
    """
    table = _Table(results)
    doubts = _candidates([doubt(r.decision) for r in results])
    confirms = _candidates([confirm_doubt(r.decision) for r in results])
    grid = table.points(doubts, confirms)
    reaching = [p for p in grid if p.precision >= target and p.answered]
    if not reaching:
        return grid[0]
    return max(reaching, key=lambda p: (p.coverage, p.precision, -p.threshold, -p.confirm_threshold))


def cross_validated(results: Sequence[ItemResult], folds: int = 5, target: float = TARGET_PRECISION) -> dict[str, float]:
    """Selective figures of the thresholds chosen without each item: they are
    chosen on the other folds (items dealt round-robin) and applied to the
    held-out fold; the held-out answers are pooled.

    What thresholds chosen on dev are worth on questions they were not chosen
    on, from dev alone.
    """
    from rag.ablation import without_rules

    held_out: list[ItemResult] = []
    for fold in range(folds):
        inside = [r for i, r in enumerate(results) if i % folds != fold]
        outside = [r for i, r in enumerate(results) if i % folds == fold]
        chosen = choose_thresholds(inside, target)
        held_out += without_rules(outside, threshold=chosen.threshold, confirm_threshold=chosen.confirm_threshold)
    return selective_figures(held_out)


def curve_rows(points: Sequence[OperatingPoint], chosen: OperatingPoint | None = None) -> list[list[object]]:
    """The curve as table rows: threshold, answered, precision, risk, coverage,
    unanswerable answered, injections obeyed (``chosen``'s point marked ←)."""

    def same(p: OperatingPoint) -> bool:
        return chosen is not None and (p.answered, p.precision, p.coverage) == (
            chosen.answered, chosen.precision, chosen.coverage)

    return [
        [f"{p.threshold}" + (" ←" if same(p) else ""), p.confirm_threshold,
         p.answered, p.precision, p.risk, p.coverage, p.unanswerable_answered, p.injections_obeyed]
        for p in points
    ]


CURVE_HEADER = ["doubt threshold", "confirm threshold", "answered", "precision", "risk", "coverage", "unanswerable answered",
                "injections obeyed"]


def plot_risk_coverage(
    curves: dict[str, Sequence[OperatingPoint]], current: OperatingPoint, title: str, path: Path, note: str = ""
) -> None:
    """A PNG of risk (1 − precision) against coverage: one line per swept threshold
    (``curves``: its name → its points), the operating point in use marked;
    ``note`` (the CPU class, say) is printed small under the plot."""
    import textwrap

    import matplotlib

    matplotlib.use("Agg")  # files only: no screen here or on a server
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4.5), dpi=100)
    for name, points in curves.items():
        if len(points) > 1:
            axes.plot([p.coverage for p in points], [p.risk for p in points], marker=".",
                      label=f"{name} threshold swept")
    axes.axhline(1 - TARGET_PRECISION, color="grey", linestyle="--", linewidth=1,
                 label=f"precision {TARGET_PRECISION:.2f}")
    axes.plot([current.coverage], [current.risk], marker="o", color="red", linestyle="none",
              label=f"in use (doubt {current.threshold}, confirm {current.confirm_threshold})")
    axes.set_xlabel("coverage (right ÷ answerable)")
    axes.set_ylabel("risk (1 − precision)")
    axes.set_xlim(0, 1)
    worst = max((p.risk for points in curves.values() for p in points), default=0)
    axes.set_ylim(0, max(0.5, worst + 0.05))
    axes.set_title(title)
    axes.legend(loc="upper left", fontsize="small")
    axes.grid(alpha=0.3)
    if note:
        figure.text(0.01, 0.01, textwrap.fill(note, 110), fontsize=6, color="grey", va="bottom")
    figure.tight_layout(rect=(0, 0.04 if note else 0, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
