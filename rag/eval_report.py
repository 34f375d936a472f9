"""What ``ragbot eval`` writes and prints: one report per split, side by side.

A report holds a split's figures with their 95% intervals, breakdowns by
language and question type, the retrieval steps and, for dev only, every
item. :func:`figure_columns` lays the splits out in columns with the gap
(dev minus test) after them, and dev's rates at test's mix of question
types with the gap at that mix; :func:`report_markdown` renders the whole for
``eval.md``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from rag.evaluate import (
    FINAL_STEP,
    RECALL_KS,
    ItemResult,
    breakdown,
    intervals,
    retrieval_steps,
    summarise,
)


def build_report(results: list[ItemResult], backend: dict[str, str], itemised: bool = True) -> dict:
    """Everything ``ragbot eval`` writes for one split: figures, breakdowns,
    steps and, when ``itemised`` (the dev split only), the items themselves.

    The frozen test split is reported in aggregate only, so that nobody
    tunes on its failures one by one.
    """
    report = {
        "figures": summarise(results),
        "intervals": intervals(results),  # 95%, Wilson: how far a figure is from noise
        "by_language": breakdown(results, "language"),
        "by_type": breakdown(results, "type"),
        "retrieval_steps": retrieval_steps(results),
        "backend": backend,
    }
    if itemised:
        report["items"] = [result_dict(r) for r in results]
    return report


def risk_coverage_report(
    results: list[ItemResult], threshold: float, confirm_threshold: float, plot: Path, title: str, note: str = ""
) -> dict:
    """The risk-coverage curves of a run (every distinct doubt threshold with the
    confirm threshold in use, and every distinct confirm threshold with the
    doubt threshold in use; the other rules as they are), the point in use,
    and their plot at ``plot``."""
    from rag import selective

    curves = {
        "doubt": selective.risk_coverage(results, confirm_threshold, "doubt"),
        "confirm": selective.risk_coverage(results, threshold, "confirm"),
    }
    current = selective.point_at(results, threshold, confirm_threshold)
    selective.plot_risk_coverage(curves, current, title, plot, note)
    return {"threshold": threshold, "confirm_threshold": confirm_threshold, "in_use": asdict(current),
            "points": [asdict(p) for p in curves["doubt"]],
            "confirm_points": [asdict(p) for p in curves["confirm"]], "plot": plot.name}


def gap(dev: dict[str, float], test: dict[str, float]) -> dict[str, float]:
    """dev minus test for every figure both have (how much of dev is fit).

    >>> gap({"answer_accuracy": 0.9, "items": 92}, {"answer_accuracy": 0.6, "items": 88})
    {'answer_accuracy': 0.3}
    """
    return {
        name: round(dev[name] - test[name], 3)
        for name in dev
        if name in test and name != "items" and isinstance(dev[name], (int, float))
    }


def figure_columns(reports: dict[str, dict]) -> tuple[list[str], list[list]]:
    """A header and rows: one column per report (split), plus dev−test when
    both are there. A rate shows its 95% interval: ``0.531 [0.41, 0.65]``."""
    names = list(next(iter(reports.values()))["figures"])
    header = ["figure", *reports]
    with_gap = "dev" in reports and "test" in reports
    differences = gap(reports["dev"]["figures"], reports["test"]["figures"]) if with_gap else {}
    if with_gap:
        header.append("gap (dev − test)")
    # dev's rates with its question types weighted to test's mix (evaluate.at_mix)
    mixed = reports["dev"].get("at_test_mix", {}) if with_gap else {}
    mixed_gap = gap(mixed, reports["test"]["figures"]) if mixed else {}
    if mixed:
        header += ["dev at test's mix", "gap at test's mix"]

    def cell(report: dict, name: str) -> object:
        value = report["figures"].get(name, "")
        low, high = report.get("intervals", {}).get(name, (None, None))
        return value if low is None else f"{value} [{low:.2f}, {high:.2f}]"

    rows = []
    for name in names:
        row = [name, *(cell(report, name) for report in reports.values())]
        if with_gap:
            row.append(differences.get(name, ""))
        if mixed:
            row += [mixed.get(name, ""), mixed_gap.get(name, "")]
        rows.append(row)
    return header, rows


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


def report_markdown(reports: dict[str, dict]) -> str:
    """The reports (by split name: "dev", "test", "baseline dev", ...) as Markdown, side by side."""
    lines = ["# ragbot evaluation", ""]
    first = next(iter(reports.values()), {})
    if "cpu" in first:
        # Figures move by a few items between instruction sets (docs/evaluation.md).
        backend = first.get("backend", {})
        lines += [f"Measured on {first['cpu']} (the instruction sets llama.cpp computes with); "
                  f"models {backend.get('llm', '?')} and {backend.get('embedding', '?')}.", ""]
    lines += _table(*figure_columns(reports))
    for split, report in reports.items():
        for title, key in (("language", "by_language"), ("question type", "by_type")):
            lines += ["", f"## {split}: by {title}", ""]
            lines += _table(
                ["group", "items", "correct", "answer language"],
                [[g, v["items"], v["correct"], v["language"]] for g, v in report[key].items()],
            )
        lines += ["", f"## {split}: retrieval steps", "", "Share of answerable questions with a sentence "
                  "of a gold article (recall@k), and with a sentence of a gold article holding "
                  "every expected fact (answer@k), among the top k of each step.", ""]
        lines += _table(
            ["step", *(f"recall@{k}" for k in RECALL_KS), *(f"answer@{k}" for k in RECALL_KS)],
            [[step, *recalls.values()] for step, recalls in report["retrieval_steps"].items()],
        )
    for split, report in reports.items():
        if "risk_coverage" not in report:
            continue
        curve = report["risk_coverage"]
        lines += ["", f"## {split}: risk-coverage", "", f"![risk-coverage of {split}]({curve['plot']})", "",
                  "The final answer-or-refuse decision with one threshold swept and the other in use "
                  f"(every other rule as it is); ← marks the pair in use (doubt {curve['threshold']}, "
                  f"confirm {curve.get('confirm_threshold', 'off')}).", ""]
        from rag.selective import CURVE_HEADER, OperatingPoint, curve_rows

        in_use = OperatingPoint(**curve["in_use"])
        for key, swept in (("points", "doubt"), ("confirm_points", "confirm")):
            if curve.get(key):
                lines += ["", f"{swept} threshold swept:", ""]
                lines += _table(CURVE_HEADER, curve_rows([OperatingPoint(**p) for p in curve[key]], in_use))
    for split, report in reports.items():
        if "items" not in report:
            continue
        lines += ["", f"## {split}: failures", ""]
        for item in report["items"]:
            if item["failures"]:
                lines.append(
                    f"- **{item['id']}** ({item['language']}, {item['type']}) "
                    f"{item['answer']['question']} → {item['answer']['answer']!r}: "
                    f"{', '.join(item['failures'])}"
                )
    return "\n".join(lines) + "\n"


def report_json(report: dict) -> str:
    return json.dumps(report, ensure_ascii=False, indent=1)


def result_dict(r: ItemResult) -> dict:
    row = {
        "id": r.item.id,
        "type": r.item.type,
        "language": r.item.language,
        "correct": r.correct,
        "failures": r.failures,
        "retrieved_sources": r.retrieved[FINAL_STEP][:10],
        "answer": r.answer.to_dict(),
    }
    decision = r.decision
    if decision is not None:
        row["decision"] = {
            "fired": list(decision.fired),
            "abstain_score": decision.abstain_score,
            "draft": decision.draft_text,
        }
    return row
