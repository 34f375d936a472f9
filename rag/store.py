"""The Chroma store: one collection of evidence sentences per corpus.

Ingestion writes llama-index nodes through its ``ChromaVectorStore`` with
embeddings computed by our model beforehand, and questions query the
collection with our model's query embedding (:class:`rag.retrieve.ChromaDense`),
so neither llama-index's OpenAI default nor Chroma's downloading default
embedder is ever used. One node is one sentence; its metadata carries the source file
name, the character offsets into the file, and article metadata (language,
date, title) so retrieval can filter and citations can point back exactly.

Every sentence also carries its file's content hash, the number of sentences
the file has (``chunks``) and the folder it was ingested from (``root``), so
the store describes itself: a file is completely stored when exactly
``chunks`` sentences with one hash are there. That is what lets
:mod:`rag.ingest` bring a store back in step after a crash. The collection's
metadata records the embedding model and the format version that built it;
opening it with another model or version asks for ``ragbot ingest --rebuild``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from rag.config import Settings, redact_secrets, server_url
from rag.errors import (
    BackendUnavailable,
    EmbeddingMismatch,
    StoreAccessDenied,
    StoreCorrupt,
    StoreError,
    StoreIncompatible,
    StoreNotBuilt,
)
from rag.storage_errors import check_storage_path, read_only, read_only_fs, storage_problem

if TYPE_CHECKING:  # llama-index takes seconds to import; answering needs none of it
    from llama_index.core.schema import TextNode

log = logging.getLogger(__name__)

_PAGE_ROWS = 5000
SCHEMA_VERSION = 2  # 2: per-sentence "chunks" and "root" (crash recovery, pruning)


@dataclass(frozen=True)
class StoredSentence:
    """A sentence as the store holds it (what retrieval returns)."""

    id: str
    source: str
    start: int
    end: int
    text: str
    language: str
    date: str
    title: str
    position: int


@dataclass
class StoredDocument:
    """What the store holds for one source file."""

    source: str
    ids: list[str]
    shas: set[str]
    chunks: int  # how many sentences the file has, as recorded when it was written
    root: str

    @property
    def complete(self) -> bool:
        return len(self.shas) == 1 and len(self.ids) == self.chunks


class Store:
    """A handle on the configured Chroma collection (local directory or server)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client = None

    # --- opening ------------------------------------------------------------
    @property
    def location(self) -> str:
        return redact_secrets(self.settings.chroma_url) if self.settings.chroma_url else str(self.settings.storage_dir)

    def _chroma_dir(self) -> Path:
        return self.settings.storage_dir / "chroma"

    def check_local_files(self, create: bool = False) -> None:
        """The checks of a local store that need no Chroma: it is a directory
        this user may use, and its database exists (unless ``create``) and is
        an SQLite file. Nothing to check for a Chroma server."""
        if self.settings.chroma_url:
            return
        storage = self.settings.storage_dir
        check_storage_path(storage)  # a file, a FIFO, or a folder path under a file
        database = self._chroma_dir() / "chroma.sqlite3"
        self._check_access(storage, database)
        if not create and not database.is_file():
            raise StoreNotBuilt(self._not_built_message())
        if database.is_file():
            _check_database_file(database)  # before Chroma would write over a damaged one

    def client(self, create: bool):
        if self._client is not None:
            return self._client
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        if self.settings.chroma_url:
            self._client = self._http_client(chroma_settings)
            return self._client
        self.check_local_files(create)
        storage = self.settings.storage_dir
        try:
            self._chroma_dir().mkdir(parents=True, exist_ok=True)
            self._client = chromadb.PersistentClient(
                path=str(self._chroma_dir()), settings=chroma_settings
            )
        except Exception as error:
            if isinstance(error, PermissionError):
                raise self._denied(storage) from None
            raise storage_problem(error, storage) or StoreCorrupt(
                f"storage directory {storage} cannot be opened as a Chroma store ({type(error).__name__})"
            ) from None
        return self._client

    def _http_client(self, chroma_settings):
        """A client of the Chroma server, with this ragbot's timeouts on every request.

        Chroma's own client waits forever (its HTTP session has no timeout),
        and creating one already talks to the server; so the server's
        heartbeat is checked first within ``connect_timeout_s``, and the
        client's session then gets ``request_timeout_s``.
        """
        import chromadb
        import httpx

        shown = redact_secrets(self.settings.chroma_url or "")
        url = urlparse(server_url(self.settings.chroma_url or "", "RAGBOT_CHROMA_URL"))
        timeout = httpx.Timeout(self.settings.request_timeout_s, connect=self.settings.connect_timeout_s)
        try:
            httpx.get(
                f"{self.settings.chroma_url}/api/v2/heartbeat", timeout=self.settings.connect_timeout_s
            ).raise_for_status()
        except httpx.TimeoutException:
            raise BackendUnavailable(
                f"Chroma server at {shown} did not answer within {self.settings.connect_timeout_s:g} s "
                "(RAGBOT_CONNECT_TIMEOUT_S)"
            ) from None
        except (httpx.HTTPError, ValueError):
            raise BackendUnavailable(
                f"Chroma server not reachable at {shown}: start it with `chroma run --path DIR`"
            ) from None
        try:
            client = chromadb.HttpClient(
                host=url.hostname or "127.0.0.1",
                port=url.port or 8000,
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
        except Exception:  # chromadb raises bare ValueError/ConnectError variants
            raise BackendUnavailable(
                f"Chroma server not reachable at {shown}: start it with `chroma run --path DIR`"
            ) from None
        session = getattr(getattr(client, "_server", None), "_session", None)
        if isinstance(session, httpx.Client):  # chromadb 1.x keeps its httpx session here
            session.timeout = timeout
        return client

    def _check_access(self, storage: Path, database: Path) -> None:
        """StoreAccessDenied unless this user may read and write every part of the store.

        Chroma writes to its SQLite file even to answer, so readers need
        write access too.
        """
        for path in (storage, self._chroma_dir(), database):
            needed = os.R_OK | os.W_OK | (os.X_OK if path.is_dir() else 0)
            if path.exists() and not os.access(path, needed):
                raise read_only(storage) if read_only_fs(path) else self._denied(path)

    def _denied(self, path: Path) -> StoreAccessDenied:
        return StoreAccessDenied(
            f"no permission to use the store at {path}: this user must be able to read and write it "
            "(Chroma writes even when it only answers); run ragbot as the store's owner or fix its permissions"
        )

    def _not_built_message(self) -> str:
        return (
            f"no index at {self.location}: build it with `ragbot ingest` "
            "(or point RAGBOT_STORAGE_DIR / --storage at an existing one)"
        )

    def _call(self, action: Callable):
        """Run a Chroma call, turning its failures into store errors."""
        try:
            return action()
        except (StoreNotBuilt, EmbeddingMismatch, StoreIncompatible):
            raise
        except Exception as error:
            if self.settings.chroma_url:
                raise BackendUnavailable(
                    f"Chroma server at {redact_secrets(self.settings.chroma_url)} failed: {type(error).__name__}"
                ) from None
            storage = self.settings.storage_dir
            if isinstance(error, PermissionError) or "readonly database" in str(error):
                raise read_only(storage) if read_only_fs(storage) else self._denied(storage) from None
            problem: StoreError | None = storage_problem(error, storage)  # a full disk is not damage
            if problem is not None:
                raise problem from None
            raise StoreCorrupt(
                f"storage directory {self.settings.storage_dir} is damaged ({type(error).__name__})"
            ) from None

    def collection(self, embedding_identity: str, create: bool = False, name: str | None = None, **metadata):
        """The collection called ``name`` (the configured one by default), checked
        against ``embedding_identity``; ``create`` makes it, with ``metadata``, when missing.

        A reader also accepts the configured collection's previous version in the
        moment a rebuild swaps its result in (:mod:`rag.rebuild`).
        """
        from rag.rebuild import previous_name

        client = self.client(create=create)
        live = self.settings.collection
        wanted = name or live

        def open_collection():
            names = _collection_names(client)
            if wanted not in names:
                if not create:
                    if name is None and previous_name(live) in names:
                        return client.get_collection(previous_name(live), embedding_function=None)
                    raise StoreNotBuilt(self._not_built_message())
                return client.create_collection(
                    wanted,
                    embedding_function=None,
                    metadata={
                        **metadata,
                        "embedding_model": embedding_identity,
                        "ragbot_schema": SCHEMA_VERSION,
                        "hnsw:space": "cosine",
                    },
                )
            return client.get_collection(wanted, embedding_function=None)

        collection = self._call(open_collection)
        format_version = (collection.metadata or {}).get("ragbot_schema")
        if format_version != SCHEMA_VERSION:
            raise StoreIncompatible(
                f"the index at {self.location} was written in format {format_version} and this "
                f"ragbot reads format {SCHEMA_VERSION}: run `ragbot ingest --rebuild`"
            )
        built_with = (collection.metadata or {}).get("embedding_model")
        if built_with != embedding_identity:
            raise EmbeddingMismatch(
                f"the index at {self.location} was built with embedding model {built_with}, "
                f"but {embedding_identity} is configured: reindex with `ragbot ingest --rebuild`"
            )
        return collection

    def drop(self) -> None:
        """Delete the collection (``ingest --rebuild``); other collections are untouched."""
        client = self.client(create=True)

        def delete():
            if self.settings.collection in _collection_names(client):
                client.delete_collection(self.settings.collection)

        self._call(delete)

    # --- writing ------------------------------------------------------------
    def add(self, collection, nodes: list[TextNode]) -> None:
        """Write nodes that already carry their embeddings (through llama-index)."""
        from llama_index.vector_stores.chroma import ChromaVectorStore

        if nodes:
            self._call(lambda: ChromaVectorStore(chroma_collection=collection).add(nodes))

    def delete(self, collection, ids: list[str]) -> None:
        for start in range(0, len(ids), 5000):
            batch = ids[start : start + 5000]
            self._call(lambda: collection.delete(ids=batch))

    def set_root(self, collection, ids: list[str], root: str) -> None:
        """Record that a document now lives under ``root`` (its folder moved)."""
        self._call(lambda: collection.update(ids=ids, metadatas=[{"root": root}] * len(ids)))

    def documents(self, collection) -> dict[str, StoredDocument]:
        """Every source file in the store, complete or not."""
        rows = self._get_all(collection, ["metadatas"])
        documents: dict[str, StoredDocument] = {}
        for id_, meta in zip(rows["ids"], rows["metadatas"] or []):
            source = str(meta.get("source", ""))
            document = documents.setdefault(
                source,
                StoredDocument(source, [], set(), int(meta.get("chunks", -1)), str(meta.get("root", ""))),
            )
            document.ids.append(id_)
            document.shas.add(str(meta.get("file_sha", "")))
        return documents

    def _get_all(self, collection, include: list[str]) -> dict[str, list]:
        """Every row, read in pages: one ``get()`` of ~30,000+ rows fails in
        Chroma's SQLite layer ("too many SQL variables")."""
        rows: dict[str, list] = {"ids": [], **{key: [] for key in include}}
        offset = 0
        while True:
            page = self._call(
                lambda: collection.get(include=include, limit=_PAGE_ROWS, offset=offset)
            )
            for key in rows:
                rows[key].extend(page[key] or [])
            if len(page["ids"]) < _PAGE_ROWS:
                return rows
            offset += _PAGE_ROWS

    def count(self, collection) -> int:
        return self._call(collection.count)

    # --- reading ------------------------------------------------------------
    def sentences(self, embedding_identity: str) -> list[StoredSentence]:
        """Every stored sentence, in file and position order."""
        return self.read_sentences(self.collection(embedding_identity))

    def read_sentences(self, collection) -> list[StoredSentence]:
        """Every sentence of an already opened collection."""
        rows = self._get_all(collection, ["documents", "metadatas"])
        sentences = [
            stored(id_, text, meta)
            for id_, text, meta in zip(rows["ids"], rows["documents"], rows["metadatas"])
        ]
        if not sentences:
            raise StoreNotBuilt(self._not_built_message())
        return sorted(sentences, key=lambda s: (s.source, s.position))


SQLITE_HEADER = b"SQLite format 3\x00"


def _check_database_file(database: Path) -> None:
    """StoreCorrupt when ``database`` is not an SQLite file (empty, cut short, overwritten).

    Chroma would otherwise treat an empty file as a new store and write a
    fresh schema over it, orphaning the old index's segment folders.
    """
    try:
        with database.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as error:
        raise StoreCorrupt(f"the store's database {database} cannot be read ({error.strerror})") from None
    if header != SQLITE_HEADER:
        what = "empty" if not header else "not an SQLite database"
        raise StoreCorrupt(f"the store's database {database} is {what}")


def _collection_names(client) -> list[str]:
    # chromadb returns names in 0.6+ but Collection objects before.
    return [c if isinstance(c, str) else c.name for c in client.list_collections()]


def stored(id_: str, text: str, meta: dict) -> StoredSentence:
    """A sentence from Chroma's id, document and metadata."""
    return StoredSentence(
        id=id_,
        source=str(meta["source"]),
        start=int(meta["start"]),
        end=int(meta["end"]),
        text=text,
        language=str(meta.get("language", "")),
        date=str(meta.get("date", "")),
        title=str(meta.get("title", "")),
        position=int(meta.get("position", 0)),
    )
