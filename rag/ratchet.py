"""The ratchet: the best level each evaluation figure has reached, held by ``make test``.

``evals/ratchet.json`` maps a CPU class (:func:`cpu_class`) to its levels,
and those map a split ("dev", "test") and its sample ("dev every 12": what
``make test`` evaluates) to the figures' levels.
``ragbot eval --update-ratchet`` raises them to the figures reached (a level
never falls, except by a commit that rewrites the file and says why); a run
fails when a figure falls below its level by more than one item's worth.

Levels are kept per CPU class because llama.cpp computes with other float
sums on other instruction sets, and the 1.5B model's first-token
log-probabilities near the abstention threshold move with them: the same
code gave test false refusals 0.109 on an AVX-512 Xeon and 0.156 on an
AVX2 EPYC (docs/evaluation.md, "Current figures"), so one set of levels either failed
unchanged code on one CPU or held the other to nothing. A CPU class with no
levels of its own is held to the most lenient level any class recorded.

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
import re
from functools import lru_cache
from pathlib import Path

from rag.evaluate import FIGURES, LOWER_IS_BETTER, RATES, GoldItem, ItemResult, summarise
from rag.selective import injection_item, unanswerable_item

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


Levels = dict[str, dict[str, float]]  # level key ("dev every 12") -> figure -> level

# llama.cpp's system-info flags that choose its arithmetic kernels (others,
# such as OPENMP or REPACK, change speed, not sums).
_ARITHMETIC_FLAGS = ("SSE", "SSSE", "AVX", "FMA", "F16C", "AMX", "NEON", "ARM_FMA", "SVE", "DOTPROD",
                     "MATMUL_INT8", "FP16_VA", "VSX", "RISCV_V", "WASM_SIMD")


def cpu_class(system_info: str | None = None) -> str:
    """The instruction sets llama.cpp computes with on this machine, as a ratchet key.

    >>> cpu_class("CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | OPENMP = 1 | ")
    'cpu AVX AVX2 F16C FMA SSE3 SSSE3'
    >>> cpu_class("CPU : NEON = 1 | ARM_FMA = 1 | AVX = 0 | ")
    'cpu ARM_FMA NEON'
    """
    if system_info is None:
        system_info = _llama_system_info()
    flags = sorted(
        flag for flag in re.findall(r"([A-Z0-9_]+) = 1", system_info) if flag.startswith(_ARITHMETIC_FLAGS)
    )
    return "cpu " + (" ".join(flags) or "unknown")


@lru_cache(maxsize=1)
def _llama_system_info() -> str:
    try:
        import llama_cpp

        return llama_cpp.llama_print_system_info().decode("utf-8", "replace")
    except (ImportError, OSError, AttributeError):
        return ""


def load_levels(path: Path, cpu: str, fallback: bool = True) -> Levels:
    """The levels recorded for CPU class ``cpu``; for a class with none, the
    most lenient level of each figure over the classes recorded (with
    ``fallback``), else none.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "ratchet.json"
    >>> save_levels(path, "cpu A", {"dev": {"answer_accuracy": 0.7, "false_refusals": 0.1}})
    >>> save_levels(path, "cpu B", {"dev": {"answer_accuracy": 0.6, "false_refusals": 0.2}})
    >>> load_levels(path, "cpu A")
    {'dev': {'answer_accuracy': 0.7, 'false_refusals': 0.1}}
    >>> load_levels(path, "cpu C"), load_levels(path, "cpu C", fallback=False)
    ({'dev': {'answer_accuracy': 0.6, 'false_refusals': 0.2}}, {})
    """
    recorded = _recorded(path)
    if cpu in recorded or not fallback:
        return recorded.get(cpu, {})
    lenient: Levels = {}
    for levels in recorded.values():
        for key, figures in levels.items():
            held = lenient.setdefault(key, {})
            for name, level in figures.items():
                worst = max if name in LOWER_IS_BETTER else min
                held[name] = worst(level, held.get(name, level))
    return lenient


def _recorded(path: Path) -> dict[str, Levels]:
    """Every CPU class's levels in the file (none when it does not exist)."""
    return json.loads(path.read_text()) if path.is_file() else {}


def save_levels(path: Path, cpu: str, levels: Levels) -> None:
    """Write CPU class ``cpu``'s levels beside the other classes', keys sorted,
    so that a raised level shows as a one-line diff."""
    recorded = _recorded(path)
    recorded[cpu] = levels
    path.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")


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


def one_item_slack(items: list[GoldItem], figures: dict[str, float] | None = None) -> dict[str, float]:
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
    populations = {
        **{name: sum(1 for item in items if within(item)) for name, (within, _) in RATES.items()},
        # precision is a rate over the answered questions, known from the run's
        # ``figures``; without them, over the answerable ones.
        "precision": int((figures or {}).get("answered", 0)) or sum(1 for item in items if item.answerable),
        "coverage": sum(1 for item in items if item.answerable),
        "unanswerable_answered": sum(1 for item in items if unanswerable_item(item)),
        "injections_obeyed": sum(1 for item in items if injection_item(item)),
    }
    for name, population in populations.items():
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
