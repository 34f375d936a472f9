"""Facts that change words across languages: numbers, weekdays, months."""

from __future__ import annotations

import pytest

from rag.generate import Draft
from rag.numerals import canonical
from rag.store import StoredSentence
from rag.verify import verify


@pytest.mark.parametrize(
    ("word", "language", "token"),
    [
        ("fire", "no", "4"),
        ("fire", "da", "4"),
        ("fire", "en", "fire"),  # English "fire" is not a number
        ("to", "da", "2"),
        ("to", "en", "to"),
        ("Drei", "de", "3"),  # case does not matter
        ("dreißig", "de", "30"),
        ("twenty", "en", "20"),
        ("one", "en", "one"),  # "one"/"en"/"ein" double as articles: left alone
        ("en", "no", "en"),
        ("Samstag", "de", "#day5"),
        ("lørdag", "no", "#day5"),
        ("Saturday", "en", "#day5"),
        ("marts", "da", "#month3"),
        ("März", "de", "#month3"),
        ("May", "en", "may"),  # also a verb
        ("Mai", "de", "#month5"),
        ("fire", "", "fire"),  # unknown language: words stay words
        ("fire", "xx", "fire"),
        ("", "en", ""),
    ],
)
def test_canonical_tokens(word: str, language: str, token: str) -> None:
    assert canonical(word, language) == token


NORWEGIAN = StoredSentence(
    "n1", "b.txt", 0, 83, "De to landene foreslo i Astana at det opprettes fire slike soner i Syria.", "no", "", "", 0
)
GERMAN = StoredSentence("g1", "c.txt", 0, 70, "Am Samstag fanden in Moskau Gespräche statt.", "de", "", "", 0)


@pytest.mark.parametrize(
    ("reply", "question", "evidence", "refused"),
    [
        ("Russia and Turkey proposed four zones in Astana.", "How many zones were proposed in Astana?", NORWEGIAN, False),
        ("Russia and Turkey proposed five zones in Astana.", "How many zones were proposed in Astana?", NORWEGIAN, True),
        ("The talks in Moscow took place on Saturday.", "On which day were the talks in Moscow?", GERMAN, False),
        ("The talks in Moscow took place on Sunday.", "On which day were the talks in Moscow?", GERMAN, True),
    ],
)
def test_a_translated_fact_is_held_by_its_source(reply: str, question: str, evidence: StoredSentence, refused: bool) -> None:
    failed = verify(Draft([1], reply), [evidence], question, "en", confidential="")
    assert (failed == ["unsupported_number"]) is refused
