"""The second reading (rag/second_reading.py): a number the answer states, read
again from the articles in other languages; a different one is shown as a
disagreement, which file says what.

The store holds the seeds plus one planted Norwegian article that dates the
Astana process's launch to 2018 (the English seed says 2017): a year stated
in another language, which the conflict stage's sentence tests do not see.
The model is scripted: its first reply is the answer, its second the second
reading (past its scripts it chooses no sentence).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.answer import DISAGREEMENTS
from rag.config import Settings
from rag.engine import Engine
from rag.second_reading import differing

from .conftest import store_with
from .test_answer import ScriptedChat, citing

PLANTED = Path(__file__).parent / "data" / "second_reading"
ASTANA = "In which year was the Astana peace process launched?"


@pytest.fixture(scope="module")
def planted_store(tmp_path_factory: pytest.TempPathFactory, nano_e5) -> Path:
    return store_with(tmp_path_factory, nano_e5, PLANTED)


def ask(storage: Path, nano_e5, chat: ScriptedChat, question: str) -> tuple[Engine, object]:
    engine = Engine(Settings(storage_dir=storage), chat, nano_e5)
    return engine, engine.ask(question)


def test_a_year_read_otherwise_in_another_language_is_shown(planted_store: Path, nano_e5) -> None:
    chat = ScriptedChat(citing("satte i gang i 2018", "The process was launched in 2018."),
                        citing("launched by the three countries in 2017", "It was launched in 2017."))
    engine, answer = ask(planted_store, nano_e5, chat, ASTANA)
    assert answer.refused and answer.answer == DISAGREEMENTS["en"] and answer.citations == [], engine.last_decision.fired
    shown = {passage.source: passage.quote for passage in answer.related}
    assert "2018" in shown["astana_2018.txt"] and "2017" in shown["003_dde437028c99873a.txt"]
    assert engine.last_decision.fired == ["second_reading_disagrees"]
    # the second reading saw only other languages and other files than the answer's
    second = chat.prompts[1][-1]["content"]
    assert "2017" in second and "satte i gang" not in second


def test_the_right_side_answered_is_shown_too_and_a_reading_finding_nothing_leaves_it(
    planted_store: Path, nano_e5
) -> None:
    other_side = ScriptedChat(citing("launched by the three countries in 2017", "It was launched in 2017."),
                              citing("satte i gang i 2018", "Det ble satt i gang i 2018."))
    _, answer = ask(planted_store, nano_e5, other_side, ASTANA)
    assert answer.refused and answer.answer == DISAGREEMENTS["en"]  # 2017 stated as fact with 2018 unseen: no

    nothing = ScriptedChat(citing("launched by the three countries in 2017", "It was launched in 2017."))
    engine, answer = ask(planted_store, nano_e5, nothing, ASTANA)
    assert not answer.refused and answer.answer.startswith("It was launched in 2017")
    assert answer.usage["model_calls"] == 2 and engine.last_decision.fired == []


def test_counts_of_different_nationalities_do_not_disagree(planted_store: Path, nano_e5) -> None:
    """The second reader picking the Danish seed's two Syrian soldiers for the Turkish soldiers killed."""
    chat = ScriptedChat(citing("killing of 34", "34 Turkish soldiers were killed."),
                        citing("to soldater fra den syriske hær", "To soldater blev dræbt."))
    engine, answer = ask(planted_store, nano_e5, chat,
                         "How many Turkish soldiers were killed in the air strike blamed on Syria?")
    assert not answer.refused and engine.last_decision.fired == []


def test_no_second_reading_without_another_number_in_another_language(planted_store: Path, nano_e5) -> None:
    """A who-question is not read twice (names were where the second reader went wrong)."""
    chat = ScriptedChat(citing("Kremlin spokesman Dmitry Peskov", "Dmitry Peskov confirmed the talks."))
    _, answer = ask(planted_store, nano_e5, chat, "Who confirmed the talks in Moscow for the Kremlin?")
    assert answer.usage["model_calls"] == 1


@pytest.mark.parametrize(
    ("ours", "theirs", "dated", "differ"),
    [
        ({"2018"}, {"2017"}, True, True),  # a year against a year
        ({"2018", "3"}, {"2017", "3"}, True, True),  # the three countries apart
        ({"5", "#month3"}, {"6", "#month3"}, True, True),  # a day of one month
        ({"#day6"}, {"2", "#month3"}, True, False),  # a weekday and a date are not compared
        ({"5", "#month3"}, {"#day3"}, True, False),
        ({"2011"}, {"2", "#month3"}, True, False),  # a year and a day of a month neither
        ({"34"}, {"34", "#day4"}, False, False),  # one count, told with its day
        ({"2000"}, {"4000"}, False, True),  # counts: "2,000" is no year
        ({"2000"}, {"4000"}, True, False),  # dates: a year is compared with years
        (set(), {"4000"}, False, False),
    ],
)
def test_differing(ours: set[str], theirs: set[str], dated: bool, differ: bool) -> None:
    assert differing(frozenset(ours), frozenset(theirs), dated) is differ


def test_a_draft_citing_both_sides_and_telling_one_is_a_disagreement(planted_store: Path, nano_e5) -> None:
    """rag.conflicts: the draft cites the Norwegian 2018 and the English 2017 and
    says 2018. No second reading is needed (none is made: every language is
    cited); the stage sees the two cited values of one kind and shows both."""
    chat = ScriptedChat(citing("satte i gang i 2018", "It was launched in 2018.", "launched by the three countries in 2017"))
    engine, answer = ask(planted_store, nano_e5, chat, ASTANA)
    assert answer.refused and answer.answer == DISAGREEMENTS["en"], engine.last_decision.fired
    assert engine.last_decision.fired[0] == "conflicting_sources"
    shown = {passage.source for passage in answer.related}
    assert {"astana_2018.txt", "003_dde437028c99873a.txt"} <= shown
