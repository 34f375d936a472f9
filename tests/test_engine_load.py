"""Engine.load: the store is checked before any model loads, the chat model
loads beside the rest, and answering never imports llama-index (whose import
alone was a third of a cold start)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag.config import Settings
from rag.engine import Engine
from rag.errors import EmbeddingMismatch, StoreNotBuilt

from .conftest import MODEL_DIR, REPO


def test_a_missing_index_fails_before_any_model_is_touched(tmp_path: Path) -> None:
    models = tmp_path / "no-models-here"
    settings = Settings(storage_dir=tmp_path / "store", model_dir=models, embedded_llm="smollm2-135m")
    with pytest.raises(StoreNotBuilt, match="ragbot ingest"):
        Engine.load(settings)
    assert not models.exists()  # the model was never assembled, let alone loaded


def test_an_error_found_while_the_model_loads_is_the_one_reported(tmp_path: Path, seeded_store: Path) -> None:
    settings = Settings(
        storage_dir=seeded_store, model_dir=MODEL_DIR, embedded_llm="smollm2-135m",
        embedding_backend="ollama", ollama_embedding_model="other-embedder",
    )
    with pytest.raises(EmbeddingMismatch, match="--rebuild"):
        Engine.load(settings)


def test_answering_a_question_never_imports_llama_index(seeded_store: Path) -> None:
    script = (
        "import sys\n"
        "from rag.config import load_settings\n"
        "from rag.engine import Engine\n"
        "answer = Engine.load(load_settings()).ask('How long did the talks in Moscow last?')\n"
        "print(bool(answer.answer), sorted({m.split('.')[0] for m in sys.modules if m.startswith('llama_index')}))\n"
    )
    env = {
        **os.environ, "PYTHONPATH": str(REPO), "RAGBOT_STORAGE_DIR": str(seeded_store),
        "RAGBOT_MODEL_DIR": str(MODEL_DIR), "RAGBOT_EMBEDDED_LLM": "smollm2-135m",
    }
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "[]"]
