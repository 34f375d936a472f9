"""docs/benchmarks.md from a bench report: the ratios first, then the absolute figures."""

from __future__ import annotations

ARCHIVE_EXTRAPOLATED = 10_000  # articles: what a large archive costs at the measured rate


def _fmt(value, unit: str = "", scale: float = 1.0, digits: int = 1) -> str:
    """``value`` scaled and formatted, or "n/a".

    >>> _fmt(1234.5, " s", 0.001, 2), _fmt(None)
    ('1.23 s', 'n/a')
    """
    if value is None:
        return "n/a"
    return f"{value * scale:,.{digits}f}{unit}"


def _questions(cold: dict) -> str:
    return f"mean over {cold['questions']} question{'s' if cold['questions'] != 1 else ''} (median of {cold['runs']} run{'s' if cold['runs'] != 1 else ''} each)"


def _ratio_rows(report: dict) -> list[tuple[str, str, str]]:
    answers, cold, ingestion = report["answers"], report["cold_start"], report["ingestion"]
    rows = [
        ("answer time ÷ llama.cpp alone on the same prompts (prefill + decode), median", _fmt(answers.get("answer_time_ratio_p50"), "", 1, 2), ""),
        ("time to first token ÷ llama.cpp's prefill of the same uncached tokens, median", _fmt(answers.get("ttft_ratio_p50"), "", 1, 2), ""),
        ("decode speed ÷ llama.cpp's, same prompts", _fmt(answers.get("decode_ratio"), "", 1, 3), "≥ 0.90"),
        (f"cold start ÷ (model load in a new process + the same answer warm), {_questions(cold)}", _fmt(cold.get("ratio"), "", 1, 2), "≤ 1.15"),
        (f"ingestion ÷ embedding alone, the corpus ({ingestion['sentences']} sentences)", _fmt(ingestion.get("ratio"), "", 1, 2), ""),
    ]
    archive = report.get("archive")
    if archive:
        rows.append((f"ingestion ÷ embedding alone, {archive['articles']:,} articles", _fmt(archive["ratio"], "", 1, 2), "≤ 1.15"))
    baseline = report.get("baseline")
    if baseline:
        rows.append(("answer time ÷ the plain llama-index pipeline, same questions", _fmt(baseline["time_ratio"], "", 1, 2), "≤ 0.7"))
    return rows


def _absolute_rows(report: dict) -> list[tuple[str, str, str]]:
    answers, retrieval, cold, ingestion = report["answers"], report["retrieval"], report["cold_start"], report["ingestion"]
    rows = [
        ("answer time, median (p95)", f"{_fmt(answers['total_ms_p50'], ' s', 0.001, 2)} ({_fmt(answers['total_ms_p95'], ' s', 0.001, 2)})", ""),
        ("llama.cpp alone on the same prompts, median", _fmt(answers.get("raw_total_ms_p50"), " s", 0.001, 2), ""),
        ("time to first token, median (p95)", f"{_fmt(answers['ttft_ms_p50'], ' s', 0.001, 2)} ({_fmt(answers['ttft_ms_p95'], ' s', 0.001, 2)})", ""),
        ("first answer text streamed / shown in Discord (the draft's next 1-s edit), median",
         f"{_fmt(answers.get('first_text_ms_p50'), ' s', 0.001, 2)} / {_fmt(answers.get('discord_first_text_ms_p50'), ' s', 0.001, 2)}", ""),
        ("prompt tokens (not cached) / generated tokens, median",
         f"{_fmt(answers['prompt_tokens_p50'], '', 1, 0)} ({_fmt(answers.get('uncached_prompt_tokens_p50'), '', 1, 0)}) / {_fmt(answers['generated_tokens_p50'], '', 1, 0)}", ""),
        ("decode speed / llama.cpp's, median", f"{_fmt(answers['decode_tps_p50'], ' tok/s')} / {_fmt(answers['raw_decode_tps_p50'], ' tok/s')}", ""),
    ]
    for name, figures in retrieval.items():
        label = "the corpus" if name == "corpus" else "synthetic"
        target = "≤ 30 ms" if name == "corpus" else ("≤ 100 ms" if figures["sentences"] >= 100_000 else "")
        rows.append((
            f"retrieval p50 (p95), {label}, {figures['sentences']:,} sentences",
            f"{_fmt(figures['p50_ms'], ' ms')} ({_fmt(figures['p95_ms'], ' ms')})",
            target,
        ))
    rows += [
        ("ingestion of the corpus", f"{ingestion['seconds']} s, {ingestion['sentences_per_s']:,} sentences/s (embedding alone {_fmt(ingestion.get('embedding_alone_s'), ' s', 1, 2)})", ""),
        (f"cold start (new `ragbot ask` process to answer), {_questions(cold)}", f"{cold['cold_s']} s ({', '.join(f'{s} s' for s in cold['cold_per_question_s'])})", ""),
        ("  model load alone in a new process + the same answers warm", f"{_fmt(cold.get('raw_load_s'), ' s', 1, 2)} + {cold['warm_answer_s']} s ({', '.join(f'{s} s' for s in cold['warm_per_question_s'])})", ""),
        ("  overhead (cold start minus both)", _fmt(cold.get("overhead_s"), " s", 1, 2), "≤ 1.5 s"),
    ]
    steps = cold.get("steps_s")
    if steps:
        rows.append((
            "  start-up steps one after another (the engine overlaps the chat model with the rest)",
            ", ".join(f"{name.replace('_', ' ')} {seconds:.2f} s" for name, seconds in steps.items()),
            "",
        ))
    rows.append(("peak memory of `ragbot ask`", f"{cold['ask_peak_rss_mb']:,} MB", "≤ 3 GB"))
    archive = report.get("archive")
    if archive:
        resume = archive["resume"]
        per_article = archive["sentences"] / archive["articles"]
        large_h = ARCHIVE_EXTRAPOLATED * per_article / archive["sentences_per_s"] / 3600
        rows += [
            (f"ingestion of {archive['articles']:,} synthetic articles ({archive['sentences']:,} sentences)",
             f"{archive['seconds']:,} s, {archive['sentences_per_s']} sentences/s (embedding alone {archive['embedding_alone_texts_per_s']} texts/s)", ""),
            ("  peak memory of `ragbot ingest`; largest in each quarter of the run",
             f"{archive['peak_rss_mb']:,} MB; {' / '.join(f'{mb:,}' for mb in archive['rss_mb_by_quarter'])} MB", "flat"),
            ("  interrupted at 40%, run again: files done before / left alone / written",
             f"{resume['files_finished_before']} / {resume['unchanged_on_rerun']} / {resume['written_on_rerun']} ({resume['rerun_s']} s)"
             + (" (not interrupted: it finished first)" if resume["files_finished_before"] == archive["articles"] else ""), "done = left alone"),
            (f"  at this rate, {ARCHIVE_EXTRAPOLATED:,} articles", f"{large_h:.1f} h", ""),
        ]
    rows.append(("answer accuracy (gold questions benched)", _fmt(answers["accuracy"], "", 1, 3), ""))
    return rows


def _table(header: tuple[str, str, str], rows: list[tuple[str, str, str]]) -> list[str]:
    return [f"| {' | '.join(header)} |", "|---|---|---|", *[f"| {a} | {b} | {c} |" for a, b, c in rows]]


def bench_markdown(report: dict, command: str) -> str:
    """The docs/benchmarks.md page: ratios, absolute figures with the CPU named, the baseline."""
    machine_info, models, baseline = report["machine"], report["models"], report.get("baseline") or {}
    flags = " ".join(machine_info.get("cpu_flags", [])) or "none"
    lines = [
        "# Benchmarks",
        "",
        "Written by `ragbot bench --markdown docs/benchmarks.md` (`make bench`); re-run it when the figures change.",
        "Absolute times differ threefold between CPUs of the same size, so each figure is first a ratio to",
        "what llama.cpp or the embedding model alone takes for the same work, measured in the same run",
        "(see `rag/bench/__init__.py`). Answers: gold questions through the real engine; llama.cpp alone:",
        "the same prompts through `Llama.create_completion` from the same cached prefix. Cold start: a new",
        "`ragbot ask` process (page cache warm), start to answer, against a new process that only loads the",
        "model plus the same answer in a warm engine.",
        "",
        "## Ratios",
        "",
        *_table(("figure", "ratio", "target"), _ratio_rows(report)),
        "",
        f"## On this machine: {machine_info.get('cpu_model', 'unknown CPU')}",
        "",
        f"{machine_info['cpus']} CPUs; vector instructions: {flags}.",
        "",
        *_table(("figure", "value", "target"), _absolute_rows(report)),
    ]
    if baseline:
        lines += [
            "",
            f"Against the plain llama-index pipeline (`ragbot eval --baseline`), the same {baseline['questions']} questions (every k-th of the gold set):",
            "",
            "| figure | ragbot | baseline |",
            "|---|---|---|",
            f"| answer time, median | {_fmt(baseline['ragbot_total_ms_p50_same_questions'], ' s', 0.001, 2)} | {_fmt(baseline['total_ms_p50'], ' s', 0.001, 2)} |",
            f"| answer accuracy | {_fmt(baseline['ragbot_accuracy_same_questions'], '', 1, 3)} | {_fmt(baseline['accuracy'], '', 1, 3)} |",
        ]
    lines += [
        "",
        f"Machine: {machine_info['memory_gb']} GB memory, {machine_info['platform']}, "
        f"Python {machine_info['python']}, llama-cpp-python {machine_info['llama_cpp_python']}.",
        f"Models: LLM `{models['llm']}`, embedding `{models['embedding']}`.",
        f"Command: `{command}`.",
    ]
    return "\n".join(lines) + "\n"
