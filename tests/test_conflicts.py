"""Conflicting sources (rag/conflicts.py): when files disagree on the asked fact, the
reader sees which file says what instead of one side stated as fact.

The store holds the seeds plus the articles in tests/data/conflicts/: six that
contradict a seed (another toll in English and in German, another duration,
another person in English twice, one of them against the German seed, and in
Norwegian another country as the actor) and one
near-copy that repeats a seed's number. The Norwegian one is a disagreement the stage misses (across
languages, in other words: evals/conflicts/measure.py counts it); it is in
the store as one more article the others must not be confused with. The model is scripted to cite the seed's sentence;
the held-out contradictions in evals/conflicts/heldout/ are not used here.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.answer import DISAGREEMENTS
from rag.config import Settings
from rag.engine import Engine
from rag.ingest import ingest

from .conftest import SEEDS, store_with
from .test_answer import ScriptedChat, citing

PLANTED = Path(__file__).parent / "data" / "conflicts"


@pytest.fixture(scope="module")
def planted_store(tmp_path_factory: pytest.TempPathFactory, nano_e5) -> Path:
    return store_with(tmp_path_factory, nano_e5, PLANTED)


def ask(storage: Path, nano_e5, chat: ScriptedChat, question: str):
    return Engine(Settings(storage_dir=storage), chat, nano_e5).ask(question)


@pytest.mark.parametrize(
    ("question", "cited", "answer", "planted", "language"),
    [
        ("How many Turkish soldiers were killed in the air strike blamed on Syria?", "killing of 34",
         "34 Turkish soldiers were killed.", "revised_toll.txt", "en"),
        ("How long did the talks between Putin and Erdogan in Moscow last?", "about three hours",
         "The talks lasted about three hours.", "short_talks.txt", "en"),
        # names: another person said it
        ("Who called the talks in Moscow effective?", "calling the talks",
         "Putin called the talks effective.", "effective_talks.txt", "en"),
        # "which leader" asks who as "who" does
        ("Which leader called the talks in Moscow effective?", "calling the talks",
         "Putin called the talks effective.", "effective_talks.txt", "en"),
    ],
)
def test_a_disagreement_is_shown_with_which_file_says_what(
    planted_store: Path, nano_e5, question: str, cited: str, answer: str, planted: str, language: str
) -> None:
    result = ask(planted_store, nano_e5, ScriptedChat(citing(cited, answer)), question)
    assert result.refused and result.answer == DISAGREEMENTS[language] and result.citations == []
    shown = {passage.source: passage.quote for passage in result.related}
    assert planted in shown and any(cited in quote for quote in shown.values())  # both sides, each with its file
    assert len(shown) == len(result.related)  # one passage per file


def test_the_side_the_model_picked_is_not_stated_as_fact(planted_store: Path, nano_e5) -> None:
    """The model citing the planted toll gets the same disagreement, the seed's sentence among the passages."""
    question = "How many Turkish soldiers were killed in the air strike blamed on Syria?"
    result = ask(planted_store, nano_e5, ScriptedChat(citing("36 Turkish", "36 Turkish soldiers were killed.")), question)
    assert result.refused and any("34 Turkish soldiers" in passage.quote for passage in result.related)


def test_an_answer_stating_both_sides_as_fact_is_a_disagreement(planted_store: Path, nano_e5) -> None:
    """A draft citing both files and joining their values into one story
    ("about three hours, then twenty minutes") still shows which file says what."""
    question = "How long did the talks between Putin and Erdogan in Moscow last?"
    chat = ScriptedChat(citing("about three hours", "The talks lasted about three hours, then twenty minutes.", "twenty minutes"))
    result = ask(planted_store, nano_e5, chat, question)
    assert result.refused and result.answer == DISAGREEMENTS["en"]
    shown = {passage.source: passage.quote for passage in result.related}
    assert "short_talks.txt" in shown and any("about three hours" in quote for quote in shown.values())


def test_a_count_stated_in_another_language_is_compared(planted_store: Path, nano_e5) -> None:
    """The model citing a German toll for a Danish question: the English seed's
    count disagrees although the question's words and e5 do not match across
    the languages; what the numbers count does ("türkische Soldaten", "Turkish soldiers")."""
    question = "Hvor mange tyrkiske soldater blev dræbt i luftangrebet, som Syrien fik skylden for?"
    chat = ScriptedChat(citing("37 türkische", "37 tyrkiske soldater blev dræbt."))
    result = ask(planted_store, nano_e5, chat, question)
    assert result.refused and result.answer == DISAGREEMENTS["da"]
    shown = {passage.source: passage.quote for passage in result.related}
    assert "tuerkische_bilanz.txt" in shown and any("34 Turkish soldiers" in quote for quote in shown.values())


def test_a_name_stated_in_another_language_is_compared(planted_store: Path, nano_e5) -> None:
    """The model citing an English article's vice president for a German question
    ("Welcher türkische Politiker", which asks who): the German seed, which holds
    the question's words, names another speaker. The English sentence holds only
    the question's names, so the German one speaks for it; and "Turkish Vice
    President Fuat Oktay" is a name although the question says "türkische"."""
    question = ("Welcher türkische Politiker sagte, die Türkei und Russland hätten das gemeinsame Ziel, "
                "Syrien von allen Terrororganisationen zu befreien?")
    chat = ScriptedChat(citing("Fuat Oktay said", "Fuat Oktay sagte das."))
    result = ask(planted_store, nano_e5, chat, question)
    assert result.refused and result.answer == DISAGREEMENTS["de"]
    shown = {passage.source: passage.quote for passage in result.related}
    assert "shared_goal_vice_president.txt" in shown and any("Çavuşoğlu" in quote for quote in shown.values())


def test_another_count_in_another_language_is_no_conflict(planted_store: Path, nano_e5) -> None:
    """The Norwegian seed's 135 civilians and the Danish seed's two soldiers, both
    from the Syrian Observatory: close in e5, but they count different people."""
    question = "How many civilians have been killed in Idlib and Hama since 19 September according to SOHR?"
    engine = Engine(Settings(storage_dir=planted_store), ScriptedChat(citing("135 sivile", "135 civilians.")), nano_e5)
    engine.ask(question)
    assert "conflicting_sources" not in engine.last_decision.fired


def test_a_near_copy_saying_the_same_is_no_conflict(tmp_path: Path, nano_e5) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for path in [*SEEDS.glob("*.txt"), PLANTED / "same_toll_copy.txt"]:  # two files, one number
        shutil.copy(path, corpus)
    settings = Settings(storage_dir=tmp_path / "store")
    ingest(settings, corpus, embed_model=nano_e5)
    question = "How many Turkish soldiers were killed in the air strike blamed on Syria?"
    chat = ScriptedChat(citing("killing of 34", "34 Turkish soldiers were killed."))
    engine = Engine(settings, chat, nano_e5)
    result = engine.ask(question)
    assert not result.refused and result.answer.startswith("34 Turkish soldiers were killed")
    assert engine.last_decision.fired == []


@pytest.mark.parametrize(
    ("question", "cited", "answer"),
    [
        # one file says who: nothing to disagree with
        ("Who described the meeting between the presidents as businesslike?", "Kremlin aide",
         "A Kremlin aide described the meeting as businesslike."),
        # the same person in another spelling and language is one value, not two
        ("Who invited Erdogan to Russia?", "Putin har i samme", "Putin invited him."),
        # places are not compared: "the Kremlin" and "Moscow" name one place
        ("Where did Putin and Erdogan hold their talks?", "The talks in Moscow between", "In Moscow."),
        # a compound is held only whole: a sentence on Putin "in the Kremlin" and
        # "on Syria" is not about the "Syrien-Gespräche" the spokesman confirmed
        ("Wer ist der Kremlsprecher, der die Syrien-Gespräche in Moskau bestätigte?",
         "Kremlin spokesman Dmitry Peskov", "Dmitry Peskov."),
    ],
)
def test_no_disagreement_where_the_files_agree_or_are_not_compared(
    planted_store: Path, nano_e5, question: str, cited: str, answer: str
) -> None:
    engine = Engine(Settings(storage_dir=planted_store), ScriptedChat(citing(cited, answer)), nano_e5)
    engine.ask(question)
    assert "conflicting_sources" not in engine.last_decision.fired
