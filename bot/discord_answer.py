"""Answering for the Discord bot, apart from Discord itself: admission
(allow-lists, cooldown, question checks), the bounded queue, the timeout,
conversation memory, and errors turned into one short line for the user.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict

from bot.discord_draft import DraftSink, DraftStream
from bot.discord_format import discord_safe
from bot.discord_limits import Cooldowns, Gate, GenerationQueue, QueueFull
from rag.answer import Answer
from rag.config import Settings, redact_secrets
from rag.conversation import Turn, remember, validate_question
from rag.engine import Engine
from rag.errors import InvalidQuestion, RagbotError

log = logging.getLogger("ragbot.discord")

CONVERSATIONS_KEPT = 500  # threads/answers whose history is remembered (LRU)
TIMEOUT_MESSAGE = "Sorry, that took too long to answer. Please try again later."
BUSY_MESSAGE = "I'm busy with other questions right now. Please try again in a minute."
FAILURE_MESSAGE = "Sorry, something went wrong while answering. The admin can find details in the log."


class Conversations:
    """Earlier turns per conversation key (a thread id or an answer message id)."""

    def __init__(self) -> None:
        self._turns: OrderedDict[int, list[Turn]] = OrderedDict()

    def get(self, key: int | None) -> list[Turn]:
        return list(self._turns.get(key, [])) if key is not None else []

    def add(self, keys: list[int], history: list[Turn], turn: Turn) -> None:
        turns = remember(history, turn)
        for key in keys:
            self._turns[key] = turns
            self._turns.move_to_end(key)
        while len(self._turns) > CONVERSATIONS_KEPT:
            self._turns.popitem(last=False)


class Answerer:
    """Runs questions through the engine under the admin's limits."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.queue = GenerationQueue(settings.discord_max_concurrent, settings.discord_max_queue)
        self.cooldowns = Cooldowns(settings.discord_cooldown_s)
        self.gate = Gate(
            settings.discord_allowed_guilds, settings.discord_allowed_channels, settings.discord_allow_dms
        )
        self.conversations = Conversations()
        # Reindexing swaps the engine's index: no answers meanwhile.
        self.index_lock = asyncio.Lock()

    def admission(self, user_id: int, guild_id: int | None, channel_id: int | None, question: str) -> str | None:
        """Why this question is not taken (shown to the user), or None."""
        refusal = self.gate.refusal(guild_id, channel_id)
        if refusal:
            return refusal
        try:
            validate_question(question, self.settings.max_question_chars)
        except InvalidQuestion as error:
            return f"Sorry, {discord_safe(str(error))}."
        wait = self.cooldowns.wait_left(user_id)
        if wait:
            return f"Please wait {wait:g} s before your next question."
        return None

    async def answer(
        self, question: str, history: list[Turn], on_queued, on_draft: DraftSink | None = None
    ) -> Answer | str:
        """The Answer, or a short message for the user when it could not be made.

        ``on_draft(text)`` is awaited with the draft so far as the model
        writes it, at most once per ``DRAFT_EDIT_INTERVAL_S``; it is never
        awaited after this returns, so the caller's final message is the last.
        """
        draft = DraftStream()
        pump = asyncio.create_task(draft.pump(on_draft)) if on_draft is not None else None
        try:
            async with self.queue.slot(on_queued):
                async with self.index_lock:
                    return await asyncio.wait_for(
                        asyncio.to_thread(self.engine.ask, question, history, draft.feed),
                        timeout=self.settings.discord_timeout_s,
                    )
        except QueueFull:
            return BUSY_MESSAGE
        except asyncio.TimeoutError:
            log.warning("answer timed out after %.0f s", self.settings.discord_timeout_s)
            return TIMEOUT_MESSAGE
        except RagbotError as error:
            log.warning("engine error: %s", error)
            return f"Sorry, I could not answer: {discord_safe(redact_secrets(str(error)))}"
        except Exception:
            log.exception("unexpected error while answering")
            return FAILURE_MESSAGE
        finally:
            if pump is not None:
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pump
