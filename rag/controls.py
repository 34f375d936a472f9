r"""Terminal escape sequences, control and format characters, removed.

They carry no meaning in a question or in what ragbot prints, and in
article text or file names they are an attack on whoever reads the output
(clearing the screen, retitling the window, faking a prompt). Unicode
format characters (category Cf) are the quieter version of the same
attack: a right-to-left override (U+202E) or isolate (U+2066-U+2069) shows
``evil‮txt.exe`` as ``evilexe.txt``, and invisible tag characters smuggle
text past a reader. They all go, except the zero-width joiner and non-joiner
(U+200C, U+200D), which only join letters and emoji and cannot reorder or
hide text. This module is the one place that decides what is printable:
the terminal (:mod:`bot.terminal`), Discord (:mod:`bot.discord_format`) and
question cleaning all use it.

>>> strip_controls("evil\x1b]0;owned\x07name\x1b[2J.txt")
'evilname.txt'
>>> strip_controls("two\nlines\tand a tab\r")
'two\nlines\tand a tab'
>>> strip_controls("report\u202etxt.exe \u2066x\u2069 a\u2028b")
'reporttxt.exe x a\nb'

A file name or title is shown on one line, where a newline in it could
start a line of its own (a forged citation): :func:`one_line` replaces
every line break with a visible mark.

>>> one_line("a.txt\n[2] forged.txt · en")
'a.txt␤[2] forged.txt · en'
>>> one_line("Title\r\nsecond line", newline=" ")
'Title second line'
"""

from __future__ import annotations

import re

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), two-character escapes, a lone ESC.
_ESCAPE_SEQUENCE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])?")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # every C0/C1 control but tab and newline
# Unicode category Cf (format characters) as of Unicode 15, less U+200C/U+200D;
# tests/test_hostile_input.py checks this against the running Python's unicodedata.
_FORMAT = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u200e\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
)
_SEPARATOR = re.compile("[\u2028\u2029]")  # line and paragraph separators: shown as the newline they are
# Everything str.splitlines() breaks at, CR LF as one break.
_LINE_BREAK = re.compile("\r\n|[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
NEWLINE_MARK = "␤"  # U+2424 SYMBOL FOR NEWLINE


def strip_controls(text: str) -> str:
    """``text`` without escape sequences, control and format characters (tab and newline kept;
    U+2028/U+2029 become newlines)."""
    text = _SEPARATOR.sub("\n", _ESCAPE_SEQUENCE.sub("", text))
    return _FORMAT.sub("", _CONTROL.sub("", text))


def one_line(text: str, newline: str = NEWLINE_MARK) -> str:
    """``text`` as :func:`strip_controls` leaves it, on one line: every line break is ``newline``."""
    return strip_controls(_LINE_BREAK.sub(newline, _ESCAPE_SEQUENCE.sub("", text)))
