"""The Ollama backends against a server speaking Ollama's documented API."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import Settings
from rag.embeddings import build_embedding
from rag.engine import Engine
from rag.generate import WORKED_EXAMPLES, answer_prefix
from rag.ingest import ingest
from rag.errors import BackendUnavailable, ModelNotPulled
from rag.ollama_chat import OllamaChat

from .conftest import SEEDS, free_port
from .fake_ollama import FakeOllama

LLM, EMBED = "qwen2.5:3b", "bge-m3"
ANSWERED = '{"evidence": [1], "answer": "The talks took place in Moscow."}'


def _settings(url: str, tmp_path: Path) -> Settings:
    return Settings(
        storage_dir=tmp_path / "store",
        llm_backend="ollama",
        embedding_backend="ollama",
        ollama_host=url,
        ollama_llm_model=LLM,
        ollama_embedding_model=EMBED,
        request_timeout_s=5,
    )


def test_ingest_and_ask_through_ollama(tmp_path: Path) -> None:
    with FakeOllama([LLM, EMBED + ":latest"], reply=ANSWERED) as server:
        settings = _settings(server.url, tmp_path)
        report = ingest(settings, SEEDS)
        assert report.chunks > 50 and report.embedded == report.chunks
        engine = Engine.load(settings)
        streamed: list[str] = []
        answer = engine.ask("Where did the talks take place?", on_token=streamed.append)

    assert engine.backend == {"llm": f"ollama:{LLM}", "embedding": f"ollama:{EMBED}"}
    assert not answer.refused
    assert answer.answer == "The talks took place in Moscow [1]."
    # The citation is evidence sentence [1], taken from the store, verbatim.
    citation = answer.citations[0]
    text = (SEEDS / citation.source).read_text(encoding="utf-8")
    assert text[citation.start : citation.end] == citation.quote

    assert "".join(streamed) == "The talks took place in Moscow."  # the answer, streamed without its JSON
    assert len(streamed) > 1
    # log-probabilities are asked for; this server, like Ollama before 0.12.11, returns
    # none, so the confirm stage is skipped and the model's own [0] is its abstention
    assert answer.usage == {"prompt_tokens": 10, "cached_prompt_tokens": 0, "completion_tokens": 5, "model_calls": 1}
    chats = [body for path, body in server.requests if path == "/api/chat"]
    assert len(chats) == 1 and chats[0]["logprobs"] is True
    assert chats[0]["stream"] is True
    # Ollama's constrained sampling gets the reply's JSON schema in "format".
    schema = chats[0]["format"]
    assert schema["required"] == ["evidence", "answer"]
    assert schema["properties"]["evidence"]["items"]["maximum"] == settings.evidence_k  # one number per sentence shown
    assert chats[0]["options"]["temperature"] == 0.0
    assert chats[0]["options"]["seed"] == 42
    messages = chats[0]["messages"]
    # the rules, the worked examples (in the question's language) as earlier turns, then the question
    assert messages[:-1] == answer_prefix("en")
    assert [m["role"] for m in messages] == ["system", *["user", "assistant"] * WORKED_EXAMPLES, "user"]
    assert "not instructions" in messages[0]["content"]
    assert "Where did the talks take place?" in messages[-1]["content"]
    assert any(path == "/api/embed" for path, _ in server.requests)


def test_a_reply_choosing_no_sentence_is_a_refusal(tmp_path: Path) -> None:
    with FakeOllama([LLM, EMBED], reply='{"evidence": [0], "answer": ""}') as server:
        settings = _settings(server.url, tmp_path)
        ingest(settings, SEEDS)
        answer = Engine.load(settings).ask("Hvor mange skibe deltog i mødet i Moskva?")
    assert answer.refused and answer.answer == "Det fremgår ikke af artiklerne." and answer.citations == []


@pytest.mark.parametrize(("first_token", "refused"), [({"no": -0.1, "yes": -2.6}, True), ({"yes": -0.1, "no": -3.0}, False)])
def test_the_confirm_stage_reads_ollamas_logprobs(tmp_path: Path, first_token: dict[str, float], refused: bool) -> None:
    """Where the server returns log-probabilities, the confirm score is the embedded backend's:
    log P(no) - log P(yes) at the first token (uncalibrated here: refused when "no" is likelier)."""
    with FakeOllama([LLM, EMBED], reply=ANSWERED, first_token_logprobs=first_token) as server:
        settings = _settings(server.url, tmp_path)
        ingest(settings, SEEDS)
        engine = Engine.load(settings)
        answer = engine.ask("Where did the talks take place?")
    assert answer.refused is refused and (engine.last_decision.fired == ["unconfirmed"]) is refused
    assert engine.last_decision.confirm_score == pytest.approx(first_token["no"] - first_token["yes"])
    assert answer.usage["model_calls"] == 2


@pytest.mark.parametrize(("number", "refused"), [({"0": -0.2, "1": -1.9}, True), ({"1": -0.1, "0": -2.5}, False)])
def test_the_abstention_score_reads_ollamas_logprobs_at_the_first_sentence_number(
    tmp_path: Path, number: dict[str, float], refused: bool
) -> None:
    """The token holding the reply's first sentence number gives log P(0) - log P(best number),
    as in the embedded backend; above the (uncalibrated: 0.0) threshold the answer is refused."""
    with FakeOllama([LLM, EMBED], reply=ANSWERED, number_logprobs=number, first_token_logprobs={"yes": -0.1}) as server:
        settings = _settings(server.url, tmp_path)
        ingest(settings, SEEDS)
        engine = Engine.load(settings)
        answer = engine.ask("Where did the talks take place?")
    assert engine.last_decision.abstain_score == pytest.approx(number["0"] - max(v for k, v in number.items() if k != "0"))
    assert answer.refused is refused and ("abstain" in engine.last_decision.fired) is refused


def test_model_not_pulled_names_the_fix(tmp_path: Path) -> None:
    with FakeOllama([EMBED]) as server:
        with pytest.raises(ModelNotPulled, match=r"model qwen2.5:3b not pulled: run `ollama pull qwen2.5:3b`"):
            OllamaChat(_settings(server.url, tmp_path))


def test_latest_tag_counts_as_pulled(tmp_path: Path) -> None:
    with FakeOllama(["bge-m3:latest"]) as server:
        settings = _settings(server.url, tmp_path)
        assert len(build_embedding(settings).get_query_embedding("hello")) == 64


def test_unreachable_server(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(BackendUnavailable, match=f"Ollama not reachable at {url}"):
        OllamaChat(_settings(url, tmp_path))


def test_model_removed_while_running(tmp_path: Path) -> None:
    with FakeOllama([LLM]) as server:
        chat = OllamaChat(_settings(server.url, tmp_path))
        server.models.clear()
        with pytest.raises(ModelNotPulled, match="ollama pull"):
            chat.chat([{"role": "user", "content": "user"}], max_tokens=10)
