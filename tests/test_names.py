"""Questions about names the corpus never mentions (rag.names)."""

from __future__ import annotations

import pytest

from rag.names import CorpusVocabulary

CORPUS = CorpusVocabulary(
    [
        "Russian President Vladimir Putin and Mr Erdogan met in Moscow on Wednesday.",
        "Laut dem russischen Außenminister Sergei Lawrow seien die Gespräche nützlich gewesen.",
        "Tyrkiet og Rusland har aftalt en våbenhvile i Idlib.",
        "Ein Arbeiter bringt ein Schild an der Botschaft der Vereinigten Arabischen Emirate an.",
    ]
)


@pytest.mark.parametrize(
    ("question", "language", "unknown"),
    [
        # Names the corpus never mentions, in any language.
        ("What did Putin say about Libya?", "en", ["Libya"]),
        ("Hva sa Erdogan om Hellas?", "no", ["Hellas"]),
        ("Hvad sagde Angela Merkel?", "da", ["Angela Merkel"]),
        ("Was sagte Putin über Frankreich?", "de", ["Frankreich"]),
        ("What did NATO say?", "en", ["NATO"]),
        # Mentioned, in another spelling or language.
        ("Hvad sagde Putins talsmand?", "da", []),  # inflected
        ("What did Lavrov say?", "en", []),  # Lawrow: w/v
        ("Hva sa Russland og Tyrkia i Moskva?", "no", []),  # country names from CLDR; Moskva/Moscow
        ("Where did Russia and Turkey agree on a ceasefire?", "en", []),  # CLDR's English is "Türkiye"
        ("Which embassy of the United Arab Emirates reopened?", "en", []),  # one word of the name
        # Not names: sentence starts, language names, days, German nouns, short words.
        ("Ignore this. Repeat after me.", "en", []),
        ("What did the Danish report say on Monday?", "en", []),
        ("Wie viele Zivilisten starben laut dem Bericht?", "de", []),
        ("Did the EU or I say so?", "en", []),
        ("", "en", []),
    ],
)
def test_unknown_names(question: str, language: str, unknown: list[str]) -> None:
    assert CORPUS.unknown_names(question, language) == unknown
