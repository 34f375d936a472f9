"""Settings: env vars, OLLAMA_HOST, TOML file, and readable errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import load_settings, redact_secrets
from rag.errors import ConfigError


def test_defaults_are_offline_and_deterministic() -> None:
    settings = load_settings()
    assert settings.llm_backend == "embedded"
    assert settings.embedding_backend == "embedded"
    assert settings.temperature == 0.0
    assert settings.chroma_url is None


def test_env_vars_and_ollama_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGBOT_LLM_BACKEND", "ollama")
    monkeypatch.setenv("OLLAMA_HOST", "0.0.0.0:11500")
    monkeypatch.setenv("RAGBOT_REQUEST_TIMEOUT_S", "7.5")
    settings = load_settings()
    assert settings.llm_backend == "ollama"
    assert settings.ollama_host == "http://0.0.0.0:11500"
    assert settings.request_timeout_s == 7.5


def test_options_beat_env_and_none_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGBOT_STORAGE_DIR", "/from/env")
    assert load_settings(storage_dir=None).storage_dir == Path("/from/env")
    assert load_settings(storage_dir=Path("/from/option")).storage_dir == Path("/from/option")


def test_toml_file_below_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "custom.toml"
    config.write_text('ollama_llm_model = "llama3.1:8b"\nevidence_k = 4\n')
    monkeypatch.setenv("RAGBOT_CONFIG", str(config))
    monkeypatch.setenv("RAGBOT_EVIDENCE_K", "5")
    settings = load_settings()
    assert settings.ollama_llm_model == "llama3.1:8b"
    assert settings.evidence_k == 5


def test_ragbot_toml_in_working_directory(tmp_path: Path) -> None:
    (tmp_path / "ragbot.toml").write_text('collection = "other"\n')
    assert load_settings().collection == "other"


@pytest.mark.parametrize(
    ("env", "value", "message"),
    [
        ("RAGBOT_LLM_BACKEND", "openai", "llm_backend"),
        ("RAGBOT_TEMPERATURE", "hot", "temperature"),
        ("RAGBOT_EVIDENCE_K", "0", "evidence_k"),
        ("RAGBOT_MIN_RELEVANCE", "5", "min_relevance"),  # a similarity above 1 refuses everything
        ("RAGBOT_CONFIG", "/no/such/file.toml", "config file not found"),
    ],
)
def test_bad_config_is_one_readable_error(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, message: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings()
    assert "\n" not in str(caught.value)


def test_malformed_toml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("evidence_k = = 3\n")
    monkeypatch.setenv("RAGBOT_CONFIG", str(config))
    with pytest.raises(ConfigError):
        load_settings()


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("https://user:pw@chroma.example:8000/api", "https://***@chroma.example:8000/api"),
        ("http://token@host", "http://***@host"),
        ("http://admin:p@ss@host/x", "http://***@host/x"),  # an unescaped "@" in the password
        ("connect http://a:b@h1/ then http://h2/x@y", "connect http://***@h1/ then http://h2/x@y"),
        ("mail me at a@b.example", "mail me at a@b.example"),  # no URL, nothing to hide
        ("", ""),
    ],
)
def test_credentials_in_urls_are_masked(text: str, shown: str) -> None:
    assert redact_secrets(text) == shown
