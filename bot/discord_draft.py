"""The answer's draft shown in Discord while the model writes it.

The engine calls :meth:`DraftStream.feed` from its worker thread with each
piece of the draft; :meth:`DraftStream.pump` edits the bot's message with
the draft so far, at most once per ``DRAFT_EDIT_INTERVAL_S`` (Discord allows
about five edits per five seconds per channel), until it is cancelled. The
checked answer, or a refusal, then replaces the draft: a draft is never the
last word, since the verify stage may still refuse it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable

import discord

from bot.discord_format import MESSAGE_LIMIT, discord_safe, shorten

log = logging.getLogger("ragbot.discord")

DraftSink = Callable[[str], Awaitable[object]]
DRAFT_EDIT_INTERVAL_S = 1.0  # Discord allows about 5 edits per 5 s per channel
DRAFT_MARK = " ▌"  # shows the draft is still being written


class DraftStream:
    r"""The answer's draft, fed from the engine's thread, shown by periodic edits.

    >>> stream = DraftStream()
    >>> stream.feed("Putin *invited* "); stream.feed("Erdogan")
    >>> print(stream.preview())
    Putin \*invited\* Erdogan ▌
    """

    def __init__(self, interval_s: float = DRAFT_EDIT_INTERVAL_S) -> None:
        self.interval_s = interval_s
        self._text = ""
        self._lock = threading.Lock()

    def feed(self, piece: str) -> None:
        with self._lock:  # called from the engine's worker thread
            self._text += piece

    def preview(self) -> str:
        """The draft as one Discord message: escaped, cut to fit, marked as unfinished."""
        with self._lock:
            text = self._text
        return shorten(discord_safe(text), MESSAGE_LIMIT - len(DRAFT_MARK)) + DRAFT_MARK if text.strip() else ""

    async def pump(self, show: DraftSink) -> None:
        """Show the draft whenever it changed, at most once per interval, until cancelled."""
        shown = ""
        while True:
            await asyncio.sleep(self.interval_s)
            preview = self.preview()
            if preview and preview != shown:
                try:
                    await show(preview)
                except discord.HTTPException as error:  # a lost draft edit only delays the answer
                    log.info("draft edit failed: %s", error.text or error.status)
                shown = preview
