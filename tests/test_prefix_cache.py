"""The fixed prompt prefix's KV cache survives the process, and can only save time.

SmolLM2 (135M) stands in for the 1.5B model: the cache code does not depend
on the model, and three loads of SmolLM2 take well under a second.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import Settings
from rag.generate import answer_messages, answer_prefix
from rag.llm import LlamaCppChat
from rag.prefix_cache import KEEP_PREFIXES
from rag.store import StoredSentence

EVIDENCE = [
    StoredSentence("a", "a.txt", 0, 1, "The talks in Moscow lasted about three hours.", "en", "", "", 0),
    StoredSentence("b", "b.txt", 0, 1, "Die Gespräche fanden am Samstag statt.", "de", "", "", 0),
]
QUESTION = answer_messages("How long did the talks last?", EVIDENCE, "en")


def reply(chat: LlamaCppChat) -> tuple[list[int], str, float | None]:
    """The structured reply to QUESTION, as the engine asks for it."""
    draft = chat.answer(QUESTION, len(EVIDENCE), 24, abstain_above=float("inf"))
    return draft.evidence, draft.text, draft.abstain_score


@pytest.fixture
def model_settings(tmp_path: Path) -> Settings:
    return Settings(embedded_llm="smollm2-135m", model_dir=tmp_path / "models", storage_dir=tmp_path / "store")


def saved_prefixes(settings: Settings) -> list[Path]:
    return sorted((settings.model_dir / "prefix-cache").rglob("*.kv"))


def test_a_new_process_loads_the_saved_prefix_and_answers_the_same(model_settings: Settings) -> None:
    first = LlamaCppChat(model_settings)
    first.warm(answer_prefix("en"))
    [saved] = saved_prefixes(model_settings)
    written = saved.stat().st_ino  # saving again would replace the file (a new inode)
    evaluated = first.runtime.n_tokens
    answer = reply(first)

    second = LlamaCppChat(model_settings)
    second.warm(answer_prefix("en"))
    assert second.runtime.n_tokens == evaluated  # restored, not evaluated again
    assert saved.stat().st_ino == written
    assert reply(second) == answer


def test_a_damaged_prefix_file_is_replaced_and_the_answer_unchanged(model_settings: Settings) -> None:
    clean = LlamaCppChat(model_settings)
    clean.warm(answer_prefix("en"))
    answer = reply(clean)
    [saved] = saved_prefixes(model_settings)
    good = saved.read_bytes()

    for damage in (b"", b"not a cache file", good[: len(good) // 2]):
        saved.write_bytes(damage)
        chat = LlamaCppChat(model_settings)
        chat.warm(answer_prefix("en"))
        assert reply(chat) == answer
        assert saved.read_bytes() == good  # evaluated again and saved whole


def test_each_language_keeps_its_prefix_and_old_prompts_go(model_settings: Settings) -> None:
    chat = LlamaCppChat(model_settings)
    lengths = {}
    for language in ("en", "da", "no", "de"):
        chat.warm(answer_prefix(language))
        lengths[language] = chat.runtime.n_tokens
    current = saved_prefixes(model_settings)
    assert len(current) == 4  # one per answer language, all kept
    files = {path: path.stat().st_ino for path in current}
    chat.warm(answer_prefix("en"))  # switching back restores English's from its file
    assert chat.runtime.n_tokens == lengths["en"]
    assert {path: path.stat().st_ino for path in saved_prefixes(model_settings)} == files  # none saved again

    for words in range(1, KEEP_PREFIXES + 1):  # prompts changed again and again
        LlamaCppChat(model_settings).warm([{"role": "system", "content": "Answer in %d words." % words}])
    kept = saved_prefixes(model_settings)
    assert len(kept) == KEEP_PREFIXES and not set(kept) & set(current)  # the least recently used went


def test_a_read_only_model_directory_still_answers(model_settings: Settings) -> None:
    cache = model_settings.model_dir / "prefix-cache"
    cache.parent.mkdir(parents=True)
    cache.write_text("a file where the cache folder should be")
    chat = LlamaCppChat(model_settings)
    chat.warm(answer_prefix("en"))
    assert reply(chat)[0]
