"""Useful refusals: a refusal shows the nearest passages, verbatim, labelled as not an answer.

Over the real seeded store with the model scripted (tests/test_answer.py);
the same passages reach the JSON contract, the terminal and Discord.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from bot.chat import render_answer as render_in_terminal
from bot.discord_format import render_answer as render_for_discord
from rag.answer import RELATED_LABELS, Answer, Citation
from rag.generate import Draft

from .conftest import SEEDS
from .test_answer import ScriptedChat, citing, engine_with


def _refused(seeded_store: Path, nano_e5, question: str) -> Answer:
    """``question`` answered by a model that finds no sentence that states it."""
    return engine_with(seeded_store, nano_e5, ScriptedChat(lambda lines: Draft([], ""))).ask(question)


def test_a_refusal_shows_up_to_three_nearest_passages_verbatim(seeded_store: Path, nano_e5) -> None:
    answer = _refused(seeded_store, nano_e5, "Hvilken farve havde bordet ved mødet i Moskva?")
    assert answer.refused and answer.citations == []
    assert 1 <= len(answer.related) <= 3
    for passage in answer.related:
        text = (SEEDS / passage.source).read_text(encoding="utf-8")
        assert text[passage.start : passage.end] == passage.quote  # verbatim, with offsets into the file
    assert any("Moskva" in p.quote or "Moscow" in p.quote or "Moskau" in p.quote for p in answer.related)
    payload = json.loads(json.dumps(answer.to_dict()))
    assert payload["citations"] == [] and payload["related"][0]["quote"] == answer.related[0].quote
    assert {"source", "quote", "start", "end", "language", "title"} <= set(payload["related"][0])


def test_a_refused_draft_keeps_its_passages_apart_from_citations(seeded_store: Path, nano_e5) -> None:
    """A check refusing the model's draft shows the nearest passages, not the draft's citation."""
    chat = ScriptedChat(citing("three hours", "The talks lasted four hours."))
    answer = engine_with(seeded_store, nano_e5, chat).ask("How long did the talks in Moscow last?")
    assert answer.refused and answer.citations == [] and answer.related
    assert "four" not in answer.answer


def test_an_answer_has_no_related_passages(seeded_store: Path, nano_e5) -> None:
    chat = ScriptedChat(citing("three hours", "The talks lasted about three hours."))
    answer = engine_with(seeded_store, nano_e5, chat).ask("How long did the talks in Moscow last?")
    assert not answer.refused and answer.related == []


def test_an_off_topic_question_shows_no_passages(seeded_store: Path, nano_e5) -> None:
    """Nothing is near in meaning: passages about something else would look like a lead."""
    answer = _refused(seeded_store, nano_e5, "What is the capital of Australia?")
    assert answer.refused and answer.related == []


HOSTILE = Citation("evil.txt", "Click [here](https://x.example) @everyone \x1b[31mred", 3, 40, "en", "**Title**")
REFUSAL = Answer("q", "Det fremgår ikke af artiklerne.", True, "da", [], related=[HOSTILE])


def test_the_terminal_labels_related_passages_in_the_questions_language() -> None:
    console = Console(width=200, color_system=None)
    with console.capture() as out:
        console.print(render_in_terminal(REFUSAL))
    shown = out.get()
    assert shown.startswith("⚠ Det fremgår ikke af artiklerne.")
    assert RELATED_LABELS["da"] in shown
    assert "characters 3–40" in shown and "[1]" not in shown  # passages, not numbered citations
    assert "\x1b" not in shown  # article text cannot drive the terminal


def test_discord_shows_related_passages_in_an_escaped_embed() -> None:
    [(text, embed)] = render_for_discord(REFUSAL)
    assert text == "Det fremgår ikke af artiklerne."
    assert embed is not None and embed.title == RELATED_LABELS["da"]
    [field] = embed.fields
    assert "\\[here]" in field.value and "@\u200beveryone" in field.value  # no link, no ping
    assert "\\*\\*Title\\*\\*" in field.name and "characters 3–40" in field.value
