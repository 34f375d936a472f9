"""The errors ragbot raises on purpose.

Every message here is safe to show a user as it is (no secrets, no stack
traces) and says what to do next. Interfaces (CLI, Discord) catch
``RagbotError`` at their edge and print ``str(error)`` on one line; anything
else escaping the engine is a bug.
"""

from __future__ import annotations


class RagbotError(Exception):
    """Base class: a failure the user can act on."""


class ConfigError(RagbotError):
    """The configuration (env vars, TOML file, options) is invalid."""


class InvalidQuestion(RagbotError):
    """The question is empty, too long, or otherwise unusable."""


class CorpusError(RagbotError):
    """The corpus path is missing, empty, or holds unreadable files."""


class NothingIndexable(CorpusError):
    """Every file found was skipped; the index is unchanged. ``report`` says why, file by file."""

    def __init__(self, message: str, report: object) -> None:
        super().__init__(message)
        self.report = report


class StoreError(RagbotError):
    """Problems with the Chroma store."""


class StoreNotBuilt(StoreError):
    """``ask`` was called on a store that was never ingested."""


class StoreCorrupt(StoreError):
    """The storage directory exists but Chroma cannot open it.

    ``problem`` is what is wrong, without the advice (ingestion, which acts
    on it by moving the store aside, reports what it did instead).
    """

    ADVICE = "run `ragbot ingest` to move it aside (nothing is deleted) and rebuild the index"

    def __init__(self, problem: str, advice: str = ADVICE) -> None:
        super().__init__(f"{problem}: {advice}" if advice else problem)
        self.problem = problem


class StoreAccessDenied(StoreError):
    """The store exists but this user may not read or write it."""


class EmbeddingMismatch(StoreError):
    """The store was built with a different embedding model than the one configured."""


class StoreIncompatible(StoreError):
    """The store was written in a format this version does not read."""


class IndexReplaced(StoreError):
    """The collection a long-running reader opened was replaced by a finished rebuild (reopen it)."""


class StoreLocked(StoreError):
    """Another process is writing to the store."""


class StoreFull(StoreError):
    """No space is left on the device that holds the store.

    Not damage: nothing is moved aside; the next ingest resumes once there is room.
    """


class StoreReadOnly(StoreError):
    """The store is on a read-only file system (Chroma writes even to answer)."""


class StorePathInvalid(StoreError):
    """The storage path, or a folder above it, is not a folder (a regular file, a FIFO, ...)."""


class ModelError(RagbotError):
    """A model backend cannot be loaded or used."""


class ModelAssetMissing(ModelError):
    """A model file shipped by a package is missing or fails its checksum."""


class BackendUnavailable(ModelError):
    """A model server (Ollama, Chroma) cannot be reached."""


class ModelNotPulled(ModelError):
    """The Ollama server is up but does not have the configured model."""
