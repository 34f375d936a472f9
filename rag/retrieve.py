"""Retrieval over evidence sentences: dense (Chroma), BM25, fused by rank, then
a per-language quota, then the sentences of an article language the question
names ("according to the German article") first.

Measured on the gold set (``ragbot eval`` prints the table): dense retrieval
with multilingual-e5-small finds the gold article's sentence in the top 6 for
0.915 of answerable questions, BM25 for 0.830 and an equal-weight fusion of
both for 0.830, because lexical matches pull in sentences in the question's
own language. The biggest gain is the per-language quota: the first evidence
slots go to the best ``per_language`` sentences of each language, so an
English question still sees the best Danish and German sentences, which
raises the top-6 figure to 1.0. BM25 is kept as a weighted signal
(``lexical_weight``; 0 turns it off) for corpora where rare names matter.

Article-level recall hides a second miss: the sentence that *answers* (not
just one from the right article) was in the evidence for 0.915 of the
answerable questions. The answer-type bonus (``rag.answer_type``: a
"how long" question favours sentences holding a duration) raised that to
1.0, and the final ranking's article recall@1/@3 from 0.809/0.915 to
0.830/0.936. Bonuses of 0.01-0.03 fixed fewer; 0.05 on e5's similarity
scale was the smallest that fixed all.

>>> reciprocal_rank_fusion([["a", "b"], ["b", "c"]])
['b', 'a', 'c']
>>> reciprocal_rank_fusion([["a", "b"], ["b", "c"]], weights=[1.0, 0.0])
['a', 'b', 'c']
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import bm25s
from bm25s import stopwords as bm25_stopwords

from rag.answer_type import answer_type, holds
from rag.config import Settings
from rag.names import named_language
from rag.store import StoredSentence, stored

# Union of the corpus languages' stopwords: a Danish question must not match
# an English sentence on "i" or "at".
STOPWORDS = frozenset(
    set(bm25_stopwords.STOPWORDS_EN)
    | set(bm25_stopwords.STOPWORDS_DANISH)
    | set(bm25_stopwords.STOPWORDS_NORWEGIAN)
    | set(bm25_stopwords.STOPWORDS_GERMAN)
)
RRF_K = 60


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[str]], weights: Sequence[float] | None = None, k: int = RRF_K
) -> list[str]:
    """Merge ranked id lists: score(id) = sum over lists of weight / (k + rank)."""
    weights = weights or [1.0] * len(rankings)
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, item in enumerate(ranking):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank + 1)
    return sorted(scores, key=lambda item: (-scores[item], item))


def language_quota(ranked: Sequence[StoredSentence], per_language: int) -> list[StoredSentence]:
    """``ranked`` reordered so each language's best ``per_language`` come first.

    >>> s = lambda i, lang: StoredSentence(str(i), "f", 0, 1, "t", lang, "", "", i)
    >>> [x.id for x in language_quota([s(1, "en"), s(2, "en"), s(3, "en"), s(4, "da")], 2)]
    ['1', '2', '4', '3']
    """
    if per_language <= 0:
        return list(ranked)
    taken: dict[str, int] = {}
    first: list[StoredSentence] = []
    rest: list[StoredSentence] = []
    for sentence in ranked:
        if taken.get(sentence.language, 0) < per_language:
            taken[sentence.language] = taken.get(sentence.language, 0) + 1
            first.append(sentence)
        else:
            rest.append(sentence)
    return first + rest


def named_language_first(ranked: Sequence[StoredSentence], query: str) -> list[StoredSentence]:
    """``ranked`` with the sentences of the language the query names first
    ("according to the German article"; :func:`rag.names.named_language`).

    >>> s = lambda i, lang: StoredSentence(str(i), "f", 0, 1, "t", lang, "", "", i)
    >>> ranked = [s(1, "en"), s(2, "de"), s(3, "da"), s(4, "de")]
    >>> [x.id for x in named_language_first(ranked, "Was steht im deutschen Artikel?")]
    ['2', '4', '1', '3']
    >>> [x.id for x in named_language_first(ranked, "Hvad står der?")]
    ['1', '2', '3', '4']
    """
    named = named_language(query)
    if named is None:
        return list(ranked)
    return sorted(ranked, key=lambda sentence: sentence.language != named)


def _tokenize(texts: list[str]) -> list[list[str]]:
    return bm25s.tokenize(
        texts, lower=True, stopwords=sorted(STOPWORDS), return_ids=False, show_progress=False
    )


class BM25Index:
    """BM25 over the stored sentences (rebuilt in memory when the engine starts)."""

    def __init__(self, sentences: list[StoredSentence]) -> None:
        self.sentences = sentences
        self._bm25 = bm25s.BM25()
        self._bm25.index(_tokenize([s.text for s in sentences]), show_progress=False)

    def search(self, query: str, k: int) -> list[StoredSentence]:
        tokens = _tokenize([query])
        if not tokens[0]:
            return []
        k = min(k, len(self.sentences))
        ids, scores = self._bm25.retrieve(tokens, k=k, show_progress=False)
        return [
            self.sentences[int(i)] for i, score in zip(ids[0], scores[0]) if float(score) > 0
        ]


@dataclass
class Retrieved:
    sentences: list[StoredSentence]  # final order, best first
    top_similarity: float  # the best dense (cosine) score: how on-topic the corpus is
    steps: dict[str, list[StoredSentence]]  # each step's ranking, for evaluation


class ChromaDense:
    """The ``top_k`` sentences nearest the question's embedding, straight from Chroma.

    The score is llama-index's for a cosine collection, ``exp(-distance)``,
    which the relevance floor was calibrated on. Querying the collection
    directly (not through llama-index's ``VectorStoreIndex``) keeps
    llama-index out of a ``ragbot ask`` process: importing it took 2.6 s of
    a cold start.
    """

    def __init__(self, collection, embed_query: Callable[[str], list[float]], top_k: int) -> None:
        self._collection = collection
        self._embed_query = embed_query
        self._top_k = top_k

    def retrieve(self, query: str) -> list[tuple[StoredSentence, float]]:
        found = self._collection.query(
            query_embeddings=[self._embed_query(query)],
            n_results=self._top_k,
            include=["documents", "metadatas", "distances"],
        )
        rows = zip(found["ids"][0], found["documents"][0], found["metadatas"][0], found["distances"][0])
        return [(stored(id_, text, meta), math.exp(-distance)) for id_, text, meta, distance in rows]


class HybridRetriever:
    def __init__(
        self,
        dense: ChromaDense,
        sentences: list[StoredSentence],
        candidate_k: int,
        lexical_weight: float,
        per_language: int,
        answer_type_bonus: float = 0.0,
    ) -> None:
        self._dense = dense
        self._bm25 = BM25Index(sentences)
        self._by_id = {s.id: s for s in sentences}
        self._candidate_k = candidate_k
        self._lexical_weight = lexical_weight
        self._per_language = per_language
        self._answer_type_bonus = answer_type_bonus
        self.record_steps = False  # set by the evaluation: rank every step, even unused ones

    @classmethod
    def from_settings(
        cls, collection, embed_query: Callable[[str], list[float]], sentences: list[StoredSentence], settings: Settings
    ) -> HybridRetriever:
        return cls(
            ChromaDense(collection, embed_query, settings.candidate_k),
            sentences,
            settings.candidate_k,
            lexical_weight=settings.lexical_weight,
            per_language=settings.evidence_per_language,
            answer_type_bonus=settings.answer_type_bonus,
        )

    def _typed_first(
        self, scored: list[tuple[StoredSentence, float]], query: str
    ) -> list[StoredSentence]:
        """Dense hits re-sorted with the answer-type bonus (stable: ties keep their order)."""
        kind = answer_type(query)
        if kind is None or not self._answer_type_bonus:
            return [sentence for sentence, _ in scored]

        def boosted(pair: tuple[StoredSentence, float]) -> float:
            sentence, score = pair
            return score + (self._answer_type_bonus if holds(sentence.text, kind, sentence.language) else 0.0)

        return [sentence for sentence, _ in sorted(scored, key=boosted, reverse=True)]

    def retrieve(self, query: str) -> Retrieved:
        scored = self._dense.retrieve(query)
        dense = self._typed_first(scored, query)
        for sentence in dense:
            self._by_id.setdefault(sentence.id, sentence)
        # At weight 0 BM25 only feeds the evaluation's step table: skip it otherwise.
        wanted = self._lexical_weight > 0 or self.record_steps
        lexical = self._bm25.search(query, self._candidate_k) if wanted else []
        fused_ids = reciprocal_rank_fusion(
            [[s.id for s in dense], [s.id for s in lexical]], weights=[1.0, self._lexical_weight]
        )
        fused = [self._by_id[i] for i in fused_ids]
        quota = language_quota(fused, self._per_language)
        final = named_language_first(quota, query)
        return Retrieved(
            sentences=final,
            top_similarity=scored[0][1] if scored else 0.0,
            steps={
                "dense": [sentence for sentence, _ in scored],
                "typed": dense,  # dense with the answer-type bonus
                "bm25": lexical,
                "fused": fused,
                "quota": quota,  # fused with the per-language quota
                "final": final,  # quota with a named article language first
            },
        )
