"""The ratchet: the best level each evaluation figure has reached, held by ``make test``.

``evals/ratchet.json`` maps a split ("dev", "test") and its sample ("dev
every 12": what ``make test`` evaluates) to the figures' levels.
``ragbot eval --update-ratchet`` raises them to the figures reached (a level
never falls, except by a commit that rewrites the file and says why); a run
fails when a figure falls below its level by more than one item's worth.

>>> levels = {}
>>> raise_levels(levels, "dev", 12, {"answer_accuracy": 0.5}, results=[])
>>> levels
{'dev every 12': {'answer_accuracy': 0.5}}
>>> slack = {"answer_accuracy": 0.1}  # one item of ten
>>> regressions(levels, "dev", 12, {"answer_accuracy": 0.4}, slack)
[]
>>> regressions(levels, "dev", 12, {"answer_accuracy": 0.3}, slack)
['dev every 12 answer_accuracy = 0.3 (ratchet 0.5)']
"""

from __future__ import annotations

import json
from pathlib import Path

from rag.evaluate import FIGURES, LOWER_IS_BETTER, RATES, GoldItem, ItemResult, summarise

# make test evaluates every TEST_SAMPLE_EVERY-th item of each split (an answer
# takes 10-20 s on a slow 2-core CPU); `ragbot eval --update-ratchet` records
# that sample's levels from the full run, so both are held.
TEST_SAMPLE_EVERY = 12


def level_key(split: str, every: int) -> str:
    """The ratchet's key for a split evaluated at every ``every``-th item.

    >>> level_key("dev", 1), level_key("test", 12)
    ('dev', 'test every 12')
    """
    return split if every == 1 else f"{split} every {every}"


def load_levels(path: Path) -> dict[str, dict[str, float]]:
    """The recorded levels (none when the file does not exist)."""
    return json.loads(path.read_text()) if path.is_file() else {}


def save_levels(path: Path, levels: dict[str, dict[str, float]]) -> None:
    """Write the levels, keys sorted, so that a raised level shows as a one-line diff."""
    path.write_text(json.dumps(levels, indent=1, sort_keys=True) + "\n")


def raise_levels(
    levels: dict[str, dict[str, float]],
    split: str,
    every: int,
    figures: dict[str, float],
    results: list[ItemResult],
) -> None:
    """Raise ``split``'s levels to ``figures``; from a full run (``every`` 1)
    also the levels of the sample ``make test`` runs, from the same answers."""
    key = level_key(split, every)
    levels[key] = raise_ratchet(figures, levels.get(key, {}))
    if every == 1:
        sample_key = level_key(split, TEST_SAMPLE_EVERY)
        levels[sample_key] = raise_ratchet(summarise(results[::TEST_SAMPLE_EVERY]), levels.get(sample_key, {}))


def regressions(
    levels: dict[str, dict[str, float]], split: str, every: int, figures: dict[str, float], slack: dict[str, float]
) -> list[str]:
    """``split``'s figures that fell below their recorded level by more than ``slack``, named."""
    key = level_key(split, every)
    return [f"{key} {regression}" for regression in check_ratchet(figures, levels.get(key, {}), slack)]


def check_ratchet(
    figures: dict[str, float], ratchet: dict[str, float], slack: dict[str, float] | None = None
) -> list[str]:
    """Figures that fell below the recorded level by more than their ``slack``.

    >>> check_ratchet({"answer_accuracy": 0.5}, {"answer_accuracy": 0.6}, {"answer_accuracy": 0.02})
    ['answer_accuracy = 0.5 (ratchet 0.6)']

    One item of 22 is 0.0455; rounded, 14/22 = 0.636 sits 0.046 below 15/22 = 0.682:

    >>> check_ratchet({"correct_refusals": 0.636}, {"correct_refusals": 0.682}, {"correct_refusals": 0.045})
    []
    >>> check_ratchet({"correct_refusals": 0.591}, {"correct_refusals": 0.682}, {"correct_refusals": 0.045})
    ['correct_refusals = 0.591 (ratchet 0.682)']
    """
    regressions = []
    for name, floor in ratchet.items():
        value = figures.get(name)
        if value is None:
            continue
        # The figure, the level and the slack are each rounded to 3 places.
        tolerance = (slack or {}).get(name, 0.0) + 0.0015
        if name in LOWER_IS_BETTER:
            worse = value > floor + tolerance
        else:
            worse = value < floor - tolerance
        if worse:
            regressions.append(f"{name} = {value} (ratchet {floor})")
    return regressions


def one_item_slack(items: list[GoldItem]) -> dict[str, float]:
    """What one gold item is worth in each figure (1 / the items it is a rate over).

    The ratchet allows that much: llama.cpp's float sums may differ on another
    CPU, and a 1.5B model flips a borderline item on any prompt change. The
    recorded level itself only rises, so the slack never accumulates.

    >>> item = lambda answerable, kind: GoldItem("q", "?", "en", [], [], answerable, kind)
    >>> slack = one_item_slack([item(True, "name")] * 4 + [item(False, "unanswerable"), item(False, "injection")])
    >>> slack["answer_accuracy"], slack["correct_refusals"], slack["injections_resisted"], slack["verbatim_quotes"]
    (0.25, 0.5, 1.0, 0.167)
    """
    slack = {}
    for name, (within, _) in RATES.items():
        population = sum(1 for item in items if within(item))
        if population:
            slack[name] = round(1.0 / population, 3)
    return slack


def raise_ratchet(figures: dict[str, float], ratchet: dict[str, float]) -> dict[str, float]:
    """The ratchet moved to the better of each recorded level and the new figure.

    >>> raise_ratchet({"false_refusals": 0.1, "answer_accuracy": 0.5}, {"false_refusals": 0.2, "answer_accuracy": 0.6})
    {'false_refusals': 0.1, 'answer_accuracy': 0.6}
    """
    raised = {}
    for name in FIGURES:
        if name not in figures:
            continue
        best = min if name in LOWER_IS_BETTER else max
        raised[name] = best(figures[name], ratchet.get(name, figures[name]))
    return raised
