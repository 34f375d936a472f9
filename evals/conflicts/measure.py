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
written after the last change to the stage, run once; "heldout7": the
same, five of eight across languages, frozen before the counted-phrase
test of counts across languages was built, run once at its end;
"heldout8": the same, all eight across languages, written after the first
two changes, run once; "heldout9": the same, four of eight on years and
dates, run once on the session's final engine; "heldout10": the same,
six of eight across languages, three years or dates, frozen before the
fifth session's work and run once on its first engine; "heldout11": the
same, all eight across languages and on numbers, frozen before the
second-reading stage was measured on anything new, run once on the
fifth session's final engine; "heldout12": the same, seven of eight
across languages, frozen before the sixth session's work and run once on
its final engine; "heldout13": the same, all eight across languages,
four on who, written after the sixth session's last change and run once
on its final engine; "heldout14": the same, all eight across languages,
five on who, frozen before the seventh session's work on names and run
once on its final engine).
``--sets`` asks only some sets' questions (the store holds every article);
with ``--isolated`` the store holds the seeds and only those sets'
articles (for one set: its contradictions without the others', which
crowd the evidence and can show a disagreement between two planted
articles).
``--save FILE`` keeps each answer with its draft (a pickle: only load your
own), and ``--replay FILE`` re-scores those drafts with the current conflict
stage and no model, for choosing the stage on sets already looked at (a
draft another rule refused stays refused; one only the conflict stage had
refused is taken as answered, since the confirm stage never saw it).

    .venv/bin/python evals/conflicts/measure.py [--store DIR] [--sets a,b [--isolated]] [--save FILE | --replay FILE]

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
HELDOUT = tuple(HERE / name for name in ("heldout", *(f"heldout{n}" for n in range(2, 15))))


def _set_name(folder: Path) -> str:
    """The set a folder's articles belong to ("tests" for the tests' own)."""
    return "tests" if folder.name == "conflicts" else folder.name


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


def replayed(entry: dict, retriever) -> str:
    """The outcome of a saved answer's draft under the current conflict stage."""
    from false_conflicts import replay_conflict  # this folder's other script

    from rag.confirm import RULE as UNCONFIRMED
    from rag.conflicts import RULE

    item, answer, decision = entry["item"], entry["answer"], entry["decision"]
    if decision is None or not decision.draft_text:
        return outcome(answer, item["seed"], item["planted"])
    if [rule for rule in decision.fired if rule not in (RULE, UNCONFIRMED)]:
        return "refused"  # another rule came first: refused whatever this stage says
    found = replay_conflict(retriever, item["question"], decision, answer.language)
    if found:
        passages = " ".join(s.text for s in found)
        shown = all(any(f.casefold() in passages.casefold() for f in item[side]) for side in ("seed", "planted"))
        return "shown" if shown else "refused"
    if UNCONFIRMED in decision.fired:
        return "refused"
    text = decision.draft_text.casefold()
    if any(f.casefold() in text for f in item["planted"]):
        return "planted"
    return "seed" if any(f.casefold() in text for f in item["seed"]) else "other"


def summary(counts: dict[str, dict[str, int]]) -> None:
    for name, kinds in counts.items():
        total = sum(kinds.values())
        survived = kinds.get("seed", 0) + kinds.get("shown", 0)
        print(f"{name}: {total} questions; seed fact survives (answered or shown) {survived}, "
              f"disagreement shown {kinds.get('shown', 0)}, planted stated as fact {kinds.get('planted', 0)}; {kinds}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=None, help="store directory (default: a temporary one)")
    parser.add_argument("--sets", default="", help="comma-separated sets to ask (default: all)")
    parser.add_argument("--isolated", action="store_true", help="store only the seeds and the asked sets' articles")
    parser.add_argument("--save", type=Path, default=None, help="keep every answer and its draft in this file")
    parser.add_argument("--replay", type=Path, default=None, help="re-score the drafts saved in this file, no model")
    args = parser.parse_args()
    import pickle

    from rag.config import load_settings
    from rag.engine import Engine
    from rag.ingest import ingest

    store = args.store or Path(tempfile.mkdtemp(prefix="ragbot-conflicts-"))
    corpus = store / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    here = Path(__file__).parent
    wanted = set(filter(None, args.sets.split(",")))
    folders = [REPO / "tests/data/conflicts", *HELDOUT]
    if args.isolated:
        if not wanted:
            parser.error("--isolated needs --sets")
        folders = [folder for folder in folders if _set_name(folder) in wanted]
    for folder in (REPO / "seeds", *folders):
        for path in folder.glob("*.txt"):
            shutil.copy(path, corpus)
    settings = load_settings().model_copy(update={"storage_dir": store})
    if args.replay is not None:
        from rag.embeddings import build_embedding, embedding_identity
        from rag.retrieve import HybridRetriever

        if not (store / "chroma").exists():
            ingest(settings, corpus)
        retriever = HybridRetriever.open(settings, build_embedding(settings).get_query_embedding, embedding_identity(settings))
        counts_replayed: dict[str, dict[str, int]] = {}
        for entry in pickle.loads(args.replay.read_bytes()):
            kind = replayed(entry, retriever)
            old = outcome(entry["answer"], entry["item"]["seed"], entry["item"]["planted"])
            counts_replayed.setdefault(entry["item"]["set"], {}).setdefault(kind, 0)
            counts_replayed[entry["item"]["set"]][kind] += 1
            print(f"{entry['item']['set']:8} {old:8} -> {kind:8} {entry['item']['question'][:90]}")
        summary(counts_replayed)
        return
    ingest(settings, corpus)
    engine = Engine.load(settings)
    saved: list[dict] = []
    counts: dict[str, dict[str, int]] = {}
    lines = [line for path in (here / "questions.jsonl", *(folder / "questions.jsonl" for folder in HELDOUT[1:]))
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for line in lines:
        item = json.loads(line)
        if wanted and item["set"] not in wanted:
            continue
        answer = engine.ask(item["question"])
        saved.append({"item": item, "answer": answer, "decision": engine.last_decision})
        kind = outcome(answer, item["seed"], item["planted"])
        counts.setdefault(item["set"], {}).setdefault(kind, 0)
        counts[item["set"]][kind] += 1
        print(f"{item['set']:8} {kind:8} {item['question']} -> {answer.answer[:100]!r} "
              f"[{', '.join(p.source for p in answer.related)}]")
    summary(counts)
    if args.save is not None:
        args.save.write_bytes(pickle.dumps(saved))


if __name__ == "__main__":
    main()
