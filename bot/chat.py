"""``ragbot chat``: a terminal conversation with the corpus.

In a terminal: line editing and a history kept across sessions
(prompt_toolkit, history file ``<storage_dir>/chat_history``), the model's
draft streamed as it is generated, then the checked answer and its numbered
citations with the quoted sentence highlighted; refusals are shown in their
own style. Follow-ups are condensed with the conversation before retrieval.
Ctrl-C stops a running answer and keeps the chat open; Ctrl-D leaves.

When stdout is not a terminal, rich drops colours and the live draft, so the
output fits pipes; ``--json`` reads questions from stdin and writes one JSON
object per line (the ``ask --json`` contract).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from bot.terminal import readable, stdin_lines, terminal_line, terminal_safe
from rag.answer import Answer, Citation, related_label
from rag.conversation import Turn, remember
from rag.engine import Engine
from rag.errors import InvalidQuestion
from rag.language import LANGUAGE_NAMES

HELP = """Commands:
  /sources      the citations of the last answer (or a refusal's passages), in full
  /reset        forget the conversation (follow-ups start afresh)
  /lang CODE    answer in CODE (en, da, no, de); /lang auto: the question's language
  /help         this text
  /quit         leave (or Ctrl-D); Ctrl-C stops a running answer"""

QUOTE_STYLE = "bold black on yellow"
REFUSED_STYLE = "italic yellow"


def render_answer(answer: Answer, full: bool = False) -> Group:
    """The answer and its citations as rich renderables.

    >>> console = Console(width=60, color_system=None)
    >>> with console.capture() as out:
    ...     console.print(render_answer(Answer("q", "Three hours [1].", False, "en",
    ...         [Citation("a.txt", "It lasted three hours.", 0, 22, "en", "Talks")])))
    >>> print(out.get().strip())
    Three hours [1].
    <BLANKLINE>
    [1] a.txt · en · Talks
        “It lasted three hours.”
    """
    parts: list[Text] = []
    text = terminal_safe(answer.answer)  # everything shown here may come from article files
    if answer.refused:
        parts.append(Text(f"⚠ {text}", style=REFUSED_STYLE))
    else:
        parts.append(Text(text, style="bold"))
    if answer.citations:
        parts.append(Text(""))
    for number, citation in enumerate(answer.citations, start=1):
        parts += _passage(f"[{number}] ", citation, full)
    if answer.related:
        # nearest passages under a refusal: to read on from, labelled as not an answer
        parts += [Text(""), Text(related_label(answer.language), style=REFUSED_STYLE)]
    for citation in answer.related:
        parts += _passage("· ", citation, full=True)
    return Group(*parts)


def _passage(mark: str, citation: Citation, full: bool) -> list[Text]:
    """A cited or related sentence: file · language · headline, then the quote
    (with its character offsets when ``full``)."""
    # One line each: a newline in a file name or title must not start a forged citation line.
    about = " · ".join(terminal_line(part) for part in (citation.source, citation.language, citation.title) if part)
    quote = terminal_line(citation.quote, newline=" ")
    quote = quote if full or len(quote) <= 300 else quote[:299] + "…"
    line = Text("    “").append(quote, style=QUOTE_STYLE).append("”")
    if full:
        line.append(f"  (characters {citation.start}–{citation.end})", style="dim")
    return [Text(mark, style="cyan").append(about, style="dim"), line]


class ChatSession:
    """The conversation state and the slash commands; input and output are given."""

    def __init__(self, engine: Engine, console: Console) -> None:
        self.engine = engine
        self.console = console
        self.history: list[Turn] = []
        self.last: Answer | None = None
        self.language: str | None = None

    def handle(self, line: str) -> bool:
        """Act on one input line; False when the user leaves."""
        line = line.strip()
        if not line:
            return True
        if line.startswith("/"):
            return self.command(line)
        self.ask(line)
        return True

    def command(self, line: str) -> bool:
        name, _, argument = line.partition(" ")
        argument = argument.strip().lower()
        if name in ("/quit", "/exit"):
            return False
        if name == "/help":
            self.console.print(HELP, highlight=False)
        elif name == "/reset":
            self.history.clear()
            self.console.print("Conversation forgotten.", style="dim")
        elif name == "/sources":
            # after a refusal: the nearest passages it showed, with their offsets
            if self.last is None or not (self.last.citations or self.last.related):
                self.console.print("No citations yet.", style="dim")
            else:
                self.console.print(render_answer(self.last, full=True))
        elif name == "/lang":
            if argument in ("", "auto"):
                self.language = None
                self.console.print("Answers follow the question's language.", style="dim")
            elif argument in LANGUAGE_NAMES:
                self.language = argument
                self.console.print(f"Answers in {LANGUAGE_NAMES[argument]}.", style="dim")
            else:
                codes = ", ".join(LANGUAGE_NAMES)
                self.console.print(Text(f"Unknown language {terminal_safe(argument)!r}; use one of {codes} or auto.", style="red"))
        else:
            self.console.print(Text(f"Unknown command {terminal_safe(name)}; /help lists them.", style="red"))
        return True

    def ask(self, question: str) -> None:
        draft = Text(style="dim")
        try:
            with Live(draft, console=self.console, transient=True, refresh_per_second=12) as live:
                def on_token(piece: str) -> None:
                    draft.append(terminal_safe(piece))
                    live.update(draft)

                answer = self.engine.ask(question, self.history, on_token=on_token, language=self.language)
        except InvalidQuestion as error:
            self.console.print(Text(f"error: {error}", style="red"))
            return
        except KeyboardInterrupt:
            self.console.print("(stopped)", style="dim")
            return
        self.console.print(render_answer(answer))
        self.last = answer
        self.history = remember(self.history, (question, answer.answer))


def _lines_from_terminal(history_file: Path) -> Iterable[str]:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory

    history_file.parent.mkdir(parents=True, exist_ok=True)
    session: PromptSession[str] = PromptSession(history=FileHistory(str(history_file)))
    while True:
        try:
            yield session.prompt("you> ")
        except KeyboardInterrupt:
            continue  # Ctrl-C at the prompt clears the line
        except EOFError:
            return


def run_chat(engine: Engine, history_file: Path, console: Console | None = None) -> None:
    """The interactive loop (prompt_toolkit in a terminal, plain lines otherwise)."""
    console = console or Console(highlight=False)  # no guessing colours into answers
    session = ChatSession(engine, console)
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    if interactive:
        console.print("Ask about the corpus in English, Danish, Norwegian or German. /help for commands, Ctrl-D to leave.", style="dim")
    lines: Iterable[str] = _lines_from_terminal(history_file) if interactive else stdin_lines(sys.stdin.buffer)
    for line in lines:
        if not session.handle(line):
            return


def run_json(engine: Engine, lines: Iterable[str], write: Callable[[str], None]) -> bool:
    """``chat --json``: one JSON object per question line; follow-ups carry context.

    Returns False when a line was not a valid question (it gets an "error" object).
    """
    history: list[Turn] = []
    ok = True
    for line in lines:
        question = line.rstrip("\r\n")
        if not question.strip():
            continue
        try:
            answer = engine.ask(question, history)
        except InvalidQuestion as error:
            ok = False
            write(json.dumps({"question": readable(question), "error": str(error)}, ensure_ascii=False))
            continue
        history = remember(history, (question, answer.answer))
        write(json.dumps(answer.to_dict(), ensure_ascii=False))
    return ok
