"""Atomic rebuilds: ``ingest --rebuild`` builds beside the live index and swaps it in when complete.

Readers (``ask``, ``chat``, the Discord bot, ``doctor``) keep answering from
the previous index while a rebuild runs and after one is killed, because
the rebuild never touches the configured collection until its own is whole:

1. the new index is written to ``<collection>__rebuilding``, created with the
   number of files planned (``planned_files`` in its metadata);
2. when every file is written, the live collection is renamed
   ``<collection>__previous``, the new one renamed to ``<collection>``, and
   the previous one deleted. A reader that looks in the instant between the
   two renames opens ``__previous`` (:meth:`rag.store.Store.collection`),
   so at no moment is there no index to answer from.

A collection is renamed in place by Chroma (local store or server alike),
so no sentence is copied. A killed rebuild leaves ``__rebuilding`` behind:
``doctor`` reports it as incomplete with how far it got
(:func:`interrupted_rebuild`), and the next ``ingest`` removes it (a
``--rebuild`` starts it afresh). A long-running reader whose collection was
replaced gets :class:`rag.errors.IndexReplaced` and reopens the store.

>>> rebuilding_name("articles"), previous_name("articles")
('articles__rebuilding', 'articles__previous')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.store import Store

PLANNED_KEY = "planned_files"


def rebuilding_name(live: str) -> str:
    return f"{live}__rebuilding"


def previous_name(live: str) -> str:
    return f"{live}__previous"


def start_rebuild(store: Store, embedding_identity: str, planned_files: int):
    """A fresh, empty ``__rebuilding`` collection (a killed rebuild's leftovers go first)."""
    discard_interrupted(store)
    return store.collection(
        embedding_identity, create=True, name=rebuilding_name(store.settings.collection),
        **{PLANNED_KEY: planned_files},
    )


def swap_in(store: Store, rebuilt) -> None:
    """Make the complete ``rebuilt`` collection the live one; the old one is deleted last."""
    from rag.store import _collection_names

    client = store.client(create=True)
    live = store.settings.collection

    def swap() -> None:
        names = _collection_names(client)
        if previous_name(live) in names:  # left by a swap killed half-way: the live one is newer
            client.delete_collection(previous_name(live))
        if live in names:
            client.get_collection(live, embedding_function=None).modify(name=previous_name(live))
        rebuilt.modify(name=live)
        if live in names:
            client.delete_collection(previous_name(live))

    store._call(swap)


def discard_interrupted(store: Store) -> bool:
    """Remove a killed rebuild's partial collection; whether there was one."""
    from rag.store import _collection_names

    client = store.client(create=True)
    partial = rebuilding_name(store.settings.collection)

    def discard() -> bool:
        if partial not in _collection_names(client):
            return False
        client.delete_collection(partial)
        return True

    return store._call(discard)


@dataclass(frozen=True)
class RebuildProgress:
    """How far an unfinished rebuild got: files and sentences written, files planned."""

    files: int
    sentences: int
    planned_files: int

    def describe(self) -> str:
        """e.g. "an unfinished rebuild (killed or still running) wrote 1280 sentences of 312 of 5000 files"."""
        return (
            f"an unfinished rebuild (killed, or still running) wrote {self.sentences} sentences "
            f"of {self.files} of {self.planned_files} files; the index in use is untouched "
            "(`ragbot ingest --rebuild` starts it again)"
        )


def interrupted_rebuild(store: Store) -> RebuildProgress | None:
    """The ``__rebuilding`` collection's progress, or None when there is none."""
    from rag.store import _collection_names

    client = store.client(create=False)
    partial = rebuilding_name(store.settings.collection)

    def read() -> RebuildProgress | None:
        if partial not in _collection_names(client):
            return None
        collection = client.get_collection(partial, embedding_function=None)
        planned = int((collection.metadata or {}).get(PLANNED_KEY, 0))
        return RebuildProgress(len(store.documents(collection)), collection.count(), planned)

    return store._call(read)
