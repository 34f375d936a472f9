"""Counts across languages (rag/counts.py): what a number counts, the clause around
it, and when a count in another language is the same count stated otherwise.

The store holds the seeds plus tests/data/counts/tyrkiske_tap.txt, a Norwegian
article whose long sentence restates the English seed's "34 Turkish soldiers"
as 38: the whole sentences are not close in e5 (the Norwegian one says much
more), the clauses around the two numbers are.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.answer import DISAGREEMENTS
from rag.config import Settings
from rag.counts import clause_similarity, count_clauses, counts_alike
from rag.engine import Engine

from .conftest import store_with
from .test_answer import ScriptedChat, citing

PLANTED = Path(__file__).parent / "data" / "counts"


@pytest.mark.parametrize(
    ("text", "language", "given", "clauses"),
    [
        ("", "en", set(), []),
        ("Pulling 2,000 American troops out of Syria.", "en", set(), [({"2000"}, "Pulling 2000 American troops out of")]),
        ("2 000 soldater trekkes ut", "no", set(), [({"2000"}, "2000 soldater trekkes ut")]),
        # a clause stops at punctuation
        ("Er sagte, drei Tage seien genug.", "de", set(), [({"3"}, "drei Tage seien genug")]),
        # weekdays and months are dates, not counts
        ("They met on Saturday in March.", "en", set(), []),
        # the question's own number names the event, not a count
        ("On March 1 Turkey killed 19 Syrian soldiers in drone strikes.", "en", {"1"},
         [({"19"}, "March 1 Turkey killed 19 Syrian soldiers in drone")]),
        # at most four words either side
        ("a b c d e f 7 g h i j k l", "en", set(), [({"7"}, "c d e f 7 g h i j")]),
    ],
)
def test_count_clauses(text: str, language: str, given: set[str], clauses: list[tuple[set[str], str]]) -> None:
    assert count_clauses(text, language, frozenset(given)) == [(frozenset(values), clause) for values, clause in clauses]


@pytest.fixture(scope="module")
def planted_store(tmp_path_factory: pytest.TempPathFactory, nano_e5) -> Path:
    return store_with(tmp_path_factory, nano_e5, PLANTED)


def retriever(storage: Path, nano_e5):
    return Engine(Settings(storage_dir=storage), ScriptedChat(), nano_e5).retriever


def sentence(retriever, fragment: str):
    return next(s for s in retriever.sentences if fragment in s.text)


def test_the_clauses_of_one_count_are_closer_than_another_events(planted_store: Path, nano_e5) -> None:
    """The restated toll's clause is closer to the seed's than the clause of another
    event's count in another language (the Danish seed's two Syrian soldiers)."""
    found = retriever(planted_store, nano_e5)
    seed, restated = sentence(found, "killing of 34"), sentence(found, "38 tyrkiske")
    other_event = sentence(found, "Turkey killed 19")
    two_soldiers = sentence(found, "to soldater fra den syriske")
    assert counts_alike(seed, restated, frozenset(), found)
    assert clause_similarity(seed, restated, frozenset(), found) > clause_similarity(two_soldiers, other_event, frozenset(), found)


@pytest.mark.parametrize(
    ("cited", "answer"),
    [("killing of 34", "34 tyrkiske soldater."), ("38 tyrkiske", "38 tyrkiske soldater.")],
)
def test_a_count_restated_in_a_long_sentence_in_another_language_is_a_disagreement(
    planted_store: Path, nano_e5, cited: str, answer: str
) -> None:
    """Whichever side the model cites, the reader sees both files."""
    question = "Hvor mange tyrkiske soldater blev dræbt i sidste uge?"
    engine = Engine(Settings(storage_dir=planted_store), ScriptedChat(citing(cited, answer)), nano_e5)
    result = engine.ask(question)
    assert result.refused and result.answer == DISAGREEMENTS["da"]
    shown = {passage.source: passage.quote for passage in result.related}
    assert "tyrkiske_tap.txt" in shown and any("34 Turkish soldiers" in quote for quote in shown.values())


def test_another_events_count_in_another_language_is_no_disagreement(planted_store: Path, nano_e5) -> None:
    """Two Syrian soldiers killed by rebels on a Tuesday (the Danish seed) and 19
    killed by drones on March 1 (the English seed): alike counted words, other clauses."""
    question = "Hvor mange soldater fra den syriske hær blev dræbt af tyrkisk-støttede oprørere tirsdag?"
    engine = Engine(Settings(storage_dir=planted_store), ScriptedChat(citing("to soldater fra den syriske", "To soldater.")), nano_e5)
    engine.ask(question)
    assert "conflicting_sources" not in engine.last_decision.fired
