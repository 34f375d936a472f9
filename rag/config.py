"""One settings object for the whole engine.

Values come from, highest priority first: keyword arguments (the CLI's
options), environment variables (``RAGBOT_<FIELD>``; ``OLLAMA_HOST`` is
honoured too), a ``.env`` file, a TOML file (``ragbot.toml`` in the working
directory, or the file named by ``RAGBOT_CONFIG``), and the defaults below.

>>> Settings(llm_backend="ollama").llm_backend
'ollama'
"""

from __future__ import annotations

import codecs
import os
import re
import tomllib
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from rag.errors import ConfigError

DEFAULT_CONFIG_FILE = "ragbot.toml"

EmbeddedLLM = Literal["qwen2.5-coder-1.5b", "smollm2-135m"]

# Upper bounds for settings where a wrong value crashes or only wastes: llama.cpp
# aborts when it cannot start the threads it is given (RAGBOT_LLM_THREADS=100000),
# and past a few threads per core it only slows down.
MAX_LLM_THREADS = 4 * (os.cpu_count() or 1)
MAX_CONTEXT_TOKENS = 32_768  # the embedded models' trained context (Qwen2.5); more is memory for nothing
MAX_TIMEOUT_S = 3600.0


class Settings(BaseSettings):
    """Every knob ragbot has, each with a description shown by ``ragbot doctor``."""

    model_config = SettingsConfigDict(
        env_prefix="RAGBOT_",
        env_file=".env",
        env_file_encoding="utf-8",
        # .env files are often shared with other tools: their keys are ignored
        # (unknown keys in ragbot.toml are refused by load_settings).
        extra="ignore",
        populate_by_name=True,
    )

    # --- where things live -------------------------------------------------
    storage_dir: Path = Field(
        Path("storage"),
        description="Directory of the persistent Chroma store (one corpus per directory).",
    )
    model_dir: Path = Field(
        Path("storage/models"),
        description="Where the embedded GGUF model is assembled once; shared by all stores.",
    )
    corpus_dir: Path = Field(Path("seeds"), description="Default corpus path for `ragbot ingest`.")
    collection: str = Field("ragbot", description="Chroma collection name.")
    max_file_bytes: int = Field(
        10_000_000,
        ge=1,
        le=1_000_000_000,  # read whole into memory: a news article is never a gigabyte
        description="Files larger than this are skipped at ingestion (bytes, at most 1 GB).",
    )
    corpus_encoding: str | None = Field(
        None,
        description="Decode every corpus file with this codec (e.g. cp1252, latin-1, utf-8) instead of "
        "detecting each file's; `ingest --json` reports what each file was decoded with. "
        "Empty: detect (UTF-8, a BOM, else the Western code pages, cp1252 first).",
    )
    chroma_url: str | None = Field(
        None,
        description="URL of a Chroma server (`chroma run`), e.g. http://127.0.0.1:8000. "
        "Empty: an embedded persistent store in storage_dir.",
    )

    # --- model backends ----------------------------------------------------
    llm_backend: Literal["embedded", "ollama"] = Field(
        "embedded", description="Who generates answers: in-process llama.cpp or an Ollama server."
    )
    embedding_backend: Literal["embedded", "ollama"] = Field(
        "embedded", description="Who embeds text: in-process multilingual-e5-small or Ollama."
    )
    embedded_llm: EmbeddedLLM = Field(
        "qwen2.5-coder-1.5b",
        description="Embedded GGUF model. smollm2-135m is only for fast plumbing tests.",
    )
    llm_model_path: Path | None = Field(
        None,
        description="A GGUF model file of your own for the embedded backend (LM Studio, llamafile, "
        "a model hub), used instead of RAGBOT_EMBEDDED_LLM; its chat template comes from the file. "
        "Fit its refusal thresholds once with `ragbot eval --fit-abstention --save`.",
    )
    ollama_host: str = Field(
        "http://127.0.0.1:11434",
        validation_alias=AliasChoices("ollama_host", "RAGBOT_OLLAMA_HOST", "OLLAMA_HOST"),
        description="Ollama server URL (OLLAMA_HOST is honoured).",
    )
    ollama_llm_model: str = Field("qwen2.5:3b", description="Ollama model that answers.")
    ollama_embedding_model: str = Field(
        "bge-m3", description="Ollama embedding model (choose a multilingual one)."
    )
    request_timeout_s: float = Field(
        120.0, gt=0, le=MAX_TIMEOUT_S, allow_inf_nan=False, description="Seconds one request to Ollama or a Chroma server may take (an answer included)."
    )
    connect_timeout_s: float = Field(
        10.0,
        gt=0,
        le=300,
        allow_inf_nan=False,
        description="Seconds a server (Ollama, Chroma) may take to accept a connection and answer "
        "its health check before it counts as not reachable.",
    )

    # --- generation ----------------------------------------------------------
    temperature: float = Field(0.0, ge=0, le=2, allow_inf_nan=False, description="Sampling temperature (0: deterministic).")
    seed: int = Field(
        # llama.cpp takes an unsigned 32-bit seed and reads 0xFFFFFFFF as "random"
        42, ge=0, le=2**32 - 2, description="Sampling seed, so that runs repeat."
    )
    llm_threads: int = Field(
        max(1, os.cpu_count() or 1),
        ge=1,
        le=MAX_LLM_THREADS,
        description=f"CPU threads for the embedded LLM (at most 4 per CPU core: {MAX_LLM_THREADS} here).",
    )
    llm_context_tokens: int = Field(
        4096, ge=512, le=MAX_CONTEXT_TOKENS, description="Context window of the embedded LLM (at most 32768)."
    )
    llm_weight_repack: bool = Field(
        False,
        description="Let llama.cpp repack the embedded LLM's weights for its CPU kernels at load. "
        "Off by default: on the 2-core reference machine repacking made loading 1-4 s slower "
        "and prompt evaluation slower too (150 vs 230 tokens/s).",
    )
    max_answer_tokens: int = Field(
        96,
        ge=16,
        le=2048,
        description=(
            "Cap on generated tokens per answer: above dev's longest right reply (77), low enough that a"
            " reply looping to the cap does not keep a question waiting long (docs/configuration.md)."
        ),
    )

    # --- retrieval and questions -------------------------------------------
    evidence_k: int = Field(
        4, ge=1, le=9, description="Evidence sentences shown to the LLM (at most 9: the reply cites them by one digit)."
    )
    candidate_k: int = Field(
        30, ge=1, le=1000, description="Candidates each retriever (dense, BM25) returns before fusion."
    )
    lexical_weight: float = Field(
        0.0,
        ge=0,
        le=100,
        allow_inf_nan=False,
        description="Weight of BM25 against dense retrieval in rank fusion (0: dense only; "
        "an equal weight measured worse on the multilingual gold set).",
    )
    answer_type_bonus: float = Field(
        0.05,
        ge=0,
        le=1,  # similarities span about 0.2: a bonus of 1 already overrides them
        allow_inf_nan=False,
        description="Added to the dense similarity of sentences that hold what the question "
        "asks for (a duration for 'how long', a number for 'how many', a date for 'when'); "
        "0 turns it off. Calibrated on the embedded e5, whose similarities span ~0.75-0.95.",
    )
    language_centring: bool = Field(
        True,
        description="Rank each article language's sentences by their similarity to the question "
        "less that language's median similarity to it (a sample of up to 256 sentences per "
        "language), so that sentences in the question's own language do not crowd out answers "
        "written in another; false: one dense ranking over all languages.",
    )
    min_relevance: float | None = Field(
        None,
        ge=-1,
        le=1,  # a cosine similarity: above 1 would refuse every question
        description="Refuse without asking the LLM when the best dense similarity is below "
        "this (off-topic questions, trivia). Empty: the embedding model's calibrated value "
        "(0.81 for the embedded e5; off for Ollama models).",
    )
    abstain_threshold: float | None = Field(
        None,
        description="Refuse when log P(no sentence answers) - log P(best sentence) at the "
        "reply's first token is above this. Empty: the value fitted on the dev split for "
        "the model in use (calibration.json in the storage folder, else the built-in "
        "rag/calibration_defaults.json), else 0 (the model's own choice).",
    )
    confirm_threshold: float | None = Field(
        None,
        description="Refuse when log P(no) - log P(yes), the model's first word when asked "
        "whether the cited sentences state the answer, is above this (rag/confirm.py; "
        "inf switches the check off). Empty: the value fitted on the dev split together "
        "with the abstain threshold (as for RAGBOT_ABSTAIN_THRESHOLD), else 0 (the model's "
        "own yes or no). Ollama models skip it.",
    )
    max_question_chars: int = Field(
        500, ge=10, le=10_000, description="Longest question accepted, in characters (at most 10,000)."
    )

    # --- Discord bot (`ragbot discord`) --------------------------------------
    discord_token: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("discord_token", "DISCORD_TOKEN", "RAGBOT_DISCORD_TOKEN"),
        description="Bot token from the Discord developer portal (DISCORD_TOKEN). Never shown.",
    )
    discord_dev_guild: int | None = Field(
        None,
        description="Guild (server) id to sync slash commands to at once, for development. "
        "Empty: sync globally (Discord may take up to an hour to show them).",
    )
    discord_allowed_guilds: list[int] = Field(
        default_factory=list, description="Guild ids the bot answers in (JSON list). Empty: all."
    )
    discord_allowed_channels: list[int] = Field(
        default_factory=list,
        description="Channel ids the bot answers in (JSON list; threads count as their parent "
        "channel). Empty: all channels of the allowed guilds.",
    )
    discord_allow_dms: bool = Field(False, description="Answer direct messages too.")
    discord_cooldown_s: float = Field(
        10.0, ge=0, le=86_400, allow_inf_nan=False, description="Seconds a user waits between two questions."
    )
    discord_max_concurrent: int = Field(
        1, ge=1, le=16, description="Answers generated at the same time; more wait in a queue."
    )
    discord_max_queue: int = Field(
        10, ge=0, le=1000, description="Questions allowed to wait; beyond this users are asked to retry."
    )
    discord_timeout_s: float = Field(
        120.0, gt=0, le=MAX_TIMEOUT_S, allow_inf_nan=False, description="Seconds an answer may take before the user is told it timed out."
    )

    @field_validator("ollama_host")
    @classmethod
    def _normalise_host(cls, value: str) -> str:
        # Ollama itself accepts OLLAMA_HOST=0.0.0.0:11434 with no scheme.
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            value = "http://" + value
        return value

    @field_validator("corpus_encoding")
    @classmethod
    def _known_codec(cls, value: str | None) -> str | None:
        value = value.strip() if value else None
        if not value:
            return None
        try:
            text_codec = codecs.lookup(value)._is_text_encoding  # base64, rot13: not for bytes to text
        except LookupError:
            text_codec = False
        if not text_codec:
            raise ValueError(f"unknown text encoding {value!r} (a Python codec name such as cp1252, latin-1 or utf-8)")
        return value

    @field_validator("chroma_url")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value.strip().rstrip("/") or None if value else None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get("RAGBOT_CONFIG", DEFAULT_CONFIG_FILE))
        toml = TomlConfigSettingsSource(settings_cls, toml_file=toml_file)
        return (init_settings, env_settings, dotenv_settings, toml)


# Greedy up to the last "@" before the host, so that a password holding an
# unescaped "@" is masked whole; whitespace, "/", "?" and "#" end a URL's
# authority, so an address later in the text is not swallowed.
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/?#]+@")
SECRET_URL_FIELDS = ("chroma_url", "ollama_host")


def redact_secrets(text: str) -> str:
    """``text`` (a URL, a log line, an error) with the credentials of every URL in it masked.

    >>> redact_secrets("GET https://u:p@host/api failed; see http://ok/")
    'GET https://***@host/api failed; see http://ok/'
    >>> redact_secrets("http://admin:p@ss@db.example:8000/x"), redact_secrets("http://127.0.0.1:11434")
    ('http://***@db.example:8000/x', 'http://127.0.0.1:11434')
    """
    return _URL_CREDENTIALS.sub(r"\1***@", text)


def server_url(value: str, setting: str) -> str:
    """``value`` when it is a usable http(s) server URL, else ConfigError naming ``setting``.

    Checked where a server is about to be used, not at load: OLLAMA_HOST is
    shared with other tools, and ``ragbot doctor`` must still report the rest.

    >>> server_url("http://127.0.0.1:11434", "OLLAMA_HOST")
    'http://127.0.0.1:11434'
    >>> server_url("http://u:secret@[::1", "OLLAMA_HOST")
    Traceback (most recent call last):
    rag.errors.ConfigError: invalid configuration: OLLAMA_HOST is not a server URL (Invalid IPv6 URL): http://***@[::1; expected e.g. http://127.0.0.1:11434
    """
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018: raises ValueError for a port that is not a number in 0-65535
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"scheme {parts.scheme or 'missing'}, not http or https")
        if not parts.hostname:
            raise ValueError("no host")
        if any(character.isspace() for character in value):
            raise ValueError("a space inside it")
    except ValueError as error:
        raise ConfigError(
            f"invalid configuration: {setting} is not a server URL ({error}): {redact_secrets(value)}; "
            "expected e.g. http://127.0.0.1:11434"
        ) from None
    return value


def shown_value(settings: Settings, name: str) -> object:
    """A setting's value as ``ragbot doctor`` shows it: secrets hidden, URLs without credentials."""
    value = getattr(settings, name)
    if name in SECRET_URL_FIELDS and isinstance(value, str):
        return redact_secrets(value)
    return value


def _refuse_unknown_keys(toml_file: Path) -> None:
    """ConfigError naming the keys of ``toml_file`` that are no setting (typos are not ignored)."""
    if not toml_file.is_file():
        return
    try:
        keys = set(tomllib.loads(toml_file.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"invalid configuration file {toml_file}: {error}") from None
    known = set(Settings.model_fields)
    for field in Settings.model_fields.values():
        if isinstance(field.validation_alias, AliasChoices):
            known.update(choice for choice in field.validation_alias.choices if isinstance(choice, str))
    unknown = sorted(keys - known)
    if unknown:
        raise ConfigError(
            f"unknown setting{'s' if len(unknown) > 1 else ''} in {toml_file}: {', '.join(unknown)} "
            "(`ragbot doctor` lists the valid ones)"
        )


def load_settings(**overrides: object) -> Settings:
    """Build the settings, turning validation errors into one readable ConfigError.

    Options left as ``None`` (not given on the command line) are ignored.
    """
    config_file = os.environ.get("RAGBOT_CONFIG")
    if config_file and not Path(config_file).is_file():
        raise ConfigError(f"config file not found: {config_file} (from RAGBOT_CONFIG)")
    given = {key: value for key, value in overrides.items() if value is not None}
    _refuse_unknown_keys(Path(config_file or DEFAULT_CONFIG_FILE))
    try:
        return Settings(**given)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or 'config'}: {item['msg']}"
            for item in error.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from None
    except ValueError as error:  # a malformed TOML file
        raise ConfigError(f"invalid configuration file: {error}") from None
