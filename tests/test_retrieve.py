"""Retrieval across languages: an answer written in another language than the
question reaches the evidence (a real Chroma store of the seeds, real e5)."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from rag.config import Settings
from rag.bm25 import BM25Index
from rag.retrieve import ChromaDense, language_shifts
from rag.store import StoredSentence

from .conftest import retriever_over


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        # Questions written for this test (not from either split); the
        # sentences that answer them are Norwegian.
        ("What did Putin say was needed to end the war in Syria?", "nødvendige betingelsene"),
        ("Hvad vil Rusland og Tyrkiet arbejde for ifølge Putin?", "dypere samordning"),
    ],
)
def test_an_answer_in_another_language_ranks_higher_with_language_centring(
    seeded_store: Path, nano_e5, question: str, fact: str
) -> None:
    def rank(centring: bool) -> int:
        ranked = retriever_over(seeded_store, nano_e5, language_centring=centring).retrieve(question).sentences
        return next(i for i, sentence in enumerate(ranked) if fact in sentence.text)

    assert rank(True) < Settings().evidence_k  # shown to the LLM
    assert rank(True) < rank(False)


def test_centring_leaves_the_relevance_gate_on_the_raw_similarity(seeded_store: Path, nano_e5) -> None:
    """The gate refuses off-topic questions on e5's own similarity, which the shifts must not move."""
    question = "What is the best recipe for apple pie?"
    plain = retriever_over(seeded_store, nano_e5, language_centring=False).retrieve(question)
    centred = retriever_over(seeded_store, nano_e5, language_centring=True).retrieve(question)
    assert centred.top_similarity == pytest.approx(plain.top_similarity, abs=1e-6)


class OneLanguageCollection:
    """Chroma's query and get protocol over two fixed English sentences."""

    ROWS = [("a", "The talks lasted three hours.", 0.10), ("b", "They met in Moscow.", 0.20)]
    META = {"source": "x.txt", "start": 0, "end": 1, "language": "en"}

    def query(self, query_embeddings, n_results, where, include):
        assert where is None  # one language: one plain query
        return {"ids": [[id_ for id_, _, _ in self.ROWS]], "distances": [[distance for _, _, distance in self.ROWS]]}

    def get(self, ids, include):
        texts = {id_: text for id_, text, _ in self.ROWS}
        return {"ids": list(ids), "documents": [texts[id_] for id_ in ids], "metadatas": [self.META for _ in ids]}


def test_one_language_store_is_ranked_by_similarity_alone() -> None:
    samples = {"en": np.eye(2, dtype=np.float32)}
    hits = ChromaDense(OneLanguageCollection(), lambda _: [1.0, 0.0], 2, samples).retrieve("How long?")
    assert [hit.sentence.id for hit in hits] == ["a", "b"]
    assert [hit.score for hit in hits] == [hit.similarity for hit in hits]


def test_shifts_are_zero_when_languages_score_alike() -> None:
    samples = {"da": np.array([[1.0, 0.0], [0.0, 1.0]]), "en": np.array([[0.0, 1.0], [1.0, 0.0]])}
    assert language_shifts(np.array([0.6, 0.8]), samples) == {"da": 0.0, "en": 0.0}


def _sentence(number: int, text: str, language: str) -> StoredSentence:
    return StoredSentence(str(number), "a.txt", 0, len(text), text, language, "", "", number)


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("Hvor længe varede mødet?", ["1"]),  # shared words find their sentence
        ("the killed soldiers", ["2"]),  # across the sentence's words, lower-cased
        ("i at og der", []),  # stopwords of every corpus language match nothing
        ("", []),
    ],
)
def test_bm25_matches_words_not_stopwords(query: str, found: list[str]) -> None:
    index = BM25Index(
        [
            _sentence(1, "Mødet i Moskva varede tre timer, og det var godt.", "da"),
            _sentence(2, "34 Turkish soldiers were killed in the strike.", "en"),
            _sentence(3, "Die Gespräche dauerten zwei Stunden.", "de"),
        ]
    )
    assert [sentence.id for sentence in index.search(query, 3)] == found


@functools.cache
def _skewed_store(size: int = 120, dimensions: int = 8):
    """A real (in-memory) Chroma collection in three languages, one of which
    lies far from the question: its best sentences fall outside a small pool."""
    import chromadb

    rng = np.random.default_rng(7)
    client = chromadb.EphemeralClient(chromadb.config.Settings(anonymized_telemetry=False))
    collection = client.create_collection("skewed", metadata={"hnsw:space": "cosine"}, embedding_function=None)
    languages = ["da", "en", "de"]
    vectors, metadatas = [], []
    for number in range(size):
        language = languages[number % 3]
        vector = rng.normal(size=dimensions) + (3.0 if language == "da" else 0.0) * np.eye(dimensions)[0]
        vectors.append((vector / np.linalg.norm(vector)).tolist())
        metadatas.append({"source": f"{language}.txt", "start": number, "end": number + 1, "language": language})
    ids = [f"s{number:03d}" for number in range(size)]
    collection.add(ids=ids, embeddings=vectors, metadatas=metadatas, documents=[f"Sentence {i}." for i in ids])
    samples = {
        language: np.asarray([v for v, m in zip(vectors, metadatas) if m["language"] == language], dtype=np.float32)
        for language in languages
    }
    return collection, np.asarray(vectors), [m["language"] for m in metadatas], ids, samples


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("pool_factor", [1, 2, 100])
@pytest.mark.parametrize("known", [False, True])
def test_the_pooled_query_finds_the_same_best_sentences_as_a_query_per_language(
    monkeypatch: pytest.MonkeyPatch, seed: int, pool_factor: int, known: bool
) -> None:
    import rag.retrieve

    collection, vectors, languages, ids, samples = _skewed_store()
    question = np.random.default_rng(100 + seed).normal(size=vectors.shape[1])
    question[0] += 2.0  # near the Danish sentences: the others need their shift
    question /= np.linalg.norm(question)
    # Every sentence scored the way the engine scores it, by brute force.
    shifts = language_shifts(question, samples)
    similarity = np.exp(vectors @ question - 1)  # Chroma's cosine distance is 1 - cos
    expected = sorted(
        range(len(ids)), key=lambda i: (-similarity[i] * np.exp(-shifts[languages[i]]), ids[i])
    )[:5]

    monkeypatch.setattr(rag.retrieve, "POOL_FACTOR", pool_factor)
    # Sentences read at load, all but one (stored since: fetched from Chroma).
    read = {
        i: StoredSentence(i, f"{languages[n]}.txt", n, n + 1, f"Sentence {i}.", languages[n], "", "", 0)
        for n, i in enumerate(ids)
    } if known else {}
    read = {id_: sentence for id_, sentence in read.items() if id_ != ids[expected[0]]}
    hits = ChromaDense(collection, lambda _: question.tolist(), 5, samples, read).retrieve("q")
    assert [hit.sentence.id for hit in hits[:5]] == [ids[i] for i in expected]
    assert all(hit.sentence.text == f"Sentence {hit.sentence.id}." for hit in hits[:5])
