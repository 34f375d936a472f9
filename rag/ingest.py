"""Keep the store exactly in step with the corpus files, whatever happens.

``ingest(settings, [paths])`` reads every file (see :mod:`rag.documents` for
what is accepted and what is skipped), compares it with what the store holds,
and changes only what differs:

* a new file is **added**; a file whose content hash changed is **updated**
  (its new sentences are written before the old ones are deleted, so it is
  never missing); a file with the same hash is **unchanged** and costs
  nothing;
* a stored file that is gone from a folder being ingested is **removed**
  (pruning is on by default for folders, off for single files; ``prune=True``
  removes every stored file not among ``paths``, ``prune=False`` nothing);
* a removed file whose content reappears under a new name is **renamed**:
  its sentences are rewritten under the new name from the embedding cache;
* a file that is skipped this time (now empty, binary, ...) has its old
  sentences removed, so the index never answers from text the corpus no
  longer has.

Embeddings are cached by text hash (:mod:`rag.embedding_cache`), so nothing
already embedded once is embedded again, rebuilds included.

Files are written to Chroma in batches of whole files (about 256 sentences,
or whatever five seconds of embedding produced), because each ``add`` call
costs a fixed 20-40 ms and writes of one file (about 18 sentences) took half
the time outside the embedding model at archive scale. A file counts as done
(the progress bar, the report) once its batch is written. An error or Ctrl-C
writes the files already embedded before it stops; ``kill -9`` loses at most
the batch in flight, whose vectors are in the cache.

Crash safety: every stored sentence records its file's hash and sentence
count, so a file cut short by a crash (or by ``kill -9``) is seen as
incomplete on the next run and rewritten; Chroma commits each write
atomically (SQLite). A local store that Chroma can no longer open is moved
aside to ``chroma.damaged-<time>`` (never deleted) and rebuilt from the
corpus, mostly from the cache. One writer at a time (:mod:`rag.lock`).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rag.config import Settings
from rag.corpus import Article, read_article
from rag.documents import SUFFIXES, SkipFile, Skipped, SourceFile, find_files
from rag.embedding_cache import EmbeddingCache
from rag.embeddings import Embedder, build_embedding, embedding_identity
from rag.errors import CorpusError, NothingIndexable, StoreCorrupt, StoreError
from rag.lock import writer_lock
from rag.rebuild import discard_interrupted, start_rebuild, swap_in
from rag.store import Store, StoredDocument

if TYPE_CHECKING:  # llama-index takes seconds to import; only writing nodes needs it
    from llama_index.core.schema import TextNode

log = logging.getLogger(__name__)

# A write to Chroma costs 20-40 ms per call plus about 1 ms per sentence
# (measured on 2-core EPYCs: 1.7 against 0.6 ms per sentence in writes of 18
# and 180), so whole files are written together up to this many sentences,
# or this many seconds after the last write, so that progress still moves.
WRITE_BATCH_SENTENCES = 256
WRITE_INTERVAL_S = 5.0

Progress = Callable[[Iterable["Planned"], int], Iterable["Planned"]]


@dataclass
class IngestReport:
    """What one ingestion did; ``as_json()`` is the ``ragbot ingest --json`` contract."""

    documents: int = 0  # files in the store afterwards
    chunks: int = 0  # sentences in the store afterwards
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    renamed: int = 0
    embedded: int = 0  # sentences that had to be embedded (not in the cache)
    skipped: list[Skipped] = field(default_factory=list)
    recovered: str = ""  # set when a damaged store was moved aside and rebuilt
    encodings: dict[str, str] = field(default_factory=dict)  # source -> codec, for every file read

    @property
    def changed(self) -> int:
        return self.added + self.updated + self.removed + self.renamed

    def summary(self) -> str:
        """One line for people, e.g. "2 added, 0 updated, 1 removed, 9 unchanged; ..."."""
        line = (
            f"{self.added} added, {self.updated} updated, {self.removed} removed, "
            f"{self.renamed} renamed, {self.unchanged} unchanged; {self.embedded} sentences embedded; "
            f"the index holds {self.documents} files, {self.chunks} sentences"
        )
        if self.skipped:
            line += f"; {len(self.skipped)} skipped"
        return line

    def as_json(self) -> dict:
        payload = asdict(self)
        if not self.recovered:
            del payload["recovered"]
        return payload


@dataclass
class Planned:
    """A file to write: its parsed article, what it replaces, and why."""

    file: SourceFile
    article: Article
    kind: str  # "added" | "updated" | "renamed"
    replaces: list[str] = field(default_factory=list)  # stored ids to delete once written


def ingest(
    settings: Settings,
    paths: Path | Sequence[Path],
    rebuild: bool = False,
    prune: bool | None = None,
    embed_model: Embedder | None = None,
    progress: Progress = lambda items, total: items,
) -> IngestReport:
    """Bring the store in step with the files under ``paths``.

    ``progress(planned, total)`` may wrap the stream of files being written.
    """
    paths = [paths] if isinstance(paths, Path) else list(paths)
    files, skipped = find_files(paths)
    if not files and not skipped:
        # An empty folder is a wrong path or an unmounted disk far more often
        # than a wish to empty the index: nothing is pruned, nothing written.
        raise CorpusError(f"no article files ({', '.join(SUFFIXES)}) under {', '.join(map(str, paths))}")
    identity = embedding_identity(settings)
    with writer_lock(settings.storage_dir):
        store = Store(settings)
        report = IngestReport(skipped=skipped)
        try:
            # --rebuild leaves the live collection alone until its replacement is whole
            collection = None if rebuild else store.collection(identity, create=True)
            store.client(create=True)
        except StoreCorrupt as damage:
            if settings.chroma_url or not (settings.storage_dir / "chroma").is_dir():
                raise
            report.recovered = _move_aside(settings, damage)
            store = Store(settings)
            collection = None if rebuild else store.collection(identity, create=True)
        if not rebuild and discard_interrupted(store):
            log.info("removed an unfinished rebuild's partial index")
        stored = store.documents(collection) if collection is not None else {}
        articles = _read(files, settings.max_file_bytes, report, settings.corpus_encoding)
        if not articles:
            # Every file skipped (too large, undecodable, empty): a wrong setting
            # or a wrong folder, not a wish to empty the index. Nothing changes.
            live = collection if collection is not None else _open_or_none(store, identity)
            if live is not None:  # what the index still holds, for the report
                report.documents, report.chunks = len(store.documents(live)), store.count(live)
            raise NothingIndexable(
                f"nothing indexable under {', '.join(map(str, paths))}: all {len(report.skipped)} files "
                "were skipped; the index is unchanged",
                report,
            )
        plan = _plan(articles, stored, paths, files, prune, report)
        if collection is None:  # --rebuild: beside the live index, swapped in when whole (rag.rebuild)
            collection = start_rebuild(store, identity, len(plan.writes))
        cache = EmbeddingCache.open(settings.storage_dir / "embeddings.sqlite3", identity)
        report.recovered = "; ".join(note for note in (report.recovered, cache.recovered) if note)
        embedder = embed_model or build_embedding(settings)
        try:
            for _ in progress(_written(store, collection, cache, embedder, plan.writes), len(plan.writes)):
                pass
        finally:
            cache.close()
        store.delete(collection, plan.deletes)
        for ids, root in plan.moves:
            store.set_root(collection, ids, root)
        if rebuild:
            swap_in(store, collection)
        report.embedded = cache.computed
        report.chunks = store.count(collection)
        # A rename adds one source and drops another, so it leaves the count alone.
        report.documents = len(stored) + report.added - report.removed
        return report


def _open_or_none(store: Store, identity: str):
    try:
        return store.collection(identity)
    except StoreError:
        return None


def _move_aside(settings: Settings, damage: StoreCorrupt) -> str:
    chroma_dir = settings.storage_dir / "chroma"
    aside = chroma_dir.with_name(f"chroma.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    chroma_dir.rename(aside)
    from chromadb.api.shared_system_client import SharedSystemClient

    # Chroma keeps one system per store path in the process; forget the failed
    # one only (other stores open in this process keep theirs).
    SharedSystemClient._identifier_to_system.pop(str(chroma_dir), None)
    SharedSystemClient._identifier_to_refcount.pop(str(chroma_dir), None)
    message = f"{damage.problem}: moved it to {aside} and rebuilt the index (delete {aside.name} when done)"
    log.warning(message)
    return message


def _read(
    files: list[SourceFile], max_bytes: int, report: IngestReport, encoding: str | None = None
) -> dict[str, tuple[SourceFile, Article]]:
    articles = {}
    for file in files:
        try:
            article = read_article(file, max_bytes, encoding)
        except SkipFile as reason:
            report.skipped.append(Skipped(str(file.path), str(reason)))
            continue
        report.encodings[file.source] = article.encoding
        if not article.sentences:
            report.skipped.append(Skipped(str(file.path), "no sentences to index (only headings or page debris)"))
            continue
        articles[file.source] = (file, article)
    return articles


@dataclass
class _Plan:
    writes: list[Planned] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)  # ids of removed files
    moves: list[tuple[list[str], str]] = field(default_factory=list)  # (ids, new root)


def _plan(
    articles: dict[str, tuple[SourceFile, Article]],
    stored: dict[str, StoredDocument],
    paths: list[Path],
    files: list[SourceFile],
    prune: bool | None,
    report: IngestReport,
) -> _Plan:
    plan = _Plan()
    seen = {file.source for file in files}  # found on disk, readable or not
    folders = {str(path.resolve()) for path in paths if path.is_dir()}
    # A folder whose files now turn up under one being ingested was moved
    # there: what it held and the new one lacks is gone too.
    folders |= {
        stored[source].root
        for source, (file, _) in articles.items()
        if source in stored and stored[source].root and stored[source].root != file.root and file.root in folders
    }
    gone = [
        document
        for source, document in stored.items()
        if source not in articles and _prunable(document, source in seen, folders, prune)
    ]
    gone_by_sha = {next(iter(d.shas)): d for d in gone if d.complete}
    for source, (file, article) in articles.items():
        document = stored.get(source)
        if document is None:
            twin = gone_by_sha.pop(article.sha256, None)
            if twin is not None:
                gone.remove(twin)
                plan.writes.append(Planned(file, article, "renamed", twin.ids))
            else:
                plan.writes.append(Planned(file, article, "added"))
        elif document.complete and document.shas == {article.sha256}:
            report.unchanged += 1
            if document.root != file.root:
                plan.moves.append((document.ids, file.root))
        else:
            plan.writes.append(Planned(file, article, "updated", document.ids))
    for document in gone:
        plan.deletes.extend(document.ids)
    report.removed = len(gone)
    for planned in plan.writes:
        setattr(report, planned.kind, getattr(report, planned.kind) + 1)
    return plan


def _prunable(document: StoredDocument, on_disk: bool, folders: set[str], prune: bool | None) -> bool:
    """Whether a stored file that was not ingested this time should leave the store."""
    if prune is False:
        return False
    if on_disk:
        return True  # found but skipped: its old text must not be answered from
    if prune:
        return True
    return document.root in folders


def _written(
    store: Store, collection, cache: EmbeddingCache, embedder: Embedder, writes: list[Planned]
) -> Iterator[Planned]:
    """Embed and write ``writes`` in order, yielding each file once it is in the store."""
    batch = _WriteBatch(store, collection)
    try:
        for planned in writes:
            nodes = article_nodes(planned.article, planned.file.root)
            vectors = cache.embed([node.get_content() for node in nodes], embedder.get_text_embedding_batch)
            for node, vector in zip(nodes, vectors):
                node.embedding = vector
            batch.append(planned, nodes)
            if batch.full():
                yield from batch.write()
        yield from batch.write()
    finally:
        batch.write()  # an error or Ctrl-C: keep the files embedded before it


class _WriteBatch:
    """Whole embedded files waiting to be written to the store in one call."""

    def __init__(self, store: Store, collection) -> None:
        self.store, self.collection = store, collection
        self.files: list[tuple[Planned, list]] = []
        self.last_write = time.monotonic()

    def append(self, planned: Planned, nodes: list) -> None:
        self.files.append((planned, nodes))

    def full(self) -> bool:
        sentences = sum(len(nodes) for _, nodes in self.files)
        return sentences >= WRITE_BATCH_SENTENCES or time.monotonic() - self.last_write >= WRITE_INTERVAL_S

    def write(self) -> list[Planned]:
        """Write the waiting files (new sentences before old ones go) and return them."""
        files, self.files = self.files, []  # emptied first: a failed write is not retried by ``finally``
        self.last_write = time.monotonic()
        if not files:
            return []
        nodes = [node for _, file_nodes in files for node in file_nodes]
        new_ids = {node.node_id for node in nodes}
        replaces = [id_ for planned, _ in files for id_ in planned.replaces]
        # A file cut short by a crash has some of these very ids: clear them first.
        self.store.delete(self.collection, [id_ for id_ in replaces if id_ in new_ids])
        self.store.add(self.collection, nodes)
        self.store.delete(self.collection, [id_ for id_ in replaces if id_ not in new_ids])
        return [planned for planned, _ in files]


def _node_id(article: Article, start: int, end: int) -> str:
    key = f"{article.source}\0{article.sha256}\0{start}\0{end}"
    return hashlib.sha1(key.encode()).hexdigest()


def article_nodes(article: Article, root: str = "") -> list[TextNode]:
    """One llama-index node per evidence sentence, offsets in metadata.

    The metadata is the store's schema: :func:`rag.store.stored` reads it
    back, and :class:`rag.store.StoredDocument` is built from ``chunks``,
    ``root`` and ``file_sha``.
    """
    from llama_index.core.schema import TextNode

    nodes = []
    for sentence in article.sentences:
        metadata = {
            "chunks": len(article.sentences),
            "root": root,
            "source": article.source,
            "start": sentence.start,
            "end": sentence.end,
            "language": article.language,
            "date": article.date or "",
            "title": article.title or "",
            "position": sentence.position,
            "file_sha": article.sha256,
        }
        nodes.append(
            TextNode(
                id_=_node_id(article, sentence.start, sentence.end),
                text=sentence.text,
                metadata=metadata,
                # Embed and show the sentence alone; metadata is for filtering.
                excluded_embed_metadata_keys=list(metadata),
                excluded_llm_metadata_keys=list(metadata),
                start_char_idx=sentence.start,
                end_char_idx=sentence.end,
            )
        )
    return nodes
