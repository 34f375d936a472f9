"""Settings and native crashes (issue 45, item 7): a value that would crash
llama.cpp or only waste is refused at load with one line, a native abort
ends in one `error:` line, and nothing but JSON reaches stdout in JSON mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.native import NATIVE_CRASH
from rag.config import MAX_LLM_THREADS, load_settings
from rag.errors import ConfigError

from .test_cli import REPO, assert_one_line_error, run


@pytest.mark.parametrize("env, value, fragment", [
    ("RAGBOT_LLM_THREADS", "100000", f"llm_threads: Input should be less than or equal to {MAX_LLM_THREADS}"),
    ("RAGBOT_LLM_THREADS", "0", "llm_threads: Input should be greater than or equal to 1"),
    ("RAGBOT_LLM_CONTEXT_TOKENS", "100000000", "llm_context_tokens: Input should be less than or equal to 32768"),
    ("RAGBOT_MAX_ANSWER_TOKENS", "1000000", "max_answer_tokens"),
    ("RAGBOT_EVIDENCE_K", "50", "evidence_k: Input should be less than or equal to 9"),
    ("RAGBOT_CANDIDATE_K", "100000000", "candidate_k"),
    ("RAGBOT_REQUEST_TIMEOUT_S", "inf", "request_timeout_s: Input should be a finite number"),
    ("RAGBOT_CONNECT_TIMEOUT_S", "nan", "connect_timeout_s: Input should be a finite number"),
    ("RAGBOT_CONNECT_TIMEOUT_S", "86400", "connect_timeout_s: Input should be less than or equal to 300"),
    ("RAGBOT_DISCORD_TIMEOUT_S", "1e12", "discord_timeout_s"),
    ("RAGBOT_MAX_FILE_BYTES", "1000000000000", "max_file_bytes: Input should be less than or equal to 1000000000"),
    ("RAGBOT_MAX_QUESTION_CHARS", "100000000", "max_question_chars"),
    ("RAGBOT_SEED", "-1", "seed: Input should be greater than or equal to 0"),  # -1 is "random" to llama.cpp
    ("RAGBOT_LEXICAL_WEIGHT", "inf", "lexical_weight"),
    ("RAGBOT_DISCORD_MAX_CONCURRENT", "100000", "discord_max_concurrent"),
])
def test_settings_that_crash_or_waste_are_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_too_many_llm_threads_never_reach_llama_cpp() -> None:
    result = run("ask", "--json", "How long did the talks last?", env={"RAGBOT_LLM_THREADS": "100000"})
    assert_one_line_error(result, "llm_threads: Input should be less than or equal to")
    assert result.stdout == ""


# ggml's own abort, as a failed GGML_ASSERT calls it, where the CLI would load the models:
# it prints on fd 1 from C first, and gdb's backtrace would follow on stdout.
NATIVE_ABORT = textwrap.dedent("""
    import ctypes, sys
    from pathlib import Path
    import llama_cpp
    import rag.engine

    ggml = ctypes.CDLL(str(Path(llama_cpp.__file__).parent / "lib" / "libggml-base.so"))

    def load(settings):
        libc = ctypes.CDLL(None)
        libc.puts(b"written by native code on fd 1")
        libc.fflush(None)
        ggml.ggml_abort(b"ggml.c", 1234, b"GGML_ASSERT(%s) failed", b"rc == 0")

    rag.engine.Engine.load = staticmethod(load)
    from bot.cli import main
    sys.argv = ["ragbot", *sys.argv[1:]]
    main()
""")


@pytest.mark.parametrize("args", [("ask", "--json", "Who met?"), ("chat", "--json")])
def test_a_native_abort_is_one_error_line_and_stdout_stays_json(args: tuple[str, ...]) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("RAGBOT_DEBUG", None)
    result = subprocess.run(
        [sys.executable, "-c", NATIVE_ABORT, *args], input="Who met?\n", capture_output=True, text=True,
        env=env, timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""  # no gdb backtrace, no native output: only JSON may come here
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {NATIVE_CRASH}"] and result.stderr.rstrip().endswith(NATIVE_CRASH)
    assert "written by native code on fd 1" in result.stderr
    assert "gdb" not in result.stderr.lower() and "Traceback" not in result.stderr


def test_json_answers_before_a_native_abort_stay_whole(tmp_path: Path) -> None:
    """stdout keeps its JSON lines when native code writes and then aborts mid-batch."""
    script = NATIVE_ABORT.replace(
        "rag.engine.Engine.load = staticmethod(load)",
        "class Fake:\n"
        "    def calibration_warnings(self):\n"
        "        return []\n"
        "    def ask(self, question, history=None):\n"
        "        if question == 'crash':\n"
        "            load(None)\n"
        "        from rag.answer import Answer\n"
        "        return Answer(question, 'ok', False, 'en', [])\n"
        "rag.engine.Engine.load = staticmethod(lambda settings: Fake())",
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", script, "ask", "--json", "-"], input="first\ncrash\nnever\n",
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert result.returncode == 1
    assert [json.loads(line)["question"] for line in result.stdout.splitlines()] == ["first"]
    assert result.stderr.rstrip().endswith(NATIVE_CRASH)
