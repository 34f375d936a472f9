"""Turning an :class:`~rag.answer.Answer` into Discord messages (pure functions).

Discord caps a message at 2,000 characters and an embed at 6,000 (a field
value at 1,024). The answer text is split on paragraph, then line, then
sentence, then word boundaries; a code block cut in two is closed at the end
of one message and reopened at the start of the next, so each message
renders correctly and no character of the answer is lost. Citations go in
one embed, attached to the last message, so they are never split.

>>> split_message("a" * 10, limit=4)
['aaaa', 'aaaa', 'aa']
>>> split_message("One. Two.", limit=6)
['One. ', 'Two.']
"""

from __future__ import annotations

import re

import discord

from rag.answer import Answer, Citation, related_label
from rag.controls import one_line, strip_controls

MESSAGE_LIMIT = 2000
FIELD_LIMIT = 1024
EMBED_FIELDS = 25
_FENCE = "```"
_OPENING = re.compile(r"```(\w*)")
# Preferred cut points, best first: after a blank line, a line, a sentence, a space.
_BOUNDARIES = (re.compile(r"\n\s*\n"), re.compile(r"\n"), re.compile(r"[.!?]\s+"), re.compile(r"\s+"))


_INLINE_MARKUP = re.compile(r"([\\*_~|`<])")  # emphasis, code, spoilers, mention and emoji tags
_LINK_OPENING = re.compile(r"\[(?=[^\]\n]*\]\()")  # the "[" of a masked link "[text](url)"; "[1]" stays
_LINE_MARKUP = re.compile(r"(?m)^(\s*)([#>-])")  # headings, quotes, list items
_URL = re.compile(r"https?://\S+")


def discord_safe(text: str) -> str:
    r"""``text`` (from articles or the model) escaped so that Discord shows it as plain text.

    Markdown, masked links, headings, quotes, spoilers, mentions, channel
    and emoji tags all render as the characters they are; control
    characters are dropped; a bare URL is left whole (escaping inside it
    would change where it leads). The JSON contract keeps quotes verbatim;
    this is only for what Discord renders.

    >>> print(discord_safe("[official page](http://evil.example/a_b) **now** @everyone <@1234>"))
    \[official page](http://evil.example/a_b) \*\*now\*\* @​everyone \<@1234>
    """
    text = strip_controls(text)
    pieces, done = [], 0
    for url in _URL.finditer(text):
        pieces += [_escape(text[done : url.start()]), url.group()]
        done = url.end()
    pieces.append(_escape(text[done:]))
    return discord.utils.escape_mentions("".join(pieces))


def discord_name(text: str) -> str:
    r"""A file name or title for one line of a message or an embed field name: as
    :func:`discord_safe`, with line breaks shown as ␤ (a newline in a file name must
    not start a line of its own, a forged citation).

    >>> print(discord_name("a_b.txt\n> [2] forged.txt"))
    a\_b.txt␤> [2] forged.txt
    """
    return discord_safe(one_line(text))


def discord_code(text: str) -> str:
    r"""``text`` inside a code span (`` `name` ``): one line, no controls, and no
    backtick that would close the span early (shown as the look-alike U+02CB).

    >>> discord_code("evil`**bold**`\n.txt")
    '`evilˋ**bold**ˋ␤.txt`'
    """
    return "`" + one_line(text).replace("`", "\u02cb") + "`"


def _escape(text: str) -> str:
    return _LINE_MARKUP.sub(r"\1\\\2", _LINK_OPENING.sub(r"\\[", _INLINE_MARKUP.sub(r"\\\1", text)))


def _cut(text: str, limit: int) -> int:
    """Where to end the first message: the last good boundary within ``limit``."""
    if len(text) <= limit:
        return len(text)
    limit = max(1, limit)
    window = text[:limit]
    for boundary in _BOUNDARIES:
        ends = [m.end() for m in boundary.finditer(window) if m.end() > limit // 4]
        if ends:
            return ends[-1]
    return limit


def _unclosed_fence(text: str) -> str | None:
    """The language tag of a code block left open at the end of ``text``."""
    fences = _OPENING.findall(text)
    return fences[-1] if len(fences) % 2 == 1 else None


def split_pieces(text: str, limit: int = MESSAGE_LIMIT) -> list[tuple[str, str, str]]:
    r"""``text`` as (reopened fence, slice of text, closing fence) triples.

    The slices, joined, are exactly ``text``; each triple joined is at most
    ``limit`` characters.

    >>> text = "Intro\n```py\n" + "x = 1\n" * 5 + "```\nEnd"
    >>> "".join(body for _, body, _ in split_pieces(text, limit=30)) == text
    True
    """
    pieces: list[tuple[str, str, str]] = []
    reopen = ""  # the fence line that starts the next piece, when inside code
    rest = text
    while rest:
        room = limit - len(reopen)
        end = len(rest) if len(rest) <= room else _cut(rest, room)
        if _unclosed_fence(reopen + rest[:end]) is not None and end < len(rest):
            end = _cut(rest, max(1, room - len(_FENCE) - 1))  # leave room to close it
        body, rest = rest[:end], rest[end:]
        language = _unclosed_fence(reopen + body)
        close = ""
        next_reopen = ""
        if language is not None and rest:
            close = ("" if body.endswith("\n") else "\n") + _FENCE
            next_reopen = f"{_FENCE}{language}\n"
        pieces.append((reopen, body, close))
        reopen = next_reopen
    return pieces


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """``text`` in messages of at most ``limit`` characters, cut at boundaries;
    a code block spanning a cut is closed and reopened (see :func:`split_pieces`)."""
    return ["".join(piece) for piece in split_pieces(text, limit)]


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters at a word, with an ellipsis.

    >>> shorten("The talks lasted about three hours.", 20)
    'The talks lasted …'
    """
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    return (cut[: space + 1] if space > limit // 2 else cut) + "…"


def citations_embed(citations: list[Citation]) -> discord.Embed | None:
    """One embed listing the citations: file, language, headline, the quote.

    Quotes are shortened to fit a field; at most 25 citations fit an embed,
    far more than an answer has.
    """
    if not citations:
        return None
    embed = discord.Embed(title="Sources", colour=discord.Colour.blurple())
    for number, citation in enumerate(citations[:EMBED_FIELDS], start=1):
        about = " · ".join(discord_name(part) for part in (citation.language, citation.title) if part)
        name = shorten(f"[{number}] {discord_name(citation.source)}" + (f" ({about})" if about else ""), 256)
        embed.add_field(name=name, value=shorten(f"> {discord_safe(one_line(citation.quote, ' '))}", FIELD_LIMIT), inline=False)
    return embed


def related_embed(answer: Answer) -> discord.Embed | None:
    """A refusal's nearest passages in one embed, titled as related passages,
    not an answer: file, language, headline, the quote and its offsets."""
    if not answer.related:
        return None
    embed = discord.Embed(title=related_label(answer.language), colour=discord.Colour.light_grey())
    for citation in answer.related[:EMBED_FIELDS]:
        about = " · ".join(discord_name(part) for part in (citation.language, citation.title) if part)
        name = shorten(discord_name(citation.source) + (f" ({about})" if about else ""), 256)
        where = f"\ncharacters {citation.start}–{citation.end}"
        embed.add_field(name=name, value=shorten(f"> {discord_safe(one_line(citation.quote, ' '))}", FIELD_LIMIT - len(where)) + where,
                        inline=False)
    return embed


def render_answer(answer: Answer) -> list[tuple[str, discord.Embed | None]]:
    """Messages to send for ``answer``: text pieces, the citations (or a
    refusal's related passages) on the last."""
    pieces = split_message(discord_safe(answer.answer)) or ["…"]  # Discord rejects an empty message
    embed = citations_embed(answer.citations) or related_embed(answer)
    return [(piece, embed if index == len(pieces) - 1 else None) for index, piece in enumerate(pieces)]
