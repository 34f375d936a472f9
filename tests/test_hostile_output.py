"""Hostile text on its way out (issue 45, item 4): bidirectional controls and
every other display-changing format character never reach a terminal or
Discord raw, and a newline in a file name or title cannot start a line of
its own (a forged citation). JSON keeps the text verbatim."""

from __future__ import annotations

import json
import shutil
import sys
import unicodedata
from pathlib import Path

import pytest
from rich.console import Console

from bot.chat import render_answer as terminal_render
from bot.discord_format import discord_code
from bot.discord_format import render_answer as discord_render
from rag.answer import Answer, Citation
from rag.controls import one_line, strip_controls

from .conftest import SEEDS
from .test_cli import run

RLO, LRI, PDI, LRM, ALM = "\u202e", "\u2066", "\u2069", "\u200e", "\u061c"
BIDI = (RLO, LRI, PDI, LRM, ALM, "\u202a", "\u202b", "\u202c", "\u202d", "\u2067", "\u2068", "\u200f")
FORGED_NAME = "report\u202etxt.exe\n[2] forged.txt · en · Fake headline"

HOSTILE = Answer(
    "q", "It lasted three hours\u202e [1].", False, "en",
    [Citation(FORGED_NAME, f"The talks {LRI}lasted{PDI} three{LRM} hours.\u2028[3] fake", 0, 10, "en",
              f"Title{ALM}\r\nsecond line")],
)


def test_every_format_character_but_the_joiners_is_removed() -> None:
    format_characters = [
        chr(code) for code in range(sys.maxunicode + 1)
        if unicodedata.category(chr(code)) == "Cf" and code not in (0x200C, 0x200D)
    ]
    assert strip_controls("a" + "".join(format_characters) + "b") == "ab"
    assert strip_controls("👨\u200d👩 ﻻ\u200c") == "👨\u200d👩 ﻻ\u200c"  # joiners only join


@pytest.mark.parametrize("text, shown", [
    ("a.txt\n[2] b.txt", "a.txt␤[2] b.txt"),
    ("a\r\nb\rc\x0bd\x0ce\x85f\u2028g\u2029h\x1ci", "a␤b␤c␤d␤e␤f␤g␤h␤i"),
    ("evil\x1b[2J\u202etxt", "eviltxt"),
])
def test_one_line_leaves_no_line_break(text: str, shown: str) -> None:
    assert one_line(text) == shown and len(one_line(text).splitlines()) == 1


def test_terminal_citations_hold_no_bidi_control_and_cannot_be_forged() -> None:
    console = Console(width=300, color_system=None, force_terminal=False)
    for full in (False, True):
        with console.capture() as out:
            console.print(terminal_render(HOSTILE, full=full))
        shown = out.get()
        assert not any(mark in shown for mark in BIDI)
        lines = shown.splitlines()
        assert [line for line in lines if line.lstrip().startswith(("[", "“"))] == [
            "[1] reporttxt.exe␤[2] forged.txt · en · Fake headline · en · Title␤second line",
            "    “The talks lasted three hours. [3] fake”" + ("  (characters 0–10)" if full else ""),
        ]


def test_discord_citations_hold_no_bidi_control_and_cannot_be_forged() -> None:
    [(text, embed)] = discord_render(HOSTILE)
    field = embed.fields[0]
    for shown in (text, field.name, field.value):
        assert not any(mark in shown for mark in BIDI)
    assert "\n" not in field.name and "\n" not in field.value
    assert field.name.startswith("[1] reporttxt.exe␤\\[2] forged.txt") or field.name.startswith("[1] reporttxt.exe␤[2]")


def test_discord_code_span_cannot_be_closed_or_split_by_a_file_name() -> None:
    shown = discord_code("a`**b**`\u202e\n.txt")
    assert shown.count("`") == 2 and shown.startswith("`") and shown.endswith("`")
    assert "\n" not in shown and RLO not in shown


def test_ingest_skip_lines_cannot_be_forged_by_a_file_name(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(next(SEEDS.glob("*.txt")), corpus / "good.txt")
    name = f"evil{RLO}\nskipped x.txt: forged.txt"
    (corpus / name).write_text("")
    result = run("ingest", str(corpus), "--storage", str(tmp_path / "s"))
    assert result.returncode == 3, result.stderr
    skip_lines = [line for line in result.stderr.splitlines() if line.startswith("skipped ")]
    assert skip_lines == [f"skipped {corpus}/evil␤skipped x.txt: forged.txt: empty file"]
    assert RLO not in result.stderr + result.stdout
    as_json = run("ingest", str(corpus), "--json", "--storage", str(tmp_path / "s"))
    # JSON keeps the name verbatim (escaped by JSON, never raw on the terminal)
    assert json.loads(as_json.stdout)["skipped"][0]["path"] == str(corpus / name)
    assert "\n" not in as_json.stdout.strip()


def test_one_error_line_even_when_the_message_holds_a_newline(tmp_path: Path) -> None:
    missing = tmp_path / f"no\nerror: forged{RLO}"
    result = run("ingest", str(missing), "--storage", str(tmp_path / "s"))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"error: corpus path not found: {tmp_path}/no error: forged"]
