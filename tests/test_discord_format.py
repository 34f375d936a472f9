"""Pure parts of the Discord bot: message splitting, citation embeds, limits."""

from __future__ import annotations

import asyncio

import pytest

from bot.discord_format import citations_embed, shorten, split_message, split_pieces
from bot.discord_limits import Cooldowns, Gate, GenerationQueue, QueueFull
from rag.answer import Citation


@pytest.mark.parametrize(
    "text",
    [
        "",
        "short",
        "x" * 2000,
        "x" * 2001,  # no boundary at all: a hard cut
        "Sætning. " * 500,  # sentences only
        ("Afsnit med tekst. " * 30 + "\n\n") * 10,  # paragraphs
        "```\n" + "kode\n" * 900 + "```",  # one huge code block, no language tag
        "Før.\n```sql\n" + "SELECT 1;\n" * 400 + "```\nEfter æøå 🙂.",
        "🙂" * 4100,  # astral characters count once each
    ],
)
def test_split_keeps_every_character_and_the_limit(text: str) -> None:
    pieces = split_pieces(text)
    assert "".join(body for _, body, _ in pieces) == text
    messages = split_message(text)
    assert all(len(m) <= 2000 for m in messages)
    assert all(m.count("```") % 2 == 0 for m in messages)
    assert (messages == []) == (text == "")


def test_split_prefers_paragraphs_over_sentences() -> None:
    text = "A" * 1500 + ".\n\n" + "B. " * 300
    first = split_message(text)[0]
    assert first.endswith("\n\n")


def test_citations_embed_shortens_quotes_and_numbers_them() -> None:
    long_quote = "Ord " * 400
    embed = citations_embed(
        [Citation("000_a.txt", "Kort citat.", 0, 11, "da", "Overskrift"), Citation("b.txt", long_quote, 0, 1600)]
    )
    assert embed is not None
    first, second = embed.fields
    # The file name is escaped (Discord shows "000_a.txt", not an italic "a.txt").
    assert first.name == "[1] 000\\_a.txt (da · Overskrift)" and first.value == "> Kort citat."
    assert second.name.startswith("[2] b.txt") and len(second.value) <= 1024 and second.value.endswith("…")
    assert citations_embed([]) is None


def test_shorten_leaves_short_text_alone() -> None:
    assert shorten("kort", 10) == "kort"
    assert len(shorten("x" * 50, 10)) == 10


def test_gate_allow_lists() -> None:
    gate = Gate(allowed_guilds=[1], allowed_channels=[10], allow_dms=True)
    assert gate.refusal(1, 10) is None
    assert gate.refusal(2, 10) == "I don't answer in this server."
    assert gate.refusal(1, 11) == "I don't answer in this channel."
    assert gate.refusal(None, 5) is None


def test_cooldown_restarts_after_the_wait() -> None:
    now = [0.0]
    cooldowns = Cooldowns(5.0, clock=lambda: now[0])
    assert cooldowns.wait_left(1) == 0.0
    now[0] = 3.0
    assert cooldowns.wait_left(1) == 2.0 and cooldowns.wait_left(2) == 0.0
    now[0] = 5.5
    assert cooldowns.wait_left(1) == 0.0


async def test_queue_positions_and_bound() -> None:
    queue = GenerationQueue(max_concurrent=1, max_waiting=2)
    positions: list[int] = []
    release = asyncio.Event()

    async def job() -> None:
        async with queue.slot(positions.append):
            await release.wait()

    tasks = [asyncio.create_task(job()) for _ in range(3)]
    await asyncio.sleep(0.01)
    assert positions == [1, 2] and queue.waiting == 2
    with pytest.raises(QueueFull):
        async with queue.slot():
            pass
    release.set()
    await asyncio.gather(*tasks)
    assert queue.waiting == 0 and queue.position() == 0
