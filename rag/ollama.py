"""Talking to an Ollama server: reachability, pulled models, error translation.

The llama-index Ollama integrations do the real work; this module turns the
ways a real server fails (not running, wrong host, model never pulled, slow)
into :mod:`rag.errors` messages a user can act on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import ollama

from rag.config import Settings
from rag.errors import BackendUnavailable, ModelNotPulled


def _unreachable(settings: Settings) -> BackendUnavailable:
    return BackendUnavailable(
        f"Ollama not reachable at {settings.ollama_host}: start it with `ollama serve` "
        "or set OLLAMA_HOST"
    )


def _same_model(wanted: str, available: str) -> bool:
    # `ollama pull qwen2.5` stores "qwen2.5:latest"; both spellings mean it.
    def norm(name: str) -> str:
        return name if ":" in name else name + ":latest"

    return norm(wanted) == norm(available)


@contextmanager
def translated_errors(settings: Settings, model: str) -> Iterator[None]:
    """Re-raise client and HTTP failures as ragbot errors."""
    try:
        yield
    except (ConnectionError, httpx.ConnectError):
        raise _unreachable(settings) from None
    except httpx.TimeoutException:
        raise BackendUnavailable(
            f"Ollama at {settings.ollama_host} did not answer within "
            f"{settings.request_timeout_s:g} s (raise RAGBOT_REQUEST_TIMEOUT_S)"
        ) from None
    except ollama.ResponseError as error:
        if error.status_code == 404:
            raise ModelNotPulled(f"model {model} not pulled: run `ollama pull {model}`") from None
        raise BackendUnavailable(
            f"Ollama at {settings.ollama_host} failed ({error.status_code}): {error.error}"
        ) from None


def pulled_models(settings: Settings) -> list[str]:
    """Names of the models the server has (``GET /api/tags``)."""
    client = ollama.Client(host=settings.ollama_host, timeout=min(settings.request_timeout_s, 10))
    with translated_errors(settings, model="?"):
        return [entry.model or "" for entry in client.list().models]


def require_model(settings: Settings, model: str) -> None:
    """Fail early, with the fix, when the server is down or lacks ``model``."""
    if not any(_same_model(model, name) for name in pulled_models(settings)):
        raise ModelNotPulled(f"model {model} not pulled: run `ollama pull {model}`")
