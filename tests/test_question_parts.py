"""Questions asking several things at once (rag/question_parts.py): refused before
the model with a text asking for one question at a time, nearest passages shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.answer import ONE_QUESTION, REFUSALS
from rag.question_parts import several_questions

from .test_answer import ScriptedChat, citing, engine_with


@pytest.mark.parametrize(
    ("question", "several"),
    [
        # a second question word after a conjunction, a preposition between or not
        ("How many Turkish soldiers died, and how many Syrian soldiers did Turkey kill?", True),
        ("Hvornår skød Tyrkiet et russisk kampfly ned, og i hvilket år indgik de en aftale?", True),
        ("Hvor mange amerikanske soldater ville Trump trekke ut, og hvor skulle de?", True),
        ("Wann und in welchem Land fand das letzte Treffen statt?", True),
        ("In which city and on what date will the next summit be held?", True),
        # a second question after a question mark
        ("Which meeting lasted longer? How long did each last?", True),
        # one question: "when" joining clauses, a relative "hvor"/"wo", a list answer
        ("Where did Putin and Erdogan meet when they agreed on a ceasefire zone?", False),
        ("Hvor mange civile blev dræbt i det luftangreb, hvor 34 tyrkiske soldater døde?", False),
        ("Wer war bei dem Treffen in Moskau, wo Lawrow die Delegation empfing?", False),
        ("Which two defence ministers were at the 90-minute meeting?", False),
        ("How long did Putin and Erdogan talk in Moscow?", False),
        # no question word at all, an empty question
        ("Putin and Erdogan and Syria", False),
        ("", False),
    ],
)
def test_several_questions(question: str, several: bool) -> None:
    assert several_questions(question) is several


def test_a_two_part_question_is_refused_before_the_model_with_the_nearest_passages(seeded_store: Path, nano_e5) -> None:
    """The model is not asked (it answered such questions right once in eleven);
    the refusal says why in the question's language and shows where to look."""
    chat = ScriptedChat()
    engine = engine_with(seeded_store, nano_e5, chat)
    answer = engine.ask("Hvor længe varede samtalerne i Moskva, og hvem deltog i dem?")
    assert answer.refused and chat.prompts == [] and answer.usage["model_calls"] == 0
    assert answer.answer == ONE_QUESTION["da"] and answer.citations == []
    assert answer.related and any("three hours" in passage.quote for passage in answer.related)
    assert engine.last_decision.fired == ["several_questions"]


def test_each_part_asked_alone_is_answered(seeded_store: Path, nano_e5) -> None:
    chat = ScriptedChat(citing("three hours", "The talks lasted about three hours."))
    answer = engine_with(seeded_store, nano_e5, chat).ask("How long did the talks in Moscow last?")
    assert not answer.refused and answer.answer.startswith("The talks lasted about three hours")


def test_an_off_topic_two_part_question_says_the_articles_do_not_state_it(seeded_store: Path, nano_e5) -> None:
    """Low relevance comes first: no passages, and the plain refusal, not a request to split it."""
    answer = engine_with(seeded_store, nano_e5, ScriptedChat()).ask("What is the capital of Australia, and who founded it?")
    assert answer.refused and answer.answer == REFUSALS["en"] and answer.related == []
