"""The ``ragbot`` command line: ingest, ask, chat, doctor.

Errors meant for users (``RagbotError``) are printed as one line on stderr
with exit status 1; nothing prints a traceback unless ``RAGBOT_DEBUG=1``.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bot.native import native_stdout_to_stderr, quiet_native_crashes
from bot.terminal import loading_spinner, readable, stdin_lines, terminal_line, terminal_safe
from rag.config import Settings, load_settings, redact_secrets, shown_value
from rag.errors import InvalidQuestion, NothingIndexable, RagbotError

if TYPE_CHECKING:
    from rag.answer import Answer

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


def _quiet_libraries() -> None:
    # Chroma, httpx and llama-index log at INFO/WARNING on routine events.
    for name in ("chromadb", "httpx", "llama_index", "urllib3", "bm25s"):
        logging.getLogger(name).setLevel(logging.ERROR)
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class RagbotGroup(click.Group):
    """A group that turns ragbot errors into one-line messages at the edge."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RagbotError as error:
            click.echo(f"error: {terminal_line(redact_secrets(str(error)), newline=' ')}", err=True)
            ctx.exit(EXIT_ERROR)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except OSError as error:  # a full or read-only disk met outside the store's own checks
            from rag.storage_errors import storage_problem

            problem = storage_problem(error, None)
            if problem is None:
                return self._unexpected(ctx, error)
            click.echo(f"error: {terminal_line(redact_secrets(str(problem)), newline=' ')}", err=True)
            ctx.exit(EXIT_ERROR)
        except Exception as error:  # a bug: still no traceback for users
            return self._unexpected(ctx, error)

    @staticmethod
    def _unexpected(ctx: click.Context, error: Exception) -> None:
        """One line for an error nobody anticipated (a bug); RAGBOT_DEBUG=1 re-raises it."""
        if os.environ.get("RAGBOT_DEBUG"):
            raise error
        click.echo(
            f"error: unexpected {type(error).__name__}: {terminal_line(redact_secrets(str(error)), newline=' ')} "
            "(set RAGBOT_DEBUG=1 for the traceback)",
            err=True,
        )
        ctx.exit(EXIT_ERROR)


def storage_option(command: Callable) -> Callable:
    """``--storage DIR`` on every command: which store to use."""

    @click.option(
        "--storage",
        type=click.Path(path_type=Path),
        default=None,
        help="Store directory (default: $RAGBOT_STORAGE_DIR or ./storage).",
    )
    @functools.wraps(command)
    def wrapper(*args: Any, storage: Path | None, **kwargs: Any) -> Any:
        kwargs["settings"] = load_settings(storage_dir=storage)
        return command(*args, **kwargs)

    return wrapper


@click.group(cls=RagbotGroup)
@click.version_option(package_name="ragbot")
def cli() -> None:
    """Ask questions about a news corpus and get answers with verbatim citations."""
    _quiet_libraries()
    quiet_native_crashes()


EXIT_PARTIAL = 3  # ingest: some files were skipped, the rest is indexed


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--rebuild", is_flag=True, help="Drop the collection and index from scratch (embeddings come from the cache).")
@click.option(
    "--prune/--no-prune",
    default=None,
    help="--prune: remove every indexed file not under PATHS. --no-prune: remove nothing. "
    "Default: remove the files that are gone from a folder being ingested.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the counts.")
@storage_option
def ingest(paths: tuple[Path, ...], rebuild: bool, prune: bool | None, as_json: bool, settings: Settings) -> None:
    """Index the .txt, .md and .html files under PATHS (default: seeds/).

    Exit status: 0 everything indexed, 3 some files skipped (listed with the
    reason), 1 nothing could be indexed or an error.
    """
    from tqdm import tqdm

    from rag.ingest import ingest as run_ingest

    if as_json:
        native_stdout_to_stderr()

    started = time.perf_counter()
    try:
        report = run_ingest(
            settings,
            list(paths) or [settings.corpus_dir],
            rebuild=rebuild,
            prune=prune,
            # Files arrive a batch at a time (rag.ingest writes several at once):
            # mininterval=0 draws each count, not the first of a batch.
            progress=lambda items, total: tqdm(
                items, total=total, desc="ingest", unit="file", file=sys.stderr, disable=as_json or None, mininterval=0
            ),
        )
    except NothingIndexable as nothing:  # the reasons, file by file, then the one error line
        _show_ingest_report(nothing.report, as_json, started, summary=False)
        raise
    _show_ingest_report(report, as_json, started)
    if report.skipped:
        nothing_indexed = report.changed + report.unchanged == 0
        sys.exit(EXIT_ERROR if nothing_indexed else EXIT_PARTIAL)


def _show_ingest_report(report, as_json: bool, started: float, summary: bool = True) -> None:
    if as_json:
        click.echo(_json_line(report.as_json()))
    else:
        if report.recovered:
            click.echo(f"warning: {terminal_line(report.recovered, newline=' ')}", err=True)
        for skipped in report.skipped:
            click.echo(f"skipped {terminal_line(skipped.path)}: {terminal_line(skipped.reason, newline=' ')}", err=True)
        if summary:
            click.echo(f"{report.summary()} ({time.perf_counter() - started:.1f} s)")


def warn_uncalibrated(engine) -> None:
    """One stderr line when the model's refusal thresholds were never fitted (rag.calibration)."""
    for line in engine.calibration_warnings():
        click.echo(f"warning: {terminal_line(line, newline=' ')}", err=True)


def print_human(answer: Answer) -> None:
    """The answer and its citations as the chat shows them (plain when piped)."""
    from rich.console import Console

    from bot.chat import render_answer

    Console(highlight=False).print(render_answer(answer))


def _json_line(payload: dict) -> str:
    return json.dumps(payload, ensure_ascii=False)


@cli.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON contract instead of prose.")
@storage_option
def ask(question: str, as_json: bool, settings: Settings) -> None:
    """Answer QUESTION; with QUESTION '-', answer one question per stdin line.

    In batch mode every non-blank line gets one output line, in order; a line
    that is not a valid question gets {"question": ..., "error": ...} and the
    exit status is 1 at the end.
    """
    from rag.conversation import validate_question
    from rag.engine import Engine

    global _NOTHING_TO_FLUSH
    _NOTHING_TO_FLUSH = True  # answering reads the store and writes only to stdout
    if as_json:
        native_stdout_to_stderr()  # llama.cpp's own output must not mix with the JSON
    if question != "-":
        validate_question(question, settings.max_question_chars)  # before loading models
    # Models load and servers are reached (at most connect_timeout_s each) under a spinner.
    with loading_spinner("Loading the models…"):
        engine = Engine.load(settings)
    warn_uncalibrated(engine)
    if question != "-":
        answer = engine.ask(question)
        click.echo(_json_line(answer.to_dict())) if as_json else print_human(answer)
        return
    failed = False
    for line in stdin_lines(sys.stdin.buffer):
        if not line.strip():
            continue
        try:
            answer = engine.ask(line)
        except InvalidQuestion as error:
            failed = True
            if as_json:
                click.echo(_json_line({"question": readable(line), "error": str(error)}))
            else:
                click.echo(f"error: {terminal_safe(line)}: {error}", err=True)
            sys.stdout.flush()
            continue
        if as_json:
            click.echo(_json_line(answer.to_dict()))
        else:
            click.echo(f"Q: {terminal_safe(line)}")
            print_human(answer)
            click.echo()
        sys.stdout.flush()
    if failed:
        sys.exit(EXIT_ERROR)


@cli.command()
@click.option("--json", "as_json", is_flag=True,
              help="Read questions from stdin, write one JSON object per line (follow-ups keep context).")
@storage_option
def chat(as_json: bool, settings: Settings) -> None:
    """Interactive chat: streamed answers, citations, /help for commands, Ctrl-D to leave."""
    from bot.chat import run_chat, run_json
    from rag.engine import Engine

    if as_json:
        native_stdout_to_stderr()

    with loading_spinner("Loading the models…"):
        engine = Engine.load(settings)
    warn_uncalibrated(engine)
    if as_json:
        def write(line: str) -> None:
            click.echo(line)
            sys.stdout.flush()

        if not run_json(engine, stdin_lines(sys.stdin.buffer), write):
            sys.exit(EXIT_ERROR)
        return
    run_chat(engine, settings.storage_dir / "chat_history")


@cli.command("eval")
@click.option("--dev", "dev_path", type=click.Path(path_type=Path), default=Path("evals/dev.jsonl"), show_default=True,
              help="The split rules, thresholds and prompts are tuned on.")
@click.option("--test", "test_path", type=click.Path(path_type=Path), default=Path("evals/test.jsonl"), show_default=True,
              help="The frozen held-out split (checked against evals/test.sha256; reported in aggregate only).")
@click.option("--split", type=click.Choice(["both", "dev", "test"]), default="both", show_default=True)
@click.option("--every", type=click.IntRange(min=1), default=1, show_default=True,
              help="Only every N-th item of each split (make test uses a sample; its ratchet levels are its own).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("reports"), show_default=True,
              help="Directory for eval.json and eval.md.")
@click.option("--ratchet", type=click.Path(path_type=Path), default=Path("evals/ratchet.json"), show_default=True,
              help="Fail when a figure of either split falls below the level recorded here.")
@click.option("--update-ratchet", is_flag=True, help="Raise the ratchet to the figures reached.")
@click.option("--baseline", is_flag=True,
              help="Also run a plain llama-index pipeline (same models) on the same splits, side by side. "
                   "Slow: about 10 s per question on 2 cores.")
@click.option("--ablation", is_flag=True,
              help="Also show each rule's effect: the figures with every rule, and with each switched off.")
@click.option("--save-results", type=click.Path(path_type=Path), default=None,
              help="Also pickle every split's scored results here, for computing figures later "
                   "(the test split's items are still not for reading one by one).")
@click.option("--fit-abstention", is_flag=True,
              help="Print dev's risk-coverage curves, the doubt and confirm thresholds with the most "
                   "coverage at precision 0.90, and that choice cross-validated on dev.")
@click.option("--save", "save_calibration", is_flag=True,
              help="With --fit-abstention: write the chosen thresholds to calibration.json in the storage "
                   "folder for the model in use; ragbot reads them at start-up (ragbot doctor shows them).")
@click.option("--compare", "compare_with", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="An earlier run's --save-results file: print, per split, the items this run gains and "
                   "loses against it, with a sign test (ids for dev only).")
@storage_option
def evaluate(
    dev_path: Path, test_path: Path, split: str, every: int, out: Path, ratchet: Path, update_ratchet: bool,
    baseline: bool, ablation: bool, save_results: Path | None, fit_abstention: bool, save_calibration: bool,
    compare_with: Path | None, settings: Settings,
) -> None:
    """Run the dev and test splits through the engine; print them side by side with the gap."""
    from bot.eval_command import run_eval

    if save_calibration and not fit_abstention:
        raise click.UsageError("--save writes what --fit-abstention chooses: give both")
    if save_calibration and split == "test":
        raise click.UsageError("--save fits on the dev split: use --split dev or both")
    if not run_eval(
        dev_path, test_path, split, every, out, ratchet, update_ratchet,
        baseline, ablation, save_results, fit_abstention, compare_with, settings, save_calibration,
    ):
        sys.exit(EXIT_ERROR)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Also write the JSON here.")
@click.option("--markdown", type=click.Path(path_type=Path), default=None, help="Write the docs/benchmarks.md page here.")
@click.option("--gold", type=click.Path(path_type=Path), default=Path("evals/dev.jsonl"), show_default=True)
@click.option("--questions", type=click.IntRange(min=1), default=None, help="Only N gold questions, spread over the set.")
@click.option("--scales", default="10000,100000", show_default=True, help="Synthetic store sizes for retrieval (comma-separated; empty for none).")
@click.option("--repeats", type=click.IntRange(min=1), default=3, show_default=True, help="Repeats for retrieval and cold start.")
@click.option("--baseline-questions", type=click.IntRange(min=0), default=16, show_default=True, help="Gold questions (spread over the set) for the llama-index baseline; 0 skips it.")
@click.option("--archive", "archive_articles", type=click.IntRange(min=0), default=0, show_default=True,
              help="Also ingest this many synthetic articles (time, memory, resume after an interruption); 1000 takes about 30 min on 2 cores.")
@click.option("--cold-questions", type=click.IntRange(min=1), default=3, show_default=True,
              help="Questions (spread over the benched ones) each asked --repeats times in a new `ragbot ask` process.")
@storage_option
def bench(
    as_json: bool, out: Path | None, markdown: Path | None, gold: Path, questions: int | None,
    scales: str, repeats: int, baseline_questions: int, archive_articles: int, cold_questions: int, settings: Settings,
) -> None:
    """Measure answer latency, retrieval at scale, ingestion and cold start on this machine."""
    from rag.bench import BenchOptions, bench_markdown, run_bench

    try:
        sizes = [int(size) for size in scales.split(",") if size.strip()]
    except ValueError:
        raise click.BadParameter(f"not a list of sizes: {scales!r}", param_hint="--scales") from None
    options = BenchOptions(gold, questions, sizes, repeats, baseline_questions, archive_articles, cold_questions)
    report = run_bench(settings, options, say=lambda message: click.echo(f"bench: {message}", err=True))
    payload = json.dumps(report, indent=1, ensure_ascii=False)
    if out:
        out.write_text(payload + "\n", encoding="utf-8")
    table = bench_markdown(report, "ragbot bench " + " ".join(sys.argv[2:]))
    if markdown:
        markdown.write_text(table, encoding="utf-8")
    click.echo(payload if as_json else table)


@cli.command("discord")
@storage_option
def discord_command(settings: Settings) -> None:
    """Run the Discord bot (token from DISCORD_TOKEN); Ctrl-C or SIGTERM stops it."""
    from bot.discord_bot import run_bot

    run_bot(settings)


@cli.command()
@storage_option
def doctor(settings: Settings) -> None:
    """Show the configuration in use and check that each part works."""
    from bot.doctor import run_checks

    click.echo("configuration:")
    for name, field in Settings.model_fields.items():
        click.echo(f"  {name} = {terminal_line(str(shown_value(settings, name)))}    # {field.description}")
    click.echo("checks:")
    ok = True
    for name, passed, detail in run_checks(settings):
        ok &= passed
        click.echo(f"  [{'ok' if passed else 'FAIL'}] {name}: {terminal_line(redact_secrets(detail), newline=' ')}")
    if not ok:
        sys.exit(EXIT_ERROR)


# Set by commands that write nothing: the process may then end without
# Python's teardown (freeing the model and Chroma's bindings, about 0.5 s).
_NOTHING_TO_FLUSH = False


def main() -> None:
    try:
        cli(prog_name="ragbot")
    except SystemExit as done:
        if not _NOTHING_TO_FLUSH:
            raise
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else EXIT_ERROR)
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    main()
