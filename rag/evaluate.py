"""Check the engine's answers against a gold set of facts from the corpus.

The evaluation has two splits in one schema (one JSON object per line):
``evals/dev.jsonl``, the questions every rule, threshold and prompt is
chosen on, and ``evals/test.jsonl``, written from the seeds by someone who
had not seen the engine's tuning and frozen since: its sha256 is recorded in
``evals/test.sha256`` and checked before every run, and nothing is chosen
by looking at its items. A gold item::

    {"id": "q13", "question": "How many Turkish soldiers were killed ...?",
     "language": "en", "expected": [["34"]], "sources": ["002_....txt"],
     "answerable": true, "type": "number"}

``expected`` is a list of facts, each a list of accepted spellings; an answer
is correct when every fact appears in the ``answer`` text as whole words
(case-insensitive; the quotes do not count) and it is not refused.
Unanswerable and injection items are correct when refused.

>>> fact_found(["three hours", "3 hours"], "They talked for about three hours [1].")
True
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rag.answer import Answer, Citation, strip_markers  # noqa: F401 (Citation: used by a doctest)
from rag.documents import SkipFile, find_files, read_document
from rag.errors import ConfigError
from rag.language import detect_language
from rag.selective import LOWER_IS_BETTER as SELECTIVE_LOWER
from rag.selective import SELECTIVE_RATES, selective_figures, selective_intervals
from rag.significance import wilson_interval

RECALL_KS = (1, 3, 6)
FINAL_STEP = "final"  # fused, with a named article language first: the ranking evidence is taken from
# Figures the ratchet holds at their best level; for these, lower is better.
LOWER_IS_BETTER = ("false_refusals", "copied_sentences", *SELECTIVE_LOWER)
FIGURES = (
    *LOWER_IS_BETTER,
    "precision",
    "answer_accuracy",
    "gold_source_cited",
    "correct_refusals",
    "verbatim_quotes",
    "answer_language",
    "injections_resisted",
    *(f"recall@{k}" for k in RECALL_KS),
)


@dataclass
class GoldItem:
    id: str
    question: str
    language: str
    expected: list[list[str]]
    sources: list[str]
    answerable: bool
    type: str


@dataclass
class ItemResult:
    item: GoldItem
    answer: Answer
    retrieved: dict[str, list[str]]  # each retrieval step's sentence sources, best first
    correct: bool
    cited_gold: bool
    verbatim: bool
    language_ok: bool
    failures: list[str] = field(default_factory=list)
    # each retrieval step's ranking: is the sentence one that answers (a gold
    # source's sentence holding every expected fact)?
    answering: dict[str, list[bool]] = field(default_factory=dict)
    # the engine's rule decisions for this answer (rag.engine.Decision), if it keeps them
    decision: object | None = None
    corpus_texts: dict[str, str] = field(default_factory=dict, repr=False)


def load_results(path: Path) -> dict[str, list[ItemResult]]:
    """The scored results ``ragbot eval --save-results`` pickled (a file you wrote yourself:
    unpickling runs code, so never load one from elsewhere)."""
    import pickle

    try:
        loaded = pickle.loads(path.read_bytes())
    except Exception:  # any unpickling failure: a file from another version or not ours
        loaded = None
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path} is not a results file from `ragbot eval --save-results`")
    return loaded


def load_gold(path: Path) -> list[GoldItem]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        raise ConfigError(f"gold set not found: {path}") from None
    items = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            items.append(GoldItem(**json.loads(line)))
        except (json.JSONDecodeError, TypeError) as error:
            raise ConfigError(f"{path}:{number}: not a gold item ({error})") from None
    return items


def fact_found(alternatives: list[str], answer: str) -> bool:
    """Whether ``answer`` holds one of the alternatives as whole words.

    "to" (Danish two) is not found in "tog" or "torsdag", nor "Million" in
    "Millionen": a fact that is only part of a word is not stated.

    >>> fact_found(["to", "2"], "Tyrkiet tog initiativ torsdag."), fact_found(["to", "2"], "Der blev dræbt to soldater.")
    (False, True)
    >>> fact_found(["Million"], "fast eine Million Menschen"), fact_found(["Million"], "Millionen")
    (True, False)
    """
    text = answer.casefold()
    return any(
        re.search(rf"(?<!\w){re.escape(alternative.casefold())}(?!\w)", text) for alternative in alternatives
    )


def split_digest(path: Path) -> str:
    """The sha256 of a split file's bytes (what ``evals/test.sha256`` records)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_frozen(path: Path, digest_file: Path) -> None:
    """ConfigError unless ``path`` still has the digest recorded in ``digest_file``."""
    try:
        recorded = digest_file.read_text(encoding="utf-8").split()[0]
    except (OSError, IndexError):
        raise ConfigError(f"no frozen digest for {path} in {digest_file}") from None
    if not path.is_file() or split_digest(path) != recorded:
        raise ConfigError(f"{path} differs from the frozen test split recorded in {digest_file}")


COPY_SIMILARITY = 0.9  # difflib ratio above which an answer is a copied sentence


def copies_evidence(answer: Answer) -> bool:
    """Whether the answer is one of its cited sentences copied whole rather than an answer.

    >>> c = Citation("a.txt", "The talks lasted about three hours, Interfax said.", 0, 51)
    >>> copies_evidence(Answer("q", "The talks lasted about three hours, Interfax said [1].", False, "en", [c]))
    True
    >>> copies_evidence(Answer("q", "They lasted three hours [1].", False, "en", [c]))
    False
    """
    if answer.refused:
        return False
    prose = " ".join(strip_markers(answer.answer).split()).casefold().rstrip(" .!?")
    for citation in answer.citations:
        quote = " ".join(citation.quote.split()).casefold().rstrip(" .!?")
        if quote and difflib.SequenceMatcher(None, prose, quote).ratio() >= COPY_SIMILARITY:
            return True
    return False


def _answer_language(answer: Answer) -> str:
    """The answer's language as the detector judges the answer text itself."""
    return detect_language(strip_markers(answer.answer), default="?", exact=True)


def score_item(
    item: GoldItem, answer: Answer, retrieved: dict[str, list[str]], corpus_texts: dict[str, str]
) -> ItemResult:
    failures = []
    if item.answerable:
        correct = not answer.refused and all(fact_found(f, answer.answer) for f in item.expected)
        if answer.refused:
            failures.append("false refusal")
        elif not correct:
            failures.append("expected fact missing")
    else:
        correct = answer.refused
        if not correct:
            failures.append("answered an unanswerable question")
    cited = {c.source for c in answer.citations}
    cited_gold = bool(cited & set(item.sources)) if item.answerable else not cited
    if item.answerable and not answer.refused and not cited_gold:
        failures.append("gold source not cited")
    verbatim = all(
        corpus_texts.get(c.source, "")[c.start : c.end] == c.quote for c in answer.citations
    )
    if not verbatim:
        failures.append("quote not verbatim")
    answer_language = _answer_language(answer)
    language_ok = answer_language == item.language
    if not language_ok:
        failures.append(f"answer language {answer_language}")
    return ItemResult(item, answer, retrieved, correct, cited_gold, verbatim, language_ok, failures)


def _rate(values: list[bool]) -> float:
    return round(sum(values) / len(values), 3) if values else 1.0


def _rate_outcomes(results: list[ItemResult]) -> dict[str, list[bool]]:
    """For every rate in :data:`RATES`, what counts for each item it is a rate over."""
    return {name: [counts(r) for r in results if within(r.item)] for name, (within, counts) in RATES.items()}


def intervals(results: list[ItemResult]) -> dict[str, tuple[float, float]]:
    """The Wilson interval of every rate in :data:`RATES` and the selective rates (see :func:`summarise`)."""
    found = {name: wilson_interval(sum(values), len(values)) for name, values in _rate_outcomes(results).items()}
    return {**selective_intervals(results), **found}


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def _in_top(k: int, step: str = FINAL_STEP) -> Callable[[ItemResult], bool]:
    """Whether a gold-source sentence is among the step's top k."""
    return lambda r: bool(set(r.retrieved[step][:k]) & set(r.item.sources))


def _answerable(item: GoldItem) -> bool:
    return item.answerable


# Each rate: (the gold items it is a rate over, what counts for one of them).
# summarise() computes the rates from it and one_item_slack() their slack.
RATES: dict[str, tuple[Callable[[GoldItem], bool], Callable[[ItemResult], bool]]] = {
    "answer_accuracy": (_answerable, lambda r: r.correct),
    "gold_source_cited": (_answerable, lambda r: r.cited_gold),
    "correct_refusals": (lambda item: not item.answerable, lambda r: r.correct),
    "false_refusals": (_answerable, lambda r: r.answer.refused),
    "verbatim_quotes": (lambda item: True, lambda r: r.verbatim),
    "answer_language": (lambda item: True, lambda r: r.language_ok),
    "injections_resisted": (lambda item: item.type == "injection", lambda r: r.correct),
    "copied_sentences": (_answerable, lambda r: copies_evidence(r.answer)),
    **{f"recall@{k}": (_answerable, _in_top(k)) for k in RECALL_KS},
}


def summarise(results: list[ItemResult]) -> dict[str, float]:
    totals = [r.answer.timings_ms.get("total", 0.0) for r in results]
    # First what users meet: how often it answers and how often it is then right.
    figures: dict[str, float] = {"items": len(results), **selective_figures(results)}
    for name, values in _rate_outcomes(results).items():
        figures[name] = _rate(values)
    figures["latency_p50_ms"] = round(statistics.median(totals), 1) if totals else 0.0
    figures["latency_p95_ms"] = _percentile(totals, 0.95)
    # Cost per answer: what the model reads (all of the prompt, and the part
    # not found in the KV cache, which is what takes time) and how many
    # times it is called.
    used = [r.answer.usage for r in results if r.answer.usage]
    prompts = [u.get("prompt_tokens", 0) for u in used]
    computed = [u.get("prompt_tokens", 0) - u.get("cached_prompt_tokens", 0) for u in used]
    calls = [u.get("model_calls", 0) for u in used]
    figures["prompt_tokens_p50"] = round(statistics.median(prompts), 1) if prompts else 0.0
    figures["computed_prompt_tokens_p50"] = round(statistics.median(computed), 1) if computed else 0.0
    figures["model_calls_mean"] = round(statistics.mean(calls), 2) if calls else 0.0
    figures["model_calls_max"] = max(calls, default=0)
    return figures


def at_mix(results: list[ItemResult], mix: list[GoldItem]) -> dict[str, float]:
    """Every rate of :data:`RATES` over ``results`` with their question types
    weighted to ``mix``'s proportions: dev's figures at test's mix of types.

    Each rate is the mean of its per-type rates, weighted by how many of
    ``mix``'s items it is a rate over are of that type; a type that
    ``results`` does not have is left out and the weights renormalised. A
    dev - test gap at the same mix is what fit to dev leaves, without the
    part that comes from the splits asking different kinds of questions.

    >>> item = lambda t: GoldItem(t, "?", "en", [["x"]], ["a.txt"], True, t)
    >>> reply = Answer("?", "x", False, "en", [], {}, {})
    >>> result = lambda t, ok: ItemResult(item(t), reply, {"final": []}, ok, ok, True, True)
    >>> dev = [result("name", True)] * 3 + [result("why", False)]
    >>> at_mix(dev, [item("name"), item("why"), item("why"), item("why")])["answer_accuracy"]
    0.25
    """
    groups: dict[str, list[ItemResult]] = defaultdict(list)
    for r in results:
        groups[r.item.type].append(r)
    outcomes = {kind: _rate_outcomes(group) for kind, group in groups.items()}  # per type, per rate
    figures = {}
    for name, (within, _) in RATES.items():
        weights = {t: n for t, n in Counter(i.type for i in mix if within(i)).items() if outcomes.get(t, {}).get(name)}
        total = sum(weights.values())
        if total:
            figures[name] = round(sum(n * statistics.mean(outcomes[t][name]) for t, n in weights.items()) / total, 3)
    return figures


def _recall(results: list[ItemResult], step: str, k: int) -> float:
    """Share of questions with a gold-source sentence among the step's top k."""
    return _rate([_in_top(k, step)(r) for r in results])


def retrieval_steps(results: list[ItemResult]) -> dict[str, dict[str, float]]:
    """recall@k of every retrieval step, to show what each step changes: of a
    gold article's sentence, and of a sentence that holds the answer (which an
    article's other sentences do not)."""
    answerable = [r for r in results if r.item.answerable]
    steps = answerable[0].retrieved if answerable else {}
    return {
        step: {
            **{f"recall@{k}": _recall(answerable, step, k) for k in RECALL_KS},
            **{
                f"answer@{k}": _rate([any(r.answering.get(step, [])[:k]) for r in answerable])
                for k in RECALL_KS
            },
        }
        for step in steps
    }


def breakdown(results: list[ItemResult], key: str) -> dict[str, dict[str, float]]:
    groups: dict[str, list[ItemResult]] = defaultdict(list)
    for result in results:
        groups[getattr(result.item, key)].append(result)
    return {
        name: {
            "items": len(group),
            "correct": _rate([r.correct for r in group]),
            "language": _rate([r.language_ok for r in group]),
        }
        for name, group in sorted(groups.items())
    }


def corpus_texts_of(corpus_dir: Path, encoding: str | None = None) -> dict[str, str]:
    """Every ingestible file's text by source name (skipped files are left out),
    decoded as ingestion decodes it (``encoding``: the ``corpus_encoding`` setting)."""
    texts = {}
    for file in find_files([corpus_dir])[0]:
        try:
            texts[file.source] = read_document(file, max_bytes=2**62, encoding=encoding).text
        except SkipFile:
            continue
    return texts


def run_gold(
    engine, items: list[GoldItem], corpus_dir: Path, progress=lambda xs: xs, explain: bool = True, on_token=None
) -> list[ItemResult]:
    """Ask every gold question through ``engine`` and score the answers.

    With ``explain`` the engine generates a draft even where a rule refuses
    (answers are the same; refused ones cost more time), so that
    :func:`rag.ablation.without_rules` can switch each rule off afterwards.

    The corpus is decoded exactly as ingestion decodes it, so the verbatim
    check compares quotes against the same text their offsets point into.
    ``on_token`` receives the streamed draft, as in the chat and Discord.
    """
    settings = getattr(engine, "settings", None)
    corpus_texts = corpus_texts_of(corpus_dir, getattr(settings, "corpus_encoding", None))
    if hasattr(engine, "retriever"):  # the baseline has no steps to record
        engine.retriever.record_steps = True
    if hasattr(engine, "explain"):  # keep every rule's verdict for --ablation
        engine.explain = explain
    streamed = {"on_token": on_token} if on_token else {}  # the baseline does not stream
    results = []
    for item in progress(items):
        answer, retrieved = engine.ask_with_retrieval(item.question, **streamed)
        sources = {step: [s.source for s in ranked] for step, ranked in retrieved.steps.items()}
        result = score_item(item, answer, sources, corpus_texts)
        result.decision = getattr(engine, "last_decision", None)
        result.corpus_texts = corpus_texts
        result.answering = {
            step: [
                s.source in item.sources and all(fact_found(f, s.text) for f in item.expected)
                for s in ranked
            ]
            for step, ranked in retrieved.steps.items()
        }
        results.append(result)
    return results
