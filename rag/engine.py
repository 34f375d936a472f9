"""The engine every interface uses: load once, then ``ask`` many times.

Example (loads the 1 GB model, so not run as a doctest)::

    engine = Engine.load(load_settings())
    engine.ask("How long did the Moscow talks last?").answer
    # 'The Moscow talks lasted about three hours. [1]'
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.answer import (
    Answer,
    Citation,
    Closeness,
    better_match,
    compose,
    format_evidence,
    is_bare,
    key_terms,
    own_language_quote,
    refusal_text,
    restates,
    strip_markers,
    unmatched_numbers,
)
from rag.answer_type import typed_evidence
from rag.config import Settings
from rag.embeddings import (
    CALIBRATED_MIN_REPLY_RELATEDNESS,
    build_embedding,
    embedding_identity,
    min_relevance,
)
from rag.errors import InvalidQuestion
from rag.language import LANGUAGE_NAMES, answer_language, detect_language
from rag.llm import ChatModel, Message, build_chat_model
from rag.names import CorpusVocabulary, load_name_tables, names_not_in_articles
from rag.prompts import render
from rag.retrieve import HybridRetriever, Retrieved
from rag.store import Store, StoredSentence


def validate_question(question: str, max_chars: int) -> str:
    """The question stripped, or InvalidQuestion with a message fit for users."""
    cleaned = question.strip()
    if not cleaned:
        raise InvalidQuestion("the question is empty")
    if len(cleaned) > max_chars:
        raise InvalidQuestion(
            f"the question is {len(cleaned)} characters long; the limit is {max_chars}"
        )
    return cleaned


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b) / (float(np.linalg.norm(a) * np.linalg.norm(b)) or 1.0)


Turn = tuple[str, str]  # (question, answer text) of an earlier exchange
TURNS_KEPT = 6  # earlier exchanges a conversation remembers (condense reads the last 3)


def remember(history: Sequence[Turn], turn: Turn) -> list[Turn]:
    """``history`` with ``turn`` added, trimmed to the last TURNS_KEPT exchanges.

    >>> remember([("q1", "a1")], ("q2", "a2"))
    [('q1', 'a1'), ('q2', 'a2')]
    """
    return [*history, turn][-TURNS_KEPT:]


WORKED_EXAMPLES = 2  # prompts/answer_example_<n>_user.txt and _reply.txt


def answer_prefix() -> list[Message]:
    """The turns every answer prompt starts with: rules and worked examples.

    The first worked example (a Danish question answered from an English
    sentence) shows a small model the three things it otherwise skips: a
    complete sentence, in the asked language, with the evidence number
    cited. The second (two sentences give a duration; the question's "in
    Oslo, according to Ritzau" picks one) shows that the qualifiers of the
    question decide which sentence answers. Being the same for every
    question, these tokens are evaluated once and reused from llama.cpp's KV
    cache (and from disk by a new process), so examples cost no time per answer.
    """
    turns: list[Message] = [{"role": "system", "content": render("answer_system").strip()}]
    for number in range(1, WORKED_EXAMPLES + 1):
        turns.append({"role": "user", "content": render(f"answer_example_{number}_user").strip()})
        turns.append({"role": "assistant", "content": render(f"answer_example_{number}_reply").strip()})
    return turns


def answer_messages(
    question: str, evidence: list[StoredSentence], language: str
) -> list[Message]:
    """The chat turns for one question: :func:`answer_prefix`, then the evidence and question."""
    language_name = LANGUAGE_NAMES.get(language, "English")
    return [
        *answer_prefix(),
        {
            "role": "user",
            "content": render(
                "answer_user",
                evidence=format_evidence(evidence),
                question=question,
                language_name=language_name,
            ).strip(),
        },
    ]


class Engine:
    """Retrieval plus a chat model, wired from settings (or given, for tests)."""

    def __init__(
        self, settings: Settings, chat_model: ChatModel, embed_model: BaseEmbedding
    ) -> None:
        self.settings = settings
        self.chat_model = chat_model
        self.embed_model = embed_model
        self.embedding_identity = embedding_identity(settings)
        self.min_relevance = min_relevance(settings)
        self.reload()
        chat_model.warm(answer_prefix())

    def reload(self) -> None:
        """(Re)read the store: after ``ingest`` the engine answers from the new index."""
        from llama_index.core import VectorStoreIndex
        from llama_index.vector_stores.chroma import ChromaVectorStore

        store = Store(self.settings)
        collection = store.collection(self.embedding_identity)
        sentences = store.read_sentences(collection)
        vector_index = VectorStoreIndex.from_vector_store(
            ChromaVectorStore(chroma_collection=collection), embed_model=self.embed_model
        )
        self.collection = collection
        texts_by_source: dict[str, list[str]] = {}
        for sentence in sentences:
            texts_by_source.setdefault(sentence.source, [sentence.title]).append(sentence.text)
        self.article_vocabularies = {source: CorpusVocabulary(texts) for source, texts in texts_by_source.items()}
        self.vocabulary = CorpusVocabulary.merged(self.article_vocabularies.values())
        self.retriever = HybridRetriever.from_settings(vector_index, sentences, self.settings)
        self.sentences = sentences

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
        returns nothing usable.
        """
        if not history:
            return question
        conversation = "\n".join(
            f"Q: {asked}\nA: {strip_markers(answered)}" for asked, answered in history[-3:]
        )
        rewritten = self.chat_model.chat(
            [
                {"role": "system", "content": render("condense_system").strip()},
                {
                    "role": "user",
                    "content": render(
                        "condense_user", conversation=conversation, question=question
                    ).strip(),
                },
            ],
            max_tokens=80,
        ).strip().strip('"<>')
        usable = rewritten and len(rewritten) <= self.settings.max_question_chars
        return rewritten if usable else question

    @classmethod
    def load(cls, settings: Settings) -> Engine:
        """Load the configured models and open the store, ready to answer at once.

        The language detector's models and Babel's name tables are loaded
        here too, so that a bot's first question is not the one that pays
        for them. (Loading the LLM in a second thread meanwhile was
        measured: no faster on 2 cores.)
        """
        # Open the store first: a missing index should fail before a 1 GB model loads.
        Store(settings).collection(embedding_identity(settings))
        embed_model = build_embedding(settings)
        chat_model = build_chat_model(settings)
        detect_language("Loading the language models.")
        load_name_tables()
        return cls(settings, chat_model, embed_model)

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

    def _embedded(self, text: str) -> np.ndarray:
        return np.asarray(self.embed_model.get_query_embedding(text), dtype=np.float32)

    def closeness(self, evidence: list[StoredSentence]) -> Closeness:
        """Cosine similarity of a text to each evidence sentence, from the stored vectors.

        Used only to choose between evidence sentences that hold the same
        facts, so it costs one query embedding when it is needed at all; the
        checks of one reply ask about the same text more than once, so each
        text is measured once.
        """
        measured: dict[str, list[float]] = {}

        def measure(text: str) -> list[float]:
            if text in measured:
                return measured[text]
            rows = self.collection.get(ids=[s.id for s in evidence], include=["embeddings"])
            stored = dict(zip(rows["ids"], rows["embeddings"]))
            probe = self._embedded(text)
            # A sentence re-ingested meanwhile is never the closest.
            measured[text] = [
                _cosine(probe, np.asarray(stored[s.id], dtype=np.float32)) if s.id in stored else -1.0
                for s in evidence
            ]
            return measured[text]

        return measure

    def related_to(self, question: str) -> Callable[[str], bool] | None:
        """Whether a text is close in meaning to ``question``, for embedding
        models with a calibrated floor (see ``CALIBRATED_MIN_REPLY_RELATEDNESS``)."""
        floor = CALIBRATED_MIN_REPLY_RELATEDNESS.get(self.embedding_identity)
        if floor is None:
            return None
        return lambda text: _cosine(self._embedded(question), self._embedded(text)) >= floor

    def _reply(self, messages: list[Message], on_token: Callable[[str], None] | None) -> str:
        limit = self.settings.max_answer_tokens
        if on_token is None:
            return self.chat_model.chat(messages, max_tokens=limit)
        pieces = []
        stream = self.chat_model.stream(messages, max_tokens=limit)
        try:
            for piece in stream:
                pieces.append(piece)
                on_token(piece)
        finally:
            stream.close()  # Ctrl-C in on_token: release the model at once
        return "".join(pieces)

    def _generate(
        self,
        question: str,
        evidence: list[StoredSentence],
        language: str,
        on_token: Callable[[str], None] | None = None,
        narrowed: bool = False,
    ) -> tuple[str, bool, list[Citation]]:
        messages = answer_messages(question, evidence, language)
        limit = self.settings.max_answer_tokens
        # Everything fixed in the prompt (rules and worked examples: all turns but
        # the last) is confidential: an answer reciting any of it is an injection
        # that worked.
        confidential = "\n".join(message["content"] for message in messages[:-1])
        reply = self._reply(messages, on_token)
        closeness = self.closeness(evidence)
        related = self.related_to(question)
        composed = compose(reply, evidence, question, language, confidential, closeness, related)

        def foreign(text: str) -> bool:
            return answer_language(strip_markers(text), language, asked=language) != language

        # The answer, not the reply: a bare reply answered by quoting its
        # sentence (see rag.answer.quote_instead) is a sentence already.
        bare = is_bare(composed[0])
        if composed[1] and not narrowed and restates(reply, question, language):
            # A reply that restates a question asking for a number, a date or
            # a duration: the model found the event but not the fact. Shown
            # only the evidence sentences that hold one, it sometimes picks it
            # (1 of the 3 such replies on the gold set; the others restate
            # again and stay refused). Not after a reply with a fact of its
            # own that the evidence does not support: narrowed evidence would
            # only offer it another number ("Moscow has 135 million inhabitants").
            typed = typed_evidence(question, evidence)
            if typed:
                return self._generate(question, typed, language, narrowed=True)
        if not composed[1] and not narrowed:
            # The answer is drawn from a sentence (in the question's language)
            # that matches the question clearly worse than another: asked
            # again with that sentence alone, the model usually reads the
            # fact from it. The first answer stands if the second is refused.
            better = better_match(composed[2], evidence, question, language)
            if better is not None:
                second_try = self._generate(question, [better], language, narrowed=True)
                if not second_try[1]:
                    return second_try
        if composed[1] or not (bare or foreign(composed[0])):
            return composed
        # A bare fact ("34 [2]") does not show it is in the asked language, and a
        # small model sometimes copies its evidence sentence in the source's
        # language. One more turn (its prefix is already cached) asks for a
        # sentence, or a translation; the first answer stands if the second
        # fails the checks or is still in another language.
        follow_up = render(
            "answer_as_sentence" if bare else "answer_translate",
            language_name=LANGUAGE_NAMES.get(language, "English"),
        )
        second = self.chat_model.chat(
            [*messages, {"role": "assistant", "content": reply}, {"role": "user", "content": follow_up.strip()}],
            max_tokens=limit,
        )
        rewritten = compose(second, evidence, question, language, confidential, closeness, related)
        # The sentence must still say the bare fact ("Samstag [1]." became
        # "am 2. März" once, a date from another sentence).
        dropped_fact = bare and not key_terms(composed[0], language) <= key_terms(rewritten[0], language)
        if rewritten[1] or dropped_fact or (not bare and foreign(rewritten[0])):
            # The translation failed too (this small model translates
            # poorly): a sentence in the question's language holding the same
            # numbers, quoted, is the answer if there is one.
            quoted = None if bare else own_language_quote(composed[0], evidence, question, language)
            if quoted is not None:
                own = compose(quoted, evidence, question, language, confidential, closeness, related, quoting=True)
                if not own[1]:
                    return own
            return composed
        return rewritten

    def ask_with_retrieval(
        self,
        question: str,
        history: Sequence[Turn] = (),
        on_token: Callable[[str], None] | None = None,
        language: str | None = None,
    ) -> tuple[Answer, Retrieved]:
        """The answer, and the ranked retrieval it was drawn from (for evaluation)."""
        question = validate_question(question, self.settings.max_question_chars)
        started = time.perf_counter()
        language = language or detect_language(question)
        asked = question
        question = self.condense(question, history)
        retrieved = self.retriever.retrieve(question)
        evidence = retrieved.sentences[: self.settings.evidence_k]
        retrieved_at = time.perf_counter()
        # Names are read in the question's own language, which ``language`` may override.
        question_language = detect_language(question)
        if (
            retrieved.top_similarity < self.min_relevance
            or unmatched_numbers(question, evidence)
            or self.vocabulary.unknown_names(question, question_language)
        ):
            # Nothing retrieved is about this, or about the year it asks about,
            # or the corpus never names what it asks about: refuse without
            # spending seconds on the LLM.
            text, refused, citations = refusal_text(language), True, []
        else:
            text, refused, citations = self._generate(question, evidence, language, on_token)
            cited_articles = [self.article_vocabularies.get(c.source) for c in citations]
            if not refused and names_not_in_articles(
                question, question_language, [a for a in cited_articles if a is not None]
            ):
                # The answer comes from an article that never names what the
                # question asks about: it is about something else.
                text, refused, citations = refusal_text(language), True, []
        generated_at = time.perf_counter()
        answer = Answer(
            question=asked,
            answer=text,
            refused=refused,
            language=language,
            citations=citations,
            timings_ms={
                "retrieve": round((retrieved_at - started) * 1000, 1),
                "generate": round((generated_at - retrieved_at) * 1000, 1),
                "total": round((time.perf_counter() - started) * 1000, 1),
            },
            backend=self.backend,
        )
        return answer, retrieved
