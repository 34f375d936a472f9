"""The generate stage: one model call that names the answering evidence and answers.

The model is shown numbered evidence sentences and replies with one JSON
object whose shape is enforced while it is sampled (a grammar for llama.cpp,
a JSON schema in Ollama's ``format``)::

    {"evidence": [2], "answer": "Ministrene mødtes i Ankara."}

``evidence`` comes first, so the model commits to the sentences it reads the
answer from before writing it; ``[0]`` means that no sentence answers. The
first token of the reply is therefore a choice between "0" and the sentence
numbers, and the model's own probabilities at that token are the abstention
score (:class:`Draft.abstain_score`, log P(0) − log P(best sentence)): one
number, with one threshold per model fitted on the dev split
(:mod:`rag.abstain`).

>>> parse_reply('{"evidence": [2, 3], "answer": "Two hours."}', 6)
([2, 3], 'Two hours.')
>>> parse_reply('{"evidence": [0], "answer": ""}', 6)
([], '')
>>> parse_reply('{"evidence": [7, 2], "answer": "cut off', 6)
([2], 'cut off')
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from rag.language import LANGUAGE_NAMES
from rag.prompts import has_prompt, render
from rag.store import StoredSentence

Message = dict[str, str]
PREFILL = '{"evidence": ['  # the start of every reply; examples and grammar agree with it
MAX_EVIDENCE = 9  # one digit per sentence number
WORKED_EXAMPLES = 4  # prompts/answer_example_<n>_user.txt and _reply.txt


@dataclass
class Draft:
    """What the model chose and wrote, before any check."""

    evidence: list[int]  # 1-based evidence numbers it answers from; [] when none answers
    text: str  # the answer, without citation markers
    abstain_score: float | None = None  # log P("0") − log P(best number); None when the backend cannot tell
    usage: dict[str, int] = field(default_factory=dict)
    # time.perf_counter() when the model's first token came, for the benchmark
    # (the first answer text comes several tokens later, after the evidence).
    first_token_at: float | None = None


# The reply after PREFILL, as llama.cpp enforces it (Ollama gets
# answer_schema): sentence numbers (the first one is chosen by
# rag.llm.LlamaCppChat.answer from the model's probabilities), then the
# answer: at least four words, because a bare name ("Idlib") reads the same
# in every language and the asker was promised an answer in theirs. A word
# holds at least one character that is not punctuation (a dash may stand
# alone), and no braces: made to write four words after a two-word answer,
# the model padded it with the JSON's closing brace and a run of slashes
# ("Idlib provinsen. }//////////"), which users were shown.
_PUNCTUATION = r"!#$%&'()*+,./:;<=>?@^_`|~«»„“”‘’‚–—…\[\]-"  # a GBNF class body; "-" last
ANSWER_GRAMMAR = rf"""
root ::= [0-9] more "]" ", " "\"answer\": \"" sentence "\"}}"
more ::= (", " [1-9])*
sentence ::= word " " word " " word (" " word)+
word ::= mark* letter char* | [–—-]
mark ::= [{_PUNCTUATION}] | "\\" ["\\/bfnrt]
letter ::= [^" \\\x00-\x1F{{}}{_PUNCTUATION}]
char ::= [^" \\\x00-\x1F{{}}] | "\\" ["\\/bfnrt]
"""


def answer_schema(evidence_count: int) -> dict:
    """The JSON schema of a reply (what Ollama's ``format`` enforces).

    >>> answer_schema(6)["properties"]["evidence"]["items"]["maximum"]
    6
    """
    return {
        "type": "object",
        "properties": {
            "evidence": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": evidence_count}},
            "answer": {"type": "string"},
        },
        "required": ["evidence", "answer"],
    }


_EVIDENCE = re.compile(r'^\s*\{\s*"evidence"\s*:\s*\[([\d,\s]*)\]?')
_ANSWER = re.compile(r'"answer"\s*:\s*"((?:[^"\\]|\\.)*)("?)')


def parse_reply(reply: str, evidence_count: int) -> tuple[list[int], str]:
    """The evidence numbers (valid, distinct, in order; 0 dropped) and the
    answer of a reply, also of one cut short by the token cap."""
    numbers: list[int] = []
    found = _EVIDENCE.match(reply)
    for part in (found.group(1).split(",") if found else []):
        if part.strip().isdigit() and 1 <= int(part) <= evidence_count and int(part) not in numbers:
            numbers.append(int(part))
    answer = _ANSWER.search(reply)
    return numbers, _unescape(answer.group(1)).strip() if answer else ""


def _unescape(text: str) -> str:
    try:
        return json.loads(f'"{text}"')
    except json.JSONDecodeError:
        return text.replace('\\"', '"').replace("\\\\", "\\")


class AnswerStream:
    """Feeds a streamed reply's answer text, unescaped, to ``on_text`` as it arrives.

    >>> seen = []
    >>> stream = AnswerStream(seen.append)
    >>> for piece in ['{"evidence": [1], "ans', 'wer": "Ank', 'ara \\\\"x\\\\"', '."}']:
    ...     stream.feed(piece)
    >>> "".join(seen)
    'Ankara "x".'
    """

    def __init__(self, on_text: Callable[[str], None] | None) -> None:
        self.on_text = on_text
        self.reply = ""
        self._shown = 0

    def feed(self, piece: str) -> None:
        self.reply += piece
        if self.on_text is None:
            return
        found = _ANSWER.search(self.reply)
        if not found:
            return
        body = found.group(1)
        if not found.group(2) and body.endswith("\\"):
            body = body[:-1]  # half an escape: wait for the rest
        text = _unescape(body)
        if len(text) > self._shown:
            self.on_text(text[self._shown :])
            self._shown = len(text)


def format_evidence(evidence: list[StoredSentence]) -> str:
    """Numbered evidence lines, each with its article's language and a letter per article.

    The letter (not the file name, whose hex digits cost a dozen tokens a
    line) lets the model tell sentences of one article from another's.

    >>> s = lambda src, lang: StoredSentence("i", src, 0, 1, "Text.", lang, "", "", 0)
    >>> print(format_evidence([s("x.txt", "de"), s("y.txt", "en"), s("x.txt", "de")]))
    [1] (German article A) Text.
    [2] (English article B) Text.
    [3] (German article A) Text.
    """
    letters: dict[str, str] = {}
    lines = []
    for number, sentence in enumerate(evidence, start=1):
        language = LANGUAGE_NAMES.get(sentence.language, sentence.language)
        letter = letters.setdefault(sentence.source, chr(ord("A") + len(letters)) if len(letters) < 26 else "?")
        lines.append(f"[{number}] ({language} article {letter}) {sentence.text}")
    return "\n".join(lines)


def answer_prefix(language: str) -> list[Message]:
    """The turns every answer prompt in ``language`` starts with: rules and worked examples.

    The examples show a small model what it otherwise gets wrong: (1) a
    question answered in its own language from a sentence in another; (2)
    the question's qualifiers ("in Oslo, according to Ritzau") pick one of
    two sentences holding a duration, and a comparison cites both; (3) a
    question the sentences are near to but do not answer gets ``[0]``; (4)
    a request to do something with the evidence (write, pretend) rather
    than a question gets ``[0]`` too: without it, at four evidence
    sentences, such requests were answered from the evidence.

    The two answered examples are asked and answered in ``language`` when
    ``prompts/answer_example_<n>_<user|reply>.<language>.txt`` exists
    (else the plain file: Danish for the first, German for the second).
    The 1.5B model follows examples more than rules: shown answers in the
    asker's language, it writes fewer answers in the evidence's language
    or in Danish's neighbour Norwegian (2026-12-04, AMD EPYC: answer
    language 0.887 → 0.899 on dev and 0.852 → 0.886 on test, items right
    117 → 121 and 56 → 59; see docs/evaluation.md, "Current figures").

    Being the same for every question in one language, these tokens are
    evaluated once per language and kept in llama.cpp's KV cache (and on
    disk, :mod:`rag.prefix_cache`).

    >>> [turn["content"].splitlines()[-1] for turn in answer_prefix("no")[1:3]]
    ['Answer in Norwegian.', '{"evidence": [2], "answer": "Ministrene møttes i Ankara."}']
    """
    turns: list[Message] = [{"role": "system", "content": render("answer_system").strip()}]
    for number in range(1, WORKED_EXAMPLES + 1):
        for role, kind in (("user", "user"), ("assistant", "reply")):
            name = f"answer_example_{number}_{kind}"
            if has_prompt(f"{name}.{language}"):
                name = f"{name}.{language}"
            turns.append({"role": role, "content": render(name).strip()})
    return turns


def answer_messages(question: str, evidence: list[StoredSentence], language: str) -> list[Message]:
    """The chat turns for one question: :func:`answer_prefix`, then the evidence and question."""
    language_name = LANGUAGE_NAMES.get(language, "English")
    return [
        *answer_prefix(language),
        {
            "role": "user",
            "content": render(
                "answer_user", evidence=format_evidence(evidence), question=question, language_name=language_name
            ).strip(),
        },
    ]


class StructuredGenerator:
    """Generate stage: evidence and question in, a :class:`Draft` out (one model call).

    ``abstain_above`` is passed to the backend so that a reply whose
    abstention score exceeds it stops after its first token; ``math.inf``
    asks for the model's best sentence whatever the score (the evaluation
    does this, to apply any threshold afterwards). A backend that gives no
    log-probabilities leaves the choice to the model.
    """

    def __init__(self, chat_model, max_tokens: int) -> None:
        self.chat_model = chat_model
        self.max_tokens = max_tokens

    def generate(
        self,
        question: str,
        evidence: list[StoredSentence],
        language: str,
        abstain_above: float,
        on_text: Callable[[str], None] | None = None,
    ) -> Draft:
        evidence = evidence[:MAX_EVIDENCE]
        messages = answer_messages(question, evidence, language)
        self.chat_model.warm(messages[:-1])  # this language's rules and examples, from the cache when saved
        return self.chat_model.answer(messages, len(evidence), self.max_tokens, abstain_above, on_text)
