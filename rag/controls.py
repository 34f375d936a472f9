r"""Terminal escape sequences and control characters, removed.

They carry no meaning in a question or in what ragbot prints, and in
article text or file names they are an attack on whoever reads the output
(clearing the screen, retitling the window, faking a prompt).

>>> strip_controls("evil\x1b]0;owned\x07name\x1b[2J.txt")
'evilname.txt'
>>> strip_controls("two\nlines\tand a tab\r")
'two\nlines\tand a tab'
"""

from __future__ import annotations

import re

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), two-character escapes, a lone ESC.
_ESCAPE_SEQUENCE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])?")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # every C0/C1 control but tab and newline


def strip_controls(text: str) -> str:
    """``text`` without escape sequences and control characters (tab and newline kept)."""
    return _CONTROL.sub("", _ESCAPE_SEQUENCE.sub("", text))
