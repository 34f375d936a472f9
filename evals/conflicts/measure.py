"""Planted contradictions: how often the seed fact survives, and how often the disagreement is shown.

Builds a store of seeds/ plus the planted articles (tests/data/conflicts/ and
evals/conflicts/heldout/), asks each question of questions.jsonl with the
configured engine (the embedded model by default), and prints one row per
question and a summary per set ("tests": the contradictions the tests use;
"heldout": written alongside them, not used by the tests, but looked at once
while the stage was built; "heldout2": written afterwards by a helper session
from the seeds alone, frozen by SHA256SUMS, and run once; "heldout3": the
same, written for the similarity test of the conflict stage, four of six
across languages, run once; "heldout4": the same, six of eight on who did
something, frozen before the name comparison was measured, run once;
"heldout5": the same, three counts, two durations or dates and three names,
written while the neighbours and headlines were added, not asked before
they were chosen, run once; "heldout6": the same, all six across languages,
written after the last change to the stage, run once).
``--sets`` asks only some sets' questions (the store holds every article).

    .venv/bin/python evals/conflicts/measure.py [--store DIR]

An outcome is one of: "shown" (refused saying the articles disagree, with
the seed's and the planted file's sentences among the passages), "seed"
(answered with the seed's fact only), "planted" (answered with the planted
fact: one side stated as fact), "refused" (refused otherwise) or "other".
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent
# every planted set's folder; the first one's questions are in HERE/questions.jsonl
HELDOUT = tuple(HERE / name for name in ("heldout", "heldout2", "heldout3", "heldout4", "heldout5", "heldout6"))


def outcome(answer, seed: list[str], planted: list[str]) -> str:
    from rag.answer import DISAGREEMENTS

    def has(text: str, facts: list[str]) -> bool:
        return any(fact.casefold() in text.casefold() for fact in facts)

    if answer.refused:
        passages = " ".join(p.quote for p in answer.related)
        if answer.answer in DISAGREEMENTS.values() and has(passages, seed) and has(passages, planted):
            return "shown"
        return "refused"
    if has(answer.answer, planted):
        return "planted"
    return "seed" if has(answer.answer, seed) else "other"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=None, help="store directory (default: a temporary one)")
    parser.add_argument("--sets", default="", help="comma-separated sets to ask (default: all)")
    args = parser.parse_args()
    from rag.config import load_settings
    from rag.engine import Engine
    from rag.ingest import ingest

    store = args.store or Path(tempfile.mkdtemp(prefix="ragbot-conflicts-"))
    corpus = store / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    here = Path(__file__).parent
    for folder in (REPO / "seeds", REPO / "tests/data/conflicts", *HELDOUT):
        for path in folder.glob("*.txt"):
            shutil.copy(path, corpus)
    settings = load_settings().model_copy(update={"storage_dir": store})
    ingest(settings, corpus)
    engine = Engine.load(settings)
    counts: dict[str, dict[str, int]] = {}
    lines = [line for path in (here / "questions.jsonl", *(folder / "questions.jsonl" for folder in HELDOUT[1:]))
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    wanted = set(filter(None, args.sets.split(",")))
    for line in lines:
        item = json.loads(line)
        if wanted and item["set"] not in wanted:
            continue
        answer = engine.ask(item["question"])
        kind = outcome(answer, item["seed"], item["planted"])
        counts.setdefault(item["set"], {}).setdefault(kind, 0)
        counts[item["set"]][kind] += 1
        print(f"{item['set']:8} {kind:8} {item['question']} -> {answer.answer[:100]!r} "
              f"[{', '.join(p.source for p in answer.related)}]")
    for name, kinds in counts.items():
        total = sum(kinds.values())
        survived = kinds.get("seed", 0) + kinds.get("shown", 0)
        print(f"{name}: {total} questions; seed fact survives (answered or shown) {survived}, "
              f"disagreement shown {kinds.get('shown', 0)}, planted stated as fact {kinds.get('planted', 0)}; {kinds}")


if __name__ == "__main__":
    main()
