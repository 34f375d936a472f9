"""A GGUF model file of the user's, calibrated by the user in one command (rag/gguf.py,
rag/calibration.py). The second GGUF is the SmolLM2 plumbing model's file, given by path."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.doctor import _check_thresholds
from rag.assets import embedded_llm_path
from rag.calibration import FILE_NAME
from rag.config import Settings

from .conftest import MODEL_DIR, SEEDS
from .test_cli import assert_one_line_error, run

REPO = Path(__file__).resolve().parent.parent
SMOL = embedded_llm_path("smollm2-135m", MODEL_DIR)
IDENTITY = re.compile(r"gguf:SmolLM2-135M-Instruct\.Q4_1\.gguf@[0-9a-f]{12}")


def own(path: Path) -> dict[str, str]:
    return {"RAGBOT_LLM_MODEL_PATH": str(path), "RAGBOT_MODEL_DIR": str(MODEL_DIR), "RAGBOT_CORPUS_DIR": str(SEEDS)}


@pytest.fixture
def store(tmp_path: Path, seeded_store: Path) -> Path:
    """A copy of the seeded store, so that a saved calibration stays in this test."""
    import shutil

    copy = tmp_path / "store"
    shutil.copytree(seeded_store, copy)
    return copy


def test_a_model_file_of_ones_own_answers_and_is_named_by_its_fingerprint(store: Path) -> None:
    result = run("ask", "--json", "How long did the talks in Moscow last?", "--storage", str(store), env=own(SMOL))
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.splitlines()[-1])
    assert IDENTITY.fullmatch(answer["backend"]["llm"])
    assert answer["citations"] or answer["refused"]
    # the prompt prefix's KV cache, saved by a process, is used by the next one
    again = run("ask", "--json", "How long did the talks in Moscow last?", "--storage", str(store), env=own(SMOL))
    assert json.loads(again.stdout.splitlines()[-1])["usage"]["cached_prompt_tokens"] > 300
    # never fitted: the user is told once, on stderr, how to fit it
    [warning] = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert "uncalibrated" in warning and "--fit-abstention --save" in warning


def without_chat_template(folder: Path) -> Path:
    """The SmolLM2 file with its chat template's metadata key renamed (same length: still a valid GGUF)."""
    data = SMOL.read_bytes().replace(b"tokenizer.chat_template", b"tokenizer.chat_templatX", 1)
    path = folder / "base-model.gguf"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("kind", ["missing", "text", "folder", "no chat template"])
def test_a_model_file_that_cannot_serve_is_one_error_line_naming_it(tmp_path: Path, store: Path, kind: str) -> None:
    path = {
        "missing": lambda: tmp_path / "nowhere.gguf",
        "text": lambda: (tmp_path / "notes.gguf").write_text("not a model") and tmp_path / "notes.gguf",
        "folder": lambda: (tmp_path / "models.gguf").mkdir() or tmp_path / "models.gguf",
        "no chat template": lambda: without_chat_template(tmp_path),
    }[kind]()
    result = run("ask", "Who met?", "--storage", str(store), env=own(path))
    assert_one_line_error(result, str(path))
    doctor = run("doctor", "--storage", str(store), env=own(path))
    assert doctor.returncode == 1 and f"[FAIL] llm: model file {path}" in doctor.stdout


def test_fit_and_save_then_a_new_process_uses_the_thresholds(tmp_path: Path, store: Path) -> None:
    dev = tmp_path / "dev.jsonl"
    dev.write_text("".join((REPO / "evals" / "dev.jsonl").read_text(encoding="utf-8").splitlines(True)[:8]), encoding="utf-8")
    (tmp_path / "none.json").write_text("{}")
    fitted = run(
        "eval", "--dev", str(dev), "--split", "dev", "--fit-abstention", "--save", "--ratchet", str(tmp_path / "none.json"),
        "--out", str(tmp_path / "reports"), "--storage", str(store), env=own(SMOL),
    )
    assert fitted.returncode == 0, fitted.stdout + fitted.stderr
    assert "saved for gguf:SmolLM2" in fitted.stdout
    entries = json.loads((store / FILE_NAME).read_text())
    [(identity, entry)] = entries.items()
    assert IDENTITY.fullmatch(identity) and {"doubt", "confirm", "fitted", "precision", "coverage"} <= set(entry)

    doctor = run("doctor", "--storage", str(store), env=own(SMOL))
    print(doctor.stdout[doctor.stdout.index("checks:"):])  # shown with -s; reported in the issue
    assert f"[ok] thresholds: {identity}: doubt {entry['doubt']}, confirm {entry['confirm']}: fitted on dev, {entry['fitted']}" in doctor.stdout
    asked = run("ask", "Who met?", "--storage", str(store), env=own(SMOL))
    assert asked.returncode == 0 and "uncalibrated" not in asked.stderr


def test_a_calibration_of_another_file_of_the_same_name_is_ignored_and_reported(store: Path) -> None:
    (store / FILE_NAME).write_text(json.dumps(
        {"gguf:SmolLM2-135M-Instruct.Q4_1.gguf@000000000000": {"doubt": -9.0, "confirm": -9.0, "fitted": "2026-01-01"}}
    ))
    name, ok, detail = _check_thresholds(Settings(storage_dir=store, llm_model_path=SMOL))
    assert ok and "doubt 0.0, confirm 0.0: uncalibrated" in detail
    assert "@000000000000, another file named like this model; ignored" in detail
    asked = run("ask", "Who met?", "--storage", str(store), env=own(SMOL))
    assert "another file named like this model; ignored" in asked.stderr and "uncalibrated" in asked.stderr


def test_doctor_names_where_the_thresholds_come_from(tmp_path: Path) -> None:
    built_in = _check_thresholds(Settings(storage_dir=tmp_path))
    assert built_in == ("thresholds", True, "embedded:qwen2.5-coder-1.5b: doubt -0.501, confirm -1.597: built-in (fitted on dev, 2026-12-07)")
    chosen = _check_thresholds(Settings(storage_dir=tmp_path, abstain_threshold=-1.0))
    assert "doubt -1.0, confirm -1.597: settings" in chosen[2]
    ollama = _check_thresholds(Settings(storage_dir=tmp_path, llm_backend="ollama"))
    assert ollama[1] and ollama[2].startswith("ollama:qwen2.5:3b: doubt 0.0, confirm 0.0: uncalibrated")
    assert "with Ollama they apply where the server returns log-probabilities" in ollama[2]
