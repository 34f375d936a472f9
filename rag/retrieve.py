"""Hybrid retrieval over evidence sentences: dense (Chroma) + BM25, fused by rank.

Dense retrieval with multilingual-e5-small favours sentences in the
question's language; BM25 (bm25s) catches the names and numbers that are
spelled the same in every language (Putin, Idlib, S-400, 2019). Reciprocal
rank fusion merges the two lists without having to calibrate their scores.

>>> reciprocal_rank_fusion([["a", "b"], ["b", "c"]])
['b', 'a', 'c']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import bm25s
from bm25s import stopwords as bm25_stopwords

from rag.store import StoredSentence, stored_from_node

# Union of the corpus languages' stopwords: a Danish question must not match
# an English sentence on "i" or "at".
_STOPWORDS = sorted(
    set(bm25_stopwords.STOPWORDS_EN)
    | set(bm25_stopwords.STOPWORDS_DANISH)
    | set(bm25_stopwords.STOPWORDS_NORWEGIAN)
    | set(bm25_stopwords.STOPWORDS_GERMAN)
)
RRF_K = 60


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], k: int = RRF_K) -> list[str]:
    """Merge ranked id lists: score(id) = sum over lists of 1 / (k + rank)."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank + 1)
    return sorted(scores, key=lambda item: (-scores[item], item))


def _tokenize(texts: list[str]) -> list[list[str]]:
    return bm25s.tokenize(
        texts, lower=True, stopwords=_STOPWORDS, return_ids=False, show_progress=False
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
    sentences: list[StoredSentence]  # fused order, best first

    def sources(self) -> list[str]:
        """Source files in order of their best-ranked sentence."""
        return list(dict.fromkeys(s.source for s in self.sentences))


class HybridRetriever:
    def __init__(self, vector_index, sentences: list[StoredSentence], candidate_k: int) -> None:
        self._dense = vector_index.as_retriever(similarity_top_k=candidate_k)
        self._bm25 = BM25Index(sentences)
        self._by_id = {s.id: s for s in sentences}
        self._candidate_k = candidate_k

    def retrieve(self, query: str) -> Retrieved:
        dense = [stored_from_node(hit.node) for hit in self._dense.retrieve(query)]
        lexical = self._bm25.search(query, self._candidate_k)
        for sentence in dense:
            self._by_id.setdefault(sentence.id, sentence)
        fused = reciprocal_rank_fusion([[s.id for s in dense], [s.id for s in lexical]])
        return Retrieved(sentences=[self._by_id[i] for i in fused])

