"""``ragbot bench``: how fast ragbot answers on this machine, and what limits it.

Absolute times do not carry from one CPU to another (the same model ran
three times slower on an AVX2-only CPU than on an AVX-512 one), so each
figure is first given as a ratio to what llama.cpp or the embedding model
alone takes for the same work, measured in the same run:

* **answers** (:mod:`rag.bench.answers`): answer time ÷ the same prompts
  through llama.cpp alone, time to first token ÷ llama.cpp's own prefill of
  the same uncached tokens, decode speed ÷ llama.cpp's;
* **cold start** (:mod:`rag.bench.cold_start`): a new ``ragbot ask`` process
  ÷ (a new process that only loads the model + the same answer from the
  warm engine), over several questions (``cold_questions``);
* **ingestion** (:mod:`rag.bench.ingestion`): ingestion time ÷ embedding
  the same sentences alone; with ``--archive N`` also N synthetic articles,
  peak memory as the store grows, and an interrupted run resumed;
* **retrieval** (:mod:`rag.bench.retrieval`) on the corpus and on synthetic
  stores of 10,000 and 100,000 sentences;
* **baseline**: the plain llama-index pipeline on every k-th question.

Everything runs with the models the user configured; the corpus is
``corpus_dir`` ingested into a temporary store. Medians are over questions
(and repeats for retrieval and cold start).
"""

from __future__ import annotations

import resource
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from rag.bench.answers import accuracy, bench_answers, bench_baseline
from rag.bench.cold_start import bench_cold_start
from rag.bench.ingestion import bench_archive, bench_ingestion
from rag.bench.measure import MeasuredChat, Say, machine, ms, percentile, ratio
from rag.bench.report import bench_markdown
from rag.bench.retrieval import bench_retrieval
from rag.config import Settings

__all__ = ["BenchOptions", "bench_markdown", "run_bench"]


@dataclass
class BenchOptions:
    gold: Path
    questions: int | None = None  # spread over the gold set; None: every gold question
    scales: list[int] = field(default_factory=lambda: [10_000, 100_000])
    repeats: int = 3
    baseline_questions: int = 16  # spread over the gold set; 0: skip the baseline
    archive_articles: int = 0  # synthetic articles for the archive-scale ingestion; 0: skip
    cold_questions: int = 3  # questions asked in new processes, spread over the benched ones


def run_bench(settings: Settings, options: BenchOptions, say: Say = lambda message: None) -> dict:
    from rag.embeddings import build_embedding
    from rag.engine import Engine
    from rag.evaluate import load_gold
    from rag.llm import build_chat_model

    # Spread over the gold set, which is grouped by article and language: the
    # first N questions would all be Danish questions about one article.
    gold = load_gold(options.gold)
    items = [gold[i] for i in _spread(len(gold), options.questions or len(gold))]
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
        retrieval = bench_retrieval(settings, engine, [item.question for item in items], options.scales, options.repeats, say)
        say("cold start")
        asked = [(items[i].question, totals[i]) for i in _spread(len(items), options.cold_questions)]
        cold_start = bench_cold_start(settings, storage, asked, options.repeats)
        report = {
            "machine": machine(),
            "models": engine.backend,
            "answers": answers,
            "retrieval": retrieval,
            "ingestion": ingestion,
            "cold_start": cold_start,
        }
        if options.archive_articles:
            report["archive"] = bench_archive(
                settings, options.archive_articles, embed_model, [s.text for s in engine.sentences], say
            )
        if options.baseline_questions:
            report["baseline"] = _baseline(settings, chat, embed_model, items, totals, results, options, say)
        report["bench_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        return report


def _baseline(settings: Settings, chat: MeasuredChat, embed_model, items, totals, results, options: BenchOptions, say: Say) -> dict:
    # Every k-th question: the gold file is grouped by article, and the
    # baseline is fast on runs of questions about one article (its prompt
    # prefix is then cached), slow otherwise.
    picked = _spread(len(items), options.baseline_questions)
    say(f"baseline ({len(picked)} questions)")
    baseline, baseline_totals = bench_baseline(settings, chat.inner, embed_model, [items[i] for i in picked], settings.corpus_dir)
    ours_totals = [totals[i] for i in picked]
    baseline["ragbot_total_ms_p50_same_questions"] = ms(ours_totals, 50)
    baseline["ragbot_accuracy_same_questions"] = accuracy([results[i] for i in picked])
    baseline["time_ratio"] = ratio(percentile(ours_totals, 50), percentile(baseline_totals, 50))
    return baseline


def _spread(count: int, wanted: int) -> list[int]:
    """Up to ``wanted`` indexes spread evenly over ``range(count)``.

    >>> _spread(12, 3)
    [0, 4, 8]
    """
    stride = max(1, count // max(1, wanted))
    return list(range(0, count, stride))[:wanted]
