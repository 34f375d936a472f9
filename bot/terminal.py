"""Text from articles, file names and stdin made safe to print on a terminal.

Article text and file names are data: an escape sequence inside them must
not clear the screen, retitle the window or fake a prompt. Everything the
CLI prints that comes from the corpus or from the user goes through
:func:`terminal_safe`, or :func:`terminal_line` when it must stay on one line (the JSON contract keeps quotes verbatim; JSON escapes
control characters itself).

>>> terminal_safe("evil\\x1b]0;owned\\x07name\\x1b[2J.txt")
'evilname.txt'
>>> readable("caf\\udcc3")
'caf�'
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

from rag.controls import one_line, strip_controls


def readable(text: str) -> str:
    """``text`` with bytes that were not UTF-8 (surrogate escapes) shown as U+FFFD."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def terminal_safe(text: str) -> str:
    """``text`` without escape sequences, control and format characters (tab and newline kept)."""
    return strip_controls(readable(text))


def terminal_line(text: str, newline: str = "␤") -> str:
    """:func:`terminal_safe` for what must stay on one line (a file name, a title, an error):
    a line break inside it becomes ``newline``, so it cannot start a line of its own.

    >>> terminal_line("a.txt\\n[2] forged.txt")
    'a.txt␤[2] forged.txt'
    """
    return one_line(readable(text), newline)


def stdin_lines(stream: BinaryIO) -> Iterator[str]:
    """Lines of a byte stream as text, line endings removed.

    Decoded line by line, so one line of invalid UTF-8 does not stop a
    batch: its bad bytes become surrogate escapes, which
    :func:`rag.conversation.validate_question` refuses for that line alone.
    """
    for raw in stream:
        yield raw.decode("utf-8", "surrogateescape").rstrip("\r\n")


@contextmanager
def loading_spinner(message: str) -> Iterator[None]:
    """A spinner with ``message`` on stderr while the block runs, if stderr is a terminal.

    llama-cpp-python points file descriptors 1 and 2 at /dev/null while it
    loads a model (to silence llama.cpp's C logging), which froze a spinner
    drawn on stderr for the whole load. This one draws on its own duplicate
    of the terminal's descriptor, which that redirection does not touch.
    Nothing is drawn when stderr is a pipe or a file.
    """
    try:
        terminal = os.dup(sys.stderr.fileno()) if sys.stderr.isatty() else None
    except (AttributeError, OSError, ValueError):  # click's test runner, a closed stderr
        terminal = None
    if terminal is None:
        yield
        return
    from rich.console import Console

    with os.fdopen(terminal, "w", encoding="utf-8", errors="replace") as stream:
        with Console(file=stream).status(message):
            yield
