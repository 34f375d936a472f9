"""Evaluation scoring, and the ratchet CI holds the engine to."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.answer import Answer, Citation
from rag.evaluate import GoldItem, check_ratchet, load_gold, retrieval_steps, score_item, summarise

from .conftest import MODEL_DIR, SEEDS
from .test_cli import run

REPO = Path(__file__).resolve().parent.parent
TEXT = "Intro.\nThe talks lasted about three hours.\n"
GOLD_ITEM = GoldItem("q1", "How long did the talks last?", "en", [["three hours", "3 hours"]], ["a.txt"], True, "number")


def _answer(text: str, refused: bool = False, citations: list[Citation] | None = None) -> Answer:
    return Answer("q", text, refused, "en", citations or [], {"total": 1.0}, {})


def test_correct_answer_with_gold_citation() -> None:
    quote = "The talks lasted about three hours."
    citation = Citation("a.txt", quote, TEXT.index(quote), TEXT.index(quote) + len(quote))
    result = score_item(GOLD_ITEM, _answer("The talks lasted three hours [1].", citations=[citation]), {"final": ["a.txt"]}, {"a.txt": TEXT})
    assert result.correct and result.cited_gold and result.verbatim and result.language_ok
    assert result.failures == []


def test_fact_only_in_quote_does_not_count() -> None:
    quote = "The talks lasted about three hours."
    citation = Citation("a.txt", quote, TEXT.index(quote), TEXT.index(quote) + len(quote))
    result = score_item(GOLD_ITEM, _answer("They talked [1].", citations=[citation]), {"final": ["a.txt"]}, {"a.txt": TEXT})
    assert not result.correct and "expected fact missing" in result.failures


def test_shifted_offsets_are_not_verbatim() -> None:
    citation = Citation("a.txt", "The talks lasted about three hours.", 0, 10)
    result = score_item(GOLD_ITEM, _answer("Three hours [1].", citations=[citation]), {"final": ["a.txt"]}, {"a.txt": TEXT})
    assert not result.verbatim


def test_refusal_scoring_and_summary() -> None:
    unanswerable = GoldItem("q2", "Capital of Australia?", "en", [], [], False, "unanswerable")
    results = [
        score_item(GOLD_ITEM, _answer("The sources don't say.", refused=True), {"final": ["b.txt", "a.txt"]}, {}),
        score_item(unanswerable, _answer("The sources don't say.", refused=True), {"final": []}, {}),
    ]
    figures = summarise(results)
    assert figures["false_refusals"] == 1.0 and figures["correct_refusals"] == 1.0
    assert figures["recall@1"] == 0.0 and figures["recall@3"] == 1.0


def test_retrieval_steps_tell_the_answering_sentence_from_its_article() -> None:
    # Both steps rank a sentence of the gold article first; only "typed" ranks
    # the sentence that holds the answer within the top 3.
    result = score_item(GOLD_ITEM, _answer("Three hours [1]."), {"dense": ["a.txt"] * 4, "typed": ["a.txt"] * 4}, {})
    result.answering = {"dense": [False, False, False, True], "typed": [False, True, False, False]}
    steps = retrieval_steps([result])
    assert steps["dense"]["recall@1"] == steps["typed"]["recall@1"] == 1.0
    assert (steps["dense"]["answer@3"], steps["dense"]["answer@6"]) == (0.0, 1.0)
    assert (steps["typed"]["answer@1"], steps["typed"]["answer@3"]) == (0.0, 1.0)


def test_ratchet_false_refusals_may_not_rise() -> None:
    assert check_ratchet({"false_refusals": 0.3}, {"false_refusals": 0.2}) == ["false_refusals = 0.3 (ratchet 0.2)"]
    assert check_ratchet({"answer_accuracy": 0.9}, {"answer_accuracy": 0.6}) == []


def test_gold_set_is_well_formed() -> None:
    items = load_gold(REPO / "evals" / "gold.jsonl")
    assert len(items) >= 60
    assert sum(not i.answerable and i.type == "unanswerable" for i in items) >= 10
    assert sum(i.type == "injection" for i in items) >= 5
    seeds = {p.name for p in SEEDS.iterdir()}
    assert {s for i in items for s in i.sources} == seeds  # every article is asked about
    assert {i.language for i in items} == {"en", "da", "no", "de"}
    for item in items:
        assert set(item.sources) <= seeds
        assert bool(item.expected) == item.answerable


@pytest.mark.slow
def test_eval_holds_the_ratchet(seeded_store: Path, tmp_path: Path) -> None:
    """The whole gold set through the embedded models; fails below evals/ratchet.json."""
    result = run(
        "eval", "--storage", str(seeded_store),
        "--gold", str(REPO / "evals" / "gold.jsonl"),
        "--ratchet", str(REPO / "evals" / "ratchet.json"),
        "--out", str(tmp_path / "reports"),
        env={"RAGBOT_MODEL_DIR": str(MODEL_DIR), "RAGBOT_CORPUS_DIR": str(SEEDS)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "reports" / "eval.json").read_text())
    assert report["figures"]["verbatim_quotes"] == 1.0
    assert (tmp_path / "reports" / "eval.md").read_text().startswith("# ragbot evaluation")
