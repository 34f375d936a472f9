"""Timing primitives the benchmark shares: percentiles, a timed chat model,
the machine's description and a child process's peak memory.

>>> percentile([3.0, 1.0, 2.0], 50), ratio(3.0, 2.0), ratio(1.0, 0.0)
(2.0, 1.5, None)
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from rag.llm import ChatModel, LlamaCppChat, Message

Say = Callable[[str], None]


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100), or None for no values."""
    return float(np.percentile(values, q)) if values else None


def ms(seconds: list[float], q: float) -> float | None:
    """The q-th percentile of ``seconds`` in milliseconds, rounded to 0.1."""
    value = percentile(seconds, q)
    return None if value is None else round(value * 1000, 1)


def ratio(numerator: float | None, denominator: float | None, digits: int = 3) -> float | None:
    """numerator ÷ denominator, or None when either is missing or the denominator is 0."""
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, digits)


@dataclass
class Call:
    """One generation as the engine saw it."""

    messages: list[Message]
    max_tokens: int
    started: float
    first_token: float | None = None
    finished: float = 0.0
    tokens: int = 0
    prompt_tokens: int = 0
    prompt: str = ""  # the exact text the model was given (llama.cpp only)
    reused_tokens: int = 0  # of it, tokens already in the KV cache


def decode_rate(call: Call) -> float | None:
    """Tokens per second after the first token (prompt evaluation excluded)."""
    if call.first_token is None or call.tokens < 2 or call.finished <= call.first_token:
        return None
    return (call.tokens - 1) / (call.finished - call.first_token)


class MeasuredChat:
    """A ChatModel wrapper that times every call and notes what it reused."""

    def __init__(self, inner: ChatModel) -> None:
        self.inner = inner
        self.identity = inner.identity
        self.calls: list[Call] = []

    def _llama(self):
        return self.inner.runtime if isinstance(self.inner, LlamaCppChat) else None

    def _note_cache(self, call: Call, prompt: str) -> None:
        llama = self._llama()
        if llama is None:
            return
        tokens = llama.tokenize(prompt.encode("utf-8"), special=True)
        call.prompt = prompt
        call.reused_tokens = self.inner.cached_tokens(tokens)

    def stream(self, messages: list[Message], max_tokens: int) -> Iterator[str]:
        call = Call(list(messages), max_tokens, time.perf_counter())
        self.calls.append(call)
        if isinstance(self.inner, LlamaCppChat):
            self._note_cache(call, self.inner.chat_prompt(messages))
        for piece in self.inner.stream(messages, max_tokens):
            if call.first_token is None:
                call.first_token = time.perf_counter()
            call.tokens += 1  # llama.cpp streams one token per piece
            yield piece
        call.finished = time.perf_counter()
        llama = self._llama()
        if llama is not None:
            # The context now holds prompt + generated tokens (the last one unevaluated).
            call.prompt_tokens = max(llama.n_tokens - call.tokens + 1, 0)

    def chat(self, messages: list[Message], max_tokens: int) -> str:
        return "".join(self.stream(messages, max_tokens))

    def answer(self, messages, evidence_count, max_tokens, abstain_above, on_text=None):
        call = Call(list(messages), max_tokens, time.perf_counter())
        self.calls.append(call)
        if isinstance(self.inner, LlamaCppChat):
            self._note_cache(call, self.inner.answer_prompt(messages))

        def seen(text: str) -> None:
            if call.first_token is None:
                call.first_token = time.perf_counter()
            if on_text is not None:
                on_text(text)

        draft = self.inner.answer(messages, evidence_count, max_tokens, abstain_above, seen)
        call.finished = time.perf_counter()
        # The model's first token (a sentence number), not the first answer text.
        call.first_token = draft.first_token_at or call.first_token
        call.tokens = draft.usage.get("completion_tokens", 0)
        call.prompt_tokens = draft.usage.get("prompt_tokens", 0)
        return draft

    def first_word_doubt(self, messages, accept, reject):
        call = Call(list(messages), 1, time.perf_counter())
        self.calls.append(call)
        if isinstance(self.inner, LlamaCppChat):
            self._note_cache(call, self.inner.chat_prompt(messages))
        score, usage = self.inner.first_word_doubt(messages, accept, reject)
        call.finished = call.first_token = time.perf_counter()
        call.tokens, call.prompt_tokens = usage.get("completion_tokens", 0), usage.get("prompt_tokens", 0)
        return score, usage

    def warm(self, messages: list[Message]) -> None:
        self.inner.warm(messages)


def _cpu() -> tuple[str, list[str]]:
    """The CPU's model name and the vector instruction sets llama.cpp cares about."""
    model, flags = platform.processor() or "unknown", []
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = value.split()
                    break
    except OSError:
        pass
    wanted = ("avx", "avx2", "fma", "f16c", "avx_vnni", "amx")
    return model, sorted(f for f in flags if f.startswith(wanted) or f.startswith("avx512"))


def machine() -> dict:
    memory_kb = 0
    try:
        with open("/proc/meminfo") as meminfo:
            memory_kb = int(meminfo.readline().split()[1])
    except (OSError, ValueError, IndexError):
        pass
    import llama_cpp

    model, flags = _cpu()
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "cpu_flags": flags,
        "memory_gb": round(memory_kb / 1024**2, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "llama_cpp_python": llama_cpp.__version__,
    }


# Runs one command and reports its own peak memory. A small launcher is needed:
# a child forked from the (big) benchmark process inherits the parent's
# high-water mark in ru_maxrss, so the bench cannot measure it directly.
_LAUNCHER = """
import resource, subprocess, sys, time
started = time.perf_counter()
child = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
seconds = time.perf_counter() - started
print(child.returncode, seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.stderr.buffer.write(child.stderr[-400:])
"""


@dataclass
class Measured:
    """A finished child process: its exit status, wall time, peak memory and last error output."""

    code: int
    seconds: float
    peak_mb: float
    stderr_tail: str


def run_measured(command: list[str], env: dict[str, str]) -> Measured:
    """Run ``command`` in a new process and measure it (the page cache stays as it is)."""
    launched = subprocess.run([sys.executable, "-c", _LAUNCHER, *command], env=env, capture_output=True, text=True)
    code, seconds, max_rss_kib = launched.stdout.split()
    return Measured(int(code), float(seconds), int(max_rss_kib) / 1024, launched.stderr.strip())
