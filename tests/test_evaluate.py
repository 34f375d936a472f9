"""Evaluation scoring, and the ratchet CI holds the engine to."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.answer import Answer, Citation
from rag.ablation import without_rules
from rag.errors import ConfigError
from rag.eval_report import figure_columns, gap
from rag.evaluate import (
    GoldItem,
    ItemResult,
    at_mix,
    check_frozen,
    load_gold,
    load_results,
    retrieval_steps,
    score_item,
    summarise,
)
from rag.ratchet import TEST_SAMPLE_EVERY, check_ratchet, cpu_class
from rag.significance import compare

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


def test_cost_counts_the_whole_prompt_and_the_part_computed() -> None:
    def answered(prompt: int, cached: int) -> Answer:
        answer = _answer("The talks lasted three hours.")
        answer.usage = {"prompt_tokens": prompt, "cached_prompt_tokens": cached, "completion_tokens": 9, "model_calls": 1}
        return answer

    answers = [answered(700, 500), answered(760, 500), answered(800, 0)]
    figures = summarise([score_item(GOLD_ITEM, answer, {"final": []}, {}) for answer in answers])
    assert figures["prompt_tokens_p50"] == 760
    assert figures["computed_prompt_tokens_p50"] == 260  # of 200, 260 and 800
    assert figures["model_calls_mean"] == 1


def test_retrieval_steps_tell_the_answering_sentence_from_its_article() -> None:
    # Both steps rank a sentence of the gold article first; only "typed" ranks
    # the sentence that holds the answer within the top 3.
    result = score_item(GOLD_ITEM, _answer("Three hours [1]."), {"dense": ["a.txt"] * 4, "typed": ["a.txt"] * 4}, {})
    result.answering = {"dense": [False, False, False, True], "typed": [False, True, False, False]}
    steps = retrieval_steps([result])
    assert steps["dense"]["recall@1"] == steps["typed"]["recall@1"] == 1.0
    assert (steps["dense"]["answer@3"], steps["dense"]["answer@6"]) == (0.0, 1.0)
    assert (steps["typed"]["answer@1"], steps["typed"]["answer@3"]) == (0.0, 1.0)


def test_ratchet_levels_are_kept_per_cpu_class() -> None:
    """Each class in evals/ratchet.json holds both splits and make test's sample of them;
    this machine is held to its own levels or, unrecorded, to the most lenient ones."""
    from rag.ratchet import cpu_class, load_levels

    path = REPO / "evals" / "ratchet.json"
    recorded = json.loads(path.read_text())
    assert recorded and all(key.startswith("cpu ") for key in recorded)
    for levels in recorded.values():
        assert {"dev", "test", f"dev every {TEST_SAMPLE_EVERY}", f"test every {TEST_SAMPLE_EVERY}"} <= set(levels)
    here = load_levels(path, cpu_class())
    for key, figures in here.items():
        for name, level in figures.items():
            assert any(level == levels[key][name] for levels in recorded.values())


def test_ratchet_false_refusals_may_not_rise() -> None:
    assert check_ratchet({"false_refusals": 0.3}, {"false_refusals": 0.2}) == ["false_refusals = 0.3 (ratchet 0.2)"]
    assert check_ratchet({"answer_accuracy": 0.9}, {"answer_accuracy": 0.6}) == []


@pytest.mark.parametrize("split", ["dev", "test"])
def test_splits_are_well_formed(split: str) -> None:
    items = load_gold(REPO / "evals" / f"{split}.jsonl")
    assert len(items) >= 80
    assert sum(not i.answerable for i in items) >= 0.17 * len(items)
    assert sum(i.type == "injection" for i in items) >= 5
    seeds = {p.name for p in SEEDS.iterdir()}
    assert {s for i in items for s in i.sources} == seeds  # every article is asked about
    assert {i.language for i in items} == {"en", "da", "no", "de"}
    assert len({i.id for i in items}) == len(items)
    for item in items:
        assert set(item.sources) <= seeds
        assert bool(item.expected) == item.answerable


@pytest.mark.parametrize("path", sorted((REPO / "evals").glob("unseen-*.jsonl")), ids=lambda p: p.name)
def test_unseen_batches_are_well_formed_and_new(path: Path) -> None:
    items = load_gold(path)
    seeds = {p.name for p in SEEDS.iterdir()}
    assert len({i.id for i in items}) == len(items)
    assert all(set(i.sources) <= seeds and bool(i.expected) == i.answerable for i in items)
    # a check on questions nobody tuned on: none may be one of the splits' own
    splits = _questions(REPO / "evals" / "dev.jsonl") | _questions(REPO / "evals" / "test.jsonl")
    assert not splits & _questions(path)


def test_the_test_split_is_frozen(tmp_path: Path) -> None:
    check_frozen(REPO / "evals" / "test.jsonl", REPO / "evals" / "test.sha256")
    edited = tmp_path / "test.jsonl"
    edited.write_bytes((REPO / "evals" / "test.jsonl").read_bytes() + b"\n")
    with pytest.raises(ConfigError, match="differs from the frozen test split"):
        check_frozen(edited, REPO / "evals" / "test.sha256")


def _questions(path: Path) -> set[str]:
    return {i.question.casefold() for i in load_gold(path)}


def test_dev_and_test_never_share_a_question() -> None:
    assert not _questions(REPO / "evals" / "dev.jsonl") & _questions(REPO / "evals" / "test.jsonl")


def test_gap_is_dev_minus_test() -> None:
    assert gap({"answer_accuracy": 0.9, "false_refusals": 0.02}, {"answer_accuracy": 0.7, "false_refusals": 0.1}) == {
        "answer_accuracy": 0.2, "false_refusals": -0.08,
    }


def _typed(kind: str, answerable: bool = True) -> GoldItem:
    return GoldItem(kind, "?", "en", [["x"]] if answerable else [], ["a.txt"] if answerable else [], answerable, kind)


def test_dev_at_tests_mix_weights_each_type_by_tests_share() -> None:
    def scored(kind: str, right: bool, answerable: bool = True) -> ItemResult:
        answer = _answer("x is the answer here." if right == answerable else "No.", refused=not answerable and right)
        return ItemResult(_typed(kind, answerable), answer, {"final": []}, right, right, True, True)

    # dev: names mostly right, why-questions wrong, refusals half right
    dev = [scored("name", True)] * 3 + [scored("why", False)] + [scored("unanswerable", True, False), scored("unanswerable", False, False)]
    # test asks three why-questions for each name, and a kind dev lacks
    test = [_typed("name"), *[_typed("why")] * 3, _typed("paraphrase"), _typed("unanswerable", False)]
    mixed = at_mix(dev, test)
    assert summarise(dev)["answer_accuracy"] == 0.75
    assert mixed["answer_accuracy"] == 0.25  # paraphrase: not in dev, left out
    assert mixed["correct_refusals"] == 0.5
    assert "injections_resisted" not in mixed  # neither split has any

    reports = {
        "dev": {"figures": summarise(dev), "at_test_mix": mixed},
        "test": {"figures": {**summarise(dev), "answer_accuracy": 0.5}},
    }
    header, rows = figure_columns(reports)
    assert header[-2:] == ["dev at test's mix", "gap at test's mix"]
    accuracy = next(row for row in rows if row[0] == "answer_accuracy")
    assert accuracy[1:] == [0.75, 0.5, 0.25, 0.25, -0.25]


def test_a_rule_switched_off_gives_back_its_draft() -> None:
    class Decision:
        fired = ["unsupported_number"]
        abstain_score = -3.0
        threshold = 0.0
        draft_text = "The talks lasted three hours [1]."
        draft_citations: list = []

    refused = score_item(GOLD_ITEM, _answer("The sources don't say.", refused=True), {"final": []}, {})
    refused.decision = Decision()
    [kept] = without_rules([refused])
    [dropped] = without_rules([refused], frozenset(["unsupported_number"]))
    assert kept.answer.refused and not kept.correct
    assert not dropped.answer.refused and dropped.correct
    [abstained] = without_rules([refused], frozenset(["unsupported_number"]), threshold=-4.0)
    assert abstained.answer.refused  # -3.0 is above a threshold of -4.0


@pytest.mark.parametrize(
    ("answer", "language_ok"),
    [("The talks lasted three hours [1].", True), ("Samtalerne varede tre timer [1].", False)],
)
def test_answer_language_is_the_detectors_verdict(answer: str, language_ok: bool) -> None:
    assert score_item(GOLD_ITEM, _answer(answer), {"final": []}, {}).language_ok is language_ok


@pytest.mark.slow
def test_eval_holds_the_ratchet(seeded_store: Path, tmp_path: Path) -> None:
    """A fixed sample of both splits through the embedded models; fails below
    that sample's levels in evals/ratchet.json (`make eval` holds the full splits)."""
    result = run(
        "eval", "--storage", str(seeded_store),
        "--dev", str(REPO / "evals" / "dev.jsonl"),
        "--test", str(REPO / "evals" / "test.jsonl"),
        "--ratchet", str(REPO / "evals" / "ratchet.json"),
        "--every", str(TEST_SAMPLE_EVERY),
        "--out", str(tmp_path / "reports"),
        env={"RAGBOT_MODEL_DIR": str(MODEL_DIR), "RAGBOT_CORPUS_DIR": str(SEEDS)},
        timeout=2700,  # 16 answers, ~25 s each here; room for a CPU three times slower
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "reports" / "eval.json").read_text())
    assert report["dev"]["figures"]["verbatim_quotes"] == report["test"]["figures"]["verbatim_quotes"] == 1.0
    assert "items" in report["dev"] and "items" not in report["test"]  # test: aggregates only
    assert "gap (dev − test)" in result.stdout
    assert (tmp_path / "reports" / "eval.md").read_text().startswith("# ragbot evaluation")
    # which kind of CPU the figures come from (they move between instruction sets)
    assert report["dev"]["cpu"] == report["test"]["cpu"] == cpu_class()
    assert f"Measured on {cpu_class()}" in (tmp_path / "reports" / "eval.md").read_text()


def test_eval_refuses_an_edited_test_split(tmp_path: Path) -> None:
    edited = tmp_path / "test.jsonl"
    edited.write_text((REPO / "evals" / "test.jsonl").read_text(encoding="utf-8").replace("?", "?!", 1), encoding="utf-8")
    (tmp_path / "test.sha256").write_text((REPO / "evals" / "test.sha256").read_text())
    result = run("eval", "--split", "test", "--test", str(edited))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"error: {edited} differs from the frozen test split recorded in {tmp_path / 'test.sha256'}"]


def test_compare_reads_an_earlier_runs_results(tmp_path: Path) -> None:
    import pickle

    def results(*right: str) -> list[ItemResult]:
        return [
            ItemResult(GoldItem(i, "q", "en", [], [], False, "unanswerable"), _answer("x"), {}, i in right, True, True, True)
            for i in ("q1", "q2", "q3", "q4")
        ]

    saved = tmp_path / "before.pkl"
    saved.write_bytes(pickle.dumps({"dev": results("q1", "q2")}))
    change = compare(load_results(saved)["dev"], results("q2", "q3", "q4"))
    assert (change.right_before, change.right_after, change.gained, change.lost) == (2, 3, ["q3", "q4"], ["q1"])
    assert change.summary(itemised=False) == "2 → 3 right: gained 2, lost 1 (sign test p = 1.0)"
    assert change.summary(itemised=True).endswith("; gained q3, q4; lost q1")


def test_eval_refuses_a_compare_file_that_is_not_results(tmp_path: Path) -> None:
    bogus = tmp_path / "results.pkl"
    bogus.write_text("not a pickle", encoding="utf-8")
    result = run("eval", "--split", "dev", "--dev", str(REPO / "evals" / "dev.jsonl"), "--compare", str(bogus))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"error: {bogus} is not a results file from `ragbot eval --save-results`"]
