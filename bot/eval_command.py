"""``ragbot eval``: both splits through the engine, side by side, held to the ratchet.

The click options live in :mod:`bot.cli`; this is what the command does, so
that the command-line module stays one screen per command.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from rag.config import Settings


def run_eval(
    dev_path: Path, test_path: Path, split: str, every: int, out: Path, ratchet: Path, update_ratchet: bool,
    baseline: bool, ablation: bool, save_results: Path | None, fit_abstention: bool, compare_with: Path | None,
    settings: Settings, save_calibration: bool = False,
) -> bool:
    """Run the dev and test splits through the engine; print them side by side with the gap.

    Returns whether every figure holds the ratchet (the caller sets the exit status).
    """
    from tqdm import tqdm

    from rag import ablation as ab
    from rag import eval_report as reporting
    from rag import evaluate as ev
    from rag import ratchet as rt
    from rag import selective as sel
    from rag.engine import Engine
    from rag.significance import compare

    splits: dict[str, list] = {}
    if split in ("both", "dev"):
        splits["dev"] = ev.load_gold(dev_path)[::every]
    if split in ("both", "test"):
        ev.check_frozen(test_path, test_path.with_suffix(".sha256"))
        splits["test"] = ev.load_gold(test_path)[::every]
    earlier = ev.load_results(compare_with) if compare_with is not None else {}
    engine = Engine.load(settings)

    results: dict[str, list] = {}

    def run(name: str, runner, items: list, itemised: bool) -> dict:
        results[name] = ev.run_gold(
            runner, items, settings.corpus_dir,
            progress=lambda xs: tqdm(xs, desc=name, unit="q", file=sys.stderr),
        )
        return reporting.build_report(results[name], runner.backend, itemised=itemised)

    reports = {name: run(name, engine, items, itemised=name == "dev") for name, items in splits.items()}
    if "dev" in results and "test" in results:
        # The splits ask different kinds of questions in different proportions;
        # at the same mix the gap shows fit to dev without that.
        reports["dev"]["at_test_mix"] = ev.at_mix(results["dev"], splits["test"])
    cpu = rt.cpu_class()
    for report in reports.values():
        report["cpu"] = cpu  # which kind of CPU the figures come from
    if save_results is not None:
        import pickle

        save_results.write_bytes(pickle.dumps(results))
    if ablation:
        rules = ab.rules_fired([r for name in splits for r in results[name]])
        tables = {name: ab.ablation(results[name], rules) for name in splits}
        for name, table in tables.items():
            reports[name]["ablation"] = table
        click.echo("rule ablation (" + ", ".join(ab.ABLATION_FIGURES) + "), per split:")
        for variant in next(iter(tables.values())):
            cells = "   ".join(f"{name} " + " ".join(f"{v:.3f}" for v in tables[name][variant].values()) for name in tables)
            click.echo(f"  {variant:<28} {cells}")
    for name in splits:
        if name in earlier:
            click.echo(f"{name} against {compare_with}: " + compare(earlier[name], results[name]).summary(name == "dev"))
    for name in splits:
        # the answer-or-refuse decision's trade-off: a table in the report, a plot beside it
        reports[name]["risk_coverage"] = reporting.risk_coverage_report(
            results[name], engine.abstain_threshold, engine.confirm_threshold, out / f"risk_coverage_{name}.png",
            f"{name}: risk against coverage", f"{engine.chat_model.identity} on {cpu}",
        )
    if fit_abstention and "dev" in results:
        chosen = sel.choose_thresholds(results["dev"])
        click.echo(f"thresholds on dev with the most coverage at precision >= {sel.TARGET_PRECISION} "
                   "(each curve: one swept, the other at its chosen value):")
        for swept, fixed in (("doubt", chosen.confirm_threshold), ("confirm", chosen.threshold)):
            header, *rows = [sel.CURVE_HEADER, *sel.curve_rows(sel.risk_coverage(results["dev"], fixed, swept), chosen)]
            for row in (header, *rows):
                click.echo("  " + "  ".join(f"{cell!s:>10}" for cell in row))
        held_out = sel.cross_validated(results["dev"])
        click.echo(f"chosen: doubt {chosen.threshold}, confirm {chosen.confirm_threshold} (precision {chosen.precision}, "
                   f"coverage {chosen.coverage}); 5-fold cross-validated on dev: precision {held_out['precision']}, "
                   f"coverage {held_out['coverage']}, unanswerable answered {held_out['unanswerable_answered']}")
        if save_calibration:
            from rag.calibration import save_calibration as save

            saved = save(settings.storage_dir, engine.chat_model.identity, chosen.threshold, chosen.confirm_threshold, {
                "dev_items": len(results["dev"]), "precision": chosen.precision, "coverage": chosen.coverage,
                "cross_validated": {"precision": held_out["precision"], "coverage": held_out["coverage"]},
            })
            click.echo(f"saved for {engine.chat_model.identity} in {saved}: ragbot uses these thresholds from now on")
    if baseline:
        from rag.baseline import BaselineEngine

        plain = BaselineEngine(settings, engine.chat_model, engine.embed_model)
        for name, items in splits.items():
            reports[f"baseline {name}"] = run(f"baseline {name}", plain, items, itemised=False)
    out.mkdir(parents=True, exist_ok=True)
    (out / "eval.json").write_text(reporting.report_json(reports), encoding="utf-8")
    (out / "eval.md").write_text(reporting.report_markdown(reports), encoding="utf-8")
    header, rows = reporting.figure_columns(reports)
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    for row in (header, *rows):
        click.echo("  ".join(f"{str(cell):<{widths[0]}}" if i == 0 else f"{str(cell):>{widths[i]}}"
                             for i, cell in enumerate(row)))
    click.echo(f"measured on {cpu}; report: {out / 'eval.md'}")
    levels = rt.load_levels(ratchet, cpu, fallback=not update_ratchet)
    if update_ratchet:
        for name in splits:
            rt.raise_levels(levels, name, every, reports[name]["figures"], results[name])
        rt.save_levels(ratchet, cpu, levels)
        click.echo(f"ratchet updated for {cpu}: {ratchet}")
        return True
    regressions = [
        regression
        for name, items in splits.items()
        for regression in rt.regressions(
            levels, name, every, reports[name]["figures"], rt.one_item_slack(items, reports[name]["figures"])
        )
    ]
    if regressions:
        click.echo(f"error: below the ratchet for {cpu}: " + "; ".join(regressions), err=True)
    return not regressions
