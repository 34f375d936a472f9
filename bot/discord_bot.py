"""The Discord bot: ``/ask``, ``/sources``, ``/reindex`` and answers to mentions.

Shaped after discord.py's ``examples/advanced_startup.py``: :class:`RagBot`
receives its engine and settings in the constructor and loads its cog in
``setup_hook``, where commands are synced to the development guild (at once)
or globally.

What it does for the platform's rules and for hostile users:

* every interaction is deferred before retrieval or generation (Discord wants
  an acknowledgement within 3 s); the "thinking…" state is the first sign;
* the engine runs in a worker thread (``asyncio.to_thread``), so heartbeats
  and other users are served while the model works; at most
  ``discord_max_concurrent`` answers run at once, the rest queue (bounded)
  and are told their position; an answer slower than ``discord_timeout_s``
  gets a polite message;
* every message is sent with ``AllowedMentions.none()``: neither the model
  nor an echoed question can ping anyone;
* answers longer than 2,000 characters are split on boundaries; the citations
  are one embed on the last message;
* allow-lists of guilds and channels, DMs off by default, a per-user cooldown,
  the question length limit; errors reach the user as one short line and the
  details go to the log;
* a follow-up in the thread the bot opens under an answer, or a reply to one
  of its answers, is condensed with the conversation before retrieval.

Intents: only the default (non-privileged) ones. Discord delivers message
content to a bot without the Message Content intent for messages that mention
it, so mentions and replies that mention it work; a reply with the mention
switched off arrives empty and is ignored.
"""

from __future__ import annotations

import asyncio
import logging
import re
import signal

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_answer import Answerer
from bot.discord_format import discord_code, discord_name, render_answer, shorten
from rag.config import Settings, redact_secrets
from rag.engine import Engine
from rag.errors import BackendUnavailable, ConfigError, RagbotError
from rag.ingest import ingest

log = logging.getLogger("ragbot.discord")

NO_MENTIONS = discord.AllowedMentions.none()
UNKNOWN_INTERACTION = 10062  # the 3-second acknowledgement window was missed
# Discord bot tokens: three base64url parts separated by dots.
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}$")



class RedactToken(logging.Filter):
    """Replaces the token wherever it would appear in a log record."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        safe = redact_secrets(message.replace(self._token, "[DISCORD_TOKEN]") if self._token else message)
        if safe != message:
            record.msg, record.args = safe, None
        return True


def checked_token(settings: Settings) -> str:
    """The configured token, or ConfigError naming the problem (never the token)."""
    if settings.discord_token is None or not settings.discord_token.get_secret_value().strip():
        raise ConfigError("DISCORD_TOKEN is not set (environment or .env); see docs/discord.md")
    token = settings.discord_token.get_secret_value().strip()
    if not _TOKEN_SHAPE.match(token):
        raise ConfigError("DISCORD_TOKEN is malformed: a bot token has three dot-separated parts")
    return token


def _parent_channel_id(channel: object) -> int | None:
    """A thread counts as its parent channel for the allow-list."""
    if isinstance(channel, discord.Thread):
        return channel.parent_id
    return getattr(channel, "id", None)


class AskCog(commands.Cog):
    def __init__(self, bot: RagBot) -> None:
        self.bot = bot
        self.answerer = bot.answerer

    async def _reject(self, interaction: discord.Interaction, message: str) -> None:
        await interaction.response.send_message(message, ephemeral=True, allowed_mentions=NO_MENTIONS)

    async def _defer(self, interaction: discord.Interaction, ephemeral: bool = False) -> bool:
        try:
            await interaction.response.defer(thinking=True, ephemeral=ephemeral)
            return True
        except discord.NotFound as error:
            if error.code != UNKNOWN_INTERACTION:
                raise
            log.warning("interaction %s expired before it was acknowledged (10062)", interaction.id)
            return False

    @app_commands.command(name="ask", description="Ask the news corpus a question; the answer cites its sources.")
    @app_commands.describe(question="Your question, in English, Danish, Norwegian or German")
    async def ask(self, interaction: discord.Interaction, question: str) -> None:
        refusal = self.answerer.admission(
            interaction.user.id, interaction.guild_id, _parent_channel_id(interaction.channel), question
        )
        if refusal:
            await self._reject(interaction, refusal)
            return
        if not await self._defer(interaction):
            return
        history = self.answerer.conversations.get(getattr(interaction.channel, "id", None))

        async def on_queued(position: int) -> None:
            await interaction.edit_original_response(
                content=f"⏳ Waiting for my turn: you are number {position} in the queue.",
                allowed_mentions=NO_MENTIONS,
            )

        async def show_draft(text: str) -> None:
            await interaction.edit_original_response(content=text, allowed_mentions=NO_MENTIONS)

        result = await self.answerer.answer(question, history, on_queued, show_draft)
        if isinstance(result, str):
            await interaction.edit_original_response(content=result, embed=None, allowed_mentions=NO_MENTIONS)
            return
        messages = render_answer(result)
        first, embed = messages[0]
        sent = await interaction.edit_original_response(
            content=first, embed=embed, allowed_mentions=NO_MENTIONS
        )
        for text, embed in messages[1:]:
            await interaction.followup.send(text, embed=embed or discord.utils.MISSING, allowed_mentions=NO_MENTIONS)
        keys = [sent.id]
        thread = await self._open_thread(interaction, sent, question)
        if thread is not None:
            keys.append(thread.id)
        elif isinstance(interaction.channel, discord.Thread):
            keys.append(interaction.channel.id)
        self.answerer.conversations.add(keys, history, (question, result.answer))

    async def _open_thread(
        self, interaction: discord.Interaction, message: discord.Message, question: str
    ) -> discord.Thread | None:
        """A thread under the answer for follow-ups (text channels only)."""
        if not isinstance(interaction.channel, discord.TextChannel):
            return None
        try:
            return await message.create_thread(name=shorten(question, 90))
        except discord.HTTPException as error:
            # Missing "Create Public Threads" permission: answers still work.
            log.info("no follow-up thread: %s", error.text or error.status)
            return None

    @app_commands.command(name="sources", description="What is indexed: files, languages and sentence counts.")
    async def sources(self, interaction: discord.Interaction) -> None:
        refusal = self.answerer.gate.refusal(interaction.guild_id, _parent_channel_id(interaction.channel))
        if refusal:
            await self._reject(interaction, refusal)
            return
        rows = self.answerer.engine.corpus_summary()
        lines = [f"**{len(rows)} files, {sum(int(r['sentences']) for r in rows)} sentences**"]
        lines += [
            f"• {discord_code(str(r['source']))} ({discord_name(str(r['language']))}, {r['sentences']} sentences) "
            f"{shorten(discord_name(str(r['title'])), 80)}"
            for r in rows
        ]
        text = "\n".join(lines)
        await interaction.response.send_message(shorten(text, 2000), allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="reindex", description="Admins: re-read the corpus folder into the index.")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    async def reindex(self, interaction: discord.Interaction) -> None:
        # default_permissions only hides the command; check again here, with the
        # permissions Discord resolved for this user in this channel.
        if not interaction.permissions.manage_guild:
            await self._reject(interaction, "Only server admins (Manage Server) can reindex.")
            return
        if not await self._defer(interaction, ephemeral=True):
            return
        engine = self.answerer.engine

        def rebuild() -> str:
            report = ingest(engine.settings, engine.settings.corpus_dir, embed_model=engine.embed_model)
            engine.reload()
            return f"Reindexed: {report.summary()}."

        try:
            async with self.answerer.index_lock:
                message = await asyncio.to_thread(rebuild)
        except RagbotError as error:
            log.warning("reindex failed: %s", error)
            message = f"Reindex failed: {error}"
        await interaction.edit_original_response(content=message, allowed_mentions=NO_MENTIONS)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        me = self.bot.user
        if message.author.bot or me is None:
            return
        replying_to = message.reference.message_id if message.reference else None
        history = self.answerer.conversations.get(replying_to) or self.answerer.conversations.get(
            message.channel.id if isinstance(message.channel, discord.Thread) else None
        )
        if me not in message.mentions and not (history and message.content):
            return
        question = re.sub(rf"<@!?{me.id}>", "", message.content).strip()
        if not question:
            return
        refusal = self.answerer.admission(
            message.author.id, message.guild.id if message.guild else None,
            _parent_channel_id(message.channel), question,
        )
        if refusal:
            await message.reply(refusal, allowed_mentions=NO_MENTIONS, mention_author=False)
            return

        async def on_queued(position: int) -> None:
            await message.reply(
                f"⏳ Waiting for my turn: you are number {position} in the queue.",
                allowed_mentions=NO_MENTIONS, mention_author=False,
            )

        draft_message: discord.Message | None = None

        async def show_draft(text: str) -> None:
            nonlocal draft_message
            if draft_message is None:
                draft_message = await message.reply(text, allowed_mentions=NO_MENTIONS, mention_author=False)
            else:
                await draft_message.edit(content=text, allowed_mentions=NO_MENTIONS)

        async with message.channel.typing():
            result = await self.answerer.answer(question, history, on_queued, show_draft)
        pieces = [(result, None)] if isinstance(result, str) else render_answer(result)
        keys = []
        for index, (text, embed) in enumerate(pieces):
            if index == 0 and draft_message is not None:  # the draft becomes the answer
                sent = await draft_message.edit(
                    content=text, embed=embed, allowed_mentions=NO_MENTIONS
                )
            else:
                sent = await message.reply(
                    text, embed=embed or discord.utils.MISSING, allowed_mentions=NO_MENTIONS, mention_author=False
                )
            keys.append(sent.id)
        if isinstance(result, str):
            return
        if isinstance(message.channel, discord.Thread):
            keys.append(message.channel.id)
        self.answerer.conversations.add(keys, history, (question, result.answer))


class RagBot(commands.Bot):
    """The bot; its engine and settings come in through the constructor."""

    def __init__(self, engine: Engine, settings: Settings, **options) -> None:
        intents = discord.Intents.default()  # no privileged intents needed
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            allowed_mentions=NO_MENTIONS,
            help_command=None,
            **options,
        )
        self.settings = settings
        self.answerer = Answerer(engine, settings)

    async def setup_hook(self) -> None:
        await self.add_cog(AskCog(self))
        if self.settings.discord_dev_guild:
            guild = discord.Object(id=self.settings.discord_dev_guild)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("synced %d commands to guild %s", len(synced), self.settings.discord_dev_guild)
        else:
            synced = await self.tree.sync()
            log.info("synced %d commands globally (may take up to an hour to appear)", len(synced))

    async def on_ready(self) -> None:
        log.info("logged in as %s (id %s)", self.user, getattr(self.user, "id", "?"))


def configure_logging(token: str, level: int = logging.INFO) -> None:
    """discord.py's log format, with the token redacted from every record."""
    discord.utils.setup_logging(level=level, root=True)
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactToken(token))
        handler.setLevel(level)  # libraries that set their own logger to DEBUG (bm25s) stay quiet
    # The bot has no voice features: discord.py's warnings about voice libraries are noise.
    discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False


async def serve(bot: RagBot, token: str) -> None:
    """Run until the connection ends or SIGINT/SIGTERM asks to stop (then exit cleanly)."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def stop() -> None:
        log.info("shutting down")
        stopping.set()
        loop.create_task(bot.close())

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop)
    try:
        async with bot:
            await bot.start(token)
    except discord.LoginFailure:
        raise ConfigError("Discord rejected DISCORD_TOKEN (reset it in the developer portal)") from None
    except discord.PrivilegedIntentsRequired:
        raise ConfigError("Discord refused the bot's intents; see docs/discord.md") from None
    except (aiohttp.ClientError, OSError) as error:  # no network, DNS, proxy, TLS
        raise BackendUnavailable(
            f"cannot reach Discord ({type(error).__name__}): check the network connection and any proxy"
        ) from None
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def run_bot(settings: Settings) -> None:
    """``ragbot discord``: check the token, load the engine, serve until stopped."""
    token = checked_token(settings)
    configure_logging(token)
    engine = Engine.load(settings)
    for warning in engine.calibration_warnings():
        log.warning("%s", warning)
    asyncio.run(serve(RagBot(engine, settings), token))
