"""GreedyGrammar picks exactly the tokens llama-cpp-python's grammar sampler picks.

SmolLM2 (135M) stands in for the 1.5B model: the equivalence does not depend
on the model, and a completion takes a fraction of a second.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.config import Settings
from rag.generate import ANSWER_GRAMMAR, PREFILL
from rag.grammar_sampling import GreedyGrammar
from rag.llm import LlamaCppChat

# (prompt, grammar, what every reply must match, whether the model's own
# likeliest token gets rejected somewhere, which exercises the full mask)
CASES = [
    (
        'Answer in JSON.\nQuestion: Where did the ministers meet?\nReply: ' + PREFILL,
        ANSWER_GRAMMAR,
        r'[0-9](, [1-9])*\], "answer": "[^"{}]+( [^"{}]+){3,}"\}',
        True,
    ),
    ("Write a long poem about the sea.\n", 'root ::= ("yes" | "no") "."', r"(yes|no)\.", True),
    ("Count: 1, 2, 3,", r'root ::= " " [0-9]+ ("," " " [0-9]+)*', r"( [0-9]+)(, [0-9]+)*", False),
    ("Die Hauptstadt von Dänemark heißt", r'root ::= " " [A-ZÆØÅ] [a-zæøåäöüß]+ "."', r" [A-ZÆØÅ][a-zæøåäöüß]+\.", True),
]


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory):
    models = tmp_path_factory.mktemp("models")
    settings = Settings(embedded_llm="smollm2-135m", model_dir=models, storage_dir=models / "store")
    return LlamaCppChat(settings).runtime


@pytest.mark.parametrize(("prompt", "grammar", "shape", "rejects"), CASES)
def test_same_tokens_as_the_grammar_in_the_sampler_chain(llama, prompt, grammar, shape, rejects) -> None:
    from llama_cpp import LlamaGrammar, LogitsProcessorList

    def complete(**constraint) -> tuple[str, str]:
        llama.reset()
        reply = llama.create_completion(prompt=prompt, max_tokens=40, temperature=0, seed=1, **constraint)
        return reply["choices"][0]["text"], reply["choices"][0]["finish_reason"]

    in_chain = complete(grammar=LlamaGrammar.from_string(grammar, verbose=False))
    greedy = GreedyGrammar(llama, grammar)
    try:
        checked_one_by_one = complete(logits_processor=LogitsProcessorList([greedy]))
    finally:
        greedy.close()
    assert checked_one_by_one == in_chain
    text, finish_reason = checked_one_by_one
    if finish_reason == "stop":  # not cut short by max_tokens
        assert re.fullmatch(shape, text), text
    # The whole-vocabulary mask is built only when the model's choice was refused.
    assert (greedy._all is not None) == rejects


def _grammar_allows(llama, grammar: str, text: str) -> bool:
    """Whether ``grammar`` lets a model write ``text`` to its end: each token
    of it (then end-of-text) offered to GreedyGrammar as the likeliest choice."""
    import numpy as np

    greedy = GreedyGrammar(llama, grammar)
    chosen = [llama.token_bos()]  # the "prompt": GreedyGrammar feeds the grammar what follows it
    try:
        for token in [*llama.tokenize(text.encode(), add_bos=False, special=False), llama.token_eos()]:
            logits = np.zeros(llama.n_vocab(), dtype=np.single)
            logits[token] = 1.0
            if not np.isfinite(greedy(np.array(chosen), logits)[token]):
                return False
            chosen.append(token)
        return True
    finally:
        greedy.close()


@pytest.mark.parametrize(
    ("answer", "allowed"),
    [
        ("Die Gespräche dauerten 90 Minuten.", True),
        ("Mr Putin called Erdogan \\\"dear friend\\\" (Kremlin).", True),
        ("Russland und die Türkei – so der Kreml – wollen kooperieren.", True),
        ("Die Vereinigten Arabischen Emirate öffneten sie 2018 wieder, 24/7.", True),
        ("Idlib.", False),  # under four words: a bare name has no language
        ("Idlib er provinsen. }////////////////", False),  # padding seen from the 1.5B model
        ("Idlib provinsen. ////// ......", False),
        ("Idlib er provinsen {med} IS.", False),
    ],
)
def test_the_answer_grammar_refuses_padding_but_not_punctuated_prose(llama, answer: str, allowed: bool) -> None:
    reply = f'1], "answer": "{answer}"}}'
    assert _grammar_allows(llama, ANSWER_GRAMMAR, reply) == allowed


def test_a_grammar_that_does_not_parse_is_an_error(llama) -> None:
    with pytest.raises(ValueError):
        GreedyGrammar(llama, "root ::= (")


def test_the_embedded_model_decodes_greedily_without_the_grammar_in_its_chain(tmp_path: Path, monkeypatch) -> None:
    """LlamaCppChat.answer hands the grammar to GreedyGrammar at temperature 0, to the chain otherwise."""
    import llama_cpp

    seen: list[object] = []
    original = llama_cpp.Llama.create_completion

    def spy(self, *args, **kwargs):
        seen.append(kwargs.get("grammar"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(llama_cpp.Llama, "create_completion", spy)
    from rag.generate import answer_messages
    from rag.store import StoredSentence

    evidence = [StoredSentence("a", "a.txt", 0, 1, "The talks lasted three hours.", "en", "", "", 0)]
    messages = answer_messages("How long did the talks last?", evidence, "en")
    for temperature in (0.0, 0.7):
        settings = Settings(
            embedded_llm="smollm2-135m", model_dir=tmp_path / "models", storage_dir=tmp_path / "s", temperature=temperature
        )
        draft = LlamaCppChat(settings).answer(messages, 1, 30, abstain_above=float("inf"))
        assert draft.evidence == [1]
    assert seen[0] is None and seen[1] is not None
