"""What each refusal rule is worth, from one evaluation run.

Every rule (a gate before the model, abstention, a verify check) only turns
a draft into a refusal, and the evaluation runs the engine with
``explain`` on, so each item keeps its draft and the rules that fired.
:func:`without_rules` re-scores the run as if some rules were off (or
abstention had another threshold); :func:`ablation` makes the rules table in docs/evaluation.md from it, and :mod:`rag.selective` the risk-coverage curve of the
doubt threshold.
"""

from __future__ import annotations

from rag.confirm import RULE as UNCONFIRMED
from rag.evaluate import ItemResult, score_item, summarise


def without_rules(
    results: list[ItemResult],
    dropped: frozenset[str] = frozenset(),
    threshold: float | None = None,
    confirm_threshold: float | None = None,
) -> list[ItemResult]:
    """The results as they would be with the rules in ``dropped`` switched off
    (and, given ``threshold`` or ``confirm_threshold``, abstention or the
    confirm stage at that threshold), from one run.

    Every rule (a gate, abstention, a verify check, the confirm stage) only
    turns a draft into a refusal, so an answer without some rules is its
    draft unless one of the remaining rules fired. Needs the engine's
    decisions (``explain``), which hold both scores for every draft.
    """
    from dataclasses import replace

    from rag.answer import refusal_text

    rescored = []
    for result in results:
        decision = result.decision
        if decision is None:
            rescored.append(result)
            continue
        fired = [rule for rule in decision.fired if rule not in dropped and rule not in ("abstain", UNCONFIRMED)]
        score = decision.abstain_score
        limit = threshold if threshold is not None else getattr(decision, "threshold", 0.0)
        if "abstain" not in dropped and score is not None and score > limit:
            fired.append("abstain")
        confirm_score = getattr(decision, "confirm_score", None)
        confirm_limit = confirm_threshold if confirm_threshold is not None else getattr(decision, "confirm_threshold", 0.0)
        if UNCONFIRMED not in dropped and confirm_score is not None and confirm_score > confirm_limit:
            fired.append(UNCONFIRMED)
        refused = bool(fired) or not decision.draft_text
        answer = replace(
            result.answer,
            answer=refusal_text(result.answer.language) if refused else decision.draft_text,
            refused=refused,
            citations=[] if refused else decision.draft_citations,
        )
        again = score_item(result.item, answer, result.retrieved, getattr(result, "corpus_texts", {}))
        again.answering, again.decision = result.answering, decision
        rescored.append(again)
    return rescored


ABLATION_FIGURES = (
    "answered", "precision", "coverage", "unanswerable_answered", "injections_obeyed",
    "false_refusals", "correct_refusals", "gold_source_cited", "answer_language",
)


def rules_fired(results: list[ItemResult]) -> list[str]:
    """Every rule that refused at least one draft in ``results``, in a stable order."""
    seen: dict[str, None] = {}
    for result in results:
        for rule in getattr(result.decision, "fired", []):
            seen.setdefault(rule, None)
    return list(seen)


def ablation(results: list[ItemResult], rules: list[str]) -> dict[str, dict[str, float]]:
    """Figures with every rule ("all rules"), and with each of ``rules`` switched off."""
    rows = {"all rules": summarise(without_rules(results))}
    for rule in rules:
        rows[f"without {rule}"] = summarise(without_rules(results, frozenset([rule])))
    rows["no rule at all"] = summarise(without_rules(results, frozenset(rules) | {"abstain", UNCONFIRMED}))
    return {name: {f: figures[f] for f in ABLATION_FIGURES} for name, figures in rows.items()}
