"""The limits a server admin sets for the Discord bot, without Discord in them.

* :class:`Gate`: which guilds and channels (and whether DMs) the bot serves.
* :class:`Cooldowns`: seconds a user waits between questions.
* :class:`GenerationQueue`: at most N answers at a time, a bounded queue
  behind them, each caller told its place.

>>> cooldowns = Cooldowns(10.0, clock=lambda: 100.0)
>>> cooldowns.wait_left(7), cooldowns.wait_left(7)
(0.0, 10.0)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass
class Gate:
    allowed_guilds: list[int] = field(default_factory=list)
    allowed_channels: list[int] = field(default_factory=list)
    allow_dms: bool = False

    def refusal(self, guild_id: int | None, channel_id: int | None) -> str | None:
        """Why the bot does not answer here, or None when it does.

        ``channel_id`` is the channel, or a thread's parent channel.

        >>> Gate(allowed_channels=[5]).refusal(1, 6)
        "I don't answer in this channel."
        >>> Gate().refusal(None, 9)
        "I don't answer direct messages here; ask in a server channel."
        """
        if guild_id is None:
            return None if self.allow_dms else "I don't answer direct messages here; ask in a server channel."
        if self.allowed_guilds and guild_id not in self.allowed_guilds:
            return "I don't answer in this server."
        if self.allowed_channels and channel_id not in self.allowed_channels:
            return "I don't answer in this channel."
        return None


class Cooldowns:
    """Per-user cooldown; asking starts the user's next wait."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._seconds = seconds
        self._clock = clock
        self._last: dict[int, float] = {}

    def wait_left(self, user_id: int) -> float:
        """Seconds the user must still wait (0.0: go ahead, and the wait restarts)."""
        now = self._clock()
        last = self._last.get(user_id)
        if last is not None and now - last < self._seconds:
            return round(self._seconds - (now - last), 1)
        self._last[user_id] = now
        return 0.0


class QueueFull(Exception):
    """More questions are waiting than the admin allows."""


class GenerationQueue:
    """A semaphore with a visible, bounded waiting line."""

    def __init__(self, max_concurrent: int, max_waiting: int) -> None:
        self._slots = asyncio.Semaphore(max_concurrent)
        self._max_waiting = max_waiting
        self._waiting = 0

    @property
    def waiting(self) -> int:
        return self._waiting

    def position(self) -> int:
        """Place a new caller would take: 0 means it runs at once."""
        return 0 if not self._slots.locked() else self._waiting + 1

    @asynccontextmanager
    async def slot(self, on_queued: Callable[[int], object] | None = None):
        """Hold a generation slot; ``on_queued(position)`` is awaited if it must wait."""
        position = self.position()
        if position:
            if self._waiting >= self._max_waiting:
                raise QueueFull
            self._waiting += 1
            try:
                if on_queued is not None:
                    result = on_queued(position)
                    if asyncio.iscoroutine(result):
                        await result
                await self._slots.acquire()
            finally:
                self._waiting -= 1
        else:
            await self._slots.acquire()
        try:
            yield
        finally:
            self._slots.release()
