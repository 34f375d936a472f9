"""The worked examples the model is shown for each answer language."""

from __future__ import annotations

import json

import pytest

from rag.generate import answer_prefix
from rag.language import ANSWER_LANGUAGES, LANGUAGE_NAMES, detect_language


@pytest.mark.parametrize("language", ANSWER_LANGUAGES)
def test_the_answered_examples_ask_and_answer_in_the_question_language(language: str) -> None:
    turns = answer_prefix(language)[1:]
    answered = [
        (question, json.loads(reply["content"])["answer"])
        for question, reply in zip(turns[::2], turns[1::2])
        if json.loads(reply["content"])["answer"]
    ]
    assert len(answered) == 2
    for question, answer in answered:
        assert question["content"].endswith(f"Answer in {LANGUAGE_NAMES[language]}.")
        asked = question["content"].split("<<<")[1].split(">>>")[0]
        assert detect_language(asked, default="?", exact=True) == language
        assert detect_language(answer, default="?", exact=True) == language
        # the answering sentence is in another language: the example shows a cross-lingual answer
        evidence = json.loads(turns[turns.index(question) + 1]["content"])["evidence"]
        cited = [line for line in question["content"].splitlines() if line.startswith(f"[{evidence[0]}]")]
        assert f"({LANGUAGE_NAMES[language]} article" not in cited[0]


def test_a_language_without_its_own_examples_gets_the_plain_ones() -> None:
    assert answer_prefix("sv") == answer_prefix("xx")
    assert "Answer in Danish." in answer_prefix("sv")[1]["content"]
