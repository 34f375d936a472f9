"""The Chroma store: idempotent ingestion, model mismatch, missing and damaged stores."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.config import Settings
from rag.ingest import ingest
from rag.errors import EmbeddingMismatch, StoreCorrupt, StoreNotBuilt, StorePathInvalid
from rag.store import Store

from .fake_ollama import FakeOllama
from .conftest import REPO, SEEDS, free_port


def _copy_seeds(tmp_path: Path, names: list[str] | None = None) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for path in sorted(SEEDS.iterdir()):
        if names is None or path.name in names:
            shutil.copy(path, corpus / path.name)
    return corpus


def test_other_embedding_model_asks_for_rebuild(seeded_store: Path, nano_e5, tmp_path: Path) -> None:
    settings = Settings(storage_dir=seeded_store, embedding_backend="ollama")
    with pytest.raises(EmbeddingMismatch, match="--rebuild"):
        Store(settings).collection("ollama:bge-m3")


def test_never_built_store_says_how_to_build(tmp_path: Path) -> None:
    settings = Settings(storage_dir=tmp_path / "empty")
    with pytest.raises(StoreNotBuilt, match="ragbot ingest"):
        Store(settings).collection("embedded:multilingual-e5-small-q4")
    assert not (tmp_path / "empty").exists()  # asking must not create a store


def test_damaged_store_is_reported_not_crashed(tmp_path: Path) -> None:
    chroma_dir = tmp_path / "store" / "chroma"
    chroma_dir.mkdir(parents=True)
    garbage = b"this is not a sqlite database" * 100
    (chroma_dir / "chroma.sqlite3").write_bytes(garbage)
    with pytest.raises(StoreCorrupt, match="move it aside"):
        Store(Settings(storage_dir=tmp_path / "store")).collection("x")
    assert (chroma_dir / "chroma.sqlite3").read_bytes() == garbage  # never deleted


def test_storage_path_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(StorePathInvalid, match="is a file, not a folder"):
        Store(Settings(storage_dir=tmp_path / "file")).collection("x")


@pytest.fixture
def chroma_server(tmp_path: Path):
    """A real Chroma server (`chroma run`) on 127.0.0.1."""
    chroma = Path(sys.executable).parent / "chroma"  # installed with chromadb in the venv
    port = free_port()
    process = subprocess.Popen(
        [str(chroma), "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import httpx

    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        process.kill()
        pytest.fail("chroma server did not start")
    yield url
    process.terminate()
    process.wait(timeout=20)


def test_chroma_server_store(chroma_server: str, tmp_path: Path, nano_e5) -> None:
    settings = Settings(chroma_url=chroma_server, storage_dir=tmp_path / "local")
    corpus = _copy_seeds(tmp_path, ["004_ac0d399da905150f.txt", "001_cdca8b3d9982e562.txt"])
    report = ingest(settings, corpus, embed_model=nano_e5)
    assert (report.added, report.documents) == (2, 2) and report.chunks > 0
    (corpus / "001_cdca8b3d9982e562.txt").unlink()
    again = ingest(settings, corpus, embed_model=nano_e5)
    assert (again.unchanged, again.removed, again.embedded) == (1, 1, 0)
    stored = Store(settings).sentences("embedded:multilingual-e5-small-q4")
    assert {s.source for s in stored} == {"004_ac0d399da905150f.txt"}
    assert not (tmp_path / "local" / "chroma").exists()  # nothing went to the local store


def test_cli_ingests_and_answers_through_a_chroma_server(chroma_server: str, tmp_path: Path) -> None:
    """The same commands, pointed at the server with RAGBOT_CHROMA_URL.

    The embeddings are the real embedded e5; the LLM is a local server speaking
    Ollama's API with a canned reply citing evidence [1], so the check is on the
    store's path (retrieval, offsets, citations), not on a model's wording.
    """
    with FakeOllama(["qwen2.5:3b"]) as ollama:
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "RAGBOT_CHROMA_URL": chroma_server,
            "RAGBOT_LLM_BACKEND": "ollama",
            "OLLAMA_HOST": ollama.url,
        }
        command = [sys.executable, "-m", "bot.cli"]
        built = subprocess.run([*command, "ingest", str(SEEDS), "--json"], env=env, capture_output=True, text=True)
        assert built.returncode == 0, built.stderr
        assert json.loads(built.stdout)["documents"] == len(list(SEEDS.glob("*.txt")))
        asked = subprocess.run(
            [*command, "ask", "--json", "Where did the talks take place?"], env=env, capture_output=True, text=True
        )
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert not answer["refused"] and answer["answer"] == "The talks took place in Moscow [1]."
    assert [c["source"] for c in answer["citations"]] == ["003_dde437028c99873a.txt"]
    texts = {p.name: p.read_text(encoding="utf-8") for p in SEEDS.glob("*.txt")}
    for citation in answer["citations"]:
        assert texts[citation["source"]][citation["start"] : citation["end"]] == citation["quote"]
    assert not (tmp_path / "store" / "chroma").exists()  # nothing went to the local store


def test_unreachable_chroma_server(tmp_path: Path) -> None:
    from rag.errors import BackendUnavailable

    settings = Settings(chroma_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(BackendUnavailable, match="Chroma server"):
        Store(settings).collection("x")


def test_reads_page_through_big_collections(seeded_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Chroma refuses one get() of ~30,000+ rows; reading goes page by page (small pages here)."""
    import rag.store

    settings = Settings(storage_dir=seeded_store)
    whole = Store(settings).sentences("embedded:multilingual-e5-small-q4")
    monkeypatch.setattr(rag.store, "_PAGE_ROWS", 7)
    paged = Store(settings).sentences("embedded:multilingual-e5-small-q4")
    assert paged == whole and len({s.id for s in paged}) == len(whole) > 7 * 3
