"""Errors that name the real problem (issue 45, item 8): a full disk is not
"damaged", a read-only file system and a storage path that is not a folder
say so, a malformed server URL is one line with its credentials masked, and
`doctor` always finishes its report."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.config import Settings
from rag.embedding_cache import EmbeddingCache
from rag.errors import StoreFull
from rag.storage_errors import storage_problem
from rag.store import Store

from .conftest import SEEDS
from .test_cli import assert_one_line_error, run

SEED_COUNT = len(list(SEEDS.glob("*.txt")))


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 600 KB file system of its own (tmpfs; needs the right to mount, as root in CI)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(mount_point)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_full_disk_is_named_and_nothing_is_moved_aside(small_disk: Path) -> None:
    storage = small_disk / "s"
    for _ in range(2):  # a second run must not take the half-written store for damage
        result = run("ingest", str(SEEDS), "--storage", str(storage))
        assert_one_line_error(result, f"no space left on the device holding {storage}")
        assert "is damaged" not in result.stderr and "move it aside" not in result.stderr
        assert not list(storage.glob("chroma.damaged-*"))
    assert_one_line_error(run("ask", "Who met?", "--storage", str(storage)), "no space left on the device")
    subprocess.run(["mount", "-o", "remount,size=30m", str(small_disk)], check=True)
    resumed = run("ingest", str(SEEDS), "--storage", str(storage))
    assert resumed.returncode == 0, resumed.stderr
    assert f"the index holds {SEED_COUNT} files" in resumed.stdout and "moved it" not in resumed.stderr


def test_a_read_only_file_system_is_named(small_disk: Path) -> None:
    subprocess.run(["mount", "-o", "remount,size=30m", str(small_disk)], check=True)
    storage = small_disk / "s"
    assert run("ingest", str(SEEDS), "--storage", str(storage)).returncode == 0
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    for args in (("ask", "Who met?"), ("ingest", str(SEEDS))):
        assert_one_line_error(run(*args, "--storage", str(storage)), f"the store at {storage} is on a read-only file system")
    assert_one_line_error(run("ingest", str(SEEDS), "--storage", str(small_disk / "new")), "read-only file system")
    doctor = run("doctor", "--storage", str(storage), env={"RAGBOT_LLM_BACKEND": "ollama", "OLLAMA_HOST": "http://[::1"})
    assert "[FAIL] store: the store at" in doctor.stdout and "read-only file system" in doctor.stdout


def test_sqlites_disk_full_is_not_damage(tmp_path: Path) -> None:
    """Without mounting anything: the messages SQLite and Chroma give for a full disk."""
    full = sqlite3.OperationalError("database or disk is full")
    assert isinstance(storage_problem(full, tmp_path), StoreFull)
    assert isinstance(storage_problem(OSError(28, "No space left on device"), None), StoreFull)
    store = Store(Settings(storage_dir=tmp_path / "s"))
    with pytest.raises(StoreFull, match="no space left"):
        store._call(lambda: _raise(full))


def _raise(error: BaseException) -> None:
    raise error


def test_a_full_disk_does_not_move_the_embedding_cache_aside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full_disk(self, path: Path, identity: str) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(EmbeddingCache, "__init__", full_disk)
    (tmp_path / "embeddings.sqlite3").write_bytes(b"kept")
    with pytest.raises(StoreFull):
        EmbeddingCache.open(tmp_path / "embeddings.sqlite3", "toy")
    assert [p.name for p in tmp_path.iterdir()] == ["embeddings.sqlite3"]


@pytest.mark.parametrize("make, storage, fragment", [
    ("file", "thing/store", "thing, above storage path {dir}/thing/store, is a file, not a folder"),
    ("file", "thing", "storage path {dir}/thing is a file, not a folder"),
    ("fifo", "thing", "storage path {dir}/thing is a FIFO, not a folder"),
    ("fifo", "thing/a/b", "thing, above storage path {dir}/thing/a/b, is a FIFO, not a folder"),
])
def test_a_storage_path_that_is_not_a_folder_is_named(tmp_path: Path, make: str, storage: str, fragment: str) -> None:
    thing = tmp_path / "thing"
    thing.write_text("x") if make == "file" else os.mkfifo(thing)
    fragment = fragment.format(dir=tmp_path)
    for args in (("ingest", str(SEEDS)), ("ask", "Who met?")):
        assert_one_line_error(run(*args, "--storage", str(tmp_path / storage), timeout=120), fragment)


@pytest.mark.parametrize("url, reason", [
    ("http://user:OLLAMAPW@[::1", "Invalid IPv6 URL"),
    ("http://user:OLLAMAPW@host:99999", "Port out of range 0-65535"),
    ("http://ho st:11434", "a space inside it"),
    ("http://:11434", "no host"),
])
def test_a_malformed_ollama_host_is_one_line_with_credentials_masked(tmp_path: Path, url: str, reason: str) -> None:
    env = {"OLLAMA_HOST": url, "RAGBOT_EMBEDDING_BACKEND": "ollama"}
    result = run("ingest", str(SEEDS), "--storage", str(tmp_path / "s"), env=env)
    assert_one_line_error(result, f"OLLAMA_HOST is not a server URL ({reason})")
    assert "OLLAMAPW" not in result.stderr + result.stdout


def test_the_error_names_the_variable_the_user_set(tmp_path: Path) -> None:
    env = {"RAGBOT_OLLAMA_HOST": "http://:11434", "RAGBOT_EMBEDDING_BACKEND": "ollama"}
    result = run("ingest", str(SEEDS), "--storage", str(tmp_path / "s"), env=env)
    assert_one_line_error(result, "RAGBOT_OLLAMA_HOST is not a server URL (no host")


def test_a_malformed_chroma_url_is_one_line_with_credentials_masked() -> None:
    result = run("ingest", str(SEEDS), env={"RAGBOT_CHROMA_URL": "http://admin:CHROMAPW@chroma:port"})
    assert_one_line_error(result, "RAGBOT_CHROMA_URL is not a server URL (Port could not be cast to integer")
    assert "CHROMAPW" not in result.stderr and "http://***@chroma:port" in result.stderr


def test_doctor_finishes_its_report_with_a_malformed_ollama_host() -> None:
    env = {"OLLAMA_HOST": "http://user:OLLAMAPW@[::1", "RAGBOT_LLM_BACKEND": "ollama",
           "RAGBOT_EMBEDDING_BACKEND": "ollama", "RAGBOT_CHROMA_URL": "http://a:CHROMAPW@h:x"}
    doctor = run("doctor", env=env, timeout=120)
    assert doctor.returncode == 1 and "Traceback" not in doctor.stderr and doctor.stderr == ""
    checks = doctor.stdout.split("checks:\n")[1].splitlines()
    # the thresholds line needs no server: it names the model and where its thresholds come from
    assert [line.split(":")[0] for line in checks] == ["  [FAIL] store", "  [FAIL] embedding", "  [FAIL] llm", "  [ok] thresholds"]
    assert all("is not a server URL" in line for line in checks[:3])
    assert "OLLAMAPW" not in doctor.stdout and "CHROMAPW" not in doctor.stdout
