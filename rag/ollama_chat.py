"""The Ollama adapter of :class:`rag.llm.ChatModel`: a model served by an Ollama server."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from rag.config import Settings
from rag.generate import AnswerStream, Draft, answer_schema, parse_reply
from rag.llm import Message


class OllamaChat:
    """A model served by Ollama, through llama-index's integration."""

    reads_logprobs = False  # its chat API gives none here: the thresholds cannot apply

    def __init__(self, settings: Settings) -> None:
        from llama_index.llms.ollama import Ollama

        from rag.ollama import ollama_url, require_model

        require_model(settings, settings.ollama_llm_model)
        self.identity = f"ollama:{settings.ollama_llm_model}"
        self._settings = settings
        self._llm = Ollama(
            model=settings.ollama_llm_model,
            base_url=ollama_url(settings),
            temperature=settings.temperature,
            request_timeout=settings.request_timeout_s,
            additional_kwargs={"seed": settings.seed, "num_predict": settings.max_answer_tokens},
        )

    def warm(self, messages: list[Message]) -> None:
        """Nothing to do: the Ollama server keeps its own prompt cache."""

    def answer(
        self,
        messages: list[Message],
        evidence_count: int,
        max_tokens: int,
        abstain_above: float,
        on_text: Callable[[str], None] | None = None,
    ) -> Draft:
        """The reply constrained by Ollama's ``format`` (a JSON schema), streamed.

        Ollama gives no log-probabilities here, so the model's own choice of
        ``[0]`` is its abstention (``abstain_above`` cannot apply).
        """

        from rag.ollama import answer_client, translated_errors

        client = answer_client(self._settings)
        stream = AnswerStream(on_text)
        # Ollama reports what it evaluated, not what its own cache held.
        usage = {"prompt_tokens": 0, "cached_prompt_tokens": 0, "completion_tokens": 0, "model_calls": 1}
        with translated_errors(self._settings, self._settings.ollama_llm_model):
            for chunk in client.chat(
                model=self._settings.ollama_llm_model,
                messages=messages,
                format=answer_schema(evidence_count),
                stream=True,
                options={
                    "temperature": self._settings.temperature,
                    "seed": self._settings.seed,
                    "num_predict": max_tokens,
                },
            ):
                stream.feed(chunk.message.content or "")
                if chunk.done:
                    usage["prompt_tokens"] = chunk.prompt_eval_count or 0
                    usage["completion_tokens"] = chunk.eval_count or 0
        evidence, text = parse_reply(stream.reply, evidence_count)
        return Draft(evidence, text, None, usage)

    def first_word_doubt(
        self, messages: list[Message], accept: Sequence[str], reject: Sequence[str]
    ) -> tuple[float | None, dict[str, int]]:
        """None, without a call: Ollama's chat API gives no log-probabilities
        here, so checks that read them are skipped (see :mod:`rag.confirm`)."""
        return None, {"prompt_tokens": 0, "cached_prompt_tokens": 0, "completion_tokens": 0, "model_calls": 0}

    def chat(self, messages: list[Message], max_tokens: int) -> str:
        from llama_index.core.llms import ChatMessage

        from rag.ollama import translated_errors

        with translated_errors(self._settings, self._settings.ollama_llm_model):
            response = self._llm.chat(
                # The token cap is the num_predict option set at construction.
                [ChatMessage(role=m["role"], content=m["content"]) for m in messages]
            )
        return response.message.content or ""

    def stream(self, messages: list[Message], max_tokens: int) -> Iterator[str]:
        from llama_index.core.llms import ChatMessage

        from rag.ollama import translated_errors

        with translated_errors(self._settings, self._settings.ollama_llm_model):
            for response in self._llm.stream_chat(
                [ChatMessage(role=m["role"], content=m["content"]) for m in messages]
            ):
                if response.delta:
                    yield response.delta
