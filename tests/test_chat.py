"""ragbot chat as a person uses it: a real terminal (pty), real models."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import pexpect
import pytest
from rich.console import Console

from bot.chat import ChatSession, render_answer
from rag.answer import Answer, Citation
from rag.conversation import usable_rewrite

from .conftest import MODEL_DIR
from .test_cli import REPO, run

ANSI_FREE = {"NO_COLOR": "1"}


def _text(renderable, width: int = 100) -> str:
    console = Console(width=width, color_system=None)
    with console.capture() as out:
        console.print(renderable)
    return out.get()


def test_refusal_and_answer_render_differently() -> None:
    refused = _text(render_answer(Answer("q", "The sources don't say.", True, "en")))
    answered = _text(render_answer(Answer("q", "Three hours [1].", False, "en",
                                          [Citation("a.txt", "It lasted three hours.", 5, 27, "en", "")])))
    assert refused.startswith("⚠ The sources don't say.") and "[1]" not in refused
    assert answered.startswith("Three hours [1].") and "[1] a.txt · en" in answered
    assert "characters 5–27" in _text(render_answer(Answer("q", "x [1]", False, "en",
                                        [Citation("a.txt", "It lasted three hours.", 5, 27)]), full=True))


def test_quote_is_highlighted_in_a_terminal() -> None:
    console = Console(width=100, force_terminal=True, color_system="standard")
    with console.capture() as out:
        console.print(render_answer(Answer("q", "x [1]", False, "en", [Citation("a.txt", "Quoted.", 0, 7)])))
    assert "\x1b[" in out.get() and "Quoted." in out.get()


class _NoEngine:
    def ask(self, *args, **kwargs):
        raise AssertionError("slash commands must not reach the engine")


@pytest.mark.parametrize(
    ("line", "expected"),
    [("/help", "/sources"), ("/lang de", "German"), ("/lang xx", "Unknown language"),
     ("/sources", "No citations yet"), ("/reset", "forgotten"), ("/nope", "Unknown command")],
)
def test_slash_commands(line: str, expected: str) -> None:
    console = Console(width=100, color_system=None)
    session = ChatSession(_NoEngine(), console)
    with console.capture() as out:
        assert session.handle(line) is True
    assert expected in out.get()
    assert session.handle("/quit") is False


def test_sources_after_a_refusal_shows_its_passages_in_full() -> None:
    console = Console(width=100, color_system=None)
    session = ChatSession(_NoEngine(), console)
    session.last = Answer("q", "The sources don't say.", True, "en",
                          related=[Citation("a.txt", "The talks were held in Moscow.", 40, 70)])
    with console.capture() as out:
        session.handle("/sources")
    assert "The talks were held in Moscow." in out.get() and "characters 40–70" in out.get()


@pytest.mark.slow
def test_chat_in_a_terminal(seeded_store: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "RAGBOT_MODEL_DIR": str(MODEL_DIR),
           "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm", "COLUMNS": "120", "LINES": "40"}
    child = pexpect.spawn(sys.executable, ["-m", "bot.cli", "chat", "--storage", str(seeded_store)],
                          env=env, cwd=str(tmp_path), encoding="utf-8", timeout=240, dimensions=(40, 120))
    try:
        child.expect("you>")
        child.sendline("When did Turkish forces shoot down a Russian warplane over Syria?")
        child.expect("2015")
        child.expect("003_dde437028c99873a.txt")  # the citation (styled, so matched alone)
        child.expect("you>")
        child.sendline("Og hvem inviterede Putin til Rusland?")
        child.expect("Erdogan")
        child.expect("you>")
        child.sendline("/sources")
        child.expect("characters")
        child.expect("you>")
        child.sendline("/quit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    # The history survives for the next session.
    assert "When did Turkish forces shoot down a Russian warplane over Syria?" in (seeded_store / "chat_history").read_text()


@pytest.mark.slow
def test_chat_json_follow_up(seeded_store: Path) -> None:
    result = run("chat", "--json", "--storage", str(seeded_store),
                 stdin="How many Turkish soldiers were killed in the air strike blamed on Syria?\n\n" + "x" * 501 + "\n",
                 env={"RAGBOT_MODEL_DIR": str(MODEL_DIR)})
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 1  # the over-long line
    assert "34" in lines[0]["answer"] and lines[0]["citations"]
    assert "error" in lines[1]


@pytest.mark.slow
def test_ctrl_c_stops_an_answer_and_ctrl_d_leaves(seeded_store: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "RAGBOT_MODEL_DIR": str(MODEL_DIR),
           "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm"}
    child = pexpect.spawn(sys.executable, ["-m", "bot.cli", "chat", "--storage", str(seeded_store)],
                          env=env, cwd=str(tmp_path), encoding="utf-8", timeout=240, dimensions=(40, 120),
                          # A suite started in the background (`make test &`) ignores SIGINT,
                          # and the chat would inherit that: give it a user's default.
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        child.expect("you>")
        child.sendline("Hvem inviterede Erdogan til Rusland?")
        # Ctrl-C while the answer is being made (it takes seconds). Only once
        # the prompt has handed the terminal back (bracketed paste off) is
        # Ctrl-C a signal: before that it is a key typed ahead to the next prompt.
        child.expect(r"\x1b\[\?2004l")
        time.sleep(1.0)
        child.sendintr()
        child.expect("stopped")
        child.expect("you>")  # still in the chat
        child.sendline("/help")
        child.expect("/sources")
        child.expect("you>")
        child.sendeof()  # Ctrl-D
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0


@pytest.mark.slow
def test_piped_chat_has_no_colours_or_spinners(seeded_store: Path) -> None:
    result = run("chat", "--storage", str(seeded_store), stdin="Hvem inviterede Erdogan til Rusland?\n/sources\n",
                 env={"RAGBOT_MODEL_DIR": str(MODEL_DIR)})
    assert result.returncode == 0, result.stderr
    assert "Erdogan" in result.stdout and "000_a1c12008845bb2ac.txt" in result.stdout
    assert "\x1b[" not in result.stdout + result.stderr
    assert "Loading" not in result.stderr


@pytest.mark.parametrize(
    ("rewritten", "follow_up", "usable"),
    [
        ("Hvad sagde Putin om Iran?", "Og hvad med Iran?", True),
        ("Was sagte Putin über den Iran?", "Und was ist mit dem Iran?", True),
        ("What did Erdogan say about Iran?", "And what about Iran?", True),
        ("Who invited Putin to Russia?", "Og hvem inviterede Putin til Rusland?", False),  # language switched
        ("", "Og hvad med Iran?", False),
        ("Hvad sagde Putin om Iran? " * 40, "Og hvad med Iran?", False),  # longer than a question may be
    ],
)
def test_a_follow_up_rewrite_is_used_only_in_the_follow_ups_language(rewritten: str, follow_up: str, usable: bool) -> None:
    assert usable_rewrite(rewritten, follow_up, max_chars=500) is usable
