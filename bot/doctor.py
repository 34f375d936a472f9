"""Health checks behind ``ragbot doctor``: each part, tried for real."""

from __future__ import annotations

from collections.abc import Iterator

from rag.config import Settings
from rag.errors import RagbotError

Check = tuple[str, bool, str]


def _check_store(settings: Settings) -> Check:
    from rag.embeddings import embedding_identity
    from rag.store import Store

    store = Store(settings)
    try:
        count = store.collection(embedding_identity(settings)).count()
    except RagbotError as error:
        return "store", False, str(error)
    return "store", True, f"{count} sentences at {store.location}"


def _check_rebuild(settings: Settings) -> Check | None:
    """An unfinished ``ingest --rebuild`` (:mod:`rag.rebuild`): fine while it runs, a failure once killed."""
    from rag.lock import writer_active
    from rag.rebuild import interrupted_rebuild
    from rag.store import Store

    try:
        progress = interrupted_rebuild(Store(settings))
    except RagbotError:
        return None  # the store check has said what is wrong
    if progress is None:
        return None
    running = writer_active(settings.storage_dir)
    if running:
        return "rebuild", True, f"in progress: {progress.describe()}"
    return "rebuild", False, f"incomplete (killed): {progress.describe()}; `ragbot ingest --rebuild` starts it again"


def _check_thresholds(settings: Settings) -> Check:
    """The refusal thresholds in use and where they came from (rag.calibration)."""
    from rag.calibration import calibration_for
    from rag.llm import chat_model_identity

    try:
        identity = chat_model_identity(settings)
    except RagbotError as error:
        return "thresholds", False, str(error)
    calibration = calibration_for(identity, settings.storage_dir, settings.abstain_threshold, settings.confirm_threshold)
    notes = "".join(f"; {note}" for note in calibration.notes)
    if identity.startswith("ollama:"):
        notes += (
            "; with Ollama they apply where the server returns log-probabilities (0.12.11 and later); "
            "otherwise the checks and the model's own [0] decide"
        )
    return "thresholds", True, f"{identity}: {calibration.describe()}{notes}"


def _check_embedding(settings: Settings) -> Check:
    from rag.embeddings import build_embedding, embedding_identity

    try:
        vector = build_embedding(settings).get_query_embedding("ping")
    except RagbotError as error:
        return "embedding", False, str(error)
    return "embedding", True, f"{embedding_identity(settings)} ({len(vector)} dimensions)"


def _check_llm(settings: Settings) -> Check:
    from rag.llm import build_chat_model

    try:
        model = build_chat_model(settings)
        reply = model.chat([{"role": "user", "content": "Say OK."}], max_tokens=4)
    except RagbotError as error:
        return "llm", False, str(error)
    return "llm", True, f"{model.identity} replied {reply.strip()[:20]!r}"


def run_checks(settings: Settings) -> Iterator[Check]:
    """Every check's result, in order; one that fails in a way nobody foresaw is
    marked failed with what went wrong, and the report goes on (it is what a user
    runs when something is broken). The rebuild check shows only when a rebuild
    is unfinished."""
    checks = (("store", _check_store), ("rebuild", _check_rebuild), ("embedding", _check_embedding),
              ("llm", _check_llm), ("thresholds", _check_thresholds))
    for name, check in checks:
        try:
            result = check(settings)
        except Exception as error:  # noqa: BLE001: doctor reports, never stops mid-report
            result = name, False, f"unexpected {type(error).__name__}: {error}"
        if result is not None:
            yield result
