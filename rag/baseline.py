"""The plain llama-index pipeline ``ragbot eval --baseline`` compares against.

It is what a first attempt looks like: ``SimpleDirectoryReader`` over the same
seeds, ``VectorStoreIndex`` with llama-index's default chunking, and the
default query engine (``as_query_engine()``: top 2 chunks, "compact" response
synthesis with its own prompts), driven by the same LLM and embedding model
as ragbot. Its answers have no refusal mechanism and its "citations" are the
retrieved chunks, so it is scored with the same rules on the same gold set.
"""

from __future__ import annotations

import time
from typing import Any

from llama_index.core import Settings as LlamaSettings
from llama_index.core import SimpleDirectoryReader, VectorStoreIndex
from llama_index.core.llms import CompletionResponse, CompletionResponseGen, CustomLLM, LLMMetadata
from llama_index.core.llms.callbacks import llm_completion_callback
from pydantic import PrivateAttr

from rag.answer import Answer, Citation
from rag.config import Settings
from rag.embeddings import Embedder, as_llama_index
from rag.conversation import validate_question
from rag.language import detect_language
from rag.llm import ChatModel
from rag.retrieve import Retrieved
from rag.store import StoredSentence


class ChatModelLLM(CustomLLM):
    """A ragbot :class:`ChatModel` seen as a llama-index LLM (one user turn per prompt)."""

    context_window: int = 4096
    num_output: int = 256
    _chat_model: Any = PrivateAttr()

    def __init__(self, chat_model: ChatModel, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._chat_model = chat_model

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=self.context_window,
            num_output=self.num_output,
            model_name=self._chat_model.identity,
        )

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        text = self._chat_model.chat([{"role": "user", "content": prompt}], self.num_output)
        return CompletionResponse(text=text)

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        yield self.complete(prompt, formatted=formatted, **kwargs)


class BaselineEngine:
    """Answers gold questions the plain llama-index way (same interface as Engine)."""

    def __init__(self, settings: Settings, chat_model: ChatModel, embedder: Embedder) -> None:
        llm = ChatModelLLM(chat_model, context_window=settings.llm_context_tokens)
        embed_model = as_llama_index(embedder)
        # Pass both models explicitly: llama-index's fallback is OpenAI.
        LlamaSettings.llm, LlamaSettings.embed_model = llm, embed_model
        documents = SimpleDirectoryReader(str(settings.corpus_dir), filename_as_id=True).load_data()
        index = VectorStoreIndex.from_documents(documents, embed_model=embed_model)
        self._query_engine = index.as_query_engine(llm=llm)
        self._settings = settings
        self.backend = {"llm": f"baseline:{chat_model.identity}", "embedding": "baseline:same"}

    def ask_with_retrieval(self, question: str) -> tuple[Answer, Retrieved]:
        question = validate_question(question, self._settings.max_question_chars)
        started = time.perf_counter()
        response = self._query_engine.query(question)
        chunks = [
            StoredSentence(
                id=hit.node.node_id,
                source=str(hit.node.metadata.get("file_name", "")),
                start=hit.node.start_char_idx or 0,
                end=hit.node.end_char_idx or 0,
                text=hit.node.get_content(),
                language="",
                date="",
                title="",
                position=0,
            )
            for hit in response.source_nodes
        ]
        text = str(response).strip()
        answer = Answer(
            question=question,
            answer=text,
            refused=not text or text == "Empty Response",
            language=detect_language(question),
            citations=[Citation(c.source, c.text, c.start, c.end) for c in chunks],
            timings_ms={"total": round((time.perf_counter() - started) * 1000, 1)},
            backend=self.backend,
        )
        return answer, Retrieved(sentences=chunks, top_similarity=0.0, steps={"final": chunks})
