"""``ragbot bench``: how fast ragbot answers on this machine, and what limits it.

Everything is measured with the models and store the user configured,
except the corpus, which is ``corpus_dir`` ingested into a temporary store
(that ingestion is itself measured):

* **answers** (the gold questions through the real engine): time to first
  token (question in → first generated token out, retrieval and prompt
  evaluation included), total time, prompt and generated tokens, decode
  tokens/s; then the same prompts through llama.cpp alone (no ragbot code
  between the tokens), so ``decode_ratio`` shows the application's overhead;
* **retrieval** (query embedding + search + fusion, as ``ask`` does it) on the
  corpus and on synthetic stores of N sentences: texts recombined from the
  corpus sentences, vectors mixed from theirs (no embedding model runs, so the
  scale runs measure the store), built once and kept in
  ``<storage_dir>/bench/``;
* **ingestion** throughput (sentences/s) and the embedding share of it;
* **cold start**: a new ``ragbot ask`` process, start to answer, and its peak
  memory (max RSS);
* **baseline**: the plain llama-index pipeline of ``ragbot eval --baseline``
  on every k-th gold question, its answer time and accuracy beside ragbot's on the
  same questions.

Medians are over questions (and repeats for retrieval and cold start).
"""

from __future__ import annotations

import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.config import Settings
from rag.llm import ChatModel, LlamaCppChat, Message

Say = Callable[[str], None]


@dataclass
class BenchOptions:
    gold: Path
    questions: int | None = None  # None: every gold question
    scales: list[int] = field(default_factory=lambda: [10_000, 100_000])
    repeats: int = 3
    baseline_questions: int = 16  # spread over the gold set; 0: skip the baseline


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100), or None for no values.

    >>> percentile([3.0, 1.0, 2.0], 50), percentile([], 50)
    (2.0, None)
    """
    return float(np.percentile(values, q)) if values else None


def _ms(seconds: list[float], q: float) -> float | None:
    value = percentile(seconds, q)
    return None if value is None else round(value * 1000, 1)


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


class MeasuredChat:
    """A ChatModel wrapper that streams every call and times its tokens."""

    def __init__(self, inner: ChatModel) -> None:
        self.inner = inner
        self.identity = inner.identity
        self.calls: list[Call] = []

    def stream(self, messages: list[Message], max_tokens: int) -> Iterator[str]:
        call = Call(list(messages), max_tokens, time.perf_counter())
        self.calls.append(call)
        for piece in self.inner.stream(messages, max_tokens):
            if call.first_token is None:
                call.first_token = time.perf_counter()
            call.tokens += 1  # llama.cpp streams one token per piece
            yield piece
        call.finished = time.perf_counter()
        if isinstance(self.inner, LlamaCppChat):
            # The context now holds prompt + generated tokens (the last one unevaluated).
            call.prompt_tokens = max(self.inner.runtime.n_tokens - call.tokens + 1, 0)

    def chat(self, messages: list[Message], max_tokens: int) -> str:
        return "".join(self.stream(messages, max_tokens))

    def answer(self, messages, evidence_count, max_tokens, abstain_above, on_text=None):
        call = Call(list(messages), max_tokens, time.perf_counter())
        self.calls.append(call)

        def seen(text: str) -> None:
            if call.first_token is None:
                call.first_token = time.perf_counter()
            if on_text is not None:
                on_text(text)

        draft = self.inner.answer(messages, evidence_count, max_tokens, abstain_above, seen)
        call.finished = time.perf_counter()
        call.tokens = draft.usage.get("completion_tokens", 0)
        call.prompt_tokens = draft.usage.get("prompt_tokens", 0)
        return draft

    def warm(self, messages: list[Message]) -> None:
        self.inner.warm(messages)


def decode_rate(call: Call) -> float | None:
    """Tokens per second after the first token (prompt evaluation excluded)."""
    if call.first_token is None or call.tokens < 2 or call.finished <= call.first_token:
        return None
    return (call.tokens - 1) / (call.finished - call.first_token)


def raw_decode_rate(chat: LlamaCppChat, call: Call, settings: Settings) -> float | None:
    """The same prompt straight through llama.cpp: the speed ragbot should approach."""
    raw = Call(call.messages, call.max_tokens, time.perf_counter())
    for chunk in chat.runtime.create_chat_completion(
        messages=call.messages, max_tokens=call.max_tokens, temperature=settings.temperature,
        seed=settings.seed, stream=True,
    ):
        if chunk["choices"][0]["delta"].get("content"):
            raw.first_token = raw.first_token or time.perf_counter()
            raw.tokens += 1
    raw.finished = time.perf_counter()
    return decode_rate(raw)


def machine() -> dict:
    memory_kb = 0
    try:
        with open("/proc/meminfo") as meminfo:
            memory_kb = int(meminfo.readline().split()[1])
    except (OSError, ValueError, IndexError):
        pass
    import llama_cpp

    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024**2, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "llama_cpp_python": llama_cpp.__version__,
    }


class TimedEmbedding:
    """Passes batches to the embedding model and adds up the time they take."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.seconds = 0.0

    def get_text_embedding_batch(self, texts: list[str], **kwargs) -> list[list[float]]:
        started = time.perf_counter()
        try:
            return self.inner.get_text_embedding_batch(texts, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started


def bench_ingestion(settings: Settings, storage: Path, embed_model) -> dict:
    """Ingest corpus_dir into a fresh store (empty embedding cache) and time it."""
    from rag.ingest import ingest

    timed = TimedEmbedding(embed_model)
    started = time.perf_counter()
    report = ingest(
        settings.model_copy(update={"storage_dir": storage, "chroma_url": None}),
        settings.corpus_dir,
        embed_model=timed,  # type: ignore[arg-type]  # ingestion only embeds batches
    )
    seconds = time.perf_counter() - started
    return {
        "files": report.documents,
        "sentences": report.chunks,
        "seconds": round(seconds, 2),
        "sentences_per_s": round(report.chunks / seconds, 1),
        "embedding_share": round(timed.seconds / seconds, 3),
    }


def accuracy(results: list) -> float:
    """Share of answerable questions answered with every expected fact."""
    answerable = [r for r in results if r.item.answerable]
    return round(sum(r.correct for r in answerable) / max(len(answerable), 1), 3)


def bench_answers(engine, chat: MeasuredChat, items, settings: Settings, corpus_dir: Path) -> tuple[dict, list, list]:
    from rag.evaluate import run_gold

    ttft, totals, decode, raw_decode, prompt_tokens, generated = [], [], [], [], [], []
    results = []
    for item in items:
        chat.calls.clear()
        started = time.perf_counter()
        [result] = run_gold(engine, [item], corpus_dir, explain=False)
        totals.append(time.perf_counter() - started)
        results.append(result)
        calls = list(chat.calls)
        if not calls:
            continue  # refused before generation
        if calls[0].first_token is not None:
            ttft.append(calls[0].first_token - started)
        prompt_tokens.append(sum(c.prompt_tokens for c in calls))
        generated.append(sum(c.tokens for c in calls))
        for call in calls:
            rate = decode_rate(call)
            if rate is None:
                continue
            decode.append(rate)
            if isinstance(chat.inner, LlamaCppChat):
                raw = raw_decode_rate(chat.inner, call, settings)
                if raw is not None:
                    raw_decode.append(raw)
    decode_p50, raw_p50 = percentile(decode, 50), percentile(raw_decode, 50)
    figures = {
        "questions": len(items),
        "generated_answers": len(ttft),
        "accuracy": accuracy(results),
        "ttft_ms_p50": _ms(ttft, 50),
        "ttft_ms_p95": _ms(ttft, 95),
        "total_ms_p50": _ms(totals, 50),
        "total_ms_p95": _ms(totals, 95),
        "prompt_tokens_p50": percentile(prompt_tokens, 50),
        "generated_tokens_p50": percentile(generated, 50),
        "decode_tps_p50": None if decode_p50 is None else round(decode_p50, 1),
        "raw_decode_tps_p50": None if raw_p50 is None else round(raw_p50, 1),
        "decode_ratio": None if not (decode_p50 and raw_p50) else round(decode_p50 / raw_p50, 3),
    }
    return figures, totals, results


def bench_baseline(settings: Settings, chat_model: ChatModel, embed_model, items, corpus_dir: Path) -> tuple[dict, list]:
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
        "total_ms_p50": _ms(totals, 50),
        "total_ms_p95": _ms(totals, 95),
    }, totals


def retrieval_latency(retriever, questions: list[str], repeats: int) -> dict:
    retriever.retrieve(questions[0])  # first call pays one-off set-up
    seconds = []
    for _ in range(repeats):
        for question in questions:
            started = time.perf_counter()
            retriever.retrieve(question)
            seconds.append(time.perf_counter() - started)
    return {"queries": len(seconds), "p50_ms": _ms(seconds, 50), "p95_ms": _ms(seconds, 95)}


def synthetic_store(settings: Settings, size: int, sentences, vectors: dict[str, list[float]], say: Say):
    """A store of ``size`` recombined sentences in ``<storage_dir>/bench`` (built once, then reused)."""
    from llama_index.core.schema import TextNode

    from rag.store import Store

    bench_settings = settings.model_copy(
        update={"storage_dir": settings.storage_dir / "bench" / f"synthetic-{size}", "chroma_url": None}
    )
    store = Store(bench_settings)
    identity = "bench:synthetic"
    collection = store.collection(identity, create=True)
    if store.count(collection) == size:
        return store, collection
    say(f"building a synthetic store of {size:,} sentences (once; kept in {bench_settings.storage_dir})")
    store.drop()
    collection = store.collection(identity, create=True)
    rng = random.Random(size)
    batch: list[TextNode] = []
    for number in range(size):
        first, second = rng.sample(sentences, 2)
        mixed = np.asarray(vectors[first.id]) + np.asarray(vectors[second.id]) + np.random.default_rng(number).normal(0, 0.02, len(vectors[first.id]))
        node = TextNode(
            id_=f"synthetic-{number}",
            text=f"{first.text} {second.text}",
            embedding=(mixed / np.linalg.norm(mixed)).tolist(),
            metadata={
                "source": f"synthetic_{number // 50:05}.txt", "start": 0, "end": 0,
                "language": first.language, "date": "", "title": "", "position": number % 50,
                "file_sha": "", "chunks": 50, "root": "",
            },
        )
        batch.append(node)
        if len(batch) == 2000:
            store.add(collection, batch)
            batch = []
    store.add(collection, batch)
    return store, collection


def bench_retrieval(settings: Settings, engine, questions: list[str], options: BenchOptions, say: Say) -> dict:
    from llama_index.core import VectorStoreIndex
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from rag.retrieve import HybridRetriever
    from rag.store import Store

    figures = {"corpus": {"sentences": len(engine.sentences), **retrieval_latency(engine.retriever, questions, options.repeats)}}
    collection = Store(engine.settings).collection(engine.embedding_identity)
    rows = collection.get(ids=[s.id for s in engine.sentences], include=["embeddings"])
    vectors = {id_: list(vector) for id_, vector in zip(rows["ids"], rows["embeddings"])}
    for size in options.scales:
        store, synthetic = synthetic_store(settings, size, engine.sentences, vectors, say)
        retriever = HybridRetriever.from_settings(
            VectorStoreIndex.from_vector_store(ChromaVectorStore(chroma_collection=synthetic), embed_model=engine.embed_model),
            store.read_sentences(synthetic),
            settings,
        )
        figures[str(size)] = {"sentences": size, **retrieval_latency(retriever, questions, options.repeats)}
    return figures


# Runs one command and reports its own peak memory. A small launcher is needed:
# a child forked from the (big) benchmark process inherits the parent's
# high-water mark in ru_maxrss, so the bench cannot measure it directly.
_LAUNCHER = """
import resource, subprocess, sys, time
started = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).returncode
seconds = time.perf_counter() - started
print(code, seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def bench_cold_start(settings: Settings, storage: Path, question: str, repeats: int) -> dict:
    """A new `ragbot ask` process per run: wall time to the answer and its max RSS."""
    env = {**os.environ, "RAGBOT_STORAGE_DIR": str(storage), "RAGBOT_MODEL_DIR": str(settings.model_dir)}
    seconds, peaks = [], []
    for _ in range(repeats):
        launched = subprocess.run(
            [sys.executable, "-c", _LAUNCHER, sys.executable, "-m", "bot.cli", "ask", "--json", question],
            env=env, capture_output=True, text=True,
        )
        code, elapsed, max_rss_kib = launched.stdout.split()
        if int(code) != 0:
            raise RuntimeError(f"ragbot ask failed in the cold-start run: {launched.stderr.strip()[-300:]}")
        seconds.append(float(elapsed))
        peaks.append(int(max_rss_kib) / 1024)
    return {"runs": repeats, "p50_s": round(percentile(seconds, 50), 2), "max_s": round(max(seconds), 2), "ask_peak_rss_mb": round(max(peaks))}


def run_bench(settings: Settings, options: BenchOptions, say: Say = lambda message: None) -> dict:
    from rag.embeddings import build_embedding
    from rag.engine import Engine
    from rag.evaluate import load_gold
    from rag.llm import build_chat_model

    items = load_gold(options.gold)[: options.questions]
    with tempfile.TemporaryDirectory(prefix="ragbot-bench-") as tmp:
        storage = Path(tmp) / "store"
        say("loading the models")
        embed_model = build_embedding(settings)
        chat = MeasuredChat(build_chat_model(settings))
        say("ingestion")
        ingestion = bench_ingestion(settings, storage, embed_model)
        engine = Engine(settings.model_copy(update={"storage_dir": storage, "chroma_url": None}), chat, embed_model)
        say(f"answers ({len(items)} gold questions, then the same prompts through llama.cpp alone)")
        answers, totals, results = bench_answers(engine, chat, items, settings, settings.corpus_dir)
        say("retrieval")
        retrieval = bench_retrieval(settings, engine, [item.question for item in items], options, say)
        say("cold start")
        cold_start = bench_cold_start(settings, storage, items[0].question, options.repeats)
        report = {
            "machine": machine(),
            "models": engine.backend,
            "answers": answers,
            "retrieval": retrieval,
            "ingestion": ingestion,
            "cold_start": cold_start,
            "bench_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }
        if options.baseline_questions:
            # Every k-th question: the gold file is grouped by article, and the
            # baseline is fast on runs of questions about one article (its
            # prompt prefix is then cached), slow otherwise.
            stride = max(1, len(items) // options.baseline_questions)
            picked = list(range(0, len(items), stride))[: options.baseline_questions]
            subset = [items[i] for i in picked]
            say(f"baseline ({len(subset)} questions)")
            baseline, baseline_totals = bench_baseline(settings, chat.inner, embed_model, subset, settings.corpus_dir)
            ours_totals = [totals[i] for i in picked]
            ours, theirs = percentile(ours_totals, 50), percentile(baseline_totals, 50)
            baseline["ragbot_total_ms_p50_same_questions"] = _ms(ours_totals, 50)
            baseline["ragbot_accuracy_same_questions"] = accuracy([results[i] for i in picked])
            baseline["time_ratio"] = round(ours / theirs, 3) if ours and theirs else None
            report["baseline"] = baseline
        return report


def _fmt(value, unit: str = "", scale: float = 1.0, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    return f"{value * scale:,.{digits}f}{unit}"


def bench_markdown(report: dict, command: str) -> str:
    """The BENCHMARKS.md table: each figure, its target, and the baseline beside it."""
    answers, retrieval, cold = report["answers"], report["retrieval"], report["cold_start"]
    ingestion, baseline = report["ingestion"], report.get("baseline") or {}
    rows = [
        ("answer time, median (p95)", f"{_fmt(answers['total_ms_p50'], ' s', 0.001, 2)} ({_fmt(answers['total_ms_p95'], ' s', 0.001, 2)})", "≤ 3 s"),
        ("time to first token, median (p95)", f"{_fmt(answers['ttft_ms_p50'], ' s', 0.001, 2)} ({_fmt(answers['ttft_ms_p95'], ' s', 0.001, 2)})", "≤ 1.5 s"),
        ("decode speed, median", f"{_fmt(answers['decode_tps_p50'], ' tok/s')}", ""),
        ("raw llama.cpp decode, same prompts", f"{_fmt(answers['raw_decode_tps_p50'], ' tok/s')}", ""),
        ("decode speed / raw llama.cpp", _fmt(answers["decode_ratio"], "", 1, 3), "≥ 0.90"),
        ("prompt tokens / generated tokens, median", f"{_fmt(answers['prompt_tokens_p50'], '', 1, 0)} / {_fmt(answers['generated_tokens_p50'], '', 1, 0)}", ""),
    ]
    for name, figures in retrieval.items():
        label = "the corpus" if name == "corpus" else "synthetic"
        target = "≤ 30 ms" if name == "corpus" else ("≤ 100 ms" if figures["sentences"] >= 100_000 else "")
        rows.append((
            f"retrieval p50 (p95), {label}, {figures['sentences']:,} sentences",
            f"{_fmt(figures['p50_ms'], ' ms')} ({_fmt(figures['p95_ms'], ' ms')})",
            target,
        ))
    rows += [
        ("ingestion", f"{ingestion['sentences_per_s']:,} sentences/s ({ingestion['embedding_share']:.0%} embedding)", ""),
        ("cold start (new `ragbot ask` process to answer), median", f"{cold['p50_s']} s", "≤ 8 s"),
        ("peak memory of `ragbot ask`", f"{cold['ask_peak_rss_mb']:,} MB", "≤ 3 GB"),
        ("answer accuracy (gold questions benched)", _fmt(answers["accuracy"], "", 1, 3), ""),
    ]
    lines = [
        "# Benchmarks",
        "",
        "Written by `ragbot bench --markdown BENCHMARKS.md` (`make bench`); re-run it when the figures change.",
        "Answers: the gold questions through the real engine (retrieval, prompt, generation, checks);",
        "time to first token runs from the question to the first generated token. Raw llama.cpp: the same",
        "prompts through `Llama.create_chat_completion` alone. Retrieval: query embedding + search +",
        "fusion as `ask` does it; the synthetic stores recombine the corpus sentences and mix their",
        "vectors. Cold start: a new `ragbot ask` process (page cache warm), start to answer; its",
        "peak memory is the process's max RSS.",
        "",
        "| figure | ragbot | target |",
        "|---|---|---|",
        *[f"| {name} | {value} | {target} |" for name, value, target in rows],
    ]
    if baseline:
        lines += [
            "",
            f"Against the plain llama-index pipeline (`ragbot eval --baseline`), the same {baseline['questions']} questions (every k-th of the gold set):",
            "",
            "| figure | ragbot | baseline | target |",
            "|---|---|---|---|",
            f"| answer time, median | {_fmt(baseline['ragbot_total_ms_p50_same_questions'], ' s', 0.001, 2)} | {_fmt(baseline['total_ms_p50'], ' s', 0.001, 2)} | ragbot ≤ 0.7 × baseline (now {_fmt(baseline['time_ratio'], '×', 1, 2)}) |",
            f"| answer accuracy | {_fmt(baseline['ragbot_accuracy_same_questions'], '', 1, 3)} | {_fmt(baseline['accuracy'], '', 1, 3)} | ragbot ≥ baseline |",
        ]
    machine_info, models = report["machine"], report["models"]
    lines += [
        "",
        f"Machine: {machine_info['cpus']} CPUs, {machine_info['memory_gb']} GB memory, {machine_info['platform']}, "
        f"Python {machine_info['python']}, llama-cpp-python {machine_info['llama_cpp_python']}.",
        f"Models: LLM `{models['llm']}`, embedding `{models['embedding']}`.",
        f"Command: `{command}`.",
    ]
    return "\n".join(lines) + "\n"
