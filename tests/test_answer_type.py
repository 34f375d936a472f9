"""Answer types: which questions have one, which sentences hold one, and that
retrieval over the real seeds puts the sentence that can answer into the evidence."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.answer_type import answer_type, holds
from rag.config import Settings

from .conftest import retriever_over


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How long did the talks last?", "duration"),
        ("Hvor længe varede mødet?", "duration"),
        ("Hvor lenge varte møtet?", "duration"),
        ("Wie lange dauerte das Treffen?", "duration"),
        ("How many soldiers died?", "quantity"),
        ("How much did it cost?", "quantity"),
        ("Hvor mange blev dræbt?", "quantity"),
        ("Hvor mye kostet det?", "quantity"),
        ("Wie viele Soldaten?", "quantity"),
        ("Hvor gammel er han?", "quantity"),
        ("When did it start?", "date"),
        ("Hvornår startede krigen?", "date"),
        ("Når startet krigen?", "date"),
        ("Wann begann der Krieg?", "date"),
        ("In which year was it launched?", "date"),
        ("An welchem Wochentag fanden die Gespräche statt?", "date"),
        ("Who called whom?", None),
        ("Hvor mødtes de?", None),  # "hvor" alone asks where, not how much
        ("Wo trafen sie sich?", None),
        ("", None),
        ("how LONG did it last", "duration"),  # case does not matter
        ("Whenever", None),  # a word boundary, not a prefix
    ],
)
def test_answer_type_of_questions(question: str, expected: str | None) -> None:
    assert answer_type(question) == expected


@pytest.mark.parametrize(
    ("sentence", "kind", "language", "expected"),
    [
        ("The talks lasted about three hours.", "duration", "en", True),
        ("The talks lasted 3 hours.", "duration", "en", True),
        ("Mødet varede to timer.", "duration", "da", True),
        ("Møtet varte i halvannen time.", "duration", "no", True),
        ("Møtet varte lenge.", "duration", "no", False),
        ("Nach dem 90 Minuten andauernden Treffen", "duration", "de", True),
        ("Three years ago the war began.", "duration", "en", True),
        ("The talks were useful.", "duration", "en", False),
        ("He went to Ankara.", "quantity", "en", False),  # English "to" is not Danish "two"
        ("De to ledere blev enige.", "quantity", "da", True),
        ("Pulling 2,000 troops out.", "quantity", "en", True),
        ("Fire people were there.", "quantity", "en", False),
        ("Fire personer var der.", "quantity", "no", True),
        ("Ties plunged in November 2015.", "date", "en", True),
        ("Droneangrep 1. mars.", "date", "no", True),
        ("Am Samstag trafen sie sich.", "date", "de", True),
        ("Sie trafen sich in Moskau.", "date", "de", False),
        ("The talks lasted three hours.", "duration", "", True),  # unknown language: all tables
    ],
)
def test_sentences_holding_an_answer_type(sentence: str, kind: str, language: str, expected: bool) -> None:
    assert holds(sentence, kind, language) is expected


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("For how long did Putin and Erdogan talk in the Kremlin?", "three hours"),
        ("Hvor længe talte Putin og Erdogan sammen i Kreml?", "three hours"),
    ],
)
def test_the_sentence_with_the_asked_for_duration_reaches_the_evidence(
    seeded_store: Path, nano_e5, question: str, fact: str
) -> None:
    def evidence_rank(bonus: float) -> int:
        ranked = retriever_over(seeded_store, nano_e5, answer_type_bonus=bonus).retrieve(question).sentences
        return next(i for i, s in enumerate(ranked) if fact in s.text)

    assert evidence_rank(0.05) < Settings().evidence_k  # shown to the LLM
    assert evidence_rank(0.05) < evidence_rank(0.0)
