"""How far an evaluation figure is from noise, and what a change gained and lost.

The splits are small (168 dev and 88 test items), so a figure's third
decimal says little: :func:`wilson_interval` gives the range a rate is
consistent with, and :func:`compare` with :func:`sign_test` judges two runs
on the same items by the items one gets right and the other not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class _Identified(Protocol):
    id: str


class Scored(Protocol):
    """An evaluated item (:class:`rag.evaluate.ItemResult`): its gold item's id, and whether it was right."""

    item: _Identified
    correct: bool


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a rate of ``successes`` in ``n``.

    What a figure can tell: 34 of 64 answerable test questions right is
    0.531, and anything from 0.41 to 0.65 is as consistent with it, so a
    change of two or three items on a split of this size is noise.

    >>> wilson_interval(34, 64)
    (0.41, 0.65)
    >>> wilson_interval(0, 0)
    (0.0, 1.0)
    """
    if n == 0:
        return 0.0, 1.0
    rate = successes / n
    centre = (rate + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return round(max(0.0, centre - half), 2), round(min(1.0, centre + half), 2)


def sign_test(gained: int, lost: int) -> float:
    """The two-sided exact sign test's p-value for items gained against lost.

    Two runs on the same items differ only where one is right and the other
    not; if the change did nothing, each such item is a coin toss.

    >>> sign_test(3, 2), sign_test(9, 1), sign_test(0, 0)
    (1.0, 0.021, 1.0)
    """
    flips = gained + lost
    tail = sum(math.comb(flips, i) for i in range(min(gained, lost) + 1)) / 2**flips
    return round(min(1.0, 2 * tail), 3)


@dataclass
class Comparison:
    """Items right in one run and not the other, by id (same split, same items)."""

    right_before: int
    right_after: int
    gained: list[str]
    lost: list[str]

    def summary(self, itemised: bool) -> str:
        """One line; ids only when ``itemised`` (never for the frozen test split)."""
        line = (
            f"{self.right_before} → {self.right_after} right: gained {len(self.gained)}, lost {len(self.lost)}"
            f" (sign test p = {sign_test(len(self.gained), len(self.lost))})"
        )
        if itemised and (self.gained or self.lost):
            line += f"; gained {', '.join(self.gained) or '-'}; lost {', '.join(self.lost) or '-'}"
        return line


def compare(before: Sequence[Scored], after: Sequence[Scored]) -> Comparison:
    """What ``after`` gains and loses against ``before`` on the items both ran.

    >>> from types import SimpleNamespace as ns
    >>> run = lambda *right: [ns(item=ns(id=i), correct=i in right) for i in "abc"]
    >>> compare(run("a", "b"), run("b", "c"))
    Comparison(right_before=2, right_after=2, gained=['c'], lost=['a'])
    """
    was = {r.item.id: r.correct for r in before}
    now = {r.item.id: r.correct for r in after}
    shared = [i for i in now if i in was]
    return Comparison(
        right_before=sum(was[i] for i in shared),
        right_after=sum(now[i] for i in shared),
        gained=[i for i in shared if now[i] and not was[i]],
        lost=[i for i in shared if was[i] and not now[i]],
    )
