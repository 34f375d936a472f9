"""Retrieval latency on the corpus and on synthetic stores of N sentences.

The synthetic stores recombine the corpus sentences (texts) and mix their
vectors, so no embedding model runs and the scale runs measure the store
itself; they are built once and kept in ``<storage_dir>/bench/``.
"""

from __future__ import annotations

import random
import time

import numpy as np

from rag.bench.measure import Say, ms
from rag.config import Settings


def retrieval_latency(retriever, questions: list[str], repeats: int) -> dict:
    retriever.retrieve(questions[0])  # first call pays one-off set-up
    seconds = []
    for _ in range(repeats):
        for question in questions:
            started = time.perf_counter()
            retriever.retrieve(question)
            seconds.append(time.perf_counter() - started)
    return {"queries": len(seconds), "p50_ms": ms(seconds, 50), "p95_ms": ms(seconds, 95)}


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


def bench_retrieval(settings: Settings, engine, questions: list[str], scales: list[int], repeats: int, say: Say) -> dict:
    from rag.retrieve import HybridRetriever
    from rag.store import Store

    figures = {"corpus": {"sentences": len(engine.sentences), **retrieval_latency(engine.retriever, questions, repeats)}}
    collection = Store(engine.settings).collection(engine.embedding_identity)
    rows = collection.get(ids=[s.id for s in engine.sentences], include=["embeddings"])
    vectors = {id_: list(vector) for id_, vector in zip(rows["ids"], rows["embeddings"])}
    for size in scales:
        store, synthetic = synthetic_store(settings, size, engine.sentences, vectors, say)
        retriever = HybridRetriever.from_settings(
            synthetic, engine.embed_model.get_query_embedding, store.read_sentences(synthetic), settings
        )
        figures[str(size)] = {"sentences": size, **retrieval_latency(retriever, questions, repeats)}
    return figures
