"""The ragbot command as users run it: one-line errors, exit codes, the JSON contract."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import MODEL_DIR, SEEDS, free_port
from .fake_ollama import FakeOllama

RAGBOT = [sys.executable, "-m", "bot.cli"]
REPO = Path(__file__).resolve().parent.parent


def run(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(
        [*RAGBOT, *args], input=stdin, capture_output=True, text=True, env=full_env, timeout=timeout
    )


def assert_one_line_error(result: subprocess.CompletedProcess, fragment: str) -> None:
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and fragment in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("ask", ""), "the question is empty"),
        (("ask", "   "), "the question is empty"),
        (("ask", "x" * 501), "the limit is 500"),
        (("ask", "What happened?"), "build it with `ragbot ingest`"),
        (("ingest", "/no/such/corpus"), "corpus path not found"),
    ],
)
def test_bad_input_is_one_line(args: tuple[str, ...], fragment: str) -> None:
    assert_one_line_error(run(*args), fragment)


def test_damaged_storage_is_one_line(tmp_path: Path) -> None:
    chroma = tmp_path / "bad" / "chroma"
    chroma.mkdir(parents=True)
    (chroma / "chroma.sqlite3").write_bytes(b"\x00garbage" * 500)
    assert_one_line_error(run("ask", "Who met?", "--storage", str(tmp_path / "bad")), "move it aside")


def test_bad_config_is_one_line() -> None:
    assert_one_line_error(run("ask", "Who met?", env={"RAGBOT_LLM_BACKEND": "gpt"}), "llm_backend")


def test_ollama_unreachable_in_ask_and_doctor(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    env = {"RAGBOT_EMBEDDING_BACKEND": "ollama", "RAGBOT_LLM_BACKEND": "ollama", "OLLAMA_HOST": url}
    with FakeOllama(["bge-m3"]) as server:
        built = run("ingest", str(SEEDS), env={**env, "OLLAMA_HOST": server.url})
        assert built.returncode == 0, built.stderr
    assert_one_line_error(run("ask", "Who met?", env=env), f"Ollama not reachable at {url}")
    doctor = run("doctor", env=env)
    assert doctor.returncode == 1
    assert f"[FAIL] llm: Ollama not reachable at {url}" in doctor.stdout
    assert "Traceback" not in doctor.stderr


def test_doctor_names_missing_model(tmp_path: Path) -> None:
    with FakeOllama(["bge-m3"]) as server:
        env = {"RAGBOT_LLM_BACKEND": "ollama", "OLLAMA_HOST": server.url, "RAGBOT_EMBEDDED_LLM": "smollm2-135m"}
        doctor = run("doctor", env=env)
    assert doctor.returncode == 1
    assert "model qwen2.5:3b not pulled: run `ollama pull qwen2.5:3b`" in doctor.stdout
    assert "ollama_host = " + server.url in doctor.stdout


def test_ingest_twice_json(tmp_path: Path) -> None:
    first = run("ingest", str(SEEDS), "--json", "--storage", str(tmp_path / "s"))
    second = run("ingest", str(SEEDS), "--json", "--storage", str(tmp_path / "s"))
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert first.stderr == second.stderr == ""  # no progress bar mixed into --json runs
    first_counts, second_counts = json.loads(first.stdout), json.loads(second.stdout)
    seeds = len(list(SEEDS.glob("*.txt")))
    assert first_counts["documents"] == first_counts["added"] == seeds
    assert first_counts["embedded"] == first_counts["chunks"] > 0
    assert second_counts == {
        **first_counts, "added": 0, "unchanged": seeds, "embedded": 0,
    }
    human = run("ingest", str(SEEDS), "--storage", str(tmp_path / "s"))
    assert human.returncode == 0
    assert f"0 added, 0 updated, 0 removed, 0 renamed, {seeds} unchanged" in human.stdout


def test_ingest_exit_codes_tell_partial_from_failure(tmp_path: Path) -> None:
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    shutil.copy(next(SEEDS.glob("*.txt")), mixed / "good.txt")
    (mixed / "empty.txt").write_text("")
    partial = run("ingest", str(mixed), "--storage", str(tmp_path / "s"))
    assert partial.returncode == 3
    assert "skipped " + str(mixed / "empty.txt") + ": empty file" in partial.stderr
    assert "1 added" in partial.stdout

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "blob.txt").write_bytes(bytes(range(256)))
    failed = run("ingest", str(bad), "--json", "--storage", str(tmp_path / "t"))
    assert failed.returncode == 1
    assert json.loads(failed.stdout)["skipped"] == [
        {"path": str(bad / "blob.txt"), "reason": "binary file (not text)"}
    ]


def test_batch_json_with_plumbing_model(tmp_path: Path) -> None:
    """Stdin batch mode: one JSON object per question line, in order (SmolLM2 for speed)."""
    storage = str(tmp_path / "s")
    assert run("ingest", str(SEEDS), "--storage", storage).returncode == 0
    questions = "Who did Putin invite?\n\nWie lange dauerte das Treffen?\n" + "y" * 600 + "\n"
    result = run(
        "ask", "--json", "-", "--storage", storage,
        stdin=questions,
        env={"RAGBOT_EMBEDDED_LLM": "smollm2-135m", "RAGBOT_MODEL_DIR": str(MODEL_DIR)},
    )
    assert result.returncode == 1  # the over-long line is reported, the others answered
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["question"] for o in objects] == [
        "Who did Putin invite?", "Wie lange dauerte das Treffen?", "y" * 600,
    ]
    assert "limit is 500" in objects[2]["error"]
    for answer in objects[:2]:
        assert set(answer) == {"question", "answer", "refused", "language", "citations", "timings_ms", "backend", "usage", "related"}
        assert answer["backend"]["llm"] == "embedded:smollm2-135m"
        for citation in answer["citations"]:
            text = (SEEDS / citation["source"]).read_text(encoding="utf-8")
            assert text[citation["start"] : citation["end"]] == citation["quote"]
    assert objects[1]["language"] == "de"


@pytest.mark.parametrize(
    ("token", "fragment"),
    [
        (None, "DISCORD_TOKEN is not set"),
        ("", "DISCORD_TOKEN is not set"),
        ("not-a-token", "DISCORD_TOKEN is malformed"),
    ],
)
def test_discord_token_problems_are_one_line(token: str | None, fragment: str, tmp_path: Path) -> None:
    env = {} if token is None else {"DISCORD_TOKEN": token}
    result = run("discord", "--storage", str(tmp_path), env=env)
    assert_one_line_error(result, fragment)
    if token:
        assert token not in result.stderr + result.stdout


def test_discord_token_from_dotenv_is_never_printed(tmp_path: Path) -> None:
    secret = "abc.def-" + "z" * 30
    (tmp_path / ".env").write_text(f"DISCORD_TOKEN={secret}\n")
    result = subprocess.run(
        [*RAGBOT, "doctor", "--storage", str(tmp_path)], capture_output=True, text=True, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=600,
    )
    assert "discord_token = **********" in result.stdout
    assert secret not in result.stdout + result.stderr


SPINNER_WHILE_LLAMA_CPP_LOADS = """
import time
from llama_cpp._utils import suppress_stdout_stderr
from bot.terminal import loading_spinner
with loading_spinner("Loading the models"):
    time.sleep(0.3)
    print("drawn before the load", flush=True)
    with suppress_stdout_stderr(disable=False):  # what Llama(verbose=False) does while loading
        time.sleep(1.5)
"""


def test_spinner_keeps_turning_while_llama_cpp_silences_stderr() -> None:
    import pexpect

    child = pexpect.spawn(sys.executable, ["-c", SPINNER_WHILE_LLAMA_CPP_LOADS], cwd=str(REPO),
                          env={**os.environ, "PYTHONPATH": str(REPO), "TERM": "xterm"},
                          encoding="utf-8", timeout=60, dimensions=(24, 80))
    child.expect("drawn before the load")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    during_load = child.before
    # Rich's "dots" spinner changes frame every 80 ms: 1.5 s shows many distinct frames.
    frames = {char for char in during_load if "\u2800" <= char <= "\u28ff"}
    assert len(frames) >= 5, repr(during_load)
    assert "Loading the models" in during_load
