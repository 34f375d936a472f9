"""Language identification: the quick detector never changes a decision the full one would make.

A new ``ragbot ask`` process loads only lingua's trigram models (0.06 s)
and the full ones (about 1.9 s of CPU) only when the quick detector is
unsure; these tests hold that shortcut to the full detector's answers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag import language
from rag.store import StoredSentence
from rag.verify import _unsupported_numbers, unsupported_numbers

DEV = Path(__file__).resolve().parent.parent / "evals" / "dev.jsonl"


def _exact_question_language(text: str) -> str:
    """``question_language`` with the full detector only."""
    found = language.detect_language(text, exact=True)
    if found in language.ANSWER_LANGUAGES:
        return found
    likelihood = {c: v for c, v in language._confidences(text, exact=True).items() if c in language.ANSWER_LANGUAGES}
    return max(likelihood, key=likelihood.__getitem__) if likelihood else language.DEFAULT_LANGUAGE


def test_quick_detection_agrees_with_the_full_detector_on_every_dev_question() -> None:
    questions = [json.loads(line)["question"] for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    decided_quickly = [q for q in questions if language._sure_quick(q) is not None]
    # The shortcut must actually serve most questions, and never differ.
    assert len(decided_quickly) > len(questions) / 2
    assert [language.question_language(q) for q in questions] == [_exact_question_language(q) for q in questions]


@pytest.mark.parametrize(
    "text",
    [
        "How many soldiers were killed in the air strike?",
        "Wie lange dauerten die Gespräche in Moskau?",
        "Hvem inviterede Erdogan til Rusland?",
        "Hvor mange sivile ble drept i Idlib?",
        "Hva sa Putin?",
        "Vem träffade Putin i Moskva?",
        "Erdogan?",
        "Putin Erdogan Moskva 2020",
        "12 + 7 = ?",
        "",
    ],
)
def test_question_language_is_the_full_detectors(text: str) -> None:
    assert language.question_language(text) == _exact_question_language(text)


def test_a_clear_question_does_not_load_the_full_models() -> None:
    language._build_full_detector.cache_clear()
    assert language.question_language("How many Turkish soldiers were killed in the air strike?") == "en"
    assert language._build_full_detector.cache_info().currsize == 0
    # An unsure one loads them, once.
    language.question_language("Hva sa Putin?")
    assert language._build_full_detector.cache_info().currsize == 1


def _sentence(text: str, lang: str) -> StoredSentence:
    return StoredSentence("i", "a.txt", 0, len(text), text, lang, "", "", 0)


@pytest.mark.parametrize(
    ("answer", "sentence", "asked", "expected"),
    [
        # Digits read the same in every language: no detection needed.
        ("34 Turkish soldiers were killed [1].", _sentence("34 Turkish soldiers were killed.", "en"), "en", set()),
        ("35 soldater blev dræbt [1].", _sentence("34 soldater blev dræbt.", "da"), "da", {"35"}),
        # "fire" is four in Norwegian and Danish, a word in English.
        ("Fire sivile ble drept tirsdag [1].", _sentence("Fire sivile ble drept tirsdag.", "no"), "no", set()),
        ("Tre sivile ble drept [1].", _sentence("Fire sivile ble drept.", "no"), "no", {"3"}),
        ("The fire burned for three days [1].", _sentence("The fire burned for three days.", "en"), "en", set()),
        ("Die Gespräche dauerten zwei Stunden [1].", _sentence("The talks lasted three hours.", "en"), "de", {"2"}),
        ("Sie trafen sich am Samstag [1].", _sentence("They met on Sunday.", "en"), "de", {"#day5"}),
        # One value however its thousands are grouped, and a decimal comma is a point.
        ("2000 amerikanische Soldaten sollen abziehen [1].", _sentence("Pulling 2,000 American troops.", "en"), "de", set()),
        ("2 000 amerikanske soldater skal trekkes ut [1].", _sentence("Pulling 2,000 American troops.", "en"), "no", set()),
        ("Die Inflation lag bei 1,5 Prozent [1].", _sentence("Inflation was 1.5 percent.", "en"), "de", set()),
        ("2500 soldater blev sendt [1].", _sentence("2,000 soldiers were sent.", "en"), "da", {"2500"}),
        # Compound number words are one number, hyphenated or not.
        ("Thirty-four Turkish soldiers were killed [1].", _sentence("34 tyrkiske soldater blev dræbt.", "da"), "en", set()),
        ("34 tyrkiske soldater blev dræbt [1].", _sentence("Thirty-four Turkish soldiers were killed.", "en"), "da", set()),
        ("Fireogtredive tyrkiske soldater blev dræbt [1].", _sentence("35 Turkish soldiers were killed.", "en"), "da", {"34"}),
    ],
)
def test_numbers_are_read_in_the_answers_language(answer: str, sentence: StoredSentence, asked: str, expected: set[str]) -> None:
    exact = unsupported_numbers(answer, [sentence], language.answer_language(answer, asked, asked=asked))
    assert _unsupported_numbers(answer, [sentence], asked) == exact
    assert {token.casefold() for token in exact} == expected
