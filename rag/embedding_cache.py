"""Embeddings kept by content hash, so re-ingesting unchanged text embeds nothing.

A rebuild, a renamed file, or a file edited in one paragraph only embeds the
sentences that are new. The cache is a SQLite file next to the store
(``<storage_dir>/embeddings.sqlite3``, also in Chroma server mode); each batch
is committed at once, so a killed process loses at most the batch in flight
(a power cut possibly a few more: see ``synchronous`` below).
Vectors are stored as float32, which is what Chroma keeps too.

>>> import tempfile, pathlib
>>> cache = EmbeddingCache(pathlib.Path(tempfile.mkdtemp()) / "e.sqlite3", "toy")
>>> calls = []
>>> def embed(texts): calls.append(list(texts)); return [[float(len(t)), 1.0] for t in texts]
>>> cache.embed(["ab", "abc"], embed)
[[2.0, 1.0], [3.0, 1.0]]
>>> cache.embed(["abc", "abcd"], embed), calls[-1], cache.computed
([[3.0, 1.0], [4.0, 1.0]], ['abcd'], 3)
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from rag.storage_errors import storage_problem


log = logging.getLogger(__name__)


class EmbeddingCache:
    """Vectors by (embedding model identity, SHA-256 of the text)."""

    recovered: str = ""  # set when a damaged cache file was moved aside and started afresh

    @classmethod
    def open(cls, path: Path, model_identity: str) -> EmbeddingCache:
        """The cache at ``path``; a file SQLite cannot read is moved aside (never
        deleted) and an empty cache started, since everything in it can be
        recomputed. ``recovered`` then says where the old file went."""
        try:
            return cls(path, model_identity)
        except sqlite3.DatabaseError as error:
            problem = storage_problem(error, path.parent)  # a full or read-only disk is not damage
            if problem is not None:
                raise problem from None
            aside = path.with_name(f"{path.stem}.damaged-{time.strftime('%Y%m%d-%H%M%S')}{path.suffix}")
            path.rename(aside)
            for suffix in ("-wal", "-shm"):  # SQLite's side files belong to the damaged file
                side = path.with_name(path.name + suffix)
                if side.exists():
                    side.rename(aside.with_name(aside.name + suffix))
            cache = cls(path, model_identity)
            cache.recovered = (
                f"embedding cache {path} was damaged ({error}); moved it to {aside.name} and started "
                f"a new one (delete {aside.name} when done)"
            )
            log.warning(cache.recovered)
            return cache

    def __init__(self, path: Path, model_identity: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.model_identity = model_identity
        self.computed = 0  # texts embedded (cache misses) since this cache was opened
        self._path = path
        self._db = sqlite3.connect(path)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            # Commits survive a killed process without waiting for the disk
            # (about 8 ms a file); a power cut may lose the last few, which
            # are recomputed. The cache is never the only copy of anything.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS embedding ("
                " model TEXT NOT NULL, text_sha256 BLOB NOT NULL, vector BLOB NOT NULL,"
                " PRIMARY KEY (model, text_sha256))"
            )
            self._db.commit()
        except sqlite3.DatabaseError:
            self._db.close()
            raise

    def embed(
        self, texts: Sequence[str], embed_batch: Callable[[list[str]], list[list[float]]]
    ) -> list[list[float]]:
        """Vectors for ``texts``; only the ones not cached go to ``embed_batch``."""
        keys = [hashlib.sha256(text.encode("utf-8")).digest() for text in texts]
        found = self._lookup(keys)
        missing = [i for i, key in enumerate(keys) if key not in found]
        if missing:
            vectors = embed_batch([texts[i] for i in missing])
            rows = []
            for i, vector in zip(missing, vectors):
                blob = np.asarray(vector, dtype=np.float32).tobytes()
                found[keys[i]] = blob
                rows.append((self.model_identity, keys[i], blob))
            try:
                with self._db:
                    self._db.executemany("INSERT OR REPLACE INTO embedding VALUES (?, ?, ?)", rows)
            except sqlite3.OperationalError as error:  # "database or disk is full"
                raise storage_problem(error, self._path.parent) or error from None
            self.computed += len(missing)
        return [np.frombuffer(found[key], dtype=np.float32).tolist() for key in keys]

    def _lookup(self, keys: list[bytes]) -> dict[bytes, bytes]:
        found: dict[bytes, bytes] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 500):  # SQLite caps the number of parameters
            chunk = unique[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT text_sha256, vector FROM embedding WHERE model = ? AND text_sha256 IN ({marks})",
                [self.model_identity, *chunk],
            )
            found.update(rows)
        return found

    def close(self) -> None:
        self._db.close()
