"""The Discord bot through discord.py's own objects, HTTP and gateway faked.

The engine is a fake with canned answers here (the bot's behaviour is under
test; the engine has its own end-to-end tests), except for one test that
asks the real embedded model through /ask.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from pathlib import Path

import discord
import pytest

from bot.discord_bot import RagBot, RedactToken, configure_logging, serve
from bot.discord_format import MESSAGE_LIMIT, discord_safe
from rag.answer import Answer, Citation
from rag.config import load_settings
from rag.errors import ConfigError, StoreNotBuilt
from tests.conftest import SEEDS
from tests.fake_discord import (
    APP_ID,
    BOT_ID,
    CHANNEL_ID,
    GUILD_ID,
    OTHER_CHANNEL_ID,
    FakeDiscordHTTP,
    guild_payload,
    interaction_payload,
    message_payload,
    settle,
    user_payload,
)

TOKEN = "MTAxMjM0NTY3ODkwMTIzNDU2Nzg.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB"
QUOTE = "Putin har i samme ombæring inviteret Erdogan til Rusland."


class FakeEngine:
    """Canned answers; records calls and the thread they ran on."""

    def __init__(
        self, answer_text: str = "Putin inviterede Erdogan [1].", draft: list[str] = (), piece_s: float = 0.0,
        refused: bool = False,
    ) -> None:
        self.answer_text = answer_text
        self.draft = list(draft)  # pieces streamed to on_token, ``piece_s`` apart
        self.piece_s = piece_s
        self.refused = refused
        self.calls: list[tuple[str, list]] = []
        self.threads: list[threading.Thread] = []
        self.release = threading.Event()
        self.release.set()
        self.error: Exception | None = None
        self.started = threading.Event()

    def ask(self, question: str, history=(), on_token=None) -> Answer:
        self.calls.append((question, list(history)))
        self.threads.append(threading.current_thread())
        self.started.set()
        self.release.wait(10)
        if self.error:
            raise self.error
        for piece in self.draft:
            time.sleep(self.piece_s)
            if on_token is not None:
                on_token(piece)
        if self.refused:
            return Answer(question, self.answer_text, True, "da", [])
        citation = Citation("000_a.txt", QUOTE, 216, 273, "da", "Putin og Erdogan")
        return Answer(question, self.answer_text, False, "da", [citation])

    def corpus_summary(self):
        return [{"source": "000_a.txt", "language": "da", "title": "Putin og Erdogan", "sentences": 12}]


@pytest.fixture
def make_bot(tmp_path: Path):
    bots: list[RagBot] = []

    async def make(engine: FakeEngine | None = None, **settings_overrides) -> tuple[RagBot, FakeDiscordHTTP, FakeEngine]:
        engine = engine or FakeEngine()
        settings = load_settings(
            storage_dir=tmp_path, discord_dev_guild=GUILD_ID, **{"discord_cooldown_s": 0, **settings_overrides}
        )
        bot = RagBot(engine, settings, application_id=APP_ID)
        http = FakeDiscordHTTP()
        # What HTTPClient.static_login sets up, with the REST boundary faked.
        bot.http._HTTPClient__session = http
        bot.http.token = TOKEN
        bot.http._global_over = asyncio.Event()
        bot.http._global_over.set()
        await bot._async_setup_hook()
        bot._connection.user = discord.ClientUser(state=bot._connection, data=user_payload(BOT_ID, "ragbot", bot=True))
        bot._connection.parse_guild_create(guild_payload())
        await bot.setup_hook()
        bots.append(bot)
        return bot, http, engine

    yield make
    for bot in bots:
        release = getattr(bot.answerer.engine, "release", None)
        if release is not None:
            release.set()


async def slash(bot: RagBot, command: str, wait: bool = True, **kwargs) -> None:
    options = {k: v for k, v in kwargs.items() if k in ("question",)}
    rest = {k: v for k, v in kwargs.items() if k not in ("question",)}
    bot._connection.parse_interaction_create(interaction_payload(command, options, **rest))
    if wait:
        await settle()


def first_paths(http: FakeDiscordHTTP) -> list[str]:
    return [f"{s.method} {s.path.split('/')[1]}/{s.path.split('/')[-1]}" for s in http.sent]


async def test_commands_are_synced_to_the_dev_guild(make_bot) -> None:
    _, http, _ = await make_bot()
    sync = [s for s in http.sent if s.method == "PUT" and s.path.endswith("/commands")]
    assert sync and f"/guilds/{GUILD_ID}/" in sync[0].path
    assert {c["name"] for c in sync[0].body} == {"ask", "sources", "reindex"}
    reindex = next(c for c in sync[0].body if c["name"] == "reindex")
    assert int(reindex["default_member_permissions"]) == discord.Permissions(manage_guild=True).value


async def test_ask_defers_before_work_then_answers_with_citation_embed(make_bot) -> None:
    bot, http, engine = await make_bot()
    await slash(bot, "ask", question="Hvem har Putin inviteret?")
    assert engine.calls == [("Hvem har Putin inviteret?", [])]
    callback = http.sent.index(next(s for s in http.sent if s.path.endswith("/callback")))
    assert http.sent[callback].body["type"] == 5  # deferred "thinking…", before any answer
    edit = next(s for s in http.sent if s.method == "PATCH" and s.path.endswith("@original"))
    assert http.sent.index(edit) > callback
    assert edit.body["content"] == "Putin inviterede Erdogan [1]."
    [embed] = edit.body["embeds"]
    assert QUOTE in embed["fields"][0]["value"] and "000\\_a.txt" in embed["fields"][0]["name"]  # escaped: not italics
    assert engine.threads[0] is not threading.main_thread()  # off the event loop
    # A thread is opened under the answer for follow-ups.
    assert any(s.path.endswith("/threads") for s in http.sent)


async def test_every_message_allows_no_mentions(make_bot) -> None:
    engine = FakeEngine("@everyone look <@123> " + "Lang svar. " * 400)
    bot, http, _ = await make_bot(engine)
    await slash(bot, "ask", question="@everyone hvem?")
    await slash(bot, "sources")
    sends = http.messages()
    assert len(sends) >= 3
    for body in sends:
        assert body["allowed_mentions"] == {"parse": []}, body


async def test_long_answer_with_code_block_is_split_without_loss(make_bot) -> None:
    code = "```python\n" + "".join(f"print({i})\n" for i in range(400)) + "```\n"
    text = "Svaret følger. " * 100 + "\n\n" + code + "Slut [1]."
    assert len(text) > 5000
    bot, http, _ = await make_bot(FakeEngine(text))
    await slash(bot, "ask", question="Hvad?")
    parts = [body for body in http.messages() if body.get("content")]
    assert len(parts) >= 3 and all(len(p["content"]) <= MESSAGE_LIMIT for p in parts)
    assert [bool(p.get("embeds")) for p in parts] == [False] * (len(parts) - 1) + [True]
    # Markup in an answer (it may be copied from an article) renders as text: no fence
    # opens, and the escaped answer arrives whole.
    rebuilt = "".join(p["content"] for p in parts)
    assert "```" not in rebuilt and rebuilt == discord_safe(text)


async def test_allow_list_refuses_without_calling_the_engine(make_bot) -> None:
    bot, http, engine = await make_bot(discord_allowed_channels=[OTHER_CHANNEL_ID])
    await slash(bot, "ask", question="Hvem?", channel_id=CHANNEL_ID)
    assert engine.calls == []
    [callback] = [s for s in http.sent if s.path.endswith("/callback")]
    assert callback.body["type"] == 4 and callback.body["data"]["flags"] == 64  # ephemeral reply
    assert "channel" in callback.body["data"]["content"]


async def test_dms_are_off_by_default(make_bot) -> None:
    bot, http, engine = await make_bot()
    await slash(bot, "ask", question="Hvem?", guild_id=None)
    assert engine.calls == []
    assert "direct messages" in http.sent[-1].body["data"]["content"]


async def test_cooldown_per_user(make_bot) -> None:
    bot, http, engine = await make_bot(discord_cooldown_s=60)
    await slash(bot, "ask", question="Første?", user_id=1)
    await slash(bot, "ask", question="Anden?", user_id=1)
    await slash(bot, "ask", question="Tredje?", user_id=2)
    assert [q for q, _ in engine.calls] == ["Første?", "Tredje?"]
    assert any("Please wait" in text for text in http.texts())


async def test_concurrency_cap_queues_and_tells_the_position(make_bot) -> None:
    bot, http, engine = await make_bot(discord_max_concurrent=1, discord_max_queue=1)
    engine.release.clear()
    await slash(bot, "ask", wait=False, question="Første?", user_id=1)
    await asyncio.to_thread(engine.started.wait, 5)
    await slash(bot, "ask", wait=False, question="Anden?", user_id=2)
    await slash(bot, "ask", wait=False, question="Tredje?", user_id=3)
    for _ in range(50):
        await asyncio.sleep(0.02)
        texts = " ".join(http.texts())
        if "number 1 in the queue" in texts and "busy" in texts:
            break
    # While the model works the bot still serves other commands.
    await slash(bot, "sources", wait=False, user_id=4)
    await asyncio.sleep(0.1)
    assert any("000_a.txt" in t for t in http.texts())
    assert len(engine.calls) == 1
    engine.release.set()
    await settle()
    assert [q for q, _ in engine.calls] == ["Første?", "Anden?"]
    assert "number 1 in the queue" in " ".join(http.texts())
    assert "busy" in " ".join(http.texts())  # the third exceeded the queue of one


async def test_timeout_gives_a_polite_message(make_bot) -> None:
    bot, http, engine = await make_bot(discord_timeout_s=0.2)
    engine.release.clear()
    await slash(bot, "ask", question="Langsom?")
    engine.release.set()
    assert "took too long" in http.texts()[-1]


async def test_unknown_interaction_is_logged_as_warning(make_bot, caplog) -> None:
    bot, http, engine = await make_bot()
    http.fail["/callback"] = (404, {"code": 10062, "message": "Unknown interaction"})
    with caplog.at_level(logging.WARNING, logger="ragbot.discord"):
        await slash(bot, "ask", question="For sent?")
    assert engine.calls == []
    assert "10062" in caplog.text


async def test_engine_error_becomes_a_user_message(make_bot, caplog) -> None:
    engine = FakeEngine()
    engine.error = StoreNotBuilt("the store has not been built yet: run `ragbot ingest`")
    bot, http, _ = await make_bot(engine)
    await slash(bot, "ask", question="Hvem?")
    assert http.texts()[-1].startswith("Sorry, I could not answer: the store has not been built")
    engine.error = RuntimeError("segfault in matrix code")
    with caplog.at_level(logging.ERROR, logger="ragbot.discord"):
        await slash(bot, "ask", question="Hvem nu?", user_id=7)
    assert "segfault" not in http.texts()[-1] and "log" in http.texts()[-1]
    assert "segfault" in caplog.text


async def test_reindex_is_for_admins_only(make_bot) -> None:
    bot, http, engine = await make_bot()
    await slash(bot, "reindex", permissions="0")
    assert "Only server admins" in http.sent[-1].body["data"]["content"]


async def test_mention_and_follow_up_reply_carry_the_conversation(make_bot) -> None:
    bot, http, engine = await make_bot()
    author = user_payload(1001, "alice")
    mention = message_payload(CHANNEL_ID, f"<@{BOT_ID}> Hvem har Putin inviteret?", author,
                              mentions=[user_payload(BOT_ID, "ragbot", bot=True)], guild_id=str(GUILD_ID))
    bot._connection.parse_message_create(mention)
    await settle()
    assert engine.calls[0] == ("Hvem har Putin inviteret?", [])
    reply = next(s for s in http.sent if s.method == "POST" and s.path.endswith("/messages"))
    assert reply.body["allowed_mentions"] == {"parse": [], "replied_user": False}
    assert any(s.path.endswith("/typing") for s in http.sent)  # the first visible sign
    # A reply to the bot's answer (mentioning it, as replies do by default) is a follow-up.
    follow = message_payload(
        CHANNEL_ID, f"<@{BOT_ID}> og hvad med Iran?", author, guild_id=str(GUILD_ID),
        mentions=[user_payload(BOT_ID, "ragbot", bot=True)],
        message_reference={"message_id": reply.response["id"], "channel_id": str(CHANNEL_ID)},
    )
    bot._connection.parse_message_create(follow)
    await settle()
    assert engine.calls[1] == (
        "og hvad med Iran?", [("Hvem har Putin inviteret?", "Putin inviterede Erdogan [1].")]
    )


async def test_token_never_reaches_the_logs(caplog) -> None:
    """A failed login at DEBUG level: the token appears nowhere."""

    class RejectingBot:
        async def __aenter__(self):
            return self

        async def __aexit__(self, *exc):
            return None

        async def start(self, token: str) -> None:
            logging.getLogger("discord.http").debug("login with %s", token)  # what a leak would look like
            raise discord.LoginFailure("Improper token has been passed.")

        async def close(self) -> None:
            return None

    redact = RedactToken(TOKEN)  # what configure_logging puts on every handler
    caplog.handler.addFilter(redact)
    try:
        with caplog.at_level(logging.DEBUG):
            with pytest.raises(ConfigError) as error:
                await serve(RejectingBot(), TOKEN)
    finally:
        caplog.handler.removeFilter(redact)
    assert TOKEN not in caplog.text and "[DISCORD_TOKEN]" in caplog.text
    assert TOKEN not in str(error.value) and "rejected DISCORD_TOKEN" in str(error.value)


def test_configure_logging_redacts_on_every_handler() -> None:
    configure_logging(TOKEN, level=logging.DEBUG)
    try:
        handlers = logging.getLogger().handlers
        assert handlers and all(any(isinstance(f, RedactToken) for f in h.filters) for h in handlers)
    finally:
        for handler in list(logging.getLogger().handlers):
            if any(isinstance(f, RedactToken) for f in handler.filters):
                logging.getLogger().removeHandler(handler)


async def test_sigterm_closes_the_client_and_returns() -> None:
    class IdleBot:
        closed = False

        def __init__(self) -> None:
            self._stop = asyncio.Event()

        async def __aenter__(self):
            return self

        async def __aexit__(self, *exc):
            return None

        async def start(self, token: str) -> None:
            asyncio.get_running_loop().call_later(0.1, os.kill, os.getpid(), signal.SIGTERM)
            await self._stop.wait()

        async def close(self) -> None:
            self.closed = True
            self._stop.set()

    bot = IdleBot()
    await asyncio.wait_for(serve(bot, TOKEN), timeout=5)
    assert bot.closed


@pytest.mark.slow
async def test_ask_through_the_real_engine(make_bot, qwen_engine) -> None:
    bot, http, _ = await make_bot(qwen_engine)
    await slash(bot, "ask", question="Hvem har Putin inviteret til Rusland?")
    *drafts, edit = [s for s in http.sent if s.method == "PATCH" and s.path.endswith("@original")]
    assert all(d.body["content"].endswith(" ▌") for d in drafts)  # the model's draft, streamed
    assert "Erdogan" in edit.body["content"] and not edit.body["content"].endswith(" ▌")
    assert "Putin har i samme ombæring inviteret Erdogan til Rusland." in edit.body["embeds"][0]["fields"][0]["value"]


@pytest.mark.slow
async def test_admin_reindex_reports_what_changed(make_bot, qwen_engine, monkeypatch) -> None:
    monkeypatch.setattr(qwen_engine, "settings", qwen_engine.settings.model_copy(update={"corpus_dir": SEEDS}))
    bot, http, _ = await make_bot(qwen_engine)
    manage_guild = str(discord.Permissions(manage_guild=True).value)
    await slash(bot, "reindex", permissions=manage_guild)
    callback = next(s for s in http.sent if s.path.endswith("/callback"))
    assert callback.body["data"]["flags"] == 64  # deferred privately
    # The seeds are already indexed: nothing is embedded again.
    assert http.texts()[-1].startswith("Reindexed: 0 added, 0 updated, 0 removed")


# --- the draft, streamed ------------------------------------------------------------

DRAFT = [f"ord{i} " for i in range(12)]  # 12 pieces 0.3 s apart: a 3.6 s answer


def draft_edits(http: FakeDiscordHTTP, path_end: str) -> list:
    return [s for s in http.sent if s.method == "PATCH" and s.path.endswith(path_end)
            and s.body.get("content", "").endswith(" ▌")]


async def test_slash_answer_streams_its_draft_then_the_checked_answer_replaces_it(make_bot) -> None:
    bot, http, _ = await make_bot(FakeEngine(draft=DRAFT, piece_s=0.3))
    await slash(bot, "ask", question="Hvem har Putin inviteret?")
    edits = draft_edits(http, "@original")
    assert 2 <= len(edits) <= 4  # about one per second of drafting
    assert all(b.at - a.at >= 0.9 for a, b in zip(edits, edits[1:]))  # within Discord's edit rate
    assert edits[0].body["content"].startswith("ord0 ")
    assert all(e.body["allowed_mentions"] == {"parse": []} for e in edits)  # drafts ping nobody
    final = [s for s in http.sent if s.method == "PATCH" and s.path.endswith("@original")][-1]
    assert final.body["content"] == "Putin inviterede Erdogan [1]." and final.body["embeds"]
    assert final.at > edits[-1].at


async def test_a_refusal_replaces_the_draft(make_bot) -> None:
    engine = FakeEngine("Det kan jeg ikke svare på ud fra artiklerne.", draft=DRAFT, piece_s=0.3, refused=True)
    bot, http, _ = await make_bot(engine)
    await slash(bot, "ask", question="Hvem vandt valget?")
    assert draft_edits(http, "@original")
    final = [s for s in http.sent if s.method == "PATCH" and s.path.endswith("@original")][-1]
    assert final.body["content"] == "Det kan jeg ikke svare på ud fra artiklerne." and final.body.get("embeds") in (None, [])


async def test_an_overlong_draft_fits_one_message_and_the_answer_is_split(make_bot) -> None:
    long = "Lang sætning om topmødet. " * 100  # 2,600 characters, then the draft idles 2 s
    bot, http, _ = await make_bot(FakeEngine(long, draft=[long, "", ""], piece_s=0.8))
    await slash(bot, "ask", question="Fortæl om topmødet")
    edits = draft_edits(http, "@original")
    assert edits and all(len(e.body["content"]) <= MESSAGE_LIMIT for e in edits)
    assert edits[-1].body["content"].endswith("… ▌")  # cut to fit one message, marked unfinished
    assert "".join(http.texts()[-2:]) == long  # the final answer, in two messages, nothing lost


async def test_mention_reply_streams_into_one_message(make_bot) -> None:
    bot, http, _ = await make_bot(FakeEngine(draft=DRAFT, piece_s=0.3))
    mention = message_payload(CHANNEL_ID, f"<@{BOT_ID}> Hvem har Putin inviteret?", user_payload(1001, "alice"),
                              mentions=[user_payload(BOT_ID, "ragbot", bot=True)], guild_id=str(GUILD_ID))
    bot._connection.parse_message_create(mention)
    await settle()
    replies = [s for s in http.sent if s.method == "POST" and s.path.endswith("/messages")]
    assert len(replies) == 1 and replies[0].body["content"].endswith(" ▌")  # the first draft
    edits = [s for s in http.sent if s.method == "PATCH" and s.path.endswith(f"/messages/{replies[0].response['id']}")]
    assert edits[-1].body["content"] == "Putin inviterede Erdogan [1]." and edits[-1].body["embeds"]
    assert all(e.body["allowed_mentions"]["parse"] == [] for e in [replies[0], *edits])
