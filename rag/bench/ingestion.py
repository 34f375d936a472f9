"""Ingestion throughput against the embedding model alone.

Embedding is the work ingestion cannot skip, so ``ingestion time ÷ the time
the embedding model alone takes for the same sentences`` is what the rest
(reading, splitting, language detection, Chroma writes, the embedding
cache) costs, on any CPU.

``bench_archive`` (on demand: ``ragbot bench --archive N``) ingests N
synthetic articles in a new ``ragbot ingest`` process, samples its memory as
the store grows, then interrupts a second run part-way (SIGINT, as Ctrl-C
does) and runs it again to show that finished files are not redone.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rag.bench.measure import Say, ratio
from rag.config import Settings
from rag.embeddings import embedding_identity

ARCHIVE_EMBEDDING_SAMPLE = 2048  # archive sentences embedded alone for the model's own rate (about a minute)


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


def embedding_rate(embed_model, texts: list[str]) -> float:
    """Texts per second of the embedding model alone (it batches them itself)."""
    started = time.perf_counter()
    embed_model.get_text_embedding_batch(texts)
    return len(texts) / (time.perf_counter() - started)


def bench_ingestion(settings: Settings, storage: Path, embed_model) -> dict:
    """Ingest corpus_dir into a fresh store (empty embedding cache), then embed its sentences alone."""
    from rag.ingest import ingest
    from rag.store import Store

    timed = TimedEmbedding(embed_model)
    fresh = settings.model_copy(update={"storage_dir": storage, "chroma_url": None})
    started = time.perf_counter()
    report = ingest(fresh, settings.corpus_dir, embed_model=timed)  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    texts = [sentence.text for sentence in Store(fresh).sentences(embedding_identity(fresh))]
    alone = len(texts) / embedding_rate(embed_model, texts) if texts else None
    return {
        "files": report.documents,
        "sentences": report.chunks,
        "seconds": round(seconds, 2),
        "sentences_per_s": round(report.chunks / seconds, 1),
        "embedding_share": round(timed.seconds / seconds, 3),
        "embedding_alone_s": None if alone is None else round(alone, 2),
        "ratio": ratio(seconds, alone),
    }


def write_archive(folder: Path, articles: int, sentences: list[str], seed: int = 0) -> int:
    """``articles`` synthetic articles of 12-24 sentences each, every sentence distinct.

    Each sentence is a corpus sentence with its words shuffled and an
    article/sentence number woven in, so lengths and vocabulary stay
    realistic and nothing is found in the embedding cache. Returns the
    number of sentences written.
    """
    rng = random.Random(seed)
    written = 0
    for number in range(articles):
        lines = [f"Synthetic report {number}", ""]
        for index in range(rng.randint(12, 24)):
            words = rng.choice(sentences).rstrip(".!?").split()
            rng.shuffle(words)
            words.insert(rng.randrange(len(words) + 1), f"{number}-{index}")
            lines.append(" ".join(words).capitalize() + ".")
            written += 1
        (folder / f"archive_{number:05}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return written


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _run_ingest(folder: Path, env: dict[str, str], stop_after_s: float | None = None) -> tuple[dict | None, float, list[float], float]:
    """``ragbot ingest --json folder`` in a new process.

    Returns its report (None when interrupted), wall seconds, its resident
    memory sampled every half second (MB) and its peak memory (MB).
    """
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "ingest", "--json", str(folder)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        # A benchmark started in the background (`nohup ... &`) has SIGINT
        # ignored, and an ignored signal stays ignored in its children: the
        # interrupted run then went on to the end. Python installs its
        # KeyboardInterrupt handler when it starts with the default action.
        preexec_fn=_default_sigint,
    )
    samples: list[float] = []
    # The kernel's high-water mark of the child's own memory (VmHWM), read
    # while it runs: wait4's ru_maxrss would report the (big) benchmark
    # process's peak instead, which a child started from it inherits.
    high_water = 0.0
    interrupted = False
    while True:
        pid, status, _ = os.wait4(child.pid, os.WNOHANG)
        if pid:
            child.returncode = os.waitstatus_to_exitcode(status)
            break
        try:
            with open(f"/proc/{child.pid}/status", encoding="ascii") as status_file:
                fields = dict(line.split(":", 1) for line in status_file if line.startswith(("VmRSS:", "VmHWM:")))
            samples.append(int(fields["VmRSS"].split()[0]) / 1024)
            high_water = max(high_water, int(fields["VmHWM"].split()[0]) / 1024)
        except (OSError, KeyError, ValueError):
            pass
        if stop_after_s is not None and not interrupted and time.perf_counter() - started > stop_after_s:
            child.send_signal(signal.SIGINT)
            interrupted = True
        time.sleep(0.5)
    out = child.stdout.read().decode() if child.stdout else ""
    seconds = time.perf_counter() - started
    peak = max(high_water, max(samples, default=0.0))
    report = json.loads(out) if out.strip() and not interrupted else None
    return report, seconds, samples, peak


def bench_archive(settings: Settings, articles: int, embed_model, corpus_sentences: list[str], say: Say) -> dict:
    """Ingest ``articles`` synthetic articles; then interrupt and resume a second run."""
    from rag.store import Store

    with tempfile.TemporaryDirectory(prefix="ragbot-archive-") as tmp:
        folder = Path(tmp) / "articles"
        folder.mkdir()
        sentences = write_archive(folder, articles, corpus_sentences)
        texts = [line for path in sorted(folder.iterdir()) for line in path.read_text().splitlines()[2:]]
        # The same 512 sentences embedded at 38.0 and 33.3 texts/s in two runs
        # on one machine: a longer sample, spread over the archive, averages
        # more of that drift.
        sample = texts[:: max(1, len(texts) // ARCHIVE_EMBEDDING_SAMPLE)][:ARCHIVE_EMBEDDING_SAMPLE]
        rate = embedding_rate(embed_model, sample)
        env = {**os.environ, "RAGBOT_STORAGE_DIR": str(Path(tmp) / "store"), "RAGBOT_MODEL_DIR": str(settings.model_dir)}
        env.pop("RAGBOT_CHROMA_URL", None)
        say(f"archive: ingesting {articles:,} synthetic articles ({sentences:,} sentences)")
        report, seconds, samples, peak = _run_ingest(folder, env)
        if report is None:
            raise RuntimeError("the archive ingestion failed")
        quarters = [max(samples[len(samples) * q // 4 : len(samples) * (q + 1) // 4] or [0.0]) for q in range(4)]
        say("archive: a second run, interrupted part-way, then resumed")
        resume_env = {**env, "RAGBOT_STORAGE_DIR": str(Path(tmp) / "resumed")}
        _, interrupted_s, _, _ = _run_ingest(folder, resume_env, stop_after_s=seconds * 0.4)
        resumed_settings = settings.model_copy(update={"storage_dir": Path(tmp) / "resumed", "chroma_url": None})
        store = Store(resumed_settings)
        finished = sum(doc.complete for doc in store.documents(store.collection(embedding_identity(resumed_settings))).values())
        resumed, resumed_s, _, _ = _run_ingest(folder, resume_env)
    alone = report["chunks"] / rate
    return {
        "articles": articles,
        "sentences": report["chunks"],
        "seconds": round(seconds, 1),
        "sentences_per_s": round(report["chunks"] / seconds, 1),
        "embedding_alone_texts_per_s": round(rate, 1),
        "embedding_alone_s": round(alone, 1),
        "ratio": ratio(seconds, alone),
        "peak_rss_mb": round(peak),
        "rss_mb_by_quarter": [round(value) for value in quarters],
        "resume": {
            "interrupted_after_s": round(interrupted_s, 1),
            "files_finished_before": finished,
            "unchanged_on_rerun": None if resumed is None else resumed["unchanged"],
            "written_on_rerun": None if resumed is None else resumed["added"] + resumed["updated"],
            "sentences_embedded_on_rerun": None if resumed is None else resumed["embedded"],
            "rerun_s": round(resumed_s, 1),
        },
    }
