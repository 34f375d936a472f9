"""BM25 over the stored sentences: the lexical half of hybrid retrieval, and the
word search that finds a refusal's related passages (bm25s, built in memory
on first use)."""

from __future__ import annotations

from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from rag.store import StoredSentence

if TYPE_CHECKING:
    import bm25s


@lru_cache(maxsize=1)
def stopwords() -> tuple[str, ...]:
    """The union of the corpus languages' stopwords: a Danish question must
    not match an English sentence on "i" or "at"."""
    from bm25s import stopwords as lists

    languages = (lists.STOPWORDS_EN, lists.STOPWORDS_DANISH, lists.STOPWORDS_NORWEGIAN, lists.STOPWORDS_GERMAN)
    return tuple(sorted(set().union(*languages)))


def _tokenize(texts: list[str]) -> list[list[str]]:
    import bm25s

    return bm25s.tokenize(texts, lower=True, stopwords=list(stopwords()), return_ids=False, show_progress=False)


class BM25Index:
    """BM25 over the stored sentences, built in memory on first use.

    At the default weight of 0 only the evaluation's step table asks for
    it, so a ``ragbot ask`` process neither imports bm25s (60 ms of a cold
    start) nor indexes the store.
    """

    def __init__(self, sentences: list[StoredSentence]) -> None:
        self.sentences = sentences

    @cached_property
    def _bm25(self) -> bm25s.BM25:
        import bm25s

        index = bm25s.BM25()
        index.index(_tokenize([s.text for s in self.sentences]), show_progress=False)
        return index

    def search(self, query: str, k: int) -> list[StoredSentence]:
        tokens = _tokenize([query])
        if not tokens[0]:
            return []
        k = min(k, len(self.sentences))
        ids, scores = self._bm25.retrieve(tokens, k=k, show_progress=False)
        return [
            self.sentences[int(i)] for i, score in zip(ids[0], scores[0]) if float(score) > 0
        ]
