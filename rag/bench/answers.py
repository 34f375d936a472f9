"""Answer latency against llama.cpp alone on the same prompts, and against
the plain llama-index pipeline.

For every model call the engine made, the same prompt goes through
``Llama.create_completion`` with nothing around it, starting from the same
KV-cache state (the tokens the engine's call found cached are kept, the rest
is evaluated again): its time to first token is the prefill the engine had
to pay, and its decode rate gives what the engine's generated tokens cost.
``raw time = raw time to first token + (generated tokens - 1) / raw decode
rate``, so the ratio ``answer time / raw time`` is what ragbot adds around
the model (retrieval, checks, grammar-constrained sampling), the same on a
fast CPU and a slow one.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

from rag.bench.measure import Call, MeasuredChat, decode_rate, ms, percentile, ratio
from rag.config import Settings
from rag.llm import ChatModel, LlamaCppChat

RAW_MIN_TOKENS = 16  # a decode rate from fewer tokens is mostly noise


@dataclass
class RawTiming:
    """One prompt through llama.cpp alone."""

    first_token_s: float
    decode_tps: float | None
    uncached_tokens: int

    def time_for(self, tokens: int) -> float | None:
        """Prefill plus ``tokens`` generated tokens at this decode rate."""
        if tokens <= 1:
            return self.first_token_s
        return None if not self.decode_tps else self.first_token_s + (tokens - 1) / self.decode_tps


def raw_timing(chat: LlamaCppChat, call: Call, settings: Settings) -> RawTiming | None:
    """``call``'s prompt through llama.cpp alone, from the same cached prefix."""
    llama = chat.runtime
    if not call.prompt:
        return None
    tokens = llama.tokenize(call.prompt.encode("utf-8"), special=True)
    # Keep only what the engine's call found cached; llama.cpp evaluates the rest.
    llama.n_tokens = min(call.reused_tokens, llama.n_tokens)
    raw = Call(call.messages, call.max_tokens, time.perf_counter())
    for _chunk in llama.create_completion(
        prompt=call.prompt, max_tokens=max(call.tokens, RAW_MIN_TOKENS),
        temperature=settings.temperature, seed=settings.seed, stream=True,
    ):
        raw.first_token = raw.first_token or time.perf_counter()
        raw.tokens += 1
    raw.finished = time.perf_counter()
    if raw.first_token is None:
        return None
    return RawTiming(raw.first_token - raw.started, decode_rate(raw), len(tokens) - call.reused_tokens)


def discord_first_edit(first_text_s: float, interval_s: float = 1.0) -> float:
    """When Discord shows a draft whose first text came ``first_text_s`` after the question.

    The bot edits its deferred reply with the draft on a timer started with
    the answer, every ``interval_s`` (``bot.discord_draft``; the engine
    cannot import the bot), so the text shows at the first tick after it.

    >>> discord_first_edit(2.3), discord_first_edit(3.0)
    (3.0, 3.0)
    """
    return math.ceil(first_text_s / interval_s) * interval_s


def accuracy(results: list) -> float:
    """Share of answerable questions answered with every expected fact."""
    answerable = [r for r in results if r.item.answerable]
    return round(sum(r.correct for r in answerable) / max(len(answerable), 1), 3)


def bench_answers(engine, chat: MeasuredChat, items, settings: Settings, corpus_dir: Path) -> tuple[dict, list, list]:
    """Each item through the engine, then its prompts through llama.cpp alone.

    Returns the figures, every item's answer time, and the evaluation results.
    """
    from rag.evaluate import run_gold

    ttft, totals, decode, raw_decode, prompt_tokens, generated = [], [], [], [], [], []
    first_text, discord_visible = [], []
    uncached, answer_ratios, ttft_ratios, raw_totals = [], [], [], []
    results = []
    for item in items:
        chat.calls.clear()
        text_at: list[float] = []
        started = time.perf_counter()
        [result] = run_gold(engine, [item], corpus_dir, explain=False, on_token=lambda piece: text_at.append(time.perf_counter()))
        total = time.perf_counter() - started
        if text_at:
            first_text.append(text_at[0] - started)
            discord_visible.append(discord_first_edit(text_at[0] - started))
        totals.append(total)
        results.append(result)
        calls = list(chat.calls)
        if not calls:
            continue  # refused before generation
        if calls[0].first_token is not None:
            ttft.append(calls[0].first_token - started)
        prompt_tokens.append(sum(c.prompt_tokens for c in calls))
        generated.append(sum(c.tokens for c in calls))
        decode += [rate for rate in map(decode_rate, calls) if rate is not None]
        if not isinstance(chat.inner, LlamaCppChat):
            continue
        raws = [raw_timing(chat.inner, call, settings) for call in calls]
        if any(raw is None for raw in raws):
            continue
        raw_decode += [raw.decode_tps for raw in raws if raw.decode_tps]
        uncached.append(sum(raw.uncached_tokens for raw in raws))
        raw_total = [raw.time_for(call.tokens) for raw, call in zip(raws, calls)]
        if None not in raw_total:
            raw_totals.append(sum(raw_total))
            answer_ratios.append(total / sum(raw_total))
        if calls[0].first_token is not None:
            ttft_ratios.append((calls[0].first_token - started) / raws[0].first_token_s)
    decode_p50, raw_p50 = percentile(decode, 50), percentile(raw_decode, 50)
    figures = {
        "questions": len(items),
        "generated_answers": len(ttft),
        "accuracy": accuracy(results),
        "ttft_ms_p50": ms(ttft, 50),
        "ttft_ms_p95": ms(ttft, 95),
        "first_text_ms_p50": ms(first_text, 50),
        "discord_first_text_ms_p50": ms(discord_visible, 50),
        "total_ms_p50": ms(totals, 50),
        "total_ms_p95": ms(totals, 95),
        "raw_total_ms_p50": ms(raw_totals, 50),
        "answer_time_ratio_p50": _rounded(percentile(answer_ratios, 50)),
        "ttft_ratio_p50": _rounded(percentile(ttft_ratios, 50)),
        "prompt_tokens_p50": percentile(prompt_tokens, 50),
        "uncached_prompt_tokens_p50": percentile(uncached, 50),
        "generated_tokens_p50": percentile(generated, 50),
        "decode_tps_p50": _rounded(decode_p50, 1),
        "raw_decode_tps_p50": _rounded(raw_p50, 1),
        "decode_ratio": ratio(decode_p50, raw_p50),
    }
    return figures, totals, results


def _rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def bench_baseline(settings: Settings, chat_model: ChatModel, embed_model, items, corpus_dir: Path) -> tuple[dict, list]:
    """The plain llama-index pipeline (``ragbot eval --baseline``) on ``items``."""
    from rag.baseline import BaselineEngine
    from rag.evaluate import run_gold

    baseline = BaselineEngine(settings, chat_model, embed_model)
    totals, results = [], []
    for item in items:
        started = time.perf_counter()
        results.extend(run_gold(baseline, [item], corpus_dir))
        totals.append(time.perf_counter() - started)
    return {
        "questions": len(items),
        "accuracy": accuracy(results),
        "total_ms_p50": ms(totals, 50),
        "total_ms_p95": ms(totals, 95),
    }, totals
