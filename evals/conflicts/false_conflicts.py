"""False conflicts on the seeds: which drafts of a saved evaluation run the conflict stage refuses.

The seeds hold no planted contradiction, so every draft the stage refuses
there is a candidate false conflict (two events of one story taken for one
fact, or one person named twice taken for two). This re-runs retrieval and
the current conflict stage (rag/conflicts.py) over the drafts of a run saved
with ``ragbot eval --save-results FILE`` (no model is called), and prints
each draft the stage refuses, whether the draft was right, and whether
another rule had refused it already.

    .venv/bin/python evals/conflicts/false_conflicts.py RESULTS.pkl [--storage DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path


def replay_conflict(retriever, question: str, decision, language: str) -> list:
    """The current conflict stage over a recorded draft: the question retrieved
    again, the draft's citations found among the ranked sentences (by file and
    offset), and :func:`rag.conflicts.conflict` asked as the engine asks it.
    Also used by ``measure.py --replay``."""
    from rag.conflicts import CANDIDATES, conflict

    ranked = retriever.retrieve(question).sentences
    places = {(c.source, c.start) for c in decision.draft_citations}
    cited = [s for s in ranked if (s.source, s.start) in places]
    return conflict(decision.draft_text, cited, ranked[:CANDIDATES], question, language, retriever)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--storage", type=Path, default=None, help="the store the run used (default: the configured one)")
    args = parser.parse_args()
    from rag.ablation import without_rules
    from rag.conflicts import RULE
    from rag.config import load_settings
    from rag.embeddings import build_embedding, embedding_identity
    from rag.evaluate import load_results
    from rag.retrieve import HybridRetriever

    settings = load_settings()
    if args.storage is not None:
        settings = settings.model_copy(update={"storage_dir": args.storage})
    # retrieval only, as the engine sets it up: no chat model
    retriever = HybridRetriever.open(settings, build_embedding(settings).get_query_embedding, embedding_identity(settings))
    for split, results in load_results(args.results).items():
        # each draft scored as the answer it would have been with this stage off
        drafts = without_rules(results, frozenset({RULE}))
        fired = {"draft_right": 0, "draft_wrong": 0, "already_refused": 0}
        for result, as_draft in zip(results, drafts):
            decision = result.decision
            if decision is None or not decision.draft_text or not decision.draft_citations:
                continue
            question = result.item.question
            found = replay_conflict(retriever, question, decision, result.answer.language)
            if not found:
                continue
            other_rules = [rule for rule in decision.fired if rule != RULE]
            kind = "already_refused" if other_rules else "draft_right" if as_draft.correct else "draft_wrong"
            fired[kind] += 1
            print(f"{split:5} {kind:15} {question}\n      draft: {decision.draft_text[:100]!r}")
            for sentence in found:
                print(f"      {sentence.source[:26]:26} {sentence.text[:100]!r}")
        print(f"{split}: the conflict stage refuses {sum(fired.values())} drafts: {fired}")


if __name__ == "__main__":
    main()
