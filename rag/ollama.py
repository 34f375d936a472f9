"""Talking to an Ollama server: reachability, pulled models, error translation.

The llama-index Ollama integrations do the real work; this module turns the
ways a real server fails (not running, wrong host, model never pulled, slow)
into :mod:`rag.errors` messages a user can act on.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

import httpx

from rag.config import Settings, redact_secrets, server_url
from rag.errors import BackendUnavailable, ModelNotPulled


def _import_ollama() -> ModuleType:
    """The ``ollama`` package, imported without reading OLLAMA_HOST.

    Its import builds a default client from OLLAMA_HOST, so a malformed value
    raised ValueError from the import itself (and stopped ``ragbot doctor``
    mid-report). ragbot never uses that client: each one it makes gets the
    configured host, checked by :func:`ollama_url`.
    """
    saved = os.environ.pop("OLLAMA_HOST", None)
    try:
        import ollama
    finally:
        if saved is not None:
            os.environ["OLLAMA_HOST"] = saved
    return ollama


ollama = _import_ollama()


def _unreachable(settings: Settings) -> BackendUnavailable:
    return BackendUnavailable(
        f"Ollama not reachable at {redact_secrets(settings.ollama_host)}: start it with `ollama serve` "
        "or set OLLAMA_HOST"
    )


def ollama_url(settings: Settings) -> str:
    """The configured Ollama URL, or ConfigError naming the variable that set it when it is malformed."""
    setting = next(
        (name for name in ("OLLAMA_HOST", "RAGBOT_OLLAMA_HOST") if os.environ.get(name) == settings.ollama_host),
        "OLLAMA_HOST",
    )
    return server_url(settings.ollama_host, setting)


def client_timeout(settings: Settings, read_s: float) -> httpx.Timeout:
    """Connect within ``connect_timeout_s``; then wait ``read_s`` for the reply."""
    return httpx.Timeout(read_s, connect=min(settings.connect_timeout_s, read_s))


def answer_client(settings: Settings) -> ollama.Client:
    """A client for answers and embeddings: ``request_timeout_s`` per request."""
    return ollama.Client(host=ollama_url(settings), timeout=client_timeout(settings, settings.request_timeout_s))


def _same_model(wanted: str, available: str) -> bool:
    # `ollama pull qwen2.5` stores "qwen2.5:latest"; both spellings mean it.
    def norm(name: str) -> str:
        return name if ":" in name else name + ":latest"

    return norm(wanted) == norm(available)


@contextmanager
def translated_errors(settings: Settings, model: str, health_check: bool = False) -> Iterator[None]:
    """Re-raise client and HTTP failures as ragbot errors.

    A timeout names the limit that was really applied and the setting that
    raises it: ``connect_timeout_s`` for connecting and for the health check
    (``health_check=True``), ``request_timeout_s`` for a reply.
    """
    host = redact_secrets(settings.ollama_host)
    try:
        yield
    except httpx.ConnectTimeout:
        raise BackendUnavailable(
            f"Ollama at {host} did not accept a connection within {settings.connect_timeout_s:g} s "
            "(RAGBOT_CONNECT_TIMEOUT_S)"
        ) from None
    except (ConnectionError, httpx.ConnectError):
        raise _unreachable(settings) from None
    except httpx.TimeoutException:
        limit, name = (
            (settings.connect_timeout_s, "RAGBOT_CONNECT_TIMEOUT_S") if health_check
            else (settings.request_timeout_s, "RAGBOT_REQUEST_TIMEOUT_S")
        )
        raise BackendUnavailable(f"Ollama at {host} did not answer within {limit:g} s ({name})") from None
    except ollama.ResponseError as error:
        if error.status_code == 404:
            raise ModelNotPulled(f"model {model} not pulled: run `ollama pull {model}`") from None
        raise BackendUnavailable(
            f"Ollama at {host} failed ({error.status_code}): {redact_secrets(str(error.error))}"
        ) from None


def pulled_models(settings: Settings) -> list[str]:
    """Names of the models the server has (``GET /api/tags``), within ``connect_timeout_s``."""
    client = ollama.Client(host=ollama_url(settings), timeout=client_timeout(settings, settings.connect_timeout_s))
    with translated_errors(settings, model="?", health_check=True):
        return [entry.model or "" for entry in client.list().models]


def require_model(settings: Settings, model: str) -> None:
    """Fail early, with the fix, when the server is down or lacks ``model``."""
    if not any(_same_model(model, name) for name in pulled_models(settings)):
        raise ModelNotPulled(f"model {model} not pulled: run `ollama pull {model}`")
