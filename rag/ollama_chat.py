"""The Ollama adapter of :class:`rag.llm.ChatModel`: a model served by an Ollama server."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from rag.config import Settings
from rag.generate import AnswerStream, Draft, answer_schema, parse_reply
from rag.llm import Message


TOP_LOGPROBS = 20  # alternatives asked for at the one token read


def alternatives(entry) -> dict[str, float]:
    """One token's log-probabilities as Ollama reports them: the token and its top alternatives, by text."""
    shown = {alternative.token.strip(): alternative.logprob for alternative in entry.top_logprobs or []}
    shown.setdefault(entry.token.strip(), entry.logprob)
    return shown


def first_token_doubt(logprobs, accept: Sequence[str], reject: Sequence[str]) -> float | None:
    """log P(a reject word) − log P(an accept word) at the first generated token, from
    Ollama's ``logprobs`` entries (None when there are none).

    >>> from types import SimpleNamespace as T
    >>> entry = T(token="no", logprob=-0.2, top_logprobs=[T(token="no", logprob=-0.2), T(token="Yes", logprob=-1.8)])
    >>> round(first_token_doubt([entry], ("yes", "Yes"), ("no", "No")), 3)
    1.6
    >>> first_token_doubt(None, ("yes",), ("no",)) is None
    True
    """
    if not logprobs:
        return None
    shown = alternatives(logprobs[0])
    floor = min(shown.values())

    def likeliest(words: Sequence[str]) -> float | None:
        found = [shown[word] for word in words if word in shown]
        return max(found) if found else None

    yes, no = likeliest(accept), likeliest(reject)
    if yes is None and no is None:
        return None
    return (floor if no is None else no) - (floor if yes is None else yes)


class NumberDoubt:
    """log P("0") − log P(best sentence number) at the reply's first sentence number,
    read from Ollama's streamed ``logprobs`` (the embedded backend's abstention score).

    >>> from types import SimpleNamespace as T
    >>> doubt = NumberDoubt(evidence_count=2)
    >>> for token in ('{"', 'evidence', '":', ' [', '1'):
    ...     alternatives = [T(token="1", logprob=-0.3), T(token="0", logprob=-1.5)] if token == "1" else []
    ...     doubt.feed([T(token=token, logprob=-0.1, top_logprobs=alternatives)])
    >>> round(doubt.score, 3)
    -1.2
    """

    def __init__(self, evidence_count: int) -> None:
        self.numbers = [str(n) for n in range(evidence_count + 1)]
        self.text = ""
        self.score: float | None = None

    def feed(self, logprobs) -> None:
        for entry in logprobs or []:
            if self.score is None and "[" in self.text and entry.token.strip()[:1].isdigit():
                shown = alternatives(entry)
                floor = min(shown.values())
                best = max(shown.get(n, floor) for n in self.numbers[1:])
                self.score = shown.get("0", floor) - best
            self.text += entry.token


class OllamaChat:
    """A model served by Ollama, through llama-index's integration."""

    # Both scores come from Ollama's logprobs (0.12.11+); without them the
    # thresholds cannot apply (learnt at the first answer, see _without_logprobs).
    reads_logprobs = True

    def __init__(self, settings: Settings) -> None:
        from llama_index.llms.ollama import Ollama

        from rag.ollama import ollama_url, require_model

        require_model(settings, settings.ollama_llm_model)
        self.identity = f"ollama:{settings.ollama_llm_model}"
        self._without_logprobs = False  # learnt from the first confirm call (first_word_doubt)
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

        Where the server returns log-probabilities (Ollama 0.12.11+), the token
        holding the first sentence number gives the same abstention score as the
        embedded backend (:class:`NumberDoubt`), and the reply stops there when
        the score is above ``abstain_above``; otherwise the model's own choice of
        ``[0]`` is its abstention.
        """

        from rag.ollama import answer_client, translated_errors

        client = answer_client(self._settings)
        stream = AnswerStream(on_text)
        doubt = NumberDoubt(evidence_count)
        # Ollama reports what it evaluated, not what its own cache held.
        usage = {"prompt_tokens": 0, "cached_prompt_tokens": 0, "completion_tokens": 0, "model_calls": 1}
        with translated_errors(self._settings, self._settings.ollama_llm_model):
            chunks = client.chat(
                model=self._settings.ollama_llm_model,
                messages=messages,
                format=answer_schema(evidence_count),
                stream=True,
                logprobs=True,  # ignored by servers before 0.12.11, at no cost
                top_logprobs=TOP_LOGPROBS,
                options={
                    "temperature": self._settings.temperature,
                    "seed": self._settings.seed,
                    "num_predict": max_tokens,
                },
            )
            for chunk in chunks:
                doubt.feed(chunk.logprobs)
                stream.feed(chunk.message.content or "")
                if chunk.done:
                    usage["prompt_tokens"] = chunk.prompt_eval_count or 0
                    usage["completion_tokens"] = chunk.eval_count or 0
                if doubt.score is not None and doubt.score > abstain_above:
                    return Draft([], "", doubt.score, usage)  # "0" would be read: nothing more to wait for
        if not doubt.text:
            self._without_logprobs = True  # an older server: the confirm stage is not asked either
        evidence, text = parse_reply(stream.reply, evidence_count)
        return Draft(evidence, text, doubt.score, usage)

    def first_word_doubt(
        self, messages: list[Message], accept: Sequence[str], reject: Sequence[str]
    ) -> tuple[float | None, dict[str, int]]:
        """The same score as the embedded backend's, from Ollama's ``logprobs``: one
        generated token with its top alternatives (Ollama 0.12.11 and later). A word
        outside the alternatives counts as likely as the least likely one shown;
        None when the server returns no log-probabilities (older versions), and the
        check is then skipped."""
        from rag.ollama import answer_client, translated_errors

        if self._without_logprobs:
            return None, {"prompt_tokens": 0, "cached_prompt_tokens": 0, "completion_tokens": 0, "model_calls": 0}
        client = answer_client(self._settings)
        with translated_errors(self._settings, self._settings.ollama_llm_model):
            response = client.chat(
                model=self._settings.ollama_llm_model,
                messages=messages,
                stream=False,
                logprobs=True,
                top_logprobs=TOP_LOGPROBS,
                options={"temperature": 0, "seed": self._settings.seed, "num_predict": 1},
            )
        usage = {"prompt_tokens": response.prompt_eval_count or 0, "cached_prompt_tokens": 0,
                 "completion_tokens": response.eval_count or 0, "model_calls": 1}
        if not response.logprobs:
            self._without_logprobs = True  # an older server: not asked again by this process
        return first_token_doubt(response.logprobs, accept, reject), usage

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
