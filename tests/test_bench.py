"""`ragbot bench` runs end to end on a tiny input and writes valid JSON and a Markdown table.

No timing is asserted (machines are noisy): the figures must be present and
plausible, not fast.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .conftest import MODEL_DIR, REPO


def test_bench_on_tiny_input_writes_json_and_markdown(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "RAGBOT_EMBEDDED_LLM": "smollm2-135m",  # the plumbing model: the figures' shape, quickly
        # The 135M model's first token is often "0" (no sentence answers), which
        # leaves nothing to time after it: never abstain, so every answer decodes.
        "RAGBOT_ABSTAIN_THRESHOLD": "100",
        "RAGBOT_MODEL_DIR": str(MODEL_DIR),
        "RAGBOT_CORPUS_DIR": str(REPO / "seeds"),
    }
    out, table = tmp_path / "bench.json", tmp_path / "BENCHMARKS.md"
    result = subprocess.run(
        [
            sys.executable, "-m", "bot.cli", "bench", "--json",
            "--gold", str(REPO / "evals" / "dev.jsonl"), "--questions", "2", "--scales", "300",
            "--repeats", "1", "--baseline-questions", "1", "--cold-questions", "2", "--out", str(out), "--markdown", str(table),
            "--storage", str(tmp_path / "store"),
        ],
        env=env, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert json.loads(result.stdout) == report
    answers = report["answers"]
    assert answers["questions"] == 2
    assert 0 < answers["ttft_ms_p50"] <= answers["total_ms_p50"]
    # The answer text streams after the reply's first (JSON) tokens; Discord shows it at the next draft edit.
    assert answers["ttft_ms_p50"] <= answers["first_text_ms_p50"] <= answers["discord_first_text_ms_p50"] <= answers["first_text_ms_p50"] + 1000
    assert answers["generated_tokens_p50"] >= 1 and answers["prompt_tokens_p50"] > 50
    assert answers["decode_tps_p50"] > 0 and answers["raw_decode_tps_p50"] > 0
    # Ratios to llama.cpp alone on the same prompts, from the same cached prefix.
    assert answers["answer_time_ratio_p50"] > 0 and answers["ttft_ratio_p50"] > 0
    assert 0 < answers["uncached_prompt_tokens_p50"] <= answers["prompt_tokens_p50"]
    assert set(report["retrieval"]) == {"corpus", "300"}
    assert report["retrieval"]["300"]["sentences"] == 300
    assert 0 < report["retrieval"]["corpus"]["p50_ms"] <= report["retrieval"]["corpus"]["p95_ms"]
    ingestion, cold = report["ingestion"], report["cold_start"]
    assert ingestion["sentences"] > 50 and 0 < ingestion["embedding_share"] < 1
    # Ingestion cannot take less time than embedding its sentences.
    assert ingestion["ratio"] >= 0.8 and ingestion["embedding_alone_s"] > 0
    # Both benched questions asked in new processes, paired with their own warm answers.
    assert cold["runs"] == 1 and cold["questions"] == 2 and cold["ask_peak_rss_mb"] > 50
    assert len(cold["cold_per_question_s"]) == len(cold["warm_per_question_s"]) == 2
    assert cold["raw_load_s"] > 0 and cold["ratio"] > 0
    assert abs(cold["cold_s"] - sum(cold["cold_per_question_s"]) / 2) < 0.02
    assert abs(cold["overhead_s"] - (cold["cold_s"] - cold["raw_load_s"] - cold["warm_answer_s"])) < 0.02
    # Every step of Engine.load, timed on its own in a new process.
    assert list(cold["steps_s"]) == ["imports", "store", "embedding_model", "language_detector", "name_tables", "chat_model"]
    assert all(seconds > 0 for seconds in cold["steps_s"].values())
    assert report["baseline"]["questions"] == 1 and report["baseline"]["total_ms_p50"] > 0
    assert report["machine"]["cpus"] >= 1 and report["machine"]["cpu_model"]
    markdown = table.read_text()
    assert "## Ratios" in markdown and "| cold start ÷ (model load in a new process + the same answer warm), mean over 2 questions" in markdown
    assert "| answer time, median (p95) |" in markdown and "Command: `ragbot bench" in markdown
    assert "vector instructions:" in markdown
    assert "shown in Discord" in markdown
    assert "start-up steps one after another" in markdown and "language detector" in markdown
    # The synthetic store is kept for the next run.
    assert (tmp_path / "store" / "bench" / "synthetic-300" / "chroma").is_dir()


def test_bench_rejects_bad_scales(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "bench", "--scales", "ten"],
        env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2 and "not a list of sizes" in result.stderr


def test_the_bench_counts_discord_edits_at_the_bots_own_interval() -> None:
    import inspect

    from bot.discord_draft import DRAFT_EDIT_INTERVAL_S
    from rag.bench.answers import discord_first_edit

    assert inspect.signature(discord_first_edit).parameters["interval_s"].default == DRAFT_EDIT_INTERVAL_S


def test_the_interrupted_ingestion_can_be_interrupted_when_the_bench_runs_in_the_background() -> None:
    # `nohup ragbot bench ... &` starts with SIGINT ignored, which children inherit.
    import signal

    from rag.bench.ingestion import _default_sigint

    probe = [sys.executable, "-c", "import signal; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)"]
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        inherited = subprocess.run(probe, capture_output=True, text=True).stdout.strip()
        restored = subprocess.run(probe, capture_output=True, text=True, preexec_fn=_default_sigint).stdout.strip()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert (inherited, restored) == ("False", "True")
